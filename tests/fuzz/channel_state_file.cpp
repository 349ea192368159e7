// The channel record a node keeps per channel (channels/channel_record.h), as read back from
// its channel database: a damaged or hostile value decodes with a named error or round-trips,
// and the funding transaction of any decoded record can be built and hashed.
#include "channels/channel_record.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::channels;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ChannelRecord r;
  if (fuzz::CheckRoundTrip(
          fuzz::Input(data, size), r, [](consensus::ByteSpan b, ChannelRecord& x) { return DecodeChannelRecord(b, x); },
          [](const ChannelRecord& x) { return EncodeChannelRecord(x); }, std::equal_to<>{})) {
    (void)FundingTransaction(r).ComputeTxid();
    FUZZ_CHECK(!PhaseName(r.phase).empty());
  }
  return 0;
}
