// Amounts of energy coins, in base units (1 coin = 10^8 units), with checked arithmetic.
#pragma once

#include <cstdint>
#include <optional>

namespace wattline::consensus {

/** An amount in base units. Valid amounts are in [0, kMaxMoney]; arithmetic is checked. */
struct Amount {
  std::int64_t units = 0;

  friend constexpr auto operator<=>(Amount, Amount) = default;
};

inline constexpr std::int64_t kCoin = 100'000'000;
/** No amount, and no sum of amounts in one transaction or block, may exceed this. */
inline constexpr Amount kMaxMoney{21'000'000 * kCoin};

constexpr Amount Coins(std::int64_t coins) { return Amount{coins * kCoin}; }
constexpr bool MoneyRange(Amount a) { return a.units >= 0 && a.units <= kMaxMoney.units; }

/** a + b when both are in range and the sum is too; nullopt otherwise. */
constexpr std::optional<Amount> CheckedAdd(Amount a, Amount b) {
  if (!MoneyRange(a) || !MoneyRange(b)) return std::nullopt;
  Amount sum{a.units + b.units};  // cannot overflow: both <= 2.1e15
  if (!MoneyRange(sum)) return std::nullopt;
  return sum;
}

/** a + b in base units when the sum stays within kMaxMoney (the market's unsigned registers). */
constexpr std::optional<std::uint64_t> MoneyAdd(std::uint64_t a, std::uint64_t b) {
  const auto max = static_cast<std::uint64_t>(kMaxMoney.units);
  if (a > max || b > max - a) return std::nullopt;
  return a + b;
}

/** a - b when a >= b and both are in range; nullopt otherwise. */
constexpr std::optional<Amount> CheckedSub(Amount a, Amount b) {
  if (!MoneyRange(a) || !MoneyRange(b) || b > a) return std::nullopt;
  return Amount{a.units - b.units};
}

}  // namespace wattline::consensus
