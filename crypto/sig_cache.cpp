#include "crypto/sig_cache.h"

#include <algorithm>
#include <mutex>

namespace wattline::crypto {

namespace {
__extension__ typedef unsigned __int128 u128;  // GCC and Clang: exact 128-bit products

// The salt is padded to one SHA-256 block so that its compression runs once, at construction;
// an id then costs two compressions over key || msg || sig (128 bytes) and the padding block.
constexpr std::array<std::uint8_t, 32> kSaltPad{};
}  // namespace

SigCache::SigCache(const Hash256& salt, std::size_t max_bytes)
    : m_buckets_count(std::max<std::size_t>(1, max_bytes / sizeof(Bucket))),
      m_buckets(std::make_unique<Bucket[]>(m_buckets_count)) {
  m_salted.Write(salt.span()).Write(kSaltPad.data(), kSaltPad.size());
}

Hash256 SigCache::EntryId(const XOnlyPubKey& key, const Hash256& msg, const Signature& sig) const {
  Sha256 h = m_salted;
  return h.Write(key.span()).Write(msg.span()).Write(sig.span()).Finalize();
}

SigCache::Bucket& SigCache::BucketOf(const Hash256& id) const {
  // The id is uniform, so its first 8 bytes scaled to the bucket count pick a uniform bucket
  // without a modulo bias or a power-of-two table.
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | id.bytes[i];
  const auto index = static_cast<std::size_t>((u128{v} * m_buckets_count) >> 64);
  return m_buckets[index];
}

bool SigCache::Contains(const Hash256& id, Mode mode) {
  std::shared_lock lock(m_mutex);
  Bucket& b = BucketOf(id);
  for (std::size_t i = 0; i < kWays; ++i) {
    if (b.ids[i] != id) continue;
    const auto bit = static_cast<std::uint8_t>(1u << i);
    // The mask is atomic so that lookups may change it under the shared lock.
    if (mode == Mode::kRemember)
      b.retired.fetch_and(static_cast<std::uint8_t>(~bit), std::memory_order_relaxed);
    else if (mode == Mode::kLookupAndRetire)
      b.retired.fetch_or(bit, std::memory_order_relaxed);
    return true;
  }
  return false;
}

void SigCache::Insert(const Hash256& id) {
  std::unique_lock lock(m_mutex);
  Bucket& b = BucketOf(id);
  std::size_t slot = kWays;
  for (std::size_t i = 0; i < kWays; ++i) {
    if (b.ids[i] == id) return;  // another thread stored it meanwhile
    if (slot == kWays && b.ids[i].IsZero()) slot = i;
  }
  const std::uint8_t retired = b.retired.load(std::memory_order_relaxed);
  if (slot == kWays && retired != 0) slot = static_cast<std::size_t>(__builtin_ctz(retired));
  if (slot == kWays) {
    slot = b.next_victim;
    b.next_victim = static_cast<std::uint8_t>((b.next_victim + 1) % kWays);
  }
  if (!b.ids[slot].IsZero()) m_evictions.fetch_add(1, std::memory_order_relaxed);
  b.ids[slot] = id;
  b.retired.store(static_cast<std::uint8_t>(retired & ~(1u << slot)), std::memory_order_relaxed);
  m_inserts.fetch_add(1, std::memory_order_relaxed);
}

bool SigCache::Verify(const XOnlyPubKey& key, const Hash256& msg, const Signature& sig, Mode mode,
                      const ParsedPubKey* parsed) {
  const Hash256 id = EntryId(key, msg, sig);
  if (Contains(id, mode)) {
    m_hits.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  m_verifications.fetch_add(1, std::memory_order_relaxed);
  const bool ok = parsed ? parsed->Verify(msg, sig) : crypto::Verify(key, msg, sig);
  if (ok && mode == Mode::kRemember) Insert(id);
  return ok;
}

void SigCache::Clear() {
  std::unique_lock lock(m_mutex);
  for (std::size_t i = 0; i < m_buckets_count; ++i) {
    m_buckets[i].ids.fill(Hash256{});
    m_buckets[i].retired.store(0, std::memory_order_relaxed);
    m_buckets[i].next_victim = 0;
  }
}

std::size_t SigCache::Count() const {
  std::shared_lock lock(m_mutex);
  std::size_t n = 0;
  for (std::size_t i = 0; i < m_buckets_count; ++i)
    n += static_cast<std::size_t>(std::count_if(m_buckets[i].ids.begin(), m_buckets[i].ids.end(),
                                                [](const Hash256& h) { return !h.IsZero(); }));
  return n;
}

SigCache::Stats SigCache::GetStats() const {
  return {m_hits.load(std::memory_order_relaxed), m_verifications.load(std::memory_order_relaxed),
          m_inserts.load(std::memory_order_relaxed), m_evictions.load(std::memory_order_relaxed)};
}

void SigCache::ResetStats() {
  m_hits.store(0);
  m_verifications.store(0);
  m_inserts.store(0);
  m_evictions.store(0);
}

}  // namespace wattline::crypto
