// A thin wrapper over one LevelDB database holding the whole chainstate (keys in
// ledger/keys.h). Reads that fail for any reason but "not found", and every failed write,
// throw StorageError. Thread-safe as LevelDB is.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "ledger/status.h"

namespace leveldb {
class Cache;
class FilterPolicy;
}  // namespace leveldb

namespace wattline::ledger {

class Database {
 public:
  /** Opens (creating if missing) the database in dir. cache_bytes: LevelDB's block cache. */
  static Status Open(const std::filesystem::path& dir, std::size_t cache_bytes, std::unique_ptr<Database>& out);
  ~Database();

  std::optional<std::string> Get(std::string_view key) const;
  /** Applies the batch atomically; with sync, returns only once it is on disk. */
  void Write(leveldb::WriteBatch& batch, bool sync);
  /** Calls fn for every key starting with prefix, in key order, until fn returns false. */
  void ForEachWithPrefix(std::string_view prefix,
                         const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

 private:
  Database() = default;
  std::unique_ptr<leveldb::Cache> m_cache;
  std::unique_ptr<const leveldb::FilterPolicy> m_filter;
  std::unique_ptr<leveldb::DB> m_db;
};

}  // namespace wattline::ledger
