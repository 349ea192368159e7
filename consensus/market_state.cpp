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
constexpr std::uint8_t kMeterStateVersion = 1;
constexpr std::uint8_t kGlobalsVersion = 1;

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
  return out;
}

DecodeError DecodeMeterState(ByteSpan bytes, MeterState& s) {
  Reader r(bytes);
  std::uint8_t version = 0, role = 0;
  s = MeterState{};
  if (r.U8(version) && (version == kMeterStateVersion || r.Fail(DecodeError::kBadFieldValue)) &&
      r.Raw(s.owner.bytes) && r.U8(role)) {
    auto parsed = MeterRoleFromByte(role);
    if (!parsed) return DecodeError::kBadFieldValue;
    s.role = *parsed;
    Flag(r, s.registered) && r.U32(s.registered_height) && r.U64(s.granted) && Flag(r, s.has_reading) &&
        r.U64(s.last_start) && r.U64(s.last_end) && r.U64(s.import_register) && r.U64(s.export_register) &&
        r.U64(s.reward_carry) && r.U64(s.rewarded) && r.U64(s.exported_wh) && r.U64(s.imported_wh) &&
        r.U64(s.readings) && r.ExpectEnd();
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
  return out;
}

DecodeError DecodeGlobals(ByteSpan bytes, MarketGlobals& g) {
  Reader r(bytes);
  std::uint8_t version = 0;
  g = MarketGlobals{};
  r.U8(version) && (version == kGlobalsVersion || r.Fail(DecodeError::kBadFieldValue)) &&
      r.Raw(g.utility_key.bytes) && Flag(r, g.has_pending_key) && r.Raw(g.pending_key.bytes) &&
      r.U32(g.pending_key_height) && r.U64(g.coefficients.a) && r.U64(g.coefficients.b) &&
      r.U64(g.coefficients.c) && r.U64(g.pending_coefficients.a) && r.U64(g.pending_coefficients.b) &&
      r.U64(g.pending_coefficients.c) && Flag(r, g.has_pending_coefficients) && r.U32(g.pending_slot) &&
      r.U64(g.grants_total) && r.U64(g.rewards_total) && r.U64(g.meters_registered) && r.U64(g.readings_total) &&
      r.U64(g.channels_funded) && r.ExpectEnd();
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
