// What the node wallet reads from outside: addresses typed by people (bech32m) and the wallet
// file from disk. Never a crash; a decoded address re-encodes to the lowercase input; a parsed
// wallet file serialises back to the same bytes.
#include <algorithm>
#include <cctype>
#include <string>

#include "fuzz_util.h"
#include "node/address.h"
#include "node/bech32.h"
#include "node/wallet_file.h"

using namespace wattline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (auto decoded = node::bech32::Decode(text, &error)) {
    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    FUZZ_CHECK(node::bech32::Encode(decoded->hrp, decoded->data) == lower);
  } else {
    FUZZ_CHECK(!error.empty());
  }
  for (auto net : {consensus::Network::kMain, consensus::Network::kRegtest}) {
    if (auto key = node::DecodeAddress(text, net)) {
      std::string lower = text;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      FUZZ_CHECK(node::EncodeAddress(*key, net) == lower);
    }
  }
  std::string why;
  if (auto contents = node::wallet_file::Parse({data, size}, why)) {
    const auto again = node::wallet_file::Serialize(*contents);
    FUZZ_CHECK(fuzz::SameBytes(again, {data, size}));
  } else {
    FUZZ_CHECK(!why.empty());
  }
  return 0;
}
