// Spending conditions: decode -> encode -> decode round trip, and the stream decoder agrees.
#include "consensus/condition.h"
#include "consensus/tx_check.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan in = fuzz::Input(data, size);
  Condition c;
  const bool ok = fuzz::CheckRoundTrip(
      in, c, [](ByteSpan b, Condition& x) { return DecodeCondition(b, x); },
      [](const Condition& x) { return EncodeCondition(x); }, std::equal_to<>{});
  fuzz::CheckStreamAgrees(in, ok ? DecodeError::kOk : DecodeCondition(in, c), [](Reader& r) {
    Condition x;
    return DecodeCondition(r, x);
  });
  if (ok) {
    std::string why;
    if (!CheckCondition(c, why)) FUZZ_CHECK(!why.empty());  // every rejection says why
  }
  return 0;
}
