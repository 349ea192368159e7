// The UTXO set: a view interface, the LevelDB-backed set, and a write-back cache.
//
// CoinsCache sits on any CoinsView (the database or another cache). It remembers coins read
// through it and the changes made to it (added and spent coins) until Flush() hands the
// changes down in one piece: to a parent cache (used to apply a block all-or-nothing) or to
// the database, as one atomic LevelDB batch together with the hash of the block the coin set
// now matches. Not thread-safe: the chainstate serialises access.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <unordered_map>

#include "consensus/serialize.h"
#include "consensus/tx_verify.h"
#include "ledger/database.h"

namespace wattline::ledger {

using consensus::Coin;
using consensus::OutPoint;

/** Canonical encoding of a stored coin: varint(height*2 + coinbase), u64 amount, condition. */
consensus::Bytes EncodeCoin(const Coin& coin);
void EncodeCoin(consensus::Writer& w, const Coin& coin);
bool DecodeCoin(consensus::Reader& r, Coin& coin);

struct OutPointHasher {
  std::size_t operator()(const OutPoint& op) const noexcept {
    return std::hash<crypto::Hash256>{}(op.txid) ^ (static_cast<std::size_t>(op.index) * 0x9e3779b97f4a7c15ull);
  }
};

struct CoinsEntry {
  std::optional<Coin> coin;  //!< nullopt: spent
  bool dirty = false;        //!< differs from the view below
  bool fresh = false;        //!< the view below has no unspent coin here: a spend can just forget it
};
using CoinsMap = std::unordered_map<OutPoint, CoinsEntry, OutPointHasher>;

class CoinsView {
 public:
  virtual ~CoinsView() = default;
  /** The unspent coin at op, if any. */
  virtual std::optional<Coin> GetCoin(const OutPoint& op) const = 0;
  /** Takes the dirty entries of a cache above (consuming them) and the block they lead to. */
  virtual void ApplyChanges(CoinsMap& changes, const crypto::Hash256& best_block) = 0;
};

/** The coin set in the database. */
class CoinsDB final : public CoinsView {
 public:
  explicit CoinsDB(Database& db) : m_db(db) {}
  std::optional<Coin> GetCoin(const OutPoint& op) const override;
  /** One synced batch: every change, the companion's writes and the 'C' (coins tip) record. */
  void ApplyChanges(CoinsMap& changes, const crypto::Hash256& best_block) override;
  /**
   * State kept beside the coins (the market) adds its pending writes to every flush batch
   * through this, so that it reaches the disk atomically with the coins and their 'C' record.
   */
  void SetCompanion(std::function<void(leveldb::WriteBatch&)> companion) { m_companion = std::move(companion); }
  std::optional<crypto::Hash256> BestBlock() const;
  /** Every coin in key order. */
  void ForEach(const std::function<void(const OutPoint&, const Coin&)>& fn) const;

 private:
  Database& m_db;
  std::function<void(leveldb::WriteBatch&)> m_companion;
};

class CoinsCache final : public CoinsView {
 public:
  /** base must outlive the cache (a pointer, so that a cache over a cache is never a copy). */
  explicit CoinsCache(CoinsView* base) : m_base(*base) {}
  CoinsCache(const CoinsCache&) = delete;
  CoinsCache& operator=(const CoinsCache&) = delete;

  std::optional<Coin> GetCoin(const OutPoint& op) const override;
  void ApplyChanges(CoinsMap& changes, const crypto::Hash256& best_block) override;

  /** The unspent coin at op (fetched and kept on a miss), or nullptr. Valid until the next change. */
  const Coin* AccessCoin(const OutPoint& op) const;
  /** Adds an unspent coin; op must not hold an unspent coin already (throws std::logic_error). */
  void AddCoin(const OutPoint& op, Coin coin);
  /** Spends the coin at op, returning it; nullopt if there is none. */
  std::optional<Coin> SpendCoin(const OutPoint& op);

  /** Hands every change to the base view, tagged with best_block, and empties the cache. */
  void Flush(const crypto::Hash256& best_block);
  /** Approximate bytes held (entries, keys and conditions). */
  std::size_t MemoryUsage() const { return m_memory; }
  std::size_t size() const { return m_entries.size(); }

 private:
  CoinsMap::iterator Fetch(const OutPoint& op) const;
  static std::size_t EntryUsage(const CoinsEntry& e);
  void Forget(CoinsMap::iterator it);

  CoinsView& m_base;
  mutable CoinsMap m_entries;
  mutable std::size_t m_memory = 0;
};

}  // namespace wattline::ledger
