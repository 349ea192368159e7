// The market state (consensus/market_state.h) in the chainstate's database, under 'M' + key,
// and the chainstate's write-back cache of it. The cache is flushed in the coins' flush batch
// (CoinsDB::SetCompanion), so the market state on disk always matches the coins' 'C' record
// and replays with them after a crash. Not thread-safe: the chainstate serialises access.
#pragma once

#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "consensus/market_state.h"
#include "ledger/database.h"

namespace wattline::ledger {

class MarketDB final : public consensus::MarketStore {
 public:
  explicit MarketDB(Database& db) : m_db(db) {}
  std::optional<consensus::Bytes> Read(const std::string& key) const override;
  /** Every stored entry whose market key starts with prefix, in key order (the cache is not seen). */
  void ForEach(const std::string& prefix,
               const std::function<void(const std::string& key, consensus::ByteSpan value)>& fn) const;

 private:
  Database& m_db;
};

/**
 * The chainstate's write-back cache of the market state: pending writes, read through to the
 * database. Meter states (the one entry per meter, so the one that grows with the grid) are
 * kept inline in a hash table keyed by the 32-byte meter id, about 200 bytes each with the
 * table's overhead; every other key (globals, demand per slot, rewards per owner) in an
 * ordered map. A key lives in exactly one of the two.
 */
class MarketCache final : public consensus::MarketStore {
 public:
  explicit MarketCache(MarketDB* db) : m_db(*db) {}
  std::optional<consensus::Bytes> Read(const std::string& key) const override;
  void Write(const std::string& key, std::optional<consensus::Bytes> value);
  /** Adds every pending write to batch and forgets them (call only as part of the coins' flush). */
  void FlushTo(leveldb::WriteBatch& batch);
  /** Approximate bytes held by pending writes (node, key, value and table overhead). */
  std::size_t MemoryUsage() const { return m_memory; }
  /** Pending writes. */
  std::size_t size() const { return m_meters.size() + m_other.size(); }

  /** The encoded size of a meter state kept inline (consensus/market_state.h, version 2). */
  static constexpr std::size_t kInlineMeterState = 124;

 private:
  struct MeterSlot {
    bool present = false;  //!< false: erased
    std::array<std::uint8_t, kInlineMeterState> value{};
  };
  struct MeterIdHash {
    // Meter ids are keys that only the utility's signed records bring in, not attacker-chosen
    // in bulk; their first 8 bytes are as good as random.
    std::size_t operator()(const consensus::MeterId& id) const noexcept {
      std::size_t h;
      std::memcpy(&h, id.bytes.data(), sizeof h);
      return h;
    }
  };
  /** The meter id when key is a meter state's key and value fits inline (or is an erase). */
  static std::optional<consensus::MeterId> InlineMeter(const std::string& key, const consensus::Bytes* value);

  MarketDB& m_db;
  std::unordered_map<consensus::MeterId, MeterSlot, MeterIdHash> m_meters;
  std::map<std::string, std::optional<consensus::Bytes>> m_other;
  std::size_t m_memory = 0;
};

}  // namespace wattline::ledger
