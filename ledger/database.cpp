#include "ledger/database.h"

#include <leveldb/cache.h>
#include <leveldb/filter_policy.h>

namespace wattline::ledger {

Status Database::Open(const std::filesystem::path& dir, std::size_t cache_bytes, std::unique_ptr<Database>& out) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());
  auto db = std::unique_ptr<Database>(new Database());
  db->m_cache.reset(leveldb::NewLRUCache(cache_bytes));
  db->m_filter.reset(leveldb::NewBloomFilterPolicy(10));
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.block_cache = db->m_cache.get();
  options.filter_policy = db->m_filter.get();
  options.max_open_files = 256;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir.string(), &raw);
  if (!s.ok()) {
    if (s.IsCorruption()) return Status::Corruption("database " + dir.string() + ": " + s.ToString());
    return Status::IoError("cannot open database " + dir.string() + ": " + s.ToString());
  }
  db->m_db.reset(raw);
  out = std::move(db);
  return Status::Ok();
}

Database::~Database() {
  m_db.reset();  // before the cache and filter it uses
}

std::optional<std::string> Database::Get(std::string_view key) const {
  std::string value;
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  leveldb::Status s = m_db->Get(ro, leveldb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) throw StorageError("database read failed: " + s.ToString());
  return value;
}

void Database::Write(leveldb::WriteBatch& batch, bool sync) {
  leveldb::WriteOptions wo;
  wo.sync = sync;
  leveldb::Status s = m_db->Write(wo, &batch);
  if (!s.ok()) throw StorageError("database write failed: " + s.ToString());
}

void Database::ForEachWithPrefix(std::string_view prefix,
                                 const std::function<bool(std::string_view, std::string_view)>& fn) const {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(m_db->NewIterator(ro));
  for (it->Seek(leveldb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    leveldb::Slice k = it->key();
    if (k.size() < prefix.size() || std::string_view(k.data(), prefix.size()) != prefix) break;
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(it->value().data(), it->value().size()))) break;
  }
  if (!it->status().ok()) throw StorageError("database iteration failed: " + it->status().ToString());
}

}  // namespace wattline::ledger
