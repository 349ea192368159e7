#include "node/address.h"

#include <vector>

#include "node/bech32.h"

namespace wattline::node {
namespace {

// The only address version so far: the data is 5-bit value 0, then the 32-byte x-only key
// regrouped 8 -> 5 bits with zero padding (52 values), as BIP350 does for a witness program.
constexpr std::uint8_t kAddressVersion = 0;
constexpr std::size_t kKeySize = 32;

void SetError(std::string* error, std::string msg) {
  if (error) *error = std::move(msg);
}

std::optional<consensus::Network> NetworkOfPrefix(std::string_view hrp) {
  for (consensus::Network n : {consensus::Network::kMain, consensus::Network::kTestnet, consensus::Network::kDevnet,
                               consensus::Network::kRegtest})
    if (AddressPrefix(n) == hrp) return n;
  return std::nullopt;
}

}  // namespace

std::string_view AddressPrefix(consensus::Network network) {
  switch (network) {
    case consensus::Network::kMain: return "wl";
    case consensus::Network::kTestnet: return "twl";
    case consensus::Network::kDevnet: return "dwl";
    case consensus::Network::kRegtest: return "rwl";
  }
  return "?";  // unreachable for the closed enum
}

std::string EncodeAddress(const crypto::XOnlyPubKey& key, consensus::Network network) {
  std::vector<std::uint8_t> values{kAddressVersion};
  bech32::ConvertBits(key.bytes, 8, 5, /*pad=*/true, values);
  return bech32::Encode(AddressPrefix(network), values);
}

std::optional<crypto::XOnlyPubKey> DecodeAddress(std::string_view address, consensus::Network network,
                                                 std::string* error) {
  std::string why;
  auto decoded = bech32::Decode(address, &why);
  if (!decoded) {
    SetError(error, "invalid address: " + why);
    return std::nullopt;
  }
  const std::string_view want = AddressPrefix(network);
  if (decoded->hrp != want) {
    const auto other = NetworkOfPrefix(decoded->hrp);
    if (other)
      SetError(error, "address is for network " + std::string{consensus::NetworkName(*other)} + " (prefix '" +
                          decoded->hrp + "'), this node runs " + std::string{consensus::NetworkName(network)} +
                          " (prefix '" + std::string{want} + "')");
    else
      SetError(error, "unknown address prefix '" + decoded->hrp + "', expected '" + std::string{want} + "'");
    return std::nullopt;
  }
  if (decoded->data.empty()) {
    SetError(error, "address has no data");
    return std::nullopt;
  }
  if (decoded->data[0] != kAddressVersion) {
    SetError(error, "unsupported address version " + std::to_string(decoded->data[0]));
    return std::nullopt;
  }
  std::vector<std::uint8_t> key_bytes;
  if (!bech32::ConvertBits(std::span{decoded->data}.subspan(1), 5, 8, /*pad=*/false, key_bytes)) {
    SetError(error, "address data has invalid padding");
    return std::nullopt;
  }
  if (key_bytes.size() != kKeySize) {
    SetError(error, "address key is " + std::to_string(key_bytes.size()) + " bytes, expected 32");
    return std::nullopt;
  }
  crypto::XOnlyPubKey key;
  std::copy(key_bytes.begin(), key_bytes.end(), key.bytes.begin());
  if (!key.IsValid()) {
    SetError(error, "address key is not a valid public key");
    return std::nullopt;
  }
  return key;
}

}  // namespace wattline::node
