#include "channels/store.h"

#include "crypto/hex.h"

namespace wattline::channels {

namespace {
constexpr char kRecordPrefix = 'r';
std::string RecordKey(const Hash256& temp_id) {
  std::string key(1, kRecordPrefix);
  key.append(reinterpret_cast<const char*>(temp_id.bytes.data()), temp_id.bytes.size());
  return key;
}
}  // namespace

bool ChannelStore::Open(const std::filesystem::path& dir, std::unique_ptr<ChannelStore>& out, std::string& why) {
  std::unique_ptr<ChannelStore> store(new ChannelStore());
  const ledger::Status st = ledger::Database::Open(dir, 1 << 20, store->m_db);
  if (!st.ok()) {
    why = "cannot open the channel database " + dir.string() + ": " + st.message();
    return false;
  }
  bool ok = true;
  store->m_db->ForEachWithPrefix(std::string(1, kRecordPrefix), [&](std::string_view key, std::string_view value) {
    ChannelRecord r;
    const consensus::DecodeError e = DecodeChannelRecord(
        {reinterpret_cast<const std::uint8_t*>(value.data()), value.size()}, r);
    if (e != consensus::DecodeError::kOk || key.size() != 33 || RecordKey(r.temp_id) != key) {
      why = "channel database " + dir.string() + ": the record " +
            crypto::HexEncode({reinterpret_cast<const std::uint8_t*>(key.data()) + 1, key.size() - 1}) +
            " is corrupt (" + std::string(consensus::DecodeErrorName(e)) + ")";
      ok = false;
      return false;
    }
    store->m_records.emplace(r.temp_id, std::move(r));
    return true;
  });
  if (!ok) return false;
  out = std::move(store);
  return true;
}

void ChannelStore::Put(const ChannelRecord& r, bool sync) { PutAll({&r}, sync); }

void ChannelStore::PutAll(const std::vector<const ChannelRecord*>& records, bool sync) {
  leveldb::WriteBatch batch;
  for (const ChannelRecord* r : records) {
    const Bytes value = EncodeChannelRecord(*r);
    batch.Put(RecordKey(r->temp_id), leveldb::Slice(reinterpret_cast<const char*>(value.data()), value.size()));
  }
  m_db->Write(batch, sync);
  for (const ChannelRecord* r : records) m_records[r->temp_id] = *r;
}

}  // namespace wattline::channels
