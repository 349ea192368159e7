// Transaction index: txid -> hash of the active block that contains it, in its own LevelDB
// (`<datadir>/txindex`), so that any confirmed transaction can be served by id. Kept in step
// with the chain by the node's events; on open it catches up from the block it last recorded
// to the current tip (undoing blocks that left the active chain), so a crash costs only time.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include "consensus/block.h"
#include "ledger/chainstate.h"
#include "ledger/database.h"

namespace wattline::node {

class TxIndex {
 public:
  static ledger::Status Open(const std::filesystem::path& dir, ledger::Chainstate& chain, std::unique_ptr<TxIndex>& out);

  void BlockConnected(const consensus::Block& block, const crypto::Hash256& hash);
  void BlockDisconnected(const consensus::Block& block, const crypto::Hash256& prev_hash);
  std::optional<crypto::Hash256> Lookup(const crypto::Hash256& txid) const;

 private:
  explicit TxIndex(std::unique_ptr<ledger::Database> db) : m_db(std::move(db)) {}
  void CatchUp(ledger::Chainstate& chain);
  std::unique_ptr<ledger::Database> m_db;
  mutable std::mutex m_mutex;
};

}  // namespace wattline::node
