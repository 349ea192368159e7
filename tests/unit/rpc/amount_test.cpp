// wattline-cli's amount parsing: exact decimals, at most 8 places, never a double.
#include <gtest/gtest.h>

#include "cli/amount.h"

namespace wattline::cli {
namespace {

TEST(CliAmount, ParsesExactly) {
  EXPECT_EQ(ParseCoins("1.5"), 150'000'000);
  EXPECT_EQ(ParseCoins("0.00000001"), 1);
  EXPECT_EQ(ParseCoins(".5"), 50'000'000);
  EXPECT_EQ(ParseCoins("1"), kUnitsPerCoin);
  EXPECT_EQ(ParseCoins("0"), 0);
  EXPECT_EQ(ParseCoins("000012.10"), 1'210'000'000);
  EXPECT_EQ(ParseCoins("21000000"), kMaxUnits);
  EXPECT_EQ(ParseCoins("0.1"), 10'000'000);  // 0.1 is not representable as a double; exact here
  EXPECT_EQ(ParseCoins("0.29"), 29'000'000);
  EXPECT_EQ(ParseCoins("20999999.99999999"), kMaxUnits - 1);
}

TEST(CliAmount, RejectsEverythingElse) {
  for (const char* bad : {"", ".", "1.", "-1", "+1", "1e8", "1.000000001", " 1", "1 ", "1,5", "0x10", "abc",
                          "21000000.00000001", "99999999999999999999", "1..2", "NaN", "inf"}) {
    std::string why;
    EXPECT_FALSE(ParseCoins(bad, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(CliAmount, Formats) {
  EXPECT_EQ(FormatCoins(150'000'000), "1.50000000");
  EXPECT_EQ(FormatCoins(1), "0.00000001");
  EXPECT_EQ(FormatCoins(0), "0.00000000");
  EXPECT_EQ(FormatCoins(-1), "-0.00000001");
  EXPECT_EQ(FormatCoins(kMaxUnits), "21000000.00000000");
  EXPECT_EQ(FormatCoins(INT64_MIN), "-92233720368.54775808");
  for (std::int64_t u : {std::int64_t{1}, std::int64_t{123456789}, kMaxUnits}) EXPECT_EQ(ParseCoins(FormatCoins(u)), u);
}

}  // namespace
}  // namespace wattline::cli
