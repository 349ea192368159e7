#include "net/addrman.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "net/file_store.h"

namespace wattline::net {
namespace {

constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;

constexpr FileKind kFileKind{'W', 'L', 'A', 'B'};
constexpr std::uint32_t kFileVersion = 1;
/** Entry: ip 16, port 2, services 8, last_seen 8, last_try 8, last_success 8, attempts 4,
 *  source 16, tried 1. */
constexpr std::size_t kEntryBytes = 16 + 2 + 8 + 8 + 8 + 8 + 4 + 16 + 1;
constexpr std::size_t kMaxEntries = (AddrMan::kNewBucketCount + AddrMan::kTriedBucketCount) * AddrMan::kBucketSize;
constexpr std::size_t kMaxFileBytes = 64 + 32 + 10 + kMaxEntries * kEntryBytes + 32;

AddrMan::Key RandomKey() {
  AddrMan::Key k{};
  crypto::GetRandomBytes(k);
  return k;
}

std::uint64_t RandomSeed() {
  std::array<std::uint8_t, 8> b{};
  crypto::GetRandomBytes(b);
  std::uint64_t v = 0;
  std::memcpy(&v, b.data(), 8);
  return v;
}

/** Times in a file beyond this (year 36812) are damage, not data. */
constexpr std::uint64_t kMaxStoredTime = std::uint64_t{1} << 40;

/** now - t without overflow (times come from peers and files: any value is possible). */
std::int64_t Age(std::int64_t now, std::int64_t t) {
  std::int64_t d = 0;
  if (__builtin_sub_overflow(now, t, &d)) return t > now ? INT64_MIN : INT64_MAX;
  return d;
}

consensus::ByteSpan StrSpan(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::array<std::uint8_t, 18> ServiceBytes(const Service& s) {
  std::array<std::uint8_t, 18> b{};
  std::memcpy(b.data(), s.addr.bytes().data(), 16);
  b[16] = static_cast<std::uint8_t>(s.port >> 8);
  b[17] = static_cast<std::uint8_t>(s.port & 0xff);
  return b;
}

std::array<std::uint8_t, 8> U64Bytes(std::uint64_t v) {
  std::array<std::uint8_t, 8> b{};
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  return b;
}

}  // namespace

bool IsTerrible(const AddrInfo& info, std::int64_t now) {
  if (info.last_try != 0 && Age(now, info.last_try) < kMinute) return false;  // being tried right now
  if (Age(now, info.last_seen) < -10 * kMinute) return true;                 // from the future
  if (Age(now, info.last_seen) > 30 * kDay) return true;                     // not heard of in a month
  if (info.last_success == 0 && info.attempts >= 3) return true;             // never worked
  if (Age(now, info.last_success) > 7 * kDay && info.attempts >= 10) return true;  // stopped working
  return false;
}

AddrMan::AddrMan(const Magic& network) : AddrMan(network, RandomKey(), RandomSeed()) {}

AddrMan::AddrMan(const Magic& network, const Key& key, std::uint64_t rng_seed) : m_network(network), m_rng(rng_seed) {
  ResetLocked(key);
}

void AddrMan::ResetLocked(const Key& key) {
  m_key = key;
  m_next_id = 0;
  m_by_service.clear();
  m_entries.clear();
  m_new_table.assign(kNewBucketCount * kBucketSize, kEmpty);
  m_tried_table.assign(kTriedBucketCount * kBucketSize, kEmpty);
  m_ids[0].clear();
  m_ids[1].clear();
}

std::uint64_t AddrMan::KeyedHash(std::initializer_list<consensus::ByteSpan> parts) const {
  static const crypto::TaggedHasher hasher("wattline/addrman");
  crypto::Sha256 h = hasher.Start();
  h.Write(m_key);
  for (const auto& p : parts) {
    const auto len = U64Bytes(p.size());  // length-prefixed: no two part lists collide
    h.Write(len);
    h.Write(p);
  }
  const crypto::Hash256 d = h.Finalize();
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(d.bytes[static_cast<std::size_t>(i)]) << (8 * i);
  return v;
}

std::size_t AddrMan::NewBucket(const Service& s, const NetAddress& source) const {
  static constexpr std::uint8_t kN1[] = {'n', '1'}, kN2[] = {'n', '2'};
  const std::string group = s.addr.Group();
  const std::string src_group = source.Group();
  const std::uint64_t h1 = KeyedHash({kN1, StrSpan(group), StrSpan(src_group)}) % kNewBucketsPerSourceGroup;
  return KeyedHash({kN2, StrSpan(src_group), U64Bytes(h1)}) % kNewBucketCount;
}

std::size_t AddrMan::TriedBucket(const Service& s) const {
  static constexpr std::uint8_t kT1[] = {'t', '1'}, kT2[] = {'t', '2'};
  const std::string group = s.addr.Group();
  const std::uint64_t h1 = KeyedHash({kT1, ServiceBytes(s)}) % kTriedBucketsPerGroup;
  return KeyedHash({kT2, StrSpan(group), U64Bytes(h1)}) % kTriedBucketCount;
}

std::size_t AddrMan::SlotOf(bool tried, std::size_t bucket, const Service& s) const {
  const std::uint8_t tag[] = {'s', static_cast<std::uint8_t>(tried ? 't' : 'n')};
  return KeyedHash({tag, U64Bytes(bucket), ServiceBytes(s)}) % kBucketSize;
}

AddrMan::Id& AddrMan::Cell(bool tried, std::size_t bucket, std::size_t slot) {
  return (tried ? m_tried_table : m_new_table)[bucket * kBucketSize + slot];
}

void AddrMan::Place(Id id, bool tried, std::size_t bucket, std::size_t slot) {
  Entry& e = m_entries.at(id);
  assert(Cell(tried, bucket, slot) == kEmpty);
  Cell(tried, bucket, slot) = id;
  e.info.tried = tried;
  e.bucket = bucket;
  e.slot = slot;
  auto& ids = m_ids[tried ? 1 : 0];
  e.random_pos = ids.size();
  ids.push_back(id);
}

void AddrMan::Unplace(Id id) {
  Entry& e = m_entries.at(id);
  Cell(e.info.tried, e.bucket, e.slot) = kEmpty;
  auto& ids = m_ids[e.info.tried ? 1 : 0];
  const Id last = ids.back();
  ids[e.random_pos] = last;
  m_entries.at(last).random_pos = e.random_pos;
  ids.pop_back();
}

void AddrMan::Erase(Id id) {
  Unplace(id);
  m_by_service.erase(m_entries.at(id).info.service);
  m_entries.erase(id);
}

bool AddrMan::AddOne(const AddrEntry& e, const NetAddress& source, std::int64_t now) {
  if (e.service.port == 0 || e.service.addr.IsUnspecified()) return false;
  std::int64_t last_seen = e.last_seen;
  // Times from gossip are claims: one from the future or missing counts as five days old.
  if (last_seen <= 0 || Age(now, last_seen) < -10 * kMinute) last_seen = now - 5 * kDay;
  if (const auto it = m_by_service.find(e.service); it != m_by_service.end()) {
    AddrInfo& info = m_entries.at(it->second).info;
    info.services |= e.services;
    info.last_seen = std::max(info.last_seen, std::min(last_seen, now));
    return false;
  }
  const std::size_t bucket = NewBucket(e.service, source);
  const std::size_t slot = SlotOf(false, bucket, e.service);
  if (const Id occupant = Cell(false, bucket, slot); occupant != kEmpty) {
    if (!IsTerrible(m_entries.at(occupant).info, now)) return false;  // keep what we have
    Erase(occupant);
  }
  const Id id = m_next_id++;
  AddrInfo info;
  info.service = e.service;
  info.services = e.services;
  info.last_seen = std::min(last_seen, now);
  info.source = source;
  m_entries.emplace(id, Entry{info});
  m_by_service.emplace(e.service, id);
  Place(id, false, bucket, slot);
  return true;
}

std::size_t AddrMan::Add(const std::vector<AddrEntry>& addrs, const NetAddress& source, std::int64_t now) {
  std::lock_guard lock(m_mutex);
  std::size_t added = 0;
  for (const auto& e : addrs) added += AddOne(e, source, now) ? 1 : 0;
  return added;
}

bool AddrMan::Good(const Service& service, std::int64_t now) {
  std::lock_guard lock(m_mutex);
  const auto it = m_by_service.find(service);
  if (it == m_by_service.end()) return false;
  const Id id = it->second;
  {
    AddrInfo& info = m_entries.at(id).info;
    info.last_success = now;
    info.last_try = now;
    info.last_seen = now;
    info.attempts = 0;
    if (info.tried) return true;
  }
  Unplace(id);
  const std::size_t bucket = TriedBucket(service);
  const std::size_t slot = SlotOf(true, bucket, service);
  if (const Id occupant = Cell(true, bucket, slot); occupant != kEmpty) {
    // The tried occupant goes back to new, where it may in turn displace a new entry: a
    // proven address is worth more than one we only heard of.
    Unplace(occupant);
    const AddrInfo& old = m_entries.at(occupant).info;
    const std::size_t nb = NewBucket(old.service, old.source);
    const std::size_t ns = SlotOf(false, nb, old.service);
    if (const Id displaced = Cell(false, nb, ns); displaced != kEmpty) Erase(displaced);
    Place(occupant, false, nb, ns);
  }
  Place(id, true, bucket, slot);
  return true;
}

void AddrMan::Attempt(const Service& service, std::int64_t now) {
  std::lock_guard lock(m_mutex);
  const auto it = m_by_service.find(service);
  if (it == m_by_service.end()) return;
  AddrInfo& info = m_entries.at(it->second).info;
  info.last_try = now;
  if (info.attempts < UINT32_MAX) ++info.attempts;
}

std::optional<AddrInfo> AddrMan::Select(bool new_only, std::int64_t now) {
  std::lock_guard lock(m_mutex);
  const bool have_new = !m_ids[0].empty(), have_tried = !m_ids[1].empty();
  if (!have_new && (new_only || !have_tried)) return std::nullopt;
  bool tried;
  if (new_only || !have_tried) {
    tried = false;
  } else if (!have_new) {
    tried = true;
  } else {
    tried = (m_rng() & 1) != 0;
  }
  const auto& ids = m_ids[tried ? 1 : 0];
  // Accept a random entry with a probability that falls with recent and failed tries, and a
  // factor that grows with every refusal, so the loop ends quickly even when all are poor.
  constexpr std::uint64_t kScale = 1'000'000;
  std::uint64_t factor = 1;
  while (true) {
    const Id id = ids[m_rng() % ids.size()];
    const AddrInfo& info = m_entries.at(id).info;
    std::uint64_t chance = kScale;
    if (info.last_try != 0 && Age(now, info.last_try) < 10 * kMinute) chance /= 100;
    for (std::uint32_t i = 0; i < std::min<std::uint32_t>(info.attempts, 8); ++i) chance = chance * 2 / 3;
    chance = std::max<std::uint64_t>(chance, 1);
    if (m_rng() % kScale < std::min(kScale, chance * factor)) return info;
    factor = factor * 6 / 5 + 1;
  }
}

std::vector<AddrEntry> AddrMan::GetAddr(std::size_t max_count, std::int64_t now) {
  std::lock_guard lock(m_mutex);
  std::vector<Id> all;
  all.reserve(m_entries.size());
  for (const auto& ids : m_ids) all.insert(all.end(), ids.begin(), ids.end());
  const std::size_t share = all.size() <= kGetAddrSmallBook ? all.size() : all.size() * kGetAddrMaxPercent / 100;
  const std::size_t limit = std::min(max_count, share);
  std::vector<AddrEntry> out;
  // Partial Fisher-Yates: each pick is uniform among those not yet picked.
  for (std::size_t i = 0; i < all.size() && out.size() < limit; ++i) {
    const std::size_t j = i + static_cast<std::size_t>(m_rng() % (all.size() - i));
    std::swap(all[i], all[j]);
    const AddrInfo& info = m_entries.at(all[i]).info;
    if (IsTerrible(info, now)) continue;
    out.push_back(AddrEntry{info.service, info.services, info.last_seen});
  }
  return out;
}

std::size_t AddrMan::EvictTerrible(std::int64_t now) {
  std::lock_guard lock(m_mutex);
  std::vector<Id> doomed;
  for (const auto& [id, e] : m_entries) {
    if (IsTerrible(e.info, now)) doomed.push_back(id);
  }
  for (const Id id : doomed) Erase(id);
  return doomed.size();
}

std::optional<AddrInfo> AddrMan::Find(const Service& service) const {
  std::lock_guard lock(m_mutex);
  const auto it = m_by_service.find(service);
  if (it == m_by_service.end()) return std::nullopt;
  return m_entries.at(it->second).info;
}

std::size_t AddrMan::size() const {
  std::lock_guard lock(m_mutex);
  return m_entries.size();
}

std::size_t AddrMan::new_count() const {
  std::lock_guard lock(m_mutex);
  return m_ids[0].size();
}

std::size_t AddrMan::tried_count() const {
  std::lock_guard lock(m_mutex);
  return m_ids[1].size();
}

std::optional<AddrMan::Location> AddrMan::LocationOf(const Service& service) const {
  std::lock_guard lock(m_mutex);
  const auto it = m_by_service.find(service);
  if (it == m_by_service.end()) return std::nullopt;
  const Entry& e = m_entries.at(it->second);
  return Location{e.info.tried, e.bucket, e.slot};
}

ledger::Status AddrMan::Save(const std::filesystem::path& path) const {
  std::lock_guard save_lock(m_save_mutex);
  consensus::Bytes payload;
  {
    std::lock_guard lock(m_mutex);
    payload.reserve(32 + 10 + m_entries.size() * kEntryBytes);
    consensus::Writer w(payload);
    w.Raw(m_key);
    w.VarInt(m_entries.size());
    for (const auto& [id, e] : m_entries) {
      const AddrInfo& i = e.info;
      w.Raw(i.service.addr.bytes());
      w.U16(i.service.port);
      w.U64(i.services);
      w.U64(static_cast<std::uint64_t>(i.last_seen));
      w.U64(static_cast<std::uint64_t>(i.last_try));
      w.U64(static_cast<std::uint64_t>(i.last_success));
      w.U32(i.attempts);
      w.Raw(i.source.bytes());
      w.U8(i.tried ? 1 : 0);
    }
  }
  return WriteFileAtomic(path, SealState(kFileKind, kFileVersion, m_network, payload));
}

bool AddrMan::PlaceLoaded(AddrInfo info) {
  if (info.service.port == 0 || info.service.addr.IsUnspecified() || m_by_service.contains(info.service)) return false;
  const Id id = m_next_id++;
  m_entries.emplace(id, Entry{info});
  m_by_service.emplace(info.service, id);
  if (info.tried) {
    const std::size_t b = TriedBucket(info.service), s = SlotOf(true, b, info.service);
    if (Cell(true, b, s) == kEmpty) {
      Place(id, true, b, s);
      return true;
    }
  }
  const std::size_t b = NewBucket(info.service, info.source), s = SlotOf(false, b, info.service);
  if (Cell(false, b, s) == kEmpty) {
    Place(id, false, b, s);
    return true;
  }
  m_by_service.erase(info.service);
  m_entries.erase(id);
  return false;
}

ledger::Status AddrMan::Load(const std::filesystem::path& path) {
  consensus::Bytes payload;
  ledger::Status st = ReadSealedState(path, kFileKind, kFileVersion, m_network, kMaxFileBytes, payload);
  std::lock_guard lock(m_mutex);
  if (st.code() == ledger::Status::Code::kNotFound) {
    ResetLocked(RandomKey());
    return ledger::Status::Ok();
  }
  if (st.ok()) {
    consensus::Reader r(payload);
    Key key{};
    std::size_t count = 0;
    r.Raw(key);
    r.Count(count, kMaxEntries, kEntryBytes);
    ResetLocked(key);
    bool bad_flag = false;
    for (std::size_t n = 0; n < count && r.ok() && !bad_flag; ++n) {
      AddrInfo i;
      std::array<std::uint8_t, 16> ip{}, src{};
      std::uint8_t tried = 0;
      std::uint64_t seen = 0, try_ = 0, success = 0;
      r.Raw(ip);
      r.U16(i.service.port);
      r.U64(i.services);
      r.U64(seen);
      r.U64(try_);
      r.U64(success);
      r.U32(i.attempts);
      r.Raw(src);
      r.U8(tried);
      bad_flag = tried > 1 || seen > kMaxStoredTime || try_ > kMaxStoredTime || success > kMaxStoredTime;
      i.service.addr = NetAddress::FromIPv6(ip);
      i.source = NetAddress::FromIPv6(src);
      i.last_seen = static_cast<std::int64_t>(seen);
      i.last_try = static_cast<std::int64_t>(try_);
      i.last_success = static_cast<std::int64_t>(success);
      i.tried = tried == 1;
      if (r.ok() && !bad_flag) PlaceLoaded(i);  // an entry that no longer fits is dropped, not an error
    }
    if (!bad_flag && r.ok() && r.ExpectEnd()) return ledger::Status::Ok();
    st = ledger::Status::Corruption(path.string() + ": undecodable content (" +
                                    (bad_flag ? std::string("an entry's flag or time is out of range")
                                              : std::string(consensus::DecodeErrorName(r.error()))) + ")");
  }
  if (st.code() == ledger::Status::Code::kCorruption) SetAsideCorruptFile(path);
  ResetLocked(RandomKey());
  return st;
}

}  // namespace wattline::net
