// The mempool: transactions valid against the current tip, waiting for a block.
//
// Policy (docs/node.md, "Mempool"):
// - Accepts only transactions that would be valid in the next block: consensus checks and
//   every signature, spending coins of the chain or outputs of other pool transactions.
// - Rejects a transaction that spends an outpoint another pool transaction already spends
//   ("txn-mempool-conflict"): no replacement.
// - Orders by fee rate (fee per 1000 bytes). The pool is bounded in bytes; past the bound
//   the lowest-fee-rate transactions (with their descendants) are evicted, and the minimum
//   fee rate rises above the evicted rate; it decays back (half-life 10 min) to the floor.
// - Transactions expire after `expiry` seconds.
// - After a reorganisation, the disconnected blocks' transactions come back; those the new
//   chain made invalid (spent inputs, immature coinbases) leave, with their descendants.
// - Market records (docs/market.md) are checked against the chain's market state with the
//   pool's earlier market records applied on top, in the order they were accepted; after each
//   block (or removal) the pool replays them and drops those that no longer fit (a funding for
//   a slot that is over, a reading the chain already counted). Readings transactions pay no
//   fee: they are exempt from the fee rate but bounded in number (max_readings_txs).
// - Every signature that verifies on acceptance is remembered in the signature cache, when
//   there is one (MempoolOptions::sig_cache).
//
// Thread-safe: every method takes the pool's lock. Calls into the chainstate (never the
// other way round: the node forwards chain events with BlockConnected/BlockDisconnected).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "consensus/block.h"
#include "consensus/market_state.h"
#include "consensus/validation.h"
#include "ledger/chainstate.h"

namespace wattline::node {

struct MempoolOptions {
  std::size_t max_bytes = 64u << 20;
  /** Floor of the fee rate, in base units per 1000 bytes. */
  std::int64_t min_fee_rate = 1000;
  std::int64_t expiry_seconds = 14 * 24 * 3600;
  /** Readings transactions (no fee) the pool holds at most. */
  std::size_t max_readings_txs = 20'000;
  /**
   * Where accepted signatures are remembered, so that the block holding them connects without
   * verifying them again (shared with the chainstate; crypto/sig_cache.h). Not owned; nullptr:
   * none.
   */
  crypto::SigCache* sig_cache = nullptr;
};

/** Why the mempool refused a transaction: a consensus Reason, or a policy code. */
struct MempoolReject {
  consensus::ValidationState state;  //!< set when consensus refused it
  std::string policy;                //!< e.g. "txn-mempool-conflict", "mempool-min-fee-not-met"
  std::string detail;
  bool ok() const { return state.IsValid() && policy.empty(); }
  std::string ToString() const;
};

struct MempoolEntry {
  consensus::TransactionRef tx;
  consensus::Amount fee;
  std::size_t size = 0;
  std::int64_t time = 0;     //!< when it entered
  std::uint64_t market_seq = 0;  //!< order among the pool's market records (0: none)
  /**
   * Acceptance order in this pool: parents before children and market records in the order
   * their state was built, so replaying entries by seq (a reorg, mempool.dat) accepts them all.
   * Entry times cannot serve: they tie within a second.
   */
  std::uint64_t seq = 0;
  std::int64_t FeeRate() const;  //!< units per 1000 bytes
};

class Mempool {
 public:
  Mempool(ledger::Chainstate& chainstate, MempoolOptions options);

  /** Validates and adds tx. On success returns true and (when given) sets fee. */
  bool Accept(const consensus::TransactionRef& tx, std::int64_t now, MempoolReject& reject,
              consensus::Amount* fee = nullptr);

  /** A block became the tip: drop its transactions and whatever they conflict with. */
  void BlockConnected(const consensus::Block& block);
  /** A block left the active chain: its transactions are candidates to return (see Reorged). */
  void BlockDisconnected(const consensus::Block& block);
  /** After a reorganisation's connects: re-accept the disconnected transactions, drop the invalid. */
  void Reorged(std::int64_t now);
  /** Drops expired transactions (and their descendants). */
  void Expire(std::int64_t now);

  /**
   * The reward outputs a readings batch needs on top of the chain and the pool's pending
   * records; false with the reason when the batch does not fit them.
   */
  bool ComputeReadingOutputs(const consensus::ReadingBatch& batch, std::vector<consensus::TxOut>& outputs,
                             consensus::ValidationState& state) const;

  /**
   * Transactions for a block, within max_bytes: market records first in the order they were
   * accepted (with their ancestors), then the rest by package fee rate; parents before children.
   */
  std::vector<MempoolEntry> SelectForBlock(std::size_t max_bytes) const;

  /** A meter's state as the chain plus the pool's pending market records leave it. */
  std::optional<consensus::MeterState> PendingMeter(const consensus::MeterId& meter) const;
  /** The pending market transaction that carries exactly this record, if any. */
  std::optional<crypto::Hash256> FindMarketRecord(const consensus::Record& record) const;

  std::optional<MempoolEntry> Get(const crypto::Hash256& txid) const;
  bool Contains(const crypto::Hash256& txid) const;
  std::size_t Count() const;
  std::size_t Bytes() const;
  /** Current minimum fee rate: max(floor, the rolling minimum after evictions). */
  std::int64_t MinFeeRate(std::int64_t now) const;
  /** Bumped on every change, so that miners know when to rebuild their templates. */
  std::uint64_t Sequence() const;
  std::vector<MempoolEntry> All() const;

  /** Writes every entry to path (node/mempool_file.h; temp file, fsync, rename). */
  bool Save(const std::filesystem::path& path) const;
  /**
   * Re-accepts the saved transactions that have not expired; returns how many got in. A
   * damaged file loads what precedes the damage and says why in *error.
   */
  std::size_t Load(const std::filesystem::path& path, std::int64_t now, std::string* error = nullptr);

  /** Takes a transaction (and its descendants) out of the pool. */
  void Remove(const crypto::Hash256& txid);

  /** Transactions that left the pool other than by Accept's own refusal since the last call. */
  std::vector<crypto::Hash256> TakeRemoved();

 private:
  struct Entry : MempoolEntry {
    std::set<crypto::Hash256> parents;   //!< in-pool transactions it spends
    std::set<crypto::Hash256> children;  //!< in-pool transactions spending it
  };

  bool AcceptLocked(const consensus::TransactionRef& tx, std::int64_t now, MempoolReject& reject,
                    consensus::Amount* fee);
  void RemoveRecursive(const crypto::Hash256& txid);
  void RemoveOne(const crypto::Hash256& txid);
  void TrimToSize(std::int64_t now);
  std::int64_t MinFeeRateLocked(std::int64_t now) const;
  /** Replays the pool's market records on the chain's state; drops those that fail. */
  void RebuildMarketLocked();

  ledger::Chainstate& m_chain;
  MempoolOptions m_options;
  mutable std::mutex m_mutex;
  std::unordered_map<crypto::Hash256, Entry> m_entries;
  std::map<consensus::OutPoint, crypto::Hash256> m_spends;
  std::set<std::pair<std::int64_t, crypto::Hash256>> m_by_fee_rate;
  std::size_t m_bytes = 0;
  std::int64_t m_rolling_min = 0;      //!< fee rate after the last eviction
  std::int64_t m_rolling_time = 0;     //!< when it was set
  std::uint64_t m_sequence = 0;
  std::vector<consensus::TransactionRef> m_disconnected;  //!< from disconnected blocks, oldest block first
  std::vector<crypto::Hash256> m_removed;
  ledger::ChainMarketStore m_chain_market;
  consensus::MarketOverlay m_market;             //!< the pool's market records on the chain's state
  std::map<std::uint64_t, crypto::Hash256> m_market_order;  //!< market_seq -> txid
  std::uint64_t m_next_market_seq = 1;
  std::uint64_t m_next_seq = 1;
  std::size_t m_readings_txs = 0;
};

}  // namespace wattline::node
