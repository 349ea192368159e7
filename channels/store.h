// The node's channel database (LevelDB under <datadir>/channels): one ChannelRecord per
// channel, keyed by the proposal's temporary id ('r' + 32 bytes). Every Put is synced before
// it returns: the engine persists a state this way before it sends any signature of it
// (persist-before-sign). A record that does not decode is reported by Open, never skipped.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "channels/channel_record.h"
#include "ledger/database.h"

namespace wattline::channels {

class ChannelStore {
 public:
  /** Opens (creating) the database in dir and loads every record; false with why on a corrupt record or I/O error. */
  static bool Open(const std::filesystem::path& dir, std::unique_ptr<ChannelStore>& out, std::string& why);

  /** Writes the record and (by default) syncs it to disk (throws ledger::StorageError on a write failure). */
  void Put(const ChannelRecord& r, bool sync = true);
  /** Writes several records atomically with one sync (group commit). */
  void PutAll(const std::vector<const ChannelRecord*>& records, bool sync = true);

  /** Every record, by temporary id, as loaded and put since. */
  const std::map<Hash256, ChannelRecord>& All() const { return m_records; }

 private:
  ChannelStore() = default;
  std::unique_ptr<ledger::Database> m_db;
  std::map<Hash256, ChannelRecord> m_records;
};

}  // namespace wattline::channels
