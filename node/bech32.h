// Bech32m (BIP350) strings: a human-readable part, the separator '1', data in 5-bit groups
// written with a 32-character alphabet, and a 6-character BCH checksum over both.
//
// Written from the definitions in BIP173 (polymod, HRP expansion, character set, case rules,
// 90-character limit) and BIP350 (the bech32m checksum constant 0x2bc830a3). Only bech32m is
// produced or accepted; a string with a valid original-bech32 checksum is refused with a
// message saying so. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wattline::node::bech32 {

/** BIP173: a whole string may not exceed this many characters. */
inline constexpr std::size_t kMaxLength = 90;
inline constexpr std::size_t kChecksumLength = 6;

struct Decoded {
  std::string hrp;                 //!< lowercase
  std::vector<std::uint8_t> data;  //!< 5-bit values, checksum removed
};

/**
 * Encodes hrp (lowercase ASCII 33..126, 1..83 characters) and 5-bit values as a lowercase
 * bech32m string. Precondition: every value < 32 and the result fits kMaxLength.
 */
std::string Encode(std::string_view hrp, std::span<const std::uint8_t> values);

/**
 * Decodes a bech32m string (all lowercase or all uppercase). nullopt with the reason in
 * *error for: mixed case, a character outside 33..126, a length over 90, no separator, an
 * empty HRP, fewer than 6 data characters, a data character outside the alphabet, or a bad
 * checksum.
 */
std::optional<Decoded> Decode(std::string_view str, std::string* error = nullptr);

/**
 * Regroups bits (8 -> 5 with padding, 5 -> 8 without). Without padding, fails on leftover
 * bits of 5 or more, or on non-zero leftover bits (BIP173's rule for decoders).
 */
bool ConvertBits(std::span<const std::uint8_t> in, int from_bits, int to_bits, bool pad,
                 std::vector<std::uint8_t>& out);

}  // namespace wattline::node::bech32
