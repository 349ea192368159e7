// Compact targets and retargeting.
//   - CompactToTarget / TargetToCompact: a valid compact re-encodes to a canonical compact whose
//     target is <= the original and within one unit of the 23-bit mantissa below it; canonical
//     compacts are fixed points; BlockWork is positive exactly for valid bits.
//   - NextBits: from any chain-reachable state (previous bits valid and within the limit, or
//     any previous bits at a retarget height) the result is a valid compact within pow_limit,
//     the previous bits unchanged between retargets, and a retarget moves by at most 4x.
#include <fuzzer/FuzzedDataProvider.h>

#include "consensus/params.h"
#include "consensus/pow.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

namespace {

// t2 is t rounded down to a compact: t2 <= t, and what was cut is below one mantissa unit.
void CheckRoundedDown(const uint256& t, const uint256& t2) {
  FUZZ_CHECK(t2 <= t && t2 > 0);
  // A canonical mantissa is >= 0x8000 whenever bytes were cut, so one unit is < t2 / 0x8000.
  FUZZ_CHECK((t - t2) <= t2 / 0x8000);
}

void CheckTarget(const uint256& t) {
  if (t == 0) return;
  const std::uint32_t c = TargetToCompact(t);
  const auto t2 = CompactToTarget(c);
  FUZZ_CHECK(t2.has_value());
  CheckRoundedDown(t, *t2);
  FUZZ_CHECK(TargetToCompact(*t2) == c);
  FUZZ_CHECK(BlockWork(c) > 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);

  const std::uint32_t bits = fdp.ConsumeIntegral<std::uint32_t>();
  const auto target = CompactToTarget(bits);
  FUZZ_CHECK(target.has_value() == (BlockWork(bits) > 0));
  if (target) {
    CheckTarget(*target);
    const std::uint32_t canon = TargetToCompact(*target);
    if (canon == bits) FUZZ_CHECK(*CompactToTarget(canon) == *target);
  }

  crypto::Hash256 h;
  const Bytes hb = fdp.ConsumeBytes<std::uint8_t>(32);
  std::copy(hb.begin(), hb.end(), h.bytes.begin() + static_cast<std::ptrdiff_t>(32 - hb.size()));
  const uint256 t = HashToNumber(h);
  FUZZ_CHECK(NumberToHash(t) == h);
  CheckTarget(t);

  const Params& params = GetParams(static_cast<Network>(fdp.ConsumeIntegralInRange<int>(0, 3)));
  const std::uint32_t height = fdp.ConsumeBool()
                                   ? params.retarget_interval * fdp.ConsumeIntegralInRange<std::uint32_t>(0, 5)
                                   : fdp.ConsumeIntegral<std::uint32_t>();
  std::uint32_t prev_bits = fdp.ConsumeIntegral<std::uint32_t>();
  if (fdp.ConsumeBool()) {
    // A reachable previous target: anything from 1 to the limit.
    uint256 prev = HashToNumber(h) % params.pow_limit + 1;
    prev_bits = TargetToCompact(prev);
  }
  std::uint64_t start_time = fdp.ConsumeIntegral<std::uint64_t>();
  std::uint64_t end_time = fdp.ConsumeBool() ? start_time + fdp.ConsumeIntegralInRange<std::uint64_t>(0, 1u << 30)
                                             : fdp.ConsumeIntegral<std::uint64_t>();
  const auto prev_target = CompactToTarget(prev_bits);
  // What a chain can hold: every header's bits equal NextBits, which are canonical and within
  // the limit from the genesis bits on (non-canonical bits between retargets pass unchanged).
  const bool prev_ok =
      prev_target && *prev_target <= params.pow_limit && TargetToCompact(*prev_target) == prev_bits;
  const bool retarget = IsRetargetHeight(params, height);
  const std::uint32_t next = NextBits(params, height, prev_bits, start_time, end_time);
  if (!retarget) {
    FUZZ_CHECK(next == prev_bits);
    if (!prev_ok) return 0;
  }
  const auto next_target = CompactToTarget(next);
  if (!next_target || TargetToCompact(*next_target) != next)
    std::fprintf(stderr, "%s height %u prev_bits %08x retarget %d -> next %08x\n", params.name.c_str(), height,
                 prev_bits, retarget, next);
  FUZZ_CHECK(next_target.has_value());
  FUZZ_CHECK(*next_target <= params.pow_limit);
  FUZZ_CHECK(TargetToCompact(*next_target) == next);
  if (retarget && prev_ok) {
    using uint512 = boost::multiprecision::uint512_t;
    FUZZ_CHECK(uint512(*next_target) <= uint512(*prev_target) * 4);
    // At most 4x harder (the clamp is expected / 4 in whole seconds), less the rounding down.
    const auto expected = static_cast<std::uint64_t>(height - 1 - RetargetWindowStart(params, height)) *
                          static_cast<std::uint64_t>(params.target_spacing);
    const uint512 lowest = uint512(*prev_target) * (expected / 4) / expected;
    FUZZ_CHECK(uint512(*next_target) + lowest / 0x8000 + 1 >= lowest);
  }
  return 0;
}
