// Coin amounts as people type them ("1.5", "0.00000001", "21000000"), parsed exactly as
// decimals into base units (1 coin = 10^8 units), never through floating point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wattline::cli {

inline constexpr std::int64_t kUnitsPerCoin = 100'000'000;
inline constexpr std::int64_t kMaxUnits = 21'000'000 * kUnitsPerCoin;

/** Digits, optionally '.' and 1 to 8 more digits; no sign, exponent or spaces; at most 21e6
 *  coins. nullopt with a reason in *error otherwise. */
std::optional<std::int64_t> ParseCoins(std::string_view text, std::string* error = nullptr);
/** Units as coins with 8 decimals: 150000000 -> "1.50000000", -1 -> "-0.00000001". */
std::string FormatCoins(std::int64_t units);

}  // namespace wattline::cli
