#include "channels/tower.h"

#include <cstring>

#include "channels/builder.h"
#include "channels/codec.h"

namespace wattline::channels {

using namespace consensus;

namespace {

constexpr char kPrefix = 't';

std::string Key(const ChannelId& c) {
  std::string k(1, kPrefix);
  k.append(reinterpret_cast<const char*>(c.txid.bytes.data()), 32);
  const std::uint32_t i = c.index;
  for (int s = 24; s >= 0; s -= 8) k.push_back(static_cast<char>((i >> s) & 0xff));
  return k;
}

Bytes Encode(const TowerUpdateMsg& m) {
  Bytes out;
  Writer w(out);
  w.U64(m.commitment.state);
  w.U64(m.commitment.cc);
  w.U64(m.commitment.fee);
  codec::PutSig(w, m.sig_a);
  codec::PutSig(w, m.sig_b);
  return out;
}

std::optional<TowerUpdateMsg> Decode(const ChannelId& c, std::string_view v) {
  Reader r({reinterpret_cast<const std::uint8_t*>(v.data()), v.size()});
  TowerUpdateMsg m;
  m.commitment.channel = c;
  if (!r.U64(m.commitment.state) || !r.U64(m.commitment.cc) || !r.U64(m.commitment.fee) || !codec::GetSig(r, m.sig_a) ||
      !codec::GetSig(r, m.sig_b) || !r.ExpectEnd())
    return std::nullopt;
  return m;
}

std::optional<ChannelId> ChannelOfKey(std::string_view k) {
  if (k.size() != 1 + 32 + 4 || k[0] != kPrefix) return std::nullopt;
  ChannelId c;
  std::memcpy(c.txid.bytes.data(), k.data() + 1, 32);
  c.index = 0;
  for (std::size_t i = 33; i < 37; ++i) c.index = (c.index << 8) | static_cast<std::uint8_t>(k[i]);
  return c;
}

}  // namespace

bool Watchtower::Open(const std::filesystem::path& dir, ChannelHost& host, std::unique_ptr<Watchtower>& out,
                      std::string& why) {
  std::unique_ptr<Watchtower> t(new Watchtower(host));
  const ledger::Status st = ledger::Database::Open(dir, 1 << 20, t->m_db);
  if (!st.ok()) {
    why = "cannot open the watchtower database " + dir.string() + ": " + st.message();
    return false;
  }
  out = std::move(t);
  return true;
}

std::string_view Watchtower::VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kKept: return "kept";
    case Verdict::kNotNewer: return "not newer than the state held";
    case Verdict::kUnknownChannel: return "no unsettled channel on chain";
    case Verdict::kNotOurs: return "the channel's U is not this node's key";
    case Verdict::kBadSignature: return "A's or B's signature does not verify";
  }
  return "unknown";
}

std::optional<TowerUpdateMsg> Watchtower::Held(const ChannelId& channel) const {
  auto v = m_db->Get(Key(channel));
  return v ? Decode(channel, *v) : std::nullopt;
}

std::size_t Watchtower::Disputes() const {
  std::lock_guard lock(m_mutex);
  return m_disputes.size();
}

Watchtower::Verdict Watchtower::Check(const TowerUpdateMsg& m) const {
  auto onchain = m_host.OnChain(m.commitment.channel);
  if (!onchain) return Verdict::kUnknownChannel;
  const ChannelFunding& f = onchain->funding;
  if (const auto u = m_host.UtilityKey(); !u || f.utility != *u) return Verdict::kNotOurs;
  const Hash256 msg = CommitmentSigHash(m_host.params(), m.commitment);
  if (!crypto::Verify(f.consumer, msg, m.sig_a) || !crypto::Verify(f.producer, msg, m.sig_b))
    return Verdict::kBadSignature;
  return Verdict::kKept;
}

Watchtower::Verdict Watchtower::Accept(const TowerUpdateMsg& m) { return AcceptBatch({m}).at(0); }

std::vector<Watchtower::Verdict> Watchtower::AcceptBatch(const std::vector<TowerUpdateMsg>& updates) {
  std::vector<Verdict> out;
  out.reserve(updates.size());
  for (const auto& m : updates) out.push_back(Check(m));  // signatures outside the lock
  std::lock_guard lock(m_mutex);
  leveldb::WriteBatch batch;
  std::map<ChannelId, std::uint64_t> newest;  // within this batch
  bool any = false;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    if (out[i] != Verdict::kKept) continue;
    const TowerUpdateMsg& m = updates[i];
    const ChannelId& c = m.commitment.channel;
    std::optional<std::uint64_t> held;
    if (auto it = newest.find(c); it != newest.end()) held = it->second;
    else if (auto h = Held(c)) held = h->commitment.state;
    if (held && *held >= m.commitment.state) {
      out[i] = Verdict::kNotNewer;
      continue;
    }
    const Bytes value = Encode(m);
    batch.Put(Key(c), leveldb::Slice(reinterpret_cast<const char*>(value.data()), value.size()));
    newest[c] = m.commitment.state;
    any = true;
  }
  if (any) m_db->Write(batch, /*sync=*/true);
  return out;
}

void Watchtower::Respond(const ChannelId& channel, const TowerUpdateMsg& held) {
  auto onchain = m_host.OnChain(channel);
  if (!onchain) return Forget(channel);
  if (onchain->status != ChannelStatus::kClosing || onchain->posted_state >= held.commitment.state) {
    m_disputes.erase(channel);  // nothing stale on chain (any more)
    return;
  }
  std::string why;
  if (auto tx = BuildPost(channel, *onchain, held.commitment, held.sig_a, held.sig_b, why)) m_host.Broadcast(*tx, why);
  m_disputes[channel] = held;
}

void Watchtower::Forget(const ChannelId& channel) {
  m_disputes.erase(channel);
  leveldb::WriteBatch batch;
  batch.Delete(Key(channel));
  m_db->Write(batch, /*sync=*/false);  // losing a forget only keeps a settled channel's state a while
}

std::size_t Watchtower::CatchUp() {
  std::lock_guard lock(m_mutex);
  std::vector<std::pair<ChannelId, TowerUpdateMsg>> held;
  m_db->ForEachWithPrefix(std::string(1, kPrefix), [&](std::string_view k, std::string_view v) {
    auto c = ChannelOfKey(k);
    auto m = c ? Decode(*c, v) : std::nullopt;
    if (m) held.emplace_back(*c, *m);
    return true;
  });
  for (const auto& [channel, m] : held) Respond(channel, m);
  return m_disputes.size();
}

void Watchtower::OnBlockConnected(const std::vector<TransactionRef>& txs) {
  std::lock_guard lock(m_mutex);
  std::map<ChannelId, TowerUpdateMsg> check = m_disputes;
  for (const TransactionRef& tx : txs) {
    if (tx->record().kind != RecordKind::kChannelSettlement) continue;
    ChannelSettlement s;
    if (DecodeSettlementRecord(tx->record(), s) != DecodeError::kOk) continue;
    auto held = Held(s.channel);
    if (!held) continue;
    if (s.path == SettlementPath::kPost) check[s.channel] = *held;
    else Forget(s.channel);  // a close: the channel is over
  }
  for (const auto& [channel, held] : check) Respond(channel, held);
}

}  // namespace wattline::channels
