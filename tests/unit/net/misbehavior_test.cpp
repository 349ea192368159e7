// The penalty table and the per-peer score.
#include <gtest/gtest.h>

#include "net/misbehavior.h"

namespace wattline::net {
namespace {

TEST(MisbehaviorTest, FrameErrorsHaveNamedPenalties) {
  for (int v = 0; v <= static_cast<int>(FrameError::kBadChecksum); ++v) {
    const auto e = static_cast<FrameError>(v);
    EXPECT_EQ(PenaltyFor(e).why, FrameErrorName(e));
    // A broken stream cannot be resynchronised: every frame error disconnects.
    EXPECT_EQ(PenaltyFor(e).disconnect, e != FrameError::kOk);
  }
  EXPECT_EQ(PenaltyFor(FrameError::kOversize).score, kBanThreshold);
  EXPECT_EQ(PenaltyFor(FrameError::kBadMagic).score, 0);  // another network is not an attack
}

TEST(MisbehaviorTest, ConsensusCategories) {
  using consensus::Category;
  EXPECT_EQ(PenaltyForBlock(Category::kInvalid).score, kBanThreshold);
  EXPECT_EQ(PenaltyForBlock(Category::kMalformed).score, kBanThreshold);
  EXPECT_EQ(PenaltyForBlock(Category::kValid).score, 0);
  EXPECT_EQ(PenaltyForBlock(Category::kPremature).score, 0);
  EXPECT_EQ(PenaltyForTx(Category::kInvalid).score, kBanThreshold);
  EXPECT_EQ(PenaltyForTx(Category::kMissingInputs).score, 0);
  EXPECT_EQ(PenaltyForTx(Category::kPremature).score, 0);
}

TEST(MisbehaviorTest, OffensesAreNamedAndPositiveOrDisconnect) {
  for (int v = 0; v <= static_cast<int>(Offense::kHeadersNotChained); ++v) {
    const Penalty p = PenaltyFor(static_cast<Offense>(v));
    EXPECT_FALSE(p.why.empty());
    EXPECT_TRUE(p.score > 0 || p.disconnect) << p.why;
  }
}

TEST(MisbehaviorTest, ScoreCrossesTheThresholdOnce) {
  MisbehaviorScore s;
  const Penalty unrequested = PenaltyFor(Offense::kUnrequestedTx);
  int calls = 0;
  while (!s.ShouldBan()) {
    const bool crossed = s.Add(unrequested);
    ++calls;
    EXPECT_EQ(crossed, s.ShouldBan());
  }
  EXPECT_EQ(calls, kBanThreshold / unrequested.score);
  EXPECT_FALSE(s.Add(unrequested));  // already past: reported once
  for (int i = 0; i < 1'000'000; ++i) (void)s.Add(PenaltyFor(FrameError::kOversize));
  EXPECT_GE(s.score(), kBanThreshold);  // capped, no overflow
  EXPECT_LE(s.score(), 1'000'000);
}

}  // namespace
}  // namespace wattline::net
