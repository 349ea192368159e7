// The address book: where to find peers, resistant to being filled by one source.
//
// Two tables of fixed size (docs/p2p.md, "Address book"):
//   new    addresses heard of but never connected to: kNewBucketCount buckets of kBucketSize.
//          An address's bucket depends on the network group of the peer that told us (its
//          *source*) and on the address's own group: the addresses one source group can place
//          fall into at most kNewBucketsPerSourceGroup buckets, so a source (or a /16 of
//          sources) can fill at most kNewBucketsPerSourceGroup * kBucketSize slots, about 6% of
//          the table, however many addresses it sends.
//   tried  addresses we connected to: kTriedBucketCount buckets, by the address's group
//          (at most kTriedBucketsPerGroup buckets per group).
// Bucket and slot come from a hash keyed by a 256-bit secret that is random per book and
// persisted with it, so an attacker cannot aim addresses at chosen slots. A slot holds one
// address: a newcomer only replaces a "terrible" occupant (see IsTerrible), and an address
// promoted to tried pushes the tried occupant back to new.
//
// Times are seconds since the Unix epoch and are arguments (no clock is read here).
// Thread-safe: every public method takes the book's mutex.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include "ledger/status.h"
#include "net/frame.h"
#include "net/messages.h"
#include "net/netaddr.h"

namespace wattline::net {

/** What the book knows of one address. */
struct AddrInfo {
  Service service;
  std::uint64_t services = 0;
  std::int64_t last_seen = 0;     //!< from gossip, or our last successful connection
  std::int64_t last_try = 0;      //!< 0: never tried
  std::int64_t last_success = 0;  //!< 0: never connected
  std::uint32_t attempts = 0;     //!< failed tries since the last success
  NetAddress source;              //!< who told us (for tried entries: who told us first)
  bool tried = false;
  friend bool operator==(const AddrInfo&, const AddrInfo&) = default;
};

/** An address the book should forget: never worth trying again, or never worth gossiping. */
bool IsTerrible(const AddrInfo& info, std::int64_t now);

class AddrMan {
 public:
  static constexpr std::size_t kNewBucketCount = 1024;
  static constexpr std::size_t kTriedBucketCount = 256;
  static constexpr std::size_t kBucketSize = 64;
  static constexpr std::size_t kNewBucketsPerSourceGroup = 64;
  static constexpr std::size_t kTriedBucketsPerGroup = 8;
  /** GetAddr never returns more than this share of the book, so one getaddr cannot copy it... */
  static constexpr std::size_t kGetAddrMaxPercent = 23;
  /** ...except that a book this small is shared whole (a new local testnet must be able to
   *  gossip its few addresses; a book this small is not worth protecting). */
  static constexpr std::size_t kGetAddrSmallBook = 16;

  using Key = std::array<std::uint8_t, 32>;

  /** An empty book for a network, with a random secret key and a random selection seed. */
  explicit AddrMan(const Magic& network);
  /** Deterministic (tests): the given key and seed. */
  AddrMan(const Magic& network, const Key& key, std::uint64_t rng_seed);

  AddrMan(const AddrMan&) = delete;
  AddrMan& operator=(const AddrMan&) = delete;

  /** Adds the addresses heard from source; returns how many were new and placed. Invalid
   *  entries (unspecified address, port 0) are skipped; known ones get their services and
   *  last_seen refreshed. */
  std::size_t Add(const std::vector<AddrEntry>& addrs, const NetAddress& source, std::int64_t now);
  /** We connected and completed a handshake: moves the address to tried. False if unknown. */
  bool Good(const Service& service, std::int64_t now);
  /** We are about to try (or failed) to connect: counts the attempt. */
  void Attempt(const Service& service, std::int64_t now);
  /** An address to try: from new or tried at random (only new with new_only), preferring
   *  addresses not tried recently and with few failures. nullopt if there is none. */
  std::optional<AddrInfo> Select(bool new_only, std::int64_t now);
  /** Up to max_count random addresses that are not terrible, at most kGetAddrMaxPercent of the
   *  book (or all of a book of at most kGetAddrSmallBook), for an addr reply. */
  std::vector<AddrEntry> GetAddr(std::size_t max_count, std::int64_t now);
  /** Forgets every terrible address; returns how many. Call periodically. */
  std::size_t EvictTerrible(std::int64_t now);

  std::optional<AddrInfo> Find(const Service& service) const;
  std::size_t size() const;
  std::size_t new_count() const;
  std::size_t tried_count() const;

  struct Location {
    bool tried = false;
    std::size_t bucket = 0;
    std::size_t slot = 0;
  };
  /** Where an address sits (for tests and diagnostics). */
  std::optional<Location> LocationOf(const Service& service) const;

  /** Writes the book to path atomically (net/file_store.h). */
  ledger::Status Save(const std::filesystem::path& path) const;
  /**
   * Replaces the book with the one in path. No file: an empty book, Ok. A damaged file or one
   * of another network: the file is set aside ("<path>.corrupt" when damaged), the book is
   * empty with a fresh key, and the error says what was wrong. Never throws on bad content.
   */
  ledger::Status Load(const std::filesystem::path& path);

 private:
  struct Entry {
    AddrInfo info;
    std::size_t bucket = 0;
    std::size_t slot = 0;
    std::size_t random_pos = 0;  //!< index in m_ids[tried]
  };
  using Id = std::uint64_t;
  static constexpr Id kEmpty = UINT64_MAX;

  std::uint64_t KeyedHash(std::initializer_list<consensus::ByteSpan> parts) const;
  std::size_t NewBucket(const Service& s, const NetAddress& source) const;
  std::size_t TriedBucket(const Service& s) const;
  std::size_t SlotOf(bool tried, std::size_t bucket, const Service& s) const;

  Id& Cell(bool tried, std::size_t bucket, std::size_t slot);
  void Place(Id id, bool tried, std::size_t bucket, std::size_t slot);
  void Unplace(Id id);
  void Erase(Id id);
  bool AddOne(const AddrEntry& e, const NetAddress& source, std::int64_t now);
  bool PlaceLoaded(AddrInfo info);
  void ResetLocked(const Key& key);

  const Magic m_network;
  mutable std::mutex m_mutex;
  /** Serialises Save: two saves must not share the temporary file. Taken before m_mutex. */
  mutable std::mutex m_save_mutex;
  Key m_key;
  std::mt19937_64 m_rng;
  Id m_next_id = 0;
  std::map<Service, Id> m_by_service;
  std::map<Id, Entry> m_entries;
  std::vector<Id> m_new_table;    //!< kNewBucketCount * kBucketSize cells
  std::vector<Id> m_tried_table;  //!< kTriedBucketCount * kBucketSize cells
  std::array<std::vector<Id>, 2> m_ids;  //!< [0] new, [1] tried: for uniform random picks
};

}  // namespace wattline::net
