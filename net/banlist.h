// The ban list: addresses and subnets we refuse to talk to until a time.
//
// A ban covers a Subnet (a single address is a /32 or /128) until ban_until (seconds since the
// Unix epoch); it lapses at that time. Banning a subnet already banned keeps the later expiry.
// The list is bounded (kMaxEntries): when full, the ban expiring soonest makes room, so a flood
// of misbehaving addresses cannot grow memory without end. Persisted like the address book
// (net/file_store.h). Thread-safe: every public method takes the list's mutex.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "net/frame.h"
#include "net/netaddr.h"

namespace wattline::net {

struct BanEntry {
  Subnet subnet;
  std::int64_t created = 0;
  std::int64_t ban_until = 0;
  std::string reason;  //!< e.g. the penalty's text ("frame-oversize"), at most kMaxReason bytes
  friend bool operator==(const BanEntry&, const BanEntry&) = default;
};

class BanList {
 public:
  static constexpr std::size_t kMaxEntries = 100'000;
  static constexpr std::size_t kMaxReason = 128;

  explicit BanList(const Magic& network) : m_network(network) {}
  BanList(const BanList&) = delete;
  BanList& operator=(const BanList&) = delete;

  /** Bans subnet from now until ban_until (ignored unless ban_until > now). The reason is cut
   *  to kMaxReason bytes. */
  void Ban(const Subnet& subnet, std::int64_t now, std::int64_t ban_until, std::string reason);
  void Ban(const NetAddress& addr, std::int64_t now, std::int64_t ban_until, std::string reason) {
    Ban(Subnet(addr), now, ban_until, std::move(reason));
  }
  /** True if a ban in force at now covers addr. */
  bool IsBanned(const NetAddress& addr, std::int64_t now) const;
  /** Lifts the ban on exactly this subnet; false if there was none. */
  bool Unban(const Subnet& subnet);
  /** The bans in force at now, ordered by subnet. */
  std::vector<BanEntry> List(std::int64_t now) const;
  /** Forgets every ban that has lapsed at now; returns how many. */
  std::size_t SweepExpired(std::int64_t now);
  void Clear();
  std::size_t size() const;

  /** Writes the bans to path atomically. */
  ledger::Status Save(const std::filesystem::path& path) const;
  /** Replaces the list with the one in path (lapsed bans dropped). No file: empty, Ok. A damaged
   *  file: set aside as "<path>.corrupt", the list is empty, the error says why. */
  ledger::Status Load(const std::filesystem::path& path, std::int64_t now);

 private:
  void InsertLocked(BanEntry e);

  const Magic m_network;
  mutable std::mutex m_mutex;
  /** Serialises Save: two saves must not share the temporary file. Taken before m_mutex. */
  mutable std::mutex m_save_mutex;
  std::map<Subnet, BanEntry> m_bans;
};

}  // namespace wattline::net
