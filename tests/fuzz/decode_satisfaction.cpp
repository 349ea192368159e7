// Satisfactions: decode -> encode -> decode round trip, and the stream decoder agrees.
#include <bit>

#include "consensus/condition.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

namespace {
// The decoder's shape invariants, which the spending rules (tx_verify.cpp) index by.
void CheckShape(const Satisfaction& s, int depth) {
  FUZZ_CHECK(depth <= kMaxConditionDepth);
  switch (s.type) {
    case SatisfactionType::kSignature:
      FUZZ_CHECK(s.sigs.size() == 1 && s.inner.empty());
      break;
    case SatisfactionType::kMultisig:
      FUZZ_CHECK(s.signers != 0);
      FUZZ_CHECK(s.sigs.size() == static_cast<std::size_t>(std::popcount(s.signers)));
      break;
    case SatisfactionType::kBranch:
      FUZZ_CHECK(s.branch <= 1 && s.inner.size() == 1);
      CheckShape(s.inner[0], depth + 1);
      break;
    case SatisfactionType::kChannelPath:
      FUZZ_CHECK(s.signers <= 0b111 && s.inner.empty());
      FUZZ_CHECK(s.sigs.size() == static_cast<std::size_t>(std::popcount(s.signers)));
      break;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan in = fuzz::Input(data, size);
  Satisfaction s;
  const bool ok = fuzz::CheckRoundTrip(
      in, s, [](ByteSpan b, Satisfaction& x) { return DecodeSatisfaction(b, x); },
      [](const Satisfaction& x) { return EncodeSatisfaction(x); }, std::equal_to<>{});
  fuzz::CheckStreamAgrees(in, ok ? DecodeError::kOk : DecodeSatisfaction(in, s), [](Reader& r) {
    Satisfaction x;
    return DecodeSatisfaction(r, x);
  });
  if (ok) CheckShape(s, 1);
  return 0;
}
