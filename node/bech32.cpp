#include "node/bech32.h"

#include <array>

namespace wattline::node::bech32 {
namespace {

// BIP173 "Bech32": the 32 characters, in value order.
constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
// BIP350: the checksum constant that distinguishes bech32m from bech32 (which uses 1).
constexpr std::uint32_t kBech32mConst = 0x2bc830a3;
constexpr std::uint32_t kBech32Const = 1;

// BIP173 bech32_polymod: the remainder of the data read as a polynomial over GF(32), modulo the
// generator; each step shifts in one 5-bit value and folds back the top 5 bits.
std::uint32_t Polymod(std::span<const std::uint8_t> values) {
  constexpr std::array<std::uint32_t, 5> kGen{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  std::uint32_t chk = 1;
  for (std::uint8_t v : values) {
    const std::uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (std::size_t i = 0; i < kGen.size(); ++i)
      if ((top >> i) & 1) chk ^= kGen[i];
  }
  return chk;
}

// BIP173 bech32_hrp_expand: high 3 bits of each character, a zero, then the low 5 bits.
std::vector<std::uint8_t> HrpExpand(std::string_view hrp) {
  std::vector<std::uint8_t> out;
  out.reserve(hrp.size() * 2 + 1);
  for (char c : hrp) out.push_back(static_cast<std::uint8_t>(static_cast<std::uint8_t>(c) >> 5));
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<std::uint8_t>(static_cast<std::uint8_t>(c) & 31));
  return out;
}

int CharValue(char c) {
  const auto pos = kCharset.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

void SetError(std::string* error, std::string msg) {
  if (error) *error = std::move(msg);
}

}  // namespace

std::string Encode(std::string_view hrp, std::span<const std::uint8_t> values) {
  std::vector<std::uint8_t> enc = HrpExpand(hrp);
  enc.insert(enc.end(), values.begin(), values.end());
  enc.insert(enc.end(), kChecksumLength, 0);
  const std::uint32_t mod = Polymod(enc) ^ kBech32mConst;
  std::string out{hrp};
  out.reserve(hrp.size() + 1 + values.size() + kChecksumLength);
  out.push_back('1');
  for (std::uint8_t v : values) out.push_back(kCharset[v & 31]);
  for (std::size_t i = 0; i < kChecksumLength; ++i) out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

std::optional<Decoded> Decode(std::string_view str, std::string* error) {
  bool lower = false;
  bool upper = false;
  for (std::size_t i = 0; i < str.size(); ++i) {
    const auto c = static_cast<unsigned char>(str[i]);
    if (c < 33 || c > 126) {
      SetError(error, "invalid character (code " + std::to_string(c) + ") at position " + std::to_string(i));
      return std::nullopt;
    }
    if (c >= 'a' && c <= 'z') lower = true;
    if (c >= 'A' && c <= 'Z') upper = true;
  }
  if (lower && upper) {
    SetError(error, "mixed upper and lower case");
    return std::nullopt;
  }
  if (str.size() > kMaxLength) {
    SetError(error, "too long: " + std::to_string(str.size()) + " characters, at most " + std::to_string(kMaxLength));
    return std::nullopt;
  }
  const auto sep = str.rfind('1');
  if (sep == std::string_view::npos) {
    SetError(error, "no separator '1'");
    return std::nullopt;
  }
  if (sep == 0) {
    SetError(error, "empty human-readable part");
    return std::nullopt;
  }
  if (str.size() - sep - 1 < kChecksumLength) {
    SetError(error, "too short: fewer than 6 checksum characters after the separator");
    return std::nullopt;
  }
  Decoded out;
  out.hrp.reserve(sep);
  for (std::size_t i = 0; i < sep; ++i) {
    char c = str[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.hrp.push_back(c);
  }
  std::vector<std::uint8_t> values;
  values.reserve(str.size() - sep - 1);
  for (std::size_t i = sep + 1; i < str.size(); ++i) {
    char c = str[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const int v = CharValue(c);
    if (v < 0) {
      SetError(error, std::string{"invalid data character '"} + str[i] + "' at position " + std::to_string(i));
      return std::nullopt;
    }
    values.push_back(static_cast<std::uint8_t>(v));
  }
  std::vector<std::uint8_t> check = HrpExpand(out.hrp);
  check.insert(check.end(), values.begin(), values.end());
  const std::uint32_t mod = Polymod(check);
  if (mod != kBech32mConst) {
    SetError(error, mod == kBech32Const ? "bech32 checksum where bech32m (BIP350) is required"
                                        : "bad checksum (a typo?)");
    return std::nullopt;
  }
  values.resize(values.size() - kChecksumLength);
  out.data = std::move(values);
  return out;
}

bool ConvertBits(std::span<const std::uint8_t> in, int from_bits, int to_bits, bool pad,
                 std::vector<std::uint8_t>& out) {
  std::uint32_t acc = 0;
  int bits = 0;
  const std::uint32_t maxv = (1u << to_bits) - 1;
  for (std::uint8_t value : in) {
    if ((value >> from_bits) != 0) return false;
    acc = (acc << from_bits) | value;
    bits += from_bits;
    while (bits >= to_bits) {
      bits -= to_bits;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & maxv));
    }
    acc &= (1u << bits) - 1;  // keep only the bits not yet written
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<std::uint8_t>((acc << (to_bits - bits)) & maxv));
  } else if (bits >= from_bits || ((acc << (to_bits - bits)) & maxv) != 0) {
    return false;
  }
  return true;
}

}  // namespace wattline::node::bech32
