// The node's side of the energy market (docs/market.md): what the API needs to read the market
// state, to act as the utility, and to take meters' readings.
//
// - Reads come from the chainstate's market state at the tip (consensus/market_state.h).
// - Utility actions (register, deregister, coefficients, key rotation) build a transaction
//   funded by the node wallet that carries the record, signed with the utility key the node
//   was started with (`--utility-key FILE`); they need that key to be the chain's utility key
//   in force and the wallet unlocked.
// - Readings are signed by the meters; the node wraps a batch in a readings transaction whose
//   outputs are the production rewards (computed against the chain and the mempool) and
//   submits it to the mempool, from where it is relayed and mined like any transaction.
// - Blobs: content-addressed files (`<datadir>/blobs/<cid>`), checked against their CID on
//   every read.
// - A reading index (`<datadir>/readingindex`, LevelDB) lists each meter's counted readings.
//
// Thread-safe: the components it uses have their own locks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "consensus/market_state.h"
#include "consensus/transaction.h"
#include "ledger/chainstate.h"
#include "ledger/database.h"
#include "node/mempool.h"

namespace wattline::node {

class Node;

/** Why a market operation failed: a code the API maps to a status, and a one-line message. */
struct MarketError {
  enum class Code { kNone, kInvalidArgument, kFailedPrecondition, kNotFound, kRejected, kUnavailable };
  Code code = Code::kNone;
  std::string message;
  /** Set when the mempool refused the transaction. */
  std::string reject_reason;
  bool ok() const { return code == Code::kNone; }
};

/** A counted reading as the index keeps it. */
struct IndexedReading {
  consensus::Reading reading;
  std::uint32_t height = 0;
  crypto::Hash256 txid;
};

/** `<datadir>/readingindex`: meter + interval start -> the reading and where it was counted. */
class ReadingIndex {
 public:
  static ledger::Status Open(const std::filesystem::path& dir, ledger::Chainstate& chain,
                             std::unique_ptr<ReadingIndex>& out);
  void BlockConnected(const consensus::Block& block, std::uint32_t height, const crypto::Hash256& hash);
  void BlockDisconnected(const consensus::Block& block, const crypto::Hash256& prev_hash);
  /** A meter's readings with start >= from_start, in interval order, at most limit. */
  std::vector<IndexedReading> List(const consensus::MeterId& meter, std::uint64_t from_start, std::size_t limit) const;

 private:
  explicit ReadingIndex(std::unique_ptr<ledger::Database> db) : m_db(std::move(db)) {}
  void CatchUp(ledger::Chainstate& chain);
  std::unique_ptr<ledger::Database> m_db;
  mutable std::mutex m_mutex;
};

/** Content-addressed blobs in a folder, one file per CID. */
class BlobStore {
 public:
  static constexpr std::size_t kMaxBlobSize = 1u << 20;
  explicit BlobStore(std::filesystem::path dir) : m_dir(std::move(dir)) {}
  /** Stores data (synced) and returns its CID; idempotent. */
  bool Put(consensus::ByteSpan data, consensus::Cid& cid, std::string& error);
  /** The blob of cid, verified against it; nullopt when absent or damaged (error says which). */
  std::optional<consensus::Bytes> Get(const consensus::Cid& cid, std::string& error) const;

 private:
  std::filesystem::path m_dir;
};

class Market {
 public:
  explicit Market(Node& node);

  // Reads at the tip.
  consensus::MarketGlobals Globals() const;
  std::optional<consensus::MeterState> Meter(const consensus::MeterId& meter) const;
  /** Every meter ever registered, in key order (flushes the chainstate's cache first). */
  std::vector<std::pair<consensus::MeterId, consensus::MeterState>> Meters() const;
  std::uint64_t Demand(std::uint32_t slot) const;
  std::uint64_t PriceOfSlot(std::uint32_t slot) const;
  std::uint64_t OwnerRewards(const crypto::XOnlyPubKey& owner) const;
  /** The slot of the next block: the one a funding record submitted now must state. */
  std::uint32_t NextSlot() const;

  // Utility actions: the transaction id on success.
  MarketError RegisterMeter(const consensus::MeterId& meter, const crypto::XOnlyPubKey& owner,
                            consensus::MeterRole role, consensus::Amount grant, std::int64_t fee_rate,
                            crypto::Hash256& txid);
  MarketError DeregisterMeter(const consensus::MeterId& meter, std::int64_t fee_rate, crypto::Hash256& txid);
  MarketError SetCoefficients(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::int64_t fee_rate,
                              crypto::Hash256& txid);
  MarketError RotateKey(const crypto::XOnlyPubKey& new_key, std::int64_t fee_rate, crypto::Hash256& txid);

  /** Wraps signed readings in a readings transaction and submits it; rewards: units it mints. */
  MarketError SubmitReadings(const consensus::ReadingBatch& batch, crypto::Hash256& txid, consensus::Amount& rewards);
  /** The readings transaction for a batch (not submitted): for tools and benchmarks. */
  MarketError BuildReadingsTransaction(const consensus::ReadingBatch& batch, consensus::TransactionRef& tx);

  BlobStore& blobs() { return m_blobs; }

 private:
  MarketError SubmitUtilityRecord(consensus::MarketRecord record, std::vector<consensus::TxOut> outputs,
                                  consensus::Amount minted, std::int64_t fee_rate, crypto::Hash256& txid);
  Node& m_node;
  BlobStore m_blobs;
};

}  // namespace wattline::node
