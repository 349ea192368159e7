// BIP340 Schnorr keys and signatures over libsecp256k1.
//
// Public keys are 32-byte x-only keys and signatures are 64 bytes, exactly as in BIP340.
// Signing uses one process-wide context, created on first use and randomised against side
// channels; verifying uses libsecp256k1's static context. Everything here is thread-safe.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>

#include "crypto/hash.h"

namespace wattline::crypto {

/** A BIP340 x-only public key as bytes. Not checked to be on the curve until used. */
struct XOnlyPubKey {
  std::array<std::uint8_t, 32> bytes{};

  /** True when the bytes are the x coordinate of a curve point (costs a square root). */
  bool IsValid() const;
  ByteSpan span() const { return {bytes.data(), bytes.size()}; }
  friend auto operator<=>(const XOnlyPubKey&, const XOnlyPubKey&) = default;
  friend bool operator==(const XOnlyPubKey&, const XOnlyPubKey&) = default;
};

/** A 64-byte BIP340 signature. */
struct Signature {
  std::array<std::uint8_t, 64> bytes{};
  ByteSpan span() const { return {bytes.data(), bytes.size()}; }
  friend bool operator==(const Signature&, const Signature&) = default;
};

/** A secret key; its bytes are wiped when it is destroyed. */
class SecretKey {
 public:
  /** A fresh key from the secure RNG. */
  static SecretKey Generate();
  /** nullopt unless 0 < key < the curve order. */
  static std::optional<SecretKey> FromBytes(std::span<const std::uint8_t> bytes32);

  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  ~SecretKey();

  XOnlyPubKey PubKey() const;
  /** BIP340 signature of a 32-byte message; aux is the auxiliary randomness (fresh if absent). */
  Signature Sign(const Hash256& msg, const std::optional<Hash256>& aux = std::nullopt) const;
  /** BIP340 signature of a message of any length (the 2022 BIP340 extension). */
  Signature SignMessage(ByteSpan msg, const Hash256& aux) const;
  const std::array<std::uint8_t, 32>& bytes() const { return m_bytes; }

 private:
  SecretKey() = default;
  std::array<std::uint8_t, 32> m_bytes{};
};

/**
 * A public key parsed once (libsecp256k1's opaque curve point) for many verifications: parsing
 * costs a square root, about a fifth of a verification, so a meter's batch of readings parses
 * its key once instead of once per reading.
 */
class ParsedPubKey {
 public:
  /** nullopt when the bytes are not an x coordinate of a curve point. */
  static std::optional<ParsedPubKey> Parse(const XOnlyPubKey& key);
  /** BIP340 verification of a 32-byte message against this key. */
  bool Verify(const Hash256& msg, const Signature& sig) const;

 private:
  ParsedPubKey() = default;
  std::array<std::uint8_t, 64> m_point{};  //!< a secp256k1_xonly_pubkey, copied bytewise
};

/** BIP340 verification of a message of any length. False for an invalid key or signature. */
bool Verify(const XOnlyPubKey& key, ByteSpan msg, const Signature& sig);
inline bool Verify(const XOnlyPubKey& key, const Hash256& msg, const Signature& sig) {
  return Verify(key, msg.span(), sig);
}

}  // namespace wattline::crypto
