#include "node/tx_index.h"

namespace wattline::node {

namespace {
std::string TxKey(const crypto::Hash256& txid) {
  std::string k(1, 't');
  k.append(reinterpret_cast<const char*>(txid.data()), 32);
  return k;
}
const std::string kBestKey = "B";
leveldb::Slice HashSlice(const crypto::Hash256& h) { return {reinterpret_cast<const char*>(h.data()), 32}; }
}  // namespace

ledger::Status TxIndex::Open(const std::filesystem::path& dir, ledger::Chainstate& chain, std::unique_ptr<TxIndex>& out) {
  std::unique_ptr<ledger::Database> db;
  ledger::Status s = ledger::Database::Open(dir, 2u << 20, db);
  if (!s.ok()) return s;
  auto index = std::unique_ptr<TxIndex>(new TxIndex(std::move(db)));
  try {
    index->CatchUp(chain);
  } catch (const ledger::StorageError& e) {
    return ledger::Status::Corruption(std::string("txindex: ") + e.what());
  }
  out = std::move(index);
  return ledger::Status::Ok();
}

void TxIndex::CatchUp(ledger::Chainstate& chain) {
  const ledger::BlockIndex* best = chain.ActiveAt(0);
  if (auto v = m_db->Get(kBestKey); v && v->size() == 32) {
    const ledger::BlockIndex* recorded =
        chain.LookupBlockIndex(crypto::Hash256::FromBytes({reinterpret_cast<const std::uint8_t*>(v->data()), 32}));
    if (recorded) best = recorded;
  }
  // Undo blocks that are no longer active, then index forward to the tip.
  while (best && !chain.IsActive(best)) {
    consensus::Block block;
    if (chain.ReadBlock(*best, block)) BlockDisconnected(block, best->prev ? best->prev->hash : crypto::Hash256{});
    best = best->prev;
  }
  for (std::uint32_t h = best ? best->height + 1 : 0; h <= chain.Height(); ++h) {
    const ledger::BlockIndex* index = chain.ActiveAt(h);
    consensus::Block block;
    if (!index || !chain.ReadBlock(*index, block)) break;
    BlockConnected(block, index->hash);
  }
}

void TxIndex::BlockConnected(const consensus::Block& block, const crypto::Hash256& hash) {
  std::lock_guard lock(m_mutex);
  leveldb::WriteBatch batch;
  for (const auto& tx : block.txs) batch.Put(TxKey(tx->txid()), HashSlice(hash));
  batch.Put(kBestKey, HashSlice(hash));
  m_db->Write(batch, /*sync=*/false);
}

void TxIndex::BlockDisconnected(const consensus::Block& block, const crypto::Hash256& prev_hash) {
  std::lock_guard lock(m_mutex);
  leveldb::WriteBatch batch;
  for (const auto& tx : block.txs) batch.Delete(TxKey(tx->txid()));
  batch.Put(kBestKey, HashSlice(prev_hash));
  m_db->Write(batch, /*sync=*/false);
}

std::optional<crypto::Hash256> TxIndex::Lookup(const crypto::Hash256& txid) const {
  std::lock_guard lock(m_mutex);
  auto v = m_db->Get(TxKey(txid));
  if (!v || v->size() != 32) return std::nullopt;
  return crypto::Hash256::FromBytes({reinterpret_cast<const std::uint8_t*>(v->data()), 32});
}

}  // namespace wattline::node
