// A bounded, salted memo of BIP340 signatures already verified valid (issue 13, point 3).
//
// What it caches: the fact "sig is a valid BIP340 signature of the 32-byte msg under the
// x-only key". An entry is the 32-byte id SHA256(salt || 0^32 || key || msg || sig): all three
// parts of the triple are in it, so changing any byte of the key, the message or the signature
// misses, and a miss always runs the real verification. The cache can only skip re-verifying a
// triple that verified true; it never turns an invalid signature valid, and it never stores a
// failure (a failing signature costs the sender's peer a verification each time, as before).
// A hit skips the key parse (xonly_pubkey_parse) as well as the verify. Keys parsed on the
// miss path are not cached: the parse is 13% of a miss and keys rarely repeat across spends.
//
// Why a reorganisation needs nothing: an entry is a fact about three byte strings, true on
// every chain. Everything a chain decides (which coin is spent, its amount and condition, the
// key in force, the network) is either inside the message the caller hashes (a spend's sighash
// covers the txid, the input index, the spent amount and condition, and the network magic; a
// utility signature covers the prevout and the record) or inside the key the caller passes
// (the utility key in force, a meter's registered key) or checked outside the cache. So the
// cache is never cleared, on a reorganisation or otherwise.
//
// Salt: 32 bytes chosen by the owner (the node draws them from the secure RNG at start). An
// outsider does not know which ids land in which bucket, so cannot aim insertions at one
// bucket to evict chosen entries.
//
// Bound: a fixed table of buckets of kWays ids, allocated once at construction from the byte
// budget and never grown: memory is MemoryUsage() whatever is inserted. An insertion into a
// full bucket replaces, in this order, an empty slot, a slot retired by a connected block,
// or the bucket's slots in turn.
//
// Uses (Mode): the mempool verifies and remembers (kRemember). Block validation only looks up
// and verifies the misses, storing nothing: a block's new signatures will not be checked
// again. A connected block retires the entries it used (kLookupAndRetire) instead of erasing
// them as Bitcoin Core does: they are then the first to be replaced, which frees the space,
// but until then they still serve a block validated twice (a miner's TestBlockValidity of a
// template, then the block itself), a block that fails late in its checks (its valid
// transactions stay cached for the mempool), and a reorganisation that returns the block's
// transactions to the mempool or connects them again on the other branch. A hit under
// kRemember makes a retired entry live again.
//
// Thread-safety: every method may be called from any thread at once (the check queue's
// workers look up in parallel while the mempool inserts). Lookups share a reader lock;
// insertions take it exclusively for a few dozen nanoseconds, against ~30 us per verification.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>

#include "crypto/hash.h"
#include "crypto/schnorr.h"

namespace wattline::crypto {

class SigCache {
 public:
  /** Default budget (the node's --sigcachesize): about a million entries. */
  static constexpr std::size_t kDefaultBytes = 32u << 20;
  /** Slots per bucket: enough that a bucket rarely fills before the whole table does. */
  static constexpr std::size_t kWays = 8;

  /** How a caller uses the cache in Verify. */
  enum class Mode {
    kRemember,         //!< verify a miss and store it when valid (mempool acceptance)
    kLookup,           //!< verify a miss, store nothing (block validity checks)
    kLookupAndRetire,  //!< as kLookup; a hit becomes the first to be replaced (connecting a block)
  };

  /** Counters since construction (or ResetStats); each read separately, not one snapshot. */
  struct Stats {
    std::uint64_t hits = 0;           //!< verifications skipped
    std::uint64_t verifications = 0;  //!< misses verified (valid or not)
    std::uint64_t inserts = 0;        //!< ids stored
    std::uint64_t evictions = 0;      //!< stored ids replaced by an insertion
  };

  /**
   * A cache of at most max_bytes (at least one bucket, ~260 bytes). The salt must be secret
   * and random in a node; tests may pass a fixed one.
   */
  SigCache(const Hash256& salt, std::size_t max_bytes);
  SigCache(const SigCache&) = delete;
  SigCache& operator=(const SigCache&) = delete;

  /**
   * BIP340 verification of sig on msg under key, skipped when the triple is stored. `parsed`,
   * when given, is key already parsed (used on a miss instead of parsing key again). Returns
   * exactly what crypto::Verify(key, msg, sig) returns.
   */
  bool Verify(const XOnlyPubKey& key, const Hash256& msg, const Signature& sig, Mode mode,
              const ParsedPubKey* parsed = nullptr);

  /** The id of a triple under this cache's salt. */
  Hash256 EntryId(const XOnlyPubKey& key, const Hash256& msg, const Signature& sig) const;
  /** True when id is stored. Under kRemember a retired id becomes live; under kLookupAndRetire it is retired. */
  bool Contains(const Hash256& id, Mode mode = Mode::kLookup);
  /** Stores id (the caller has verified its triple), replacing another when its bucket is full. */
  void Insert(const Hash256& id);
  /** Forgets every entry (not needed for correctness; for tests and an operator's reset). */
  void Clear();

  /** Ids stored now; at most Capacity(). Walks the whole table: for tests and statistics. */
  std::size_t Count() const;
  std::size_t Capacity() const { return m_buckets_count * kWays; }
  /** Bytes of the table: fixed at construction, at most max_bytes (or one bucket). */
  std::size_t MemoryUsage() const { return m_buckets_count * sizeof(Bucket); }
  Stats GetStats() const;
  void ResetStats();

 private:
  struct Bucket {
    std::array<Hash256, kWays> ids{};   //!< all-zero: empty (a SHA-256 output is never zero in practice)
    std::atomic<std::uint8_t> retired{0};  //!< bit i: slot i was used by a connected block
    std::uint8_t next_victim = 0;       //!< round-robin replacement when no slot is free or retired
  };
  static_assert(kWays <= 8, "the retired mask is 8 bits");

  Bucket& BucketOf(const Hash256& id) const;

  Sha256 m_salted;  //!< SHA-256 midstate after salt || 0^32 (one full block)
  std::size_t m_buckets_count;
  std::unique_ptr<Bucket[]> m_buckets;
  mutable std::shared_mutex m_mutex;  //!< shared: lookups, Count; exclusive: Insert, Clear
  std::atomic<std::uint64_t> m_hits{0}, m_verifications{0}, m_inserts{0}, m_evictions{0};
};

}  // namespace wattline::crypto
