// Addresses: the text form of a Key(pk) condition that people paste, in bech32m (BIP350)
// with a human-readable prefix per network, so that a main-network address is refused on
// regtest and a typo is caught by the checksum.
//
//   main "wl", testnet "twl", devnet "dwl", regtest "rwl";  data = version 0 || 32-byte key
//   e.g. rwl1q... (62 characters on main, 63 on the other networks)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "consensus/params.h"
#include "crypto/schnorr.h"

namespace wattline::node {

std::string_view AddressPrefix(consensus::Network network);
std::string EncodeAddress(const crypto::XOnlyPubKey& key, consensus::Network network);
/** The key of a valid address of this network; nullopt with a reason in *error otherwise. */
std::optional<crypto::XOnlyPubKey> DecodeAddress(std::string_view address, consensus::Network network,
                                                 std::string* error = nullptr);

}  // namespace wattline::node
