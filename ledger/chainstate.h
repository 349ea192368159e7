// The chainstate: the block index, the stored blocks, the UTXO set and the active chain, kept
// in one LevelDB database, always following the valid chain with the most work.
//
// Durability (docs/chain-rules.md, "Durability"): a block is stored (synced) before it is
// connected; connecting writes its undo data and the new tip ('T') in one synced batch before
// ProcessBlock returns, so a block reported as connected survives kill -9 and power loss.
// Coin changes stay in a write-back cache bounded by ChainstateOptions::coins_cache_bytes and
// reach the disk in one atomic batch that also records the block they lead to ('C'). On open,
// the chainstate replays from 'C' to 'T' (disconnecting with undo data, connecting with stored
// blocks), so a crash at any instant needs no repair.
//
// Thread-safety: every public method takes the chainstate's lock. BlockIndex pointers stay
// valid for the chainstate's lifetime; read their mutable fields (status) under no lock only
// from the thread that calls ProcessBlock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "consensus/block_check.h"
#include "consensus/params.h"
#include "consensus/validation.h"
#include "ledger/block_index.h"
#include "ledger/check_queue.h"
#include "ledger/coins.h"
#include "ledger/database.h"
#include "ledger/market_db.h"
#include "ledger/status.h"
#include "ledger/undo.h"

namespace wattline::ledger {

/** Events for the layers above (mempool, wallet, notifications to clients). Called under the lock. */
class Notifications {
 public:
  virtual ~Notifications() = default;
  virtual void BlockConnected(const consensus::Block& /*block*/, const BlockIndex& /*index*/) {}
  virtual void BlockDisconnected(const consensus::Block& /*block*/, const BlockIndex& /*index*/) {}
};

struct ChainstateOptions {
  /** The datadir's chainstate folder; created if missing. */
  std::filesystem::path dir;
  /** Bound on the coin cache; past it the cache is flushed to disk. */
  std::size_t coins_cache_bytes = 64u << 20;
  /** LevelDB's own block cache. */
  std::size_t db_cache_bytes = 8u << 20;
  /** Runs signature checks on every core; nullptr runs them on the calling thread. Not owned. */
  CheckQueue* check_queue = nullptr;
  /**
   * Signatures already verified (by the mempool): a block's checks look them up first and
   * verify only the misses; connecting a block retires the entries it used. nullptr verifies
   * every signature. Not owned; shared with the mempool (crypto/sig_cache.h).
   */
  crypto::SigCache* sig_cache = nullptr;
  Notifications* notifications = nullptr;
  /**
   * Rebuild the coins and the market state from the stored blocks of the active chain
   * (`--reindex-chainstate`): both are wiped and every block from height 1 to the tip is
   * connected again with every rule. For coins that are damaged or out of step with the blocks.
   */
  bool reindex_chainstate = false;
  /** Called while blocks are connected at open (reindex or replay): (height done, tip height). */
  std::function<void(std::uint32_t, std::uint32_t)> progress;
};

/** The market state at a chainstate's tip, for readers above the ledger (each read takes the lock). */
class ChainMarketStore final : public consensus::MarketStore {
 public:
  explicit ChainMarketStore(const class Chainstate& cs) : m_cs(cs) {}
  std::optional<consensus::Bytes> Read(const std::string& key) const override;

 private:
  const class Chainstate& m_cs;
};

class Chainstate {
 public:
  /**
   * Opens the chainstate in options.dir for these parameters, creating it with the genesis
   * block when new. Fails with kWrongNetwork when the folder belongs to another network, and
   * kCorruption when its records are inconsistent.
   */
  static Status Open(const consensus::Params& params, ChainstateOptions options, std::unique_ptr<Chainstate>& out);
  /** Flushes the coin cache. */
  ~Chainstate();

  /**
   * Validates and stores a block, then moves to the valid chain with the most work
   * (reorganising at any depth). `now` is the local clock in Unix seconds.
   *
   * Returns true when the block is valid as far as known (stored; connected if its chain has
   * the most work) or already stored. Returns false with the reason in `state` when it is not:
   * Category kInvalid (remembered: the hash is refused from now on, with its descendants),
   * kMalformed (not stored, not remembered), kMissingPrev, kPremature, kKnownInvalid.
   * Throws StorageError when the disk fails.
   */
  bool ProcessBlock(const consensus::Block& block, std::int64_t now, consensus::ValidationState& state);

  /** What AcceptHeaders found. */
  struct HeadersResult {
    const BlockIndex* last = nullptr;  //!< the last header's index (stored or already known); null if not stored
    std::size_t new_headers = 0;       //!< headers not known before (stored unless low_work)
    bool low_work = false;             //!< refused unstored: its chain has less work than our tip
    std::uint32_t fork_height = 0;     //!< height of the known block the new headers build on
    std::uint32_t last_height = 0;     //!< height the last header has (or would have)
  };

  /**
   * Headers-first sync (docs/p2p.md, "Sync"): checks a chain of headers, each the parent of
   * the next, the first building on a known block. Every new header is checked (proof of work,
   * bits, timestamps) in memory first; the new headers are stored (index only, no block data)
   * only when the chain they end has at least the work of our active tip, so a low-work header
   * chain costs a peer's bandwidth and never our disk. Returns false with the reason in
   * `state` when a header breaks a rule (kInvalid), the first parent is unknown (kMissingPrev)
   * or a header is known invalid (kKnownInvalid); nothing is stored then.
   */
  bool AcceptHeaders(std::span<const consensus::BlockHeader> headers, std::int64_t now,
                     consensus::ValidationState& state, HeadersResult& result);

  /** The most-work header that is not known invalid (its block may not be stored yet). */
  const BlockIndex* BestHeader() const;

  /**
   * Blocks to download towards `target`: the headers on its chain past the fork with the
   * active chain, in height order, whose data we lack, that are not known invalid, at most
   * `window` blocks above our tip, skipping those `skip` says (already requested); at most
   * max_count.
   */
  std::vector<const BlockIndex*> MissingBlocks(const BlockIndex* target, std::uint32_t window, std::size_t max_count,
                                               const std::function<bool(const crypto::Hash256&)>& skip) const;

  /** A locator for `from` (the active tip when null): hashes going back exponentially, genesis last. */
  std::vector<crypto::Hash256> Locator(const BlockIndex* from = nullptr) const;

  /**
   * Answers a getheaders: the headers of the active chain after the first locator hash that
   * is on it (genesis when none), up to `stop` (included) or max_count headers.
   */
  std::vector<consensus::BlockHeader> HeadersAfter(const std::vector<crypto::Hash256>& locator,
                                                   const crypto::Hash256& stop, std::size_t max_count) const;

  /**
   * Checks that `block` would be valid on top of the current tip, without storing or
   * connecting it (miners check their templates with it; check_pow = false skips the proof
   * of work). Runs every rule ProcessBlock runs, signatures included.
   */
  bool TestBlockValidity(const consensus::Block& block, std::int64_t now, bool check_pow,
                         consensus::ValidationState& state);

  const BlockIndex* Tip() const;
  std::uint32_t Height() const;
  const BlockIndex* LookupBlockIndex(const crypto::Hash256& hash) const;
  /** The active chain's block at height, or nullptr. */
  const BlockIndex* ActiveAt(std::uint32_t height) const;
  bool IsActive(const BlockIndex* index) const;

  /** The context a block extending `prev` is checked against (for miners and tests). */
  consensus::HeaderContext ContextFor(const BlockIndex& prev, std::int64_t now) const;

  std::optional<Coin> GetCoin(const OutPoint& op) const;
  /** Reads a stored block; false when its data is not stored. */
  bool ReadBlock(const BlockIndex& index, consensus::Block& block) const;

  /** Writes the coin cache to disk (one atomic batch). */
  void Flush();
  /** Flushes, then calls fn for every unspent coin in key order. */
  void ForEachCoin(const std::function<void(const OutPoint&, const Coin&)>& fn);

  /** The UTXO set at the tip, read in one pass under the lock (flushes first). */
  struct CoinStats {
    std::uint32_t height = 0;
    crypto::Hash256 tip;
    std::uint64_t coins = 0;
    consensus::Amount total{0};      //!< the unspent outputs' sum
    consensus::Amount subsidies{0};  //!< BlockSubsidy of heights 1..height (genesis pays nothing spendable)
    consensus::Amount grants{0};     //!< minted by meter registrations
    consensus::Amount rewards{0};    //!< minted for metered production
    consensus::Amount pool{0};       //!< penalty coins in the incentive pool, not yet allowed to a coinbase
  };
  CoinStats ComputeCoinStats();

  std::size_t CoinsCacheUsage() const;
  std::size_t MarketCacheUsage() const;

  /** A market state entry at the tip (consensus/market_state.h keys). */
  std::optional<consensus::Bytes> ReadMarket(const std::string& key) const;
  /** Flushes, then calls fn for every market entry whose key starts with prefix, in key order. */
  void ForEachMarket(const std::string& prefix,
                     const std::function<void(const std::string& key, consensus::ByteSpan value)>& fn);
  const consensus::Params& params() const { return m_params; }

 private:
  Chainstate(const consensus::Params& params, ChainstateOptions options);
  Status Load();
  void InitGenesis();
  void Replay(BlockIndex* coins_tip);
  /** --reindex-chainstate: no coin and no market record left; the coins' tip is genesis. */
  BlockIndex* WipeCoinsAndMarket();

  BlockIndex* Find(const crypto::Hash256& hash) const;
  BlockIndex* AddIndex(const consensus::BlockHeader& header, BlockIndex* prev, std::uint32_t status,
                       std::uint32_t tx_count);
  void WriteIndex(BlockIndex* index, leveldb::WriteBatch& batch);
  void StoreFailed(const consensus::Block& block, BlockIndex* prev, std::uint32_t status);
  void LinkData(BlockIndex* index);
  void MarkInvalid(BlockIndex* index);
  void RebuildCandidates();
  void UpdateBestHeader(BlockIndex* index);
  bool IsActiveLocked(const BlockIndex* index) const;
  void RecomputeBestHeader();

  void ActivateBestChain(const consensus::Block* hint);
  bool ConnectTip(BlockIndex* index, const consensus::Block& block, consensus::ValidationState& state,
                  bool write_tip);
  /** Checks spends and signatures at `height`; with `apply`, moves the coin cache to the block. */
  bool ConnectBlock(std::uint32_t height, const crypto::Hash256& hash, const consensus::Block& block,
                    BlockUndo& undo, consensus::ValidationState& state, bool apply);
  void DisconnectTip();
  void MaybeFlush();
  bool ReadBlockLocked(const BlockIndex& index, consensus::Block& block) const;

  struct MoreWork {
    bool operator()(const BlockIndex* a, const BlockIndex* b) const {
      if (a->chain_work != b->chain_work) return a->chain_work > b->chain_work;
      return a->sequence < b->sequence;
    }
  };

  const consensus::Params& m_params;
  ChainstateOptions m_options;
  mutable std::mutex m_mutex;
  std::unique_ptr<Database> m_db;
  std::unique_ptr<CoinsDB> m_coins_db;
  std::unique_ptr<CoinsCache> m_coins;
  std::unique_ptr<MarketDB> m_market_db;
  std::unique_ptr<MarketCache> m_market;

  std::unordered_map<crypto::Hash256, std::unique_ptr<BlockIndex>> m_index;
  std::vector<BlockIndex*> m_all;                   //!< parents before children
  std::vector<BlockIndex*> m_chain;                 //!< the active chain by height
  std::set<BlockIndex*, MoreWork> m_candidates;     //!< stored, all ancestors stored, not failed
  std::multimap<BlockIndex*, BlockIndex*> m_unlinked;  //!< stored blocks waiting for an ancestor's data
  std::map<crypto::Hash256, consensus::ValidationState> m_connect_failures;  //!< of the current call
  std::uint64_t m_next_sequence = 1;
  BlockIndex* m_best_header = nullptr;  //!< most work, not failed, data or not
};

}  // namespace wattline::ledger
