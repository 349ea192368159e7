// SHA-256, double SHA-256 and BIP340 tagged hashes.
//
// Hash256 is a plain 32-byte value. Its text form is the bytes in order, as lowercase hex (no
// byte reversal). All functions here are thread-safe and allocation-free.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace wattline::crypto {

using ByteSpan = std::span<const std::uint8_t>;

/** A 32-byte digest (or any 32-byte identifier). Zero-initialised by default. */
struct Hash256 {
  std::array<std::uint8_t, 32> bytes{};

  static constexpr std::size_t kSize = 32;

  bool IsZero() const;
  /** Lowercase hex of the bytes in order. */
  std::string ToHex() const;
  /** Parses exactly 64 hex digits (either case); nullopt otherwise. */
  static std::optional<Hash256> FromHex(std::string_view hex);
  static Hash256 FromBytes(ByteSpan b);  //!< precondition: b.size() == 32

  const std::uint8_t* data() const { return bytes.data(); }
  std::uint8_t* data() { return bytes.data(); }
  static constexpr std::size_t size() { return kSize; }
  ByteSpan span() const { return {bytes.data(), bytes.size()}; }

  friend auto operator<=>(const Hash256&, const Hash256&) = default;
  friend bool operator==(const Hash256&, const Hash256&) = default;
};

/** Incremental SHA-256. Copyable: a copy carries the midstate (used for tagged hashes). */
class Sha256 {
 public:
  Sha256();
  Sha256& Write(ByteSpan data);
  Sha256& Write(const void* data, std::size_t len);
  Hash256 Finalize();  //!< the object must not be written to afterwards

 private:
  // Opaque copy of OpenSSL's SHA256_CTX (a plain struct of 112 bytes), so that callers of this
  // header do not see OpenSSL and a midstate is copied by value.
  alignas(8) std::array<std::uint8_t, 112> m_state;
};

Hash256 Sha256Of(ByteSpan data);
/** SHA256(SHA256(data)): block header hashes. */
Hash256 Sha256d(ByteSpan data);

/**
 * A BIP340 tagged hash SHA256(SHA256(tag) || SHA256(tag) || msg) with the 64-byte prefix
 * absorbed once at construction. Make one per tag (e.g. a function-local static) and call
 * Hash() from any thread.
 */
class TaggedHasher {
 public:
  explicit TaggedHasher(std::string_view tag);
  /** A fresh hasher with the tag prefix already written. */
  Sha256 Start() const { return m_midstate; }
  Hash256 Hash(ByteSpan msg) const;

 private:
  Sha256 m_midstate;
};

/** One-off tagged hash; prefer a long-lived TaggedHasher on hot paths. */
Hash256 TaggedHash(std::string_view tag, ByteSpan msg);

}  // namespace wattline::crypto

template <>
struct std::hash<wattline::crypto::Hash256> {
  std::size_t operator()(const wattline::crypto::Hash256& h) const noexcept {
    // The bytes are already uniformly distributed (outputs of SHA-256).
    std::size_t v;
    static_assert(sizeof(v) <= 32);
    __builtin_memcpy(&v, h.bytes.data() + 8, sizeof(v));
    return v;
  }
};
