// mempool.dat from a damaged or hostile disk: decoding never crashes; what it keeps
// re-encodes to exactly the bytes it came from (a prefix of the input), and it explains a stop.
#include <string>

#include "fuzz_util.h"
#include "node/mempool_file.h"

using namespace wattline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const consensus::ByteSpan in = fuzz::Input(data, size);
  std::string error;
  const auto entries = node::DecodeMempoolFile(in, &error);
  const consensus::Bytes again = node::EncodeMempoolFile(entries);
  if (error.empty()) {
    FUZZ_CHECK(fuzz::SameBytes(again, in));
  } else {
    // The kept records are the start of the input (after the 8-byte magic, when it was there).
    FUZZ_CHECK(entries.empty() || fuzz::SameBytes(again, in.first(again.size())));
  }
  for (const auto& e : entries) FUZZ_CHECK(e.time >= 0 && e.tx != nullptr);
  return 0;
}
