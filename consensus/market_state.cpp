#include "consensus/market_state.h"

#include <stdexcept>

#include "consensus/params.h"

namespace wattline::consensus {

const XOnlyPubKey& MarketGlobals::UtilityKeyAt(std::uint32_t height) const {
  return has_pending_key && height >= pending_key_height ? pending_key : utility_key;
}

const Coefficients& MarketGlobals::CoefficientsAt(std::uint32_t slot) const {
  return has_pending_coefficients && slot >= pending_slot ? pending_coefficients : coefficients;
}

MarketGlobals InitialGlobals(const Params& params) {
  MarketGlobals g;
  g.utility_key = params.utility_key;
  g.coefficients = {params.initial_a, params.initial_b, params.initial_c};
  return g;
}

// --- Encodings (docs/market.md, "State") ------------------------------------------------------

namespace {
// Version 2 of the meter state and the globals appends the channel fields; version 1 (written
// before channels settled in consensus) still decodes, with those fields zero.
constexpr std::uint8_t kMeterStateVersion = 2;
constexpr std::uint8_t kGlobalsVersion = 2;
constexpr std::uint8_t kChannelStateVersion = 1;
constexpr std::uint8_t kWatchListVersion = 1;

void Flag(Writer& w, bool b) { w.U8(b ? 1 : 0); }
bool Flag(Reader& r, bool& b) {
  std::uint8_t v = 0;
  if (!r.U8(v)) return false;
  if (v > 1) return r.Fail(DecodeError::kBadFieldValue);
  b = v == 1;
  return true;
}
}  // namespace

Bytes EncodeMeterState(const MeterState& s) {
  Bytes out;
  Writer w(out);
  w.U8(kMeterStateVersion);
  w.Raw(s.owner.span());
  w.U8(static_cast<std::uint8_t>(s.role));
  Flag(w, s.registered);
  w.U32(s.registered_height);
  w.U64(s.granted);
  Flag(w, s.has_reading);
  w.U64(s.last_start);
  w.U64(s.last_end);
  w.U64(s.import_register);
  w.U64(s.export_register);
  w.U64(s.reward_carry);
  w.U64(s.rewarded);
  w.U64(s.exported_wh);
  w.U64(s.imported_wh);
  w.U64(s.readings);
  w.U32(s.channels);
  return out;
}

DecodeError DecodeMeterState(ByteSpan bytes, MeterState& s) {
  Reader r(bytes);
  std::uint8_t version = 0, role = 0;
  s = MeterState{};
  if (r.U8(version) && (version == 1 || version == kMeterStateVersion || r.Fail(DecodeError::kBadFieldValue)) &&
      r.Raw(s.owner.bytes) && r.U8(role)) {
    auto parsed = MeterRoleFromByte(role);
    if (!parsed) return DecodeError::kBadFieldValue;
    s.role = *parsed;
    Flag(r, s.registered) && r.U32(s.registered_height) && r.U64(s.granted) && Flag(r, s.has_reading) &&
        r.U64(s.last_start) && r.U64(s.last_end) && r.U64(s.import_register) && r.U64(s.export_register) &&
        r.U64(s.reward_carry) && r.U64(s.rewarded) && r.U64(s.exported_wh) && r.U64(s.imported_wh) &&
        r.U64(s.readings) && (version == 1 || r.U32(s.channels)) && r.ExpectEnd();
  }
  return r.error();
}

Bytes EncodeGlobals(const MarketGlobals& g) {
  Bytes out;
  Writer w(out);
  w.U8(kGlobalsVersion);
  w.Raw(g.utility_key.span());
  Flag(w, g.has_pending_key);
  w.Raw(g.pending_key.span());
  w.U32(g.pending_key_height);
  for (const Coefficients* c : {&g.coefficients, &g.pending_coefficients}) {
    w.U64(c->a);
    w.U64(c->b);
    w.U64(c->c);
  }
  Flag(w, g.has_pending_coefficients);
  w.U32(g.pending_slot);
  w.U64(g.grants_total);
  w.U64(g.rewards_total);
  w.U64(g.meters_registered);
  w.U64(g.readings_total);
  w.U64(g.channels_funded);
  w.U64(g.channels_settled);
  w.U32(g.pool_slot);
  w.U64(g.pool_accrued);
  w.U64(g.pool_paying);
  w.U64(g.pool_in_total);
  w.U64(g.pool_out_total);
  return out;
}

DecodeError DecodeGlobals(ByteSpan bytes, MarketGlobals& g) {
  Reader r(bytes);
  std::uint8_t version = 0;
  g = MarketGlobals{};
  r.U8(version) && (version == 1 || version == kGlobalsVersion || r.Fail(DecodeError::kBadFieldValue)) &&
      r.Raw(g.utility_key.bytes) && Flag(r, g.has_pending_key) && r.Raw(g.pending_key.bytes) &&
      r.U32(g.pending_key_height) && r.U64(g.coefficients.a) && r.U64(g.coefficients.b) &&
      r.U64(g.coefficients.c) && r.U64(g.pending_coefficients.a) && r.U64(g.pending_coefficients.b) &&
      r.U64(g.pending_coefficients.c) && Flag(r, g.has_pending_coefficients) && r.U32(g.pending_slot) &&
      r.U64(g.grants_total) && r.U64(g.rewards_total) && r.U64(g.meters_registered) && r.U64(g.readings_total) &&
      r.U64(g.channels_funded) &&
      (version == 1 || (r.U64(g.channels_settled) && r.U32(g.pool_slot) && r.U64(g.pool_accrued) &&
                        r.U64(g.pool_paying) && r.U64(g.pool_in_total) && r.U64(g.pool_out_total))) &&
      r.ExpectEnd();
  if (r.error() == DecodeError::kOk && g.pool_out_total > g.pool_in_total) return DecodeError::kBadFieldValue;
  return r.error();
}

Bytes EncodeChannelState(const ChannelState& s) {
  Bytes out;
  Writer w(out);
  w.U8(kChannelStateVersion);
  w.VarBytes(MakeRecord(s.funding).payload);
  w.U8(static_cast<std::uint8_t>(s.status));
  w.Hash(s.current.txid);
  w.U32(s.current.index);
  w.U64(s.amount);
  w.U32(s.posted_height);
  w.U64(s.posted_state);
  w.U64(s.posted_cc);
  w.Hash(s.evidence_a);
  w.Hash(s.evidence_b);
  w.U32(s.count_a);
  w.U32(s.count_b);
  w.U64(s.import_a_wh);
  w.U64(s.export_b_wh);
  return out;
}

DecodeError DecodeChannelState(ByteSpan bytes, ChannelState& s) {
  Reader r(bytes);
  s = ChannelState{};
  std::uint8_t version = 0, status = 0;
  Record funding{RecordKind::kChannelFunding, kMarketRecordVersion, {}};
  if (!(r.U8(version) && (version == kChannelStateVersion || r.Fail(DecodeError::kBadFieldValue)) &&
        r.VarBytes(funding.payload, kMaxRecordPayload)))
    return r.error();
  MarketRecord rec;
  if (DecodeMarketRecord(funding, rec) != DecodeError::kOk) return DecodeError::kBadFieldValue;
  s.funding = std::get<ChannelFunding>(rec);
  r.U8(status) && (status <= 1 || r.Fail(DecodeError::kBadFieldValue)) && r.Hash(s.current.txid) &&
      r.U32(s.current.index) && r.U64(s.amount) && r.U32(s.posted_height) && r.U64(s.posted_state) &&
      r.U64(s.posted_cc) && r.Hash(s.evidence_a) && r.Hash(s.evidence_b) && r.U32(s.count_a) && r.U32(s.count_b) &&
      r.U64(s.import_a_wh) && r.U64(s.export_b_wh) && r.ExpectEnd();
  s.status = static_cast<ChannelStatus>(status);
  return r.error();
}

Bytes EncodeWatchList(const WatchList& list) {
  Bytes out;
  Writer w(out);
  w.U8(kWatchListVersion);
  w.VarInt(list.size());
  for (const WatchEntry& e : list) {
    w.Hash(e.channel.txid);
    w.U32(e.channel.index);
    Flag(w, e.producer);
  }
  return out;
}

DecodeError DecodeWatchList(ByteSpan bytes, WatchList& list) {
  Reader r(bytes);
  list.clear();
  std::uint8_t version = 0;
  std::size_t n = 0;
  if (!(r.U8(version) && (version == kWatchListVersion || r.Fail(DecodeError::kBadFieldValue)) &&
        r.Count(n, 1u << 16, 37)))
    return r.error();
  list.resize(n);
  for (WatchEntry& e : list)
    if (!(r.Hash(e.channel.txid) && r.U32(e.channel.index) && Flag(r, e.producer))) return r.error();
  r.ExpectEnd();
  return r.error();
}

namespace market_keys {
namespace {
std::string WithKey(char prefix, const XOnlyPubKey& k) {
  std::string s(1, prefix);
  s.append(reinterpret_cast<const char*>(k.bytes.data()), k.bytes.size());
  return s;
}
}  // namespace
std::string Globals() { return std::string(1, kGlobals); }
std::string Meter(const MeterId& meter) { return WithKey(kMeter, meter); }
std::string Demand(std::uint32_t slot) {
  std::string s(1, kDemand);
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((slot >> shift) & 0xff));
  return s;
}
std::string OwnerRewards(const XOnlyPubKey& owner) { return WithKey(kOwnerRewards, owner); }
std::string Channel(const OutPoint& channel) {
  std::string s(1, kChannel);
  s.append(reinterpret_cast<const char*>(channel.txid.bytes.data()), channel.txid.bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((channel.index >> shift) & 0xff));
  return s;
}
std::string Watch(const MeterId& meter) { return WithKey(kWatch, meter); }
}  // namespace market_keys

// --- Overlay ------------------------------------------------------------------------------------

std::optional<Bytes> MarketOverlay::Read(const std::string& key) const {
  auto it = m_writes.find(key);
  if (it != m_writes.end()) return it->second;
  return m_base.Read(key);
}

void MarketOverlay::Write(const std::string& key, std::optional<Bytes> value) { m_writes[key] = std::move(value); }

std::map<std::string, std::optional<Bytes>> MarketOverlay::Undo() const {
  std::map<std::string, std::optional<Bytes>> undo;
  for (const auto& [key, value] : m_writes) undo.emplace(key, m_base.Read(key));
  return undo;
}

// --- Typed access -------------------------------------------------------------------------------

namespace {
Bytes U64Bytes(std::uint64_t v) {
  Bytes out;
  Writer w(out);
  w.U64(v);
  return out;
}
std::uint64_t ReadU64(const MarketStore& store, const std::string& key) {
  auto bytes = store.Read(key);
  if (!bytes) return 0;
  Reader r(*bytes);
  std::uint64_t v = 0;
  if (!r.U64(v) || !r.ExpectEnd()) throw std::runtime_error("corrupt market state entry");
  return v;
}
}  // namespace

std::optional<MeterState> MarketReader::Meter(const MeterId& meter) const {
  auto bytes = m_store.Read(market_keys::Meter(meter));
  if (!bytes) return std::nullopt;
  MeterState s;
  if (DecodeMeterState(*bytes, s) != DecodeError::kOk) throw std::runtime_error("corrupt meter state");
  return s;
}

MarketGlobals MarketReader::Globals() const {
  auto bytes = m_store.Read(market_keys::Globals());
  if (!bytes) return InitialGlobals(m_params);
  MarketGlobals g;
  if (DecodeGlobals(*bytes, g) != DecodeError::kOk) throw std::runtime_error("corrupt market globals");
  return g;
}

std::uint64_t MarketReader::Demand(std::uint32_t slot) const { return ReadU64(m_store, market_keys::Demand(slot)); }

std::uint64_t MarketReader::OwnerRewards(const XOnlyPubKey& owner) const {
  return ReadU64(m_store, market_keys::OwnerRewards(owner));
}

std::uint64_t MarketReader::PriceOfSlot(std::uint32_t slot) const {
  const MarketGlobals g = Globals();
  const Coefficients& k = g.CoefficientsAt(slot);
  const std::uint64_t previous = slot == 0 ? 0 : Demand(slot - 1);
  return SlotPrice(k.a, k.b, k.c, previous);
}

std::optional<ChannelState> MarketReader::Channel(const OutPoint& channel) const {
  auto bytes = m_store.Read(market_keys::Channel(channel));
  if (!bytes) return std::nullopt;
  ChannelState s;
  if (DecodeChannelState(*bytes, s) != DecodeError::kOk) throw std::runtime_error("corrupt channel state");
  return s;
}

WatchList MarketReader::Watch(const MeterId& meter) const {
  auto bytes = m_store.Read(market_keys::Watch(meter));
  WatchList list;
  if (bytes && DecodeWatchList(*bytes, list) != DecodeError::kOk) throw std::runtime_error("corrupt watch list");
  return list;
}

void WriteChannel(MarketOverlay& o, const OutPoint& channel, const std::optional<ChannelState>& s) {
  o.Write(market_keys::Channel(channel), s ? std::optional<Bytes>(EncodeChannelState(*s)) : std::nullopt);
}
void WriteWatch(MarketOverlay& o, const MeterId& meter, const WatchList& w) {
  o.Write(market_keys::Watch(meter), w.empty() ? std::nullopt : std::optional<Bytes>(EncodeWatchList(w)));
}

void WriteMeter(MarketOverlay& o, const MeterId& meter, const MeterState& s) {
  o.Write(market_keys::Meter(meter), EncodeMeterState(s));
}
void WriteGlobals(MarketOverlay& o, const MarketGlobals& g) { o.Write(market_keys::Globals(), EncodeGlobals(g)); }
void WriteDemand(MarketOverlay& o, std::uint32_t slot, std::uint64_t wh) {
  o.Write(market_keys::Demand(slot), U64Bytes(wh));
}
void WriteOwnerRewards(MarketOverlay& o, const XOnlyPubKey& owner, std::uint64_t units) {
  o.Write(market_keys::OwnerRewards(owner), U64Bytes(units));
}

}  // namespace wattline::consensus
