#include "ledger/market_db.h"

#include "ledger/keys.h"

namespace wattline::ledger {

namespace {
std::string DbKey(const std::string& key) { return std::string(1, keys::kMarket) + key; }
// A std::map node with a short key and a small value: the node, the key's and the value's heap blocks.
constexpr std::size_t kEntryOverhead = 96;
}  // namespace

std::optional<consensus::Bytes> MarketDB::Read(const std::string& key) const {
  auto value = m_db.Get(DbKey(key));
  if (!value) return std::nullopt;
  return consensus::Bytes(value->begin(), value->end());
}

void MarketDB::ForEach(const std::string& prefix,
                       const std::function<void(const std::string& key, consensus::ByteSpan value)>& fn) const {
  m_db.ForEachWithPrefix(DbKey(prefix), [&](std::string_view key, std::string_view value) {
    fn(std::string(key.substr(1)), {reinterpret_cast<const std::uint8_t*>(value.data()), value.size()});
    return true;
  });
}

void MarketCache::Write(const std::string& key, std::optional<consensus::Bytes> value) {
  const auto& writes = m_overlay.Writes();
  auto it = writes.find(key);
  if (it != writes.end()) {
    m_memory -= kEntryOverhead + key.size() + (it->second ? it->second->size() : 0);
  }
  m_memory += kEntryOverhead + key.size() + (value ? value->size() : 0);
  m_overlay.Write(key, std::move(value));
}

void MarketCache::FlushTo(leveldb::WriteBatch& batch) {
  for (const auto& [key, value] : m_overlay.Writes()) {
    if (value) {
      batch.Put(DbKey(key), leveldb::Slice(reinterpret_cast<const char*>(value->data()), value->size()));
    } else {
      batch.Delete(DbKey(key));
    }
  }
  m_overlay.Clear();
  m_memory = 0;
}

}  // namespace wattline::ledger
