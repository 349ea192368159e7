#include "consensus/amount.h"

#include <gtest/gtest.h>

#include <limits>

using namespace wattline::consensus;

TEST(Amount, MoneyRange) {
  EXPECT_TRUE(MoneyRange(Amount{0}));
  EXPECT_TRUE(MoneyRange(kMaxMoney));
  EXPECT_FALSE(MoneyRange(Amount{-1}));
  EXPECT_FALSE(MoneyRange(Amount{kMaxMoney.units + 1}));
  EXPECT_EQ(kMaxMoney.units, 2'100'000'000'000'000);
  EXPECT_EQ(Coins(1).units, 100'000'000);
}

TEST(Amount, CheckedAddEdges) {
  EXPECT_EQ(CheckedAdd(Amount{0}, Amount{0}), Amount{0});
  EXPECT_EQ(CheckedAdd(kMaxMoney, Amount{0}), kMaxMoney);
  EXPECT_EQ(CheckedAdd(Amount{kMaxMoney.units - 1}, Amount{1}), kMaxMoney);
  EXPECT_FALSE(CheckedAdd(kMaxMoney, Amount{1}));
  EXPECT_FALSE(CheckedAdd(kMaxMoney, kMaxMoney));
  EXPECT_FALSE(CheckedAdd(Amount{-1}, Amount{2}));  // an operand out of range
  EXPECT_FALSE(CheckedAdd(Amount{2}, Amount{-1}));
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_FALSE(CheckedAdd(Amount{kMax}, Amount{kMax}));  // no signed overflow
  EXPECT_FALSE(CheckedAdd(Amount{kMin}, Amount{kMin}));
  EXPECT_FALSE(CheckedAdd(Amount{kMax}, Amount{1}));
}

TEST(Amount, CheckedSubEdges) {
  EXPECT_EQ(CheckedSub(Amount{5}, Amount{5}), Amount{0});
  EXPECT_EQ(CheckedSub(kMaxMoney, Amount{0}), kMaxMoney);
  EXPECT_EQ(CheckedSub(kMaxMoney, kMaxMoney), Amount{0});
  EXPECT_FALSE(CheckedSub(Amount{4}, Amount{5}));
  EXPECT_FALSE(CheckedSub(Amount{0}, Amount{1}));
  EXPECT_FALSE(CheckedSub(Amount{kMaxMoney.units + 1}, Amount{1}));
  EXPECT_FALSE(CheckedSub(Amount{1}, Amount{-1}));
  EXPECT_FALSE(CheckedSub(Amount{std::numeric_limits<std::int64_t>::max()}, Amount{0}));
}
