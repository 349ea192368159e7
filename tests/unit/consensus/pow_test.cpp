#include "consensus/pow.h"

#include <gtest/gtest.h>

#include "consensus/params.h"
#include "test_util.h"

using namespace wattline::consensus;
using namespace wattline::consensus::test;

namespace {
uint256 Max() { return std::numeric_limits<uint256>::max(); }
uint256 Pow2(unsigned n) { return uint256(1) << n; }

/** A main-like network with a small retarget interval, for retargeting tests. */
Params SmallParams() {
  Params p = GetParams(Network::kMain);
  p.retarget_interval = 10;
  p.target_spacing = 60;
  return p;
}
}  // namespace

TEST(Pow, HashToNumberIsBigEndian) {
  Hash256 h;
  h.bytes[31] = 1;
  EXPECT_EQ(HashToNumber(h), 1);
  h = Hash256{};
  h.bytes[0] = 0x80;
  EXPECT_EQ(HashToNumber(h), Pow2(255));
  EXPECT_EQ(HashToNumber(Filled(0xff)), Max());
  for (uint256 n : {uint256(0), uint256(1), Pow2(200) + 12345, Max()}) EXPECT_EQ(HashToNumber(NumberToHash(n)), n);
}

TEST(Pow, CompactKnownValues) {
  EXPECT_EQ(*CompactToTarget(0x1d00ffff), uint256(0xffff) << 208);  // Bitcoin's genesis target
  EXPECT_EQ(*CompactToTarget(0x207fffff), uint256(0x7fffff) << 232);
  EXPECT_EQ(*CompactToTarget(0x03123456), 0x123456);
  EXPECT_EQ(*CompactToTarget(0x02123456), 0x1234);      // exponent < 3 shifts right
  EXPECT_EQ(*CompactToTarget(0x01123456), 0x12);
  EXPECT_EQ(*CompactToTarget(0x04123456), 0x12345600);
  EXPECT_EQ(TargetToCompact(uint256(0xffff) << 208), 0x1d00ffffu);
  EXPECT_EQ(TargetToCompact(0x12), 0x01120000u);
  EXPECT_EQ(TargetToCompact(0x80), 0x02008000u);        // the sign bit moves a byte up
  EXPECT_EQ(TargetToCompact(0x123456), 0x03123456u);
  EXPECT_EQ(TargetToCompact(0x12345678), 0x04123456u);  // rounds down to 23 mantissa bits
}

TEST(Pow, CompactInvalid) {
  EXPECT_FALSE(CompactToTarget(0x04923456));  // negative: sign bit
  EXPECT_FALSE(CompactToTarget(0x01800000));
  EXPECT_FALSE(CompactToTarget(0x00000000));  // zero
  EXPECT_FALSE(CompactToTarget(0x20000000));
  EXPECT_FALSE(CompactToTarget(0x01003456));  // shifts to zero
  EXPECT_FALSE(CompactToTarget(0x21010000));  // 2^256: overflow
  EXPECT_FALSE(CompactToTarget(0x227fffff));
  EXPECT_FALSE(CompactToTarget(0xff7fffff));
  EXPECT_TRUE(CompactToTarget(0x2100ffff));   // 0xffff * 2^240 < 2^256
  EXPECT_EQ(*CompactToTarget(0x2100ffff), uint256(0xffff) << 240);
}

TEST(Pow, CompactRoundTrips) {
  // Every canonical compact decodes and re-encodes to itself.
  for (std::uint32_t exp = 1; exp <= 33; ++exp)
    for (std::uint32_t mant : {0x008000u, 0x00ffffu, 0x123456u, 0x7fffffu, 0x010000u}) {
      const std::uint32_t bits = (exp << 24) | mant;
      auto t = CompactToTarget(bits);
      if (!t) continue;
      const std::uint32_t back = TargetToCompact(*t);
      EXPECT_EQ(*CompactToTarget(back), *t) << std::hex << bits;
      if (exp >= 3) EXPECT_EQ(back, bits) << std::hex << bits;
    }
  // A target rounds down to what its compact form says.
  for (unsigned shift = 0; shift < 230; shift += 7) {
    const uint256 t = (uint256(0x123456789abcdefULL) << shift) + 0x55;
    const uint256 r = *CompactToTarget(TargetToCompact(t));
    EXPECT_LE(r, t);
    EXPECT_EQ(TargetToCompact(r), TargetToCompact(t));
  }
}

TEST(Pow, BlockWork) {
  EXPECT_EQ(BlockWork(0), 0);           // invalid bits: no work
  EXPECT_EQ(BlockWork(0x04923456), 0);
  EXPECT_EQ(BlockWork(0x01010000), Pow2(255));                       // target 1: 2^256 / 2
  EXPECT_EQ(BlockWork(0x207fffff), 2);                               // ~2^255: 2 hashes
  EXPECT_EQ(BlockWork(0x1d010000), Pow2(32) - 1);                    // floor(2^256 / (2^224 + 1))
  EXPECT_EQ(BlockWork(0x1d00ffff), uint256(0x100010001ULL));         // Bitcoin's difficulty-1 work
  EXPECT_GT(BlockWork(0x1c00ffff), BlockWork(0x1d00ffff));
}

TEST(Pow, CheckProofOfWork) {
  const Params& main = GetParams(Network::kMain);
  const std::uint32_t limit_bits = TargetToCompact(main.pow_limit);
  EXPECT_TRUE(CheckProofOfWork(Hash256{}, limit_bits, main));
  EXPECT_TRUE(CheckProofOfWork(NumberToHash(*CompactToTarget(limit_bits)), limit_bits, main));  // equal passes
  EXPECT_FALSE(CheckProofOfWork(NumberToHash(*CompactToTarget(limit_bits) + 1), limit_bits, main));
  EXPECT_FALSE(CheckProofOfWork(Hash256{}, TargetToCompact(main.pow_limit << 1), main));  // easier than the limit
  EXPECT_FALSE(CheckProofOfWork(Hash256{}, 0, main));
  EXPECT_FALSE(CheckProofOfWork(Hash256{}, 0x04923456, main));
}

TEST(Pow, RetargetHeightsAndWindows) {
  Params p = SmallParams();
  EXPECT_FALSE(IsRetargetHeight(p, 0));
  EXPECT_FALSE(IsRetargetHeight(p, 9));
  EXPECT_TRUE(IsRetargetHeight(p, 10));
  EXPECT_TRUE(IsRetargetHeight(p, 20));
  EXPECT_EQ(RetargetWindowStart(p, 10), 0u);  // the first window starts at genesis
  EXPECT_EQ(RetargetWindowStart(p, 20), 9u);  // later windows start at the previous period's last block
  EXPECT_EQ(RetargetWindowStart(p, 30), 19u);
  EXPECT_FALSE(IsRetargetHeight(Regtest(), 150));
  EXPECT_FALSE(IsRetargetHeight(Regtest(), 300));
}

TEST(Pow, NextBitsOnScheduleKeepsTarget) {
  Params p = SmallParams();
  const std::uint32_t bits = 0x1c00ffff;
  EXPECT_EQ(NextBits(p, 15, bits, 0, 999999), bits);  // not a retarget height
  EXPECT_EQ(NextBits(p, 20, bits, 1000, 1000 + 10 * 60), bits);
  EXPECT_EQ(NextBits(p, 10, bits, 1000, 1000 + 9 * 60), bits);  // the first window has 9 gaps
}

TEST(Pow, NextBitsClampsToFactorFour) {
  Params p = SmallParams();
  const std::uint32_t bits = 0x1c00ffff;
  const uint256 t = *CompactToTarget(bits);
  // Twice as slow: target doubles; 100x slower: only x4.
  EXPECT_EQ(*CompactToTarget(NextBits(p, 20, bits, 0, 2 * 600)), t * 2);
  EXPECT_EQ(*CompactToTarget(NextBits(p, 20, bits, 0, 4 * 600)), t * 4);
  EXPECT_EQ(*CompactToTarget(NextBits(p, 20, bits, 0, 100 * 600)), t * 4);
  EXPECT_EQ(*CompactToTarget(NextBits(p, 20, bits, 0, UINT64_MAX)), t * 4);
  // Twice as fast: target halves; instant or backwards time: only /4.
  EXPECT_EQ(*CompactToTarget(NextBits(p, 20, bits, 0, 300)), t / 2);
  EXPECT_EQ(*CompactToTarget(NextBits(p, 20, bits, 0, 150)), t / 4);
  EXPECT_EQ(*CompactToTarget(NextBits(p, 20, bits, 0, 1)), t / 4);
  EXPECT_EQ(*CompactToTarget(NextBits(p, 20, bits, 5000, 5000)), t / 4);
  EXPECT_EQ(*CompactToTarget(NextBits(p, 20, bits, 5000, 10)), t / 4);
}

TEST(Pow, NextBitsCappedAtPowLimit) {
  Params p = SmallParams();
  const std::uint32_t limit_bits = TargetToCompact(p.pow_limit);
  EXPECT_EQ(NextBits(p, 20, limit_bits, 0, 4 * 600), TargetToCompact(p.pow_limit));
  const std::uint32_t near = TargetToCompact(p.pow_limit / 2);
  EXPECT_EQ(NextBits(p, 20, near, 0, 4 * 600), TargetToCompact(p.pow_limit));
  EXPECT_LE(*CompactToTarget(NextBits(p, 20, near, 0, 4 * 600)), p.pow_limit);
}

TEST(Pow, RegtestNeverRetargets) {
  const Params& r = Regtest();
  const std::uint32_t bits = r.genesis.header.bits;
  for (std::uint32_t h : {1u, 149u, 150u, 151u, 300u, 1500u}) {
    EXPECT_EQ(NextBits(r, h, bits, 0, 1), bits);
    EXPECT_EQ(NextBits(r, h, bits, 0, UINT64_MAX), bits);
  }
}

// The time-warp attack: a majority keeps every timestamp low (1 s apart, which the
// median-time-past rule allows) except the last block of each period, which it sets W seconds
// ahead. Bitcoin measures each period from its first block, so every period looks slow and the
// target rises x4 per period without bound. Here a period is measured from the previous
// period's last block: the warped timestamp also starts the next window, which then looks
// instant, and the gain is taken back. To keep gaining, the warped timestamps would have to
// advance 4 periods' worth per period, i.e. really run ahead of the clock, which the
// future-time limit stops.
TEST(Pow, TimeWarpIsUndoneByOverlappingWindow) {
  Params p = SmallParams();
  const std::uint32_t start_bits = 0x1c00ffff;
  const uint256 start = *CompactToTarget(start_bits);
  const std::uint64_t t0 = 1'700'000'000, warp = 4 * 600 + 1000;
  std::vector<std::uint64_t> times(130);
  for (std::uint32_t h = 0; h < times.size(); ++h) {
    times[h] = h <= 9 ? t0 + 60 * h : times[9] + (h - 9);  // honest first period, then 1 s apart
    if (h >= 19 && h % 10 == 9) times[h] += warp;
  }
  std::uint32_t overlap = start_bits, naive = start_bits;
  std::vector<uint256> overlap_targets;
  for (std::uint32_t h = 10; h < times.size(); h += 10) {
    overlap = NextBits(p, h, overlap, times[RetargetWindowStart(p, h)], times[h - 1]);
    naive = NextBits(p, h, naive, times[h - 10], times[h - 1]);  // Bitcoin's window, same span
    overlap_targets.push_back(*CompactToTarget(overlap));
  }
  // Period 1 is honest; period 2 (the first warp) gains x4; period 3 takes it back.
  EXPECT_EQ(overlap_targets[0], start);
  EXPECT_EQ(overlap_targets[1], start * 4);
  EXPECT_EQ(overlap_targets[2], start);
  // From then on it never again exceeds the honest target.
  for (std::size_t i = 2; i < overlap_targets.size(); ++i) EXPECT_LE(overlap_targets[i], start) << i;
  // Bitcoin-style windows: the target climbs to the limit.
  EXPECT_EQ(*CompactToTarget(naive), *CompactToTarget(TargetToCompact(p.pow_limit)));
}
