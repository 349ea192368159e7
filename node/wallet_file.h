// The wallet's at-rest format (docs/node-wallet.md, "File format") and the cryptography
// around it: scrypt (OpenSSL EVP_KDF) and AES-256-GCM (OpenSSL EVP), plus the durable,
// owner-only file write. Used by node/wallet.cpp only; exposed for the tests.
//
// Version 1, all integers little-endian:
//
//   offset     size  field
//   0          8     magic "WLWALLET"
//   8          2     format version (1)
//   10         1     network (consensus::Network: 0 main, 1 testnet, 2 devnet, 3 regtest)
//   11         1     KDF (1 = scrypt)
//   12         1     scrypt log2(N)
//   13         4     scrypt r
//   17         4     scrypt p
//   21         16    scrypt salt
//   37         12    AES-GCM nonce
//   49         4     key count n (1 .. kMaxKeys)
//   53         32*n  x-only public keys 0 .. n-1
//   53+32n     32    the seed, encrypted (AES-256-GCM, AAD = bytes [0, 53+32n))
//   85+32n     16    GCM tag
//   101+32n    32    SHA-256 of bytes [0, 101+32n): catches damage before any passphrase is tried
//
// Thread-safe (no shared state).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "consensus/params.h"
#include "crypto/schnorr.h"

namespace wattline::node::wallet_file {

inline constexpr std::array<std::uint8_t, 8> kMagic{'W', 'L', 'W', 'A', 'L', 'L', 'E', 'T'};
inline constexpr std::uint16_t kFormatVersion = 1;
inline constexpr std::uint8_t kKdfScrypt = 1;
inline constexpr std::uint32_t kMaxKeys = 100'000;
inline constexpr std::size_t kHeaderSize = 53;
inline constexpr std::size_t kTrailerSize = 32 + 16 + 32;  //!< encrypted seed, tag, checksum
/** scrypt may use at most this much memory (128 * r * N bytes); larger parameters are refused. */
inline constexpr std::uint64_t kMaxScryptMemory = 1ull << 30;

using Secret32 = std::array<std::uint8_t, 32>;

struct ScryptParams {
  std::uint8_t log2_n = 15;  //!< N = 2^15
  std::uint32_t r = 8;
  std::uint32_t p = 1;
  friend bool operator==(const ScryptParams&, const ScryptParams&) = default;
};

/** Everything the file holds. */
struct Contents {
  consensus::Network network = consensus::Network::kRegtest;
  ScryptParams scrypt;
  std::array<std::uint8_t, 16> salt{};
  std::array<std::uint8_t, 12> nonce{};
  std::vector<crypto::XOnlyPubKey> keys;
  Secret32 encrypted_seed{};
  std::array<std::uint8_t, 16> tag{};
};

/** The bytes GCM authenticates: the header and the public keys. */
std::vector<std::uint8_t> AssociatedData(const Contents& c);
/** The whole file, checksum included. */
std::vector<std::uint8_t> Serialize(const Contents& c);
/** Parses a whole file; nullopt with a message naming the problem when it is not a valid file. */
std::optional<Contents> Parse(std::span<const std::uint8_t> bytes, std::string& error);

/** True when the parameters are in the accepted range (memory bound included). */
bool ScryptParamsValid(const ScryptParams& p, std::string* error = nullptr);
/** scrypt(passphrase, salt) -> 32 bytes via EVP_KDF "SCRYPT". False with a message on failure. */
bool DeriveKey(const std::string& passphrase, const ScryptParams& params, std::span<const std::uint8_t> salt,
               Secret32& key, std::string& error);

/** Encrypts the seed under key with the nonce in c.nonce (the caller picks a fresh random one), AAD from c. */
bool EncryptSeed(const Secret32& key, const Secret32& seed, Contents& c, std::string& error);
/** Decrypts; false when the tag does not verify (wrong key, or the authenticated data changed). */
bool DecryptSeed(const Secret32& key, const Contents& c, Secret32& seed);

enum class IoError { kNone, kNotFound, kIo, kExists, kTooLarge };
/** Reads a whole file (at most max_bytes). */
IoError ReadFile(const std::filesystem::path& path, std::size_t max_bytes, std::vector<std::uint8_t>& out,
                 std::string& error);
/**
 * Writes bytes durably with owner-only permissions (0600): a temporary file next to path,
 * written and fsynced, then moved into place and the directory fsynced. With no_clobber the
 * move fails with kExists when path exists (atomically, via link(2)); otherwise it replaces.
 */
IoError WriteFileAtomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes, bool no_clobber,
                        std::string& error);

}  // namespace wattline::node::wallet_file
