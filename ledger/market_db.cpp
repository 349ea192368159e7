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

std::optional<consensus::MeterId> MarketCache::InlineMeter(const std::string& key, const consensus::Bytes* value) {
  if (key.size() != 33 || key[0] != consensus::market_keys::kMeter) return std::nullopt;
  if (value != nullptr && value->size() != kInlineMeterState) return std::nullopt;
  consensus::MeterId id;
  std::memcpy(id.bytes.data(), key.data() + 1, id.bytes.size());
  return id;
}

std::optional<consensus::Bytes> MarketCache::Read(const std::string& key) const {
  if (auto id = InlineMeter(key, nullptr)) {
    if (auto it = m_meters.find(*id); it != m_meters.end()) {
      if (!it->second.present) return std::nullopt;
      return consensus::Bytes(it->second.value.begin(), it->second.value.end());
    }
  }
  if (auto it = m_other.find(key); it != m_other.end()) return it->second;
  return m_db.Read(key);
}

void MarketCache::Write(const std::string& key, std::optional<consensus::Bytes> value) {
  // A hash-table node: the next pointer, the cached hash, the id and the slot, rounded up by
  // the allocator; plus about one bucket pointer.
  constexpr std::size_t kMeterEntry = (sizeof(void*) * 2 + sizeof(consensus::MeterId) + sizeof(MeterSlot) + 15) / 16 * 16 + 8;
  if (auto id = InlineMeter(key, value ? &*value : nullptr)) {
    if (auto other = m_other.find(key); other != m_other.end()) {  // was written in another size
      m_memory -= kEntryOverhead + key.size() + (other->second ? other->second->size() : 0);
      m_other.erase(other);
    }
    auto [it, inserted] = m_meters.try_emplace(*id);
    if (inserted) m_memory += kMeterEntry;
    it->second.present = value.has_value();
    if (value) std::copy(value->begin(), value->end(), it->second.value.begin());
    return;
  }
  if (auto id = InlineMeter(key, nullptr)) {  // a meter key whose value does not fit inline
    if (m_meters.erase(*id) > 0) m_memory -= kMeterEntry;
  }
  auto it = m_other.find(key);
  if (it != m_other.end()) m_memory -= kEntryOverhead + key.size() + (it->second ? it->second->size() : 0);
  m_memory += kEntryOverhead + key.size() + (value ? value->size() : 0);
  m_other.insert_or_assign(key, std::move(value));
}

void MarketCache::FlushTo(leveldb::WriteBatch& batch) {
  std::string key = std::string(1, consensus::market_keys::kMeter) + std::string(32, '\0');
  for (const auto& [id, slot] : m_meters) {
    std::memcpy(key.data() + 1, id.bytes.data(), id.bytes.size());
    if (slot.present) {
      batch.Put(DbKey(key), leveldb::Slice(reinterpret_cast<const char*>(slot.value.data()), slot.value.size()));
    } else {
      batch.Delete(DbKey(key));
    }
  }
  for (const auto& [k, value] : m_other) {
    if (value) {
      batch.Put(DbKey(k), leveldb::Slice(reinterpret_cast<const char*>(value->data()), value->size()));
    } else {
      batch.Delete(DbKey(k));
    }
  }
  decltype(m_meters)().swap(m_meters);  // the buckets too: a flush frees what the cache held
  m_other.clear();
  m_memory = 0;
}

}  // namespace wattline::ledger
