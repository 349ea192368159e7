#include "ledger/coins.h"

#include <stdexcept>

#include "ledger/keys.h"

namespace wattline::ledger {

using consensus::Reader;
using consensus::Writer;

void EncodeCoin(Writer& w, const Coin& coin) {
  w.VarInt((static_cast<std::uint64_t>(coin.height) << 1) | (coin.coinbase ? 1 : 0));
  w.U64(static_cast<std::uint64_t>(coin.out.amount.units));
  consensus::EncodeCondition(w, coin.out.condition);
}

consensus::Bytes EncodeCoin(const Coin& coin) {
  consensus::Bytes out;
  Writer w(out);
  EncodeCoin(w, coin);
  return out;
}

bool DecodeCoin(Reader& r, Coin& coin) {
  std::uint64_t code, amount;
  if (!r.VarInt(code, (std::uint64_t{UINT32_MAX} << 1) | 1) || !r.U64(amount)) return false;
  if (amount > static_cast<std::uint64_t>(INT64_MAX)) return r.Fail(consensus::DecodeError::kAmountOutOfRange);
  coin.height = static_cast<std::uint32_t>(code >> 1);
  coin.coinbase = (code & 1) != 0;
  coin.out.amount = consensus::Amount{static_cast<std::int64_t>(amount)};
  return consensus::DecodeCondition(r, coin.out.condition);
}

namespace {
Coin DecodeStoredCoin(std::string_view bytes) {
  Coin coin;
  Reader r({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  if (!DecodeCoin(r, coin) || !r.ExpectEnd())
    throw StorageError("corrupt coin in database: " + std::string(consensus::DecodeErrorName(r.error())));
  return coin;
}
}  // namespace

// --- CoinsDB ----------------------------------------------------------------------------------

std::optional<Coin> CoinsDB::GetCoin(const OutPoint& op) const {
  auto value = m_db.Get(keys::Coin(op));
  if (!value) return std::nullopt;
  return DecodeStoredCoin(*value);
}

void CoinsDB::ApplyChanges(CoinsMap& changes, const crypto::Hash256& best_block) {
  leveldb::WriteBatch batch;
  for (auto& [op, entry] : changes) {
    if (!entry.dirty) continue;
    const std::string key = keys::Coin(op);
    if (entry.coin) {
      auto bytes = EncodeCoin(*entry.coin);
      batch.Put(key, leveldb::Slice(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    } else {
      batch.Delete(key);
    }
  }
  if (m_companion) m_companion(batch);
  batch.Put(keys::Single(keys::kCoinsTip),
            leveldb::Slice(reinterpret_cast<const char*>(best_block.data()), best_block.size()));
  m_db.Write(batch, /*sync=*/true);
  changes.clear();
}

std::optional<crypto::Hash256> CoinsDB::BestBlock() const {
  auto v = m_db.Get(keys::Single(keys::kCoinsTip));
  if (!v) return std::nullopt;
  if (v->size() != 32) throw StorageError("corrupt coins tip record");
  return crypto::Hash256::FromBytes({reinterpret_cast<const std::uint8_t*>(v->data()), 32});
}

void CoinsDB::ForEach(const std::function<void(const OutPoint&, const Coin&)>& fn) const {
  m_db.ForEachWithPrefix(keys::Single(keys::kCoin), [&](std::string_view key, std::string_view value) {
    if (key.size() != 1 + 32 + 4) throw StorageError("corrupt coin key");
    OutPoint op;
    op.txid = crypto::Hash256::FromBytes({reinterpret_cast<const std::uint8_t*>(key.data() + 1), 32});
    op.index = 0;
    for (int i = 0; i < 4; ++i) op.index = (op.index << 8) | static_cast<std::uint8_t>(key[33 + static_cast<std::size_t>(i)]);
    fn(op, DecodeStoredCoin(value));
    return true;
  });
}

// --- CoinsCache -------------------------------------------------------------------------------

std::size_t CoinsCache::EntryUsage(const CoinsEntry& e) {
  // A node of an unordered_map with its bucket pointer, plus the condition's heap parts.
  std::size_t usage = sizeof(CoinsMap::value_type) + 2 * sizeof(void*);
  if (e.coin) {
    const auto& c = e.coin->out.condition;
    usage += c.keys.capacity() * sizeof(crypto::XOnlyPubKey) + c.branches.capacity() * sizeof(consensus::Condition);
    for (const auto& b : c.branches) usage += b.keys.capacity() * sizeof(crypto::XOnlyPubKey);
  }
  return usage;
}

CoinsMap::iterator CoinsCache::Fetch(const OutPoint& op) const {
  auto it = m_entries.find(op);
  if (it != m_entries.end()) return it;
  auto coin = m_base.GetCoin(op);
  if (!coin) return m_entries.end();
  it = m_entries.emplace(op, CoinsEntry{std::move(coin), false, false}).first;
  m_memory += EntryUsage(it->second);
  return it;
}

void CoinsCache::Forget(CoinsMap::iterator it) {
  m_memory -= EntryUsage(it->second);
  m_entries.erase(it);
}

std::optional<Coin> CoinsCache::GetCoin(const OutPoint& op) const {
  const Coin* c = AccessCoin(op);
  if (!c) return std::nullopt;
  return *c;
}

const Coin* CoinsCache::AccessCoin(const OutPoint& op) const {
  auto it = Fetch(op);
  if (it == m_entries.end() || !it->second.coin) return nullptr;
  return &*it->second.coin;
}

void CoinsCache::AddCoin(const OutPoint& op, Coin coin) {
  auto [it, inserted] = m_entries.try_emplace(op);
  CoinsEntry& e = it->second;
  if (inserted) {
    // Nothing here and nothing fetched: a new outpoint (txids are unique, so the base view
    // has no unspent coin at it either).
    e.fresh = true;
  } else {
    if (e.coin) throw std::logic_error("AddCoin over an unspent coin");
    m_memory -= EntryUsage(e);
  }
  e.coin = std::move(coin);
  e.dirty = true;
  m_memory += EntryUsage(e);
}

std::optional<Coin> CoinsCache::SpendCoin(const OutPoint& op) {
  auto it = Fetch(op);
  if (it == m_entries.end() || !it->second.coin) return std::nullopt;
  std::optional<Coin> spent = std::move(it->second.coin);
  if (it->second.fresh) {
    Forget(it);
  } else {
    m_memory -= EntryUsage(it->second);
    it->second.coin.reset();
    it->second.dirty = true;
    m_memory += EntryUsage(it->second);
  }
  return spent;
}

void CoinsCache::ApplyChanges(CoinsMap& changes, const crypto::Hash256&) {
  for (auto& [op, child] : changes) {
    if (!child.dirty) continue;
    auto it = m_entries.find(op);
    if (it == m_entries.end()) {
      if (!child.coin && child.fresh) continue;  // created and spent above: nothing to record
      CoinsEntry e{std::move(child.coin), true, child.fresh};
      it = m_entries.emplace(op, std::move(e)).first;
      m_memory += EntryUsage(it->second);
      continue;
    }
    CoinsEntry& mine = it->second;
    if (!child.coin && mine.fresh) {
      Forget(it);  // never reached the base: forget it entirely
      continue;
    }
    m_memory -= EntryUsage(mine);
    mine.coin = std::move(child.coin);
    mine.dirty = true;
    m_memory += EntryUsage(mine);
  }
  changes.clear();
}

void CoinsCache::Flush(const crypto::Hash256& best_block) {
  m_base.ApplyChanges(m_entries, best_block);
  m_entries.clear();
  m_memory = 0;
}

}  // namespace wattline::ledger
