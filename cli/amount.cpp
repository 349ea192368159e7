#include "cli/amount.h"

namespace wattline::cli {
namespace {
bool Fail(std::string* error, const char* why) {
  if (error) *error = why;
  return false;
}
}  // namespace

std::optional<std::int64_t> ParseCoins(std::string_view text, std::string* error) {
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (text.empty()) return Fail(error, "empty amount"), std::nullopt;
  if (whole.empty() && frac.empty()) return Fail(error, "no digits"), std::nullopt;
  if (dot != std::string_view::npos && frac.empty()) return Fail(error, "no digits after the point"), std::nullopt;
  if (frac.size() > 8) return Fail(error, "more than 8 decimal places"), std::nullopt;
  for (char c : whole) {
    if (c < '0' || c > '9') return Fail(error, "not a decimal number"), std::nullopt;
  }
  for (char c : frac) {
    if (c < '0' || c > '9') return Fail(error, "not a decimal number"), std::nullopt;
  }
  // Leading zeros are fine; more than 8 significant whole digits is above the supply anyway.
  std::size_t first = 0;
  while (first + 1 < whole.size() && whole[first] == '0') ++first;
  if (whole.size() - first > 8) return Fail(error, "amount above the money supply"), std::nullopt;
  std::int64_t coins = 0;
  for (std::size_t i = first; i < whole.size(); ++i) coins = coins * 10 + (whole[i] - '0');
  std::int64_t units = 0;
  for (std::size_t i = 0; i < 8; ++i) units = units * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  const std::int64_t total = coins * kUnitsPerCoin + units;  // coins < 1e8: no overflow
  if (total > kMaxUnits) return Fail(error, "amount above the money supply"), std::nullopt;
  return total;
}

std::string FormatCoins(std::int64_t units) {
  const bool neg = units < 0;
  // Magnitude as unsigned: INT64_MIN has no positive int64.
  const std::uint64_t mag = neg ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units);
  std::string frac = std::to_string(mag % kUnitsPerCoin);
  frac.insert(0, 8 - frac.size(), '0');
  return (neg ? "-" : "") + std::to_string(mag / kUnitsPerCoin) + "." + frac;
}

}  // namespace wattline::cli
