#include "net/banlist.h"

#include <algorithm>

#include "net/file_store.h"

namespace wattline::net {
namespace {

constexpr FileKind kFileKind{'W', 'L', 'B', 'N'};
constexpr std::uint32_t kFileVersion = 1;
/** base 16, prefix 1, created 8, until 8, reason 1..2 + up to 128. */
constexpr std::size_t kMinEntryBytes = 16 + 1 + 8 + 8 + 1;
constexpr std::size_t kMaxFileBytes = 64 + 10 + BanList::kMaxEntries * (kMinEntryBytes + 1 + BanList::kMaxReason);

}  // namespace

void BanList::InsertLocked(BanEntry e) {
  if (e.reason.size() > kMaxReason) e.reason.resize(kMaxReason);
  if (auto it = m_bans.find(e.subnet); it != m_bans.end()) {
    if (e.ban_until > it->second.ban_until) it->second = std::move(e);
    return;
  }
  if (m_bans.size() >= kMaxEntries) {
    auto soonest = std::min_element(m_bans.begin(), m_bans.end(),
                                    [](const auto& a, const auto& b) { return a.second.ban_until < b.second.ban_until; });
    if (soonest->second.ban_until >= e.ban_until) return;  // the new ban is the least valuable
    m_bans.erase(soonest);
  }
  const Subnet key = e.subnet;
  m_bans.emplace(key, std::move(e));
}

void BanList::Ban(const Subnet& subnet, std::int64_t now, std::int64_t ban_until, std::string reason) {
  if (ban_until <= now) return;
  std::lock_guard lock(m_mutex);
  InsertLocked(BanEntry{subnet, now, ban_until, std::move(reason)});
}

bool BanList::IsBanned(const NetAddress& addr, std::int64_t now) const {
  std::lock_guard lock(m_mutex);
  // Few bans are subnets; a scan is simple and bounded by kMaxEntries. The single-address
  // case, by far the most common, is a lookup first.
  if (auto it = m_bans.find(Subnet(addr)); it != m_bans.end() && it->second.ban_until > now) return true;
  return std::any_of(m_bans.begin(), m_bans.end(),
                     [&](const auto& kv) { return kv.second.ban_until > now && kv.first.Contains(addr); });
}

bool BanList::Unban(const Subnet& subnet) {
  std::lock_guard lock(m_mutex);
  return m_bans.erase(subnet) > 0;
}

std::vector<BanEntry> BanList::List(std::int64_t now) const {
  std::lock_guard lock(m_mutex);
  std::vector<BanEntry> out;
  for (const auto& [subnet, e] : m_bans) {
    if (e.ban_until > now) out.push_back(e);
  }
  return out;
}

std::size_t BanList::SweepExpired(std::int64_t now) {
  std::lock_guard lock(m_mutex);
  return std::erase_if(m_bans, [now](const auto& kv) { return kv.second.ban_until <= now; });
}

void BanList::Clear() {
  std::lock_guard lock(m_mutex);
  m_bans.clear();
}

std::size_t BanList::size() const {
  std::lock_guard lock(m_mutex);
  return m_bans.size();
}

ledger::Status BanList::Save(const std::filesystem::path& path) const {
  std::lock_guard save_lock(m_save_mutex);
  consensus::Bytes payload;
  {
    std::lock_guard lock(m_mutex);
    consensus::Writer w(payload);
    w.VarInt(m_bans.size());
    for (const auto& [subnet, e] : m_bans) {
      w.Raw(subnet.base().bytes());
      w.U8(static_cast<std::uint8_t>(subnet.prefix_len_128()));
      w.U64(static_cast<std::uint64_t>(e.created));
      w.U64(static_cast<std::uint64_t>(e.ban_until));
      w.VarBytes({reinterpret_cast<const std::uint8_t*>(e.reason.data()), e.reason.size()});
    }
  }
  return WriteFileAtomic(path, SealState(kFileKind, kFileVersion, m_network, payload));
}

ledger::Status BanList::Load(const std::filesystem::path& path, std::int64_t now) {
  consensus::Bytes payload;
  ledger::Status st = ReadSealedState(path, kFileKind, kFileVersion, m_network, kMaxFileBytes, payload);
  std::lock_guard lock(m_mutex);
  m_bans.clear();
  if (st.code() == ledger::Status::Code::kNotFound) return ledger::Status::Ok();
  if (st.ok()) {
    consensus::Reader r(payload);
    std::size_t count = 0;
    r.Count(count, kMaxEntries, kMinEntryBytes);
    std::string bad;
    std::vector<BanEntry> loaded;
    for (std::size_t n = 0; n < count && r.ok() && bad.empty(); ++n) {
      std::array<std::uint8_t, 16> base{};
      std::uint8_t prefix = 0;
      std::uint64_t created = 0, until = 0;
      consensus::Bytes reason;
      r.Raw(base);
      r.U8(prefix);
      r.U64(created);
      r.U64(until);
      r.VarBytes(reason, kMaxReason);
      if (!r.ok()) break;
      const NetAddress addr = NetAddress::FromIPv6(base);
      const unsigned offset = addr.IsIPv4() ? 96 : 0;
      const auto subnet = prefix >= offset ? Subnet::Make(addr, prefix - offset) : std::nullopt;
      if (!subnet || subnet->base() != addr) {
        bad = "entry " + std::to_string(n) + " is not a canonical subnet";
        break;
      }
      if (created > static_cast<std::uint64_t>(INT64_MAX) || until > static_cast<std::uint64_t>(INT64_MAX)) {
        bad = "entry " + std::to_string(n) + " has a time out of range";
        break;
      }
      loaded.push_back(BanEntry{*subnet, static_cast<std::int64_t>(created), static_cast<std::int64_t>(until),
                                std::string(reason.begin(), reason.end())});
    }
    if (bad.empty() && r.ok() && r.ExpectEnd()) {
      for (auto& e : loaded) {
        if (e.ban_until > now) InsertLocked(std::move(e));
      }
      return ledger::Status::Ok();
    }
    st = ledger::Status::Corruption(path.string() + ": undecodable content (" +
                                    (bad.empty() ? std::string(consensus::DecodeErrorName(r.error())) : bad) + ")");
  }
  if (st.code() == ledger::Status::Code::kCorruption) SetAsideCorruptFile(path);
  return st;
}

}  // namespace wattline::net
