// The market state (consensus/market_state.h) in the chainstate's database, under 'M' + key,
// and the chainstate's write-back cache of it. The cache is flushed in the coins' flush batch
// (CoinsDB::SetCompanion), so the market state on disk always matches the coins' 'C' record
// and replays with them after a crash. Not thread-safe: the chainstate serialises access.
#pragma once

#include <functional>
#include <memory>
#include <string>

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

class MarketCache final : public consensus::MarketStore {
 public:
  explicit MarketCache(MarketDB* db) : m_db(*db), m_overlay(db) {}
  std::optional<consensus::Bytes> Read(const std::string& key) const override { return m_overlay.Read(key); }
  void Write(const std::string& key, std::optional<consensus::Bytes> value);
  /** Adds every pending write to batch and forgets them (call only as part of the coins' flush). */
  void FlushTo(leveldb::WriteBatch& batch);
  /** Approximate bytes held by pending writes. */
  std::size_t MemoryUsage() const { return m_memory; }
  std::size_t size() const { return m_overlay.Writes().size(); }

 private:
  MarketDB& m_db;
  consensus::MarketOverlay m_overlay;
  std::size_t m_memory = 0;
};

}  // namespace wattline::ledger
