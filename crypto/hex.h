// Hex encoding of byte strings (lowercase out, either case in).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wattline::crypto {

std::string HexEncode(std::span<const std::uint8_t> bytes);
/** nullopt for an odd length or a character that is not a hex digit. */
std::optional<std::vector<std::uint8_t>> HexDecode(std::string_view hex);

}  // namespace wattline::crypto
