#include "crypto/hash.h"

// The low-level SHA256_* API is deprecated in OpenSSL 3 but is 3-5x faster than EVP for short
// inputs (../docs/benchmarks.md, TOOLCHAIN.md pitfall 8), and it is what makes a midstate
// copyable. It is kept by OpenSSL 3.x.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstring>

#include "crypto/hex.h"

namespace wattline::crypto {

static_assert(sizeof(SHA256_CTX) == 112, "Sha256::m_state must hold a SHA256_CTX");

namespace {
SHA256_CTX* Ctx(std::array<std::uint8_t, 112>& s) { return reinterpret_cast<SHA256_CTX*>(s.data()); }
}  // namespace

bool Hash256::IsZero() const {
  for (auto b : bytes)
    if (b != 0) return false;
  return true;
}

std::string Hash256::ToHex() const { return HexEncode(span()); }

std::optional<Hash256> Hash256::FromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto raw = HexDecode(hex);
  if (!raw) return std::nullopt;
  return FromBytes(*raw);
}

Hash256 Hash256::FromBytes(ByteSpan b) {
  Hash256 h;
  std::memcpy(h.bytes.data(), b.data(), 32);
  return h;
}

Sha256::Sha256() { SHA256_Init(Ctx(m_state)); }

Sha256& Sha256::Write(ByteSpan data) { return Write(data.data(), data.size()); }

Sha256& Sha256::Write(const void* data, std::size_t len) {
  SHA256_Update(Ctx(m_state), data, len);
  return *this;
}

Hash256 Sha256::Finalize() {
  Hash256 out;
  SHA256_Final(out.bytes.data(), Ctx(m_state));
  return out;
}

Hash256 Sha256Of(ByteSpan data) { return Sha256().Write(data).Finalize(); }

Hash256 Sha256d(ByteSpan data) {
  Hash256 first = Sha256Of(data);
  return Sha256Of(first.span());
}

TaggedHasher::TaggedHasher(std::string_view tag) {
  Hash256 tag_hash = Sha256().Write(tag.data(), tag.size()).Finalize();
  m_midstate.Write(tag_hash.span()).Write(tag_hash.span());
}

Hash256 TaggedHasher::Hash(ByteSpan msg) const { return Start().Write(msg).Finalize(); }

Hash256 TaggedHash(std::string_view tag, ByteSpan msg) { return TaggedHasher(tag).Hash(msg); }

}  // namespace wattline::crypto
