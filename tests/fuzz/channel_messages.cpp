// The channel protocol's messages (channels/messages.h): whatever a peer sends inside a
// `channel` frame. A decode either fails with a named error or round-trips to the same bytes;
// a decoded message's fields stay within their limits.
#include "channels/messages.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::channels;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ChannelMessage m;
  if (fuzz::CheckRoundTrip(
          fuzz::Input(data, size), m, [](consensus::ByteSpan b, ChannelMessage& x) { return DecodeChannelMessage(b, x); },
          [](const ChannelMessage& x) { return EncodeChannelMessage(x); }, std::equal_to<>{})) {
    FUZZ_CHECK(!MessageName(m).empty());
    if (auto* open = std::get_if<OpenMsg>(&m)) FUZZ_CHECK(open->inputs.size() <= kMaxFundingInputs);
    if (auto* e = std::get_if<ErrorMsg>(&m)) FUZZ_CHECK(e->text.size() <= kMaxErrorText);
  }
  return 0;
}
