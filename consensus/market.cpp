#include "consensus/market.h"

#include <algorithm>

#include "consensus/params.h"
#include "consensus/transaction.h"

namespace wattline::consensus {

std::optional<MeterRole> MeterRoleFromByte(std::uint8_t b) {
  switch (b) {
    case 1: return MeterRole::kProducer;
    case 2: return MeterRole::kConsumer;
    case 3: return MeterRole::kProsumer;
    default: return std::nullopt;
  }
}

std::string_view MeterRoleName(MeterRole role) {
  switch (role) {
    case MeterRole::kProducer: return "producer";
    case MeterRole::kConsumer: return "consumer";
    case MeterRole::kProsumer: return "prosumer";
  }
  return "unknown";
}

bool RoleProduces(MeterRole role) { return role == MeterRole::kProducer || role == MeterRole::kProsumer; }
bool RoleConsumes(MeterRole role) { return role == MeterRole::kConsumer || role == MeterRole::kProsumer; }

bool IsMarketKind(RecordKind kind) {
  switch (kind) {
    case RecordKind::kMeterRegistration:
    case RecordKind::kReadings:
    case RecordKind::kPriceCoefficients:
    case RecordKind::kChannelFunding:
    case RecordKind::kChannelSettlement:
    case RecordKind::kUtilityKeyRotation:
    case RecordKind::kMeterDeregistration:
      return true;
    case RecordKind::kNone:
    case RecordKind::kCoinbase:
      return false;
  }
  return false;
}

namespace {

void Key(Writer& w, const XOnlyPubKey& k) { w.Raw(k.span()); }
bool Key(Reader& r, XOnlyPubKey& k) { return r.Raw(k.bytes); }
void Sig(Writer& w, const Signature& s) { w.Raw(s.span()); }
bool Sig(Reader& r, Signature& s) { return r.Raw(s.bytes); }

void EncodeReadingBody(Writer& w, const Reading& x) {
  Key(w, x.meter);
  w.U64(x.start);
  w.U32(x.length);
  w.U64(x.import_wh);
  w.U64(x.export_wh);
  w.U64(x.import_register);
  w.U64(x.export_register);
}

struct PayloadWriter {
  Writer& w;
  void operator()(const MeterRegistration& x) {
    Key(w, x.meter);
    Key(w, x.owner);
    w.U8(static_cast<std::uint8_t>(x.role));
    w.U64(x.grant);
    Sig(w, x.utility_sig);
  }
  void operator()(const ReadingBatch& x) {
    w.VarInt(x.readings.size());
    for (const auto& r : x.readings) {
      EncodeReadingBody(w, r);
      Sig(w, r.sig);
    }
    w.U8(x.series ? 1 : 0);
    if (x.series) w.Raw(*x.series);
  }
  void operator()(const PriceCoefficients& x) {
    w.U64(x.a);
    w.U64(x.b);
    w.U64(x.c);
    Sig(w, x.utility_sig);
  }
  void operator()(const ChannelFunding& x) {
    Key(w, x.consumer);
    Key(w, x.producer);
    Key(w, x.utility);
    Key(w, x.consumer_meter);
    Key(w, x.producer_meter);
    w.U64(x.energy_wh);
    w.U32(x.slot);
    w.U64(x.price);
    w.U64(x.cwa);
    w.U64(x.cwb);
    w.U64(x.cwu);
    w.U32(x.expiry);
    w.U32(x.contest_window);
    w.U64(x.delivery_start);
    w.U64(x.delivery_end);
  }
  void operator()(const UtilityKeyRotation& x) {
    Key(w, x.new_key);
    Sig(w, x.utility_sig);
  }
  void operator()(const MeterDeregistration& x) {
    Key(w, x.meter);
    Sig(w, x.utility_sig);
  }
};

RecordKind KindOf(const MarketRecord& rec) {
  struct {
    RecordKind operator()(const MeterRegistration&) const { return RecordKind::kMeterRegistration; }
    RecordKind operator()(const ReadingBatch&) const { return RecordKind::kReadings; }
    RecordKind operator()(const PriceCoefficients&) const { return RecordKind::kPriceCoefficients; }
    RecordKind operator()(const ChannelFunding&) const { return RecordKind::kChannelFunding; }
    RecordKind operator()(const UtilityKeyRotation&) const { return RecordKind::kUtilityKeyRotation; }
    RecordKind operator()(const MeterDeregistration&) const { return RecordKind::kMeterDeregistration; }
  } visitor;
  return std::visit(visitor, rec);
}

Bytes EncodePayload(const MarketRecord& rec) {
  Bytes out;
  Writer w(out);
  std::visit(PayloadWriter{w}, rec);
  return out;
}

}  // namespace

Record MakeRecord(const MarketRecord& rec) {
  Record r;
  r.kind = KindOf(rec);
  r.version = kMarketRecordVersion;
  r.payload = EncodePayload(rec);
  return r;
}

bool DecodeReading(Reader& r, Reading& x) {
  return Key(r, x.meter) && r.U64(x.start) && r.U32(x.length) && r.U64(x.import_wh) && r.U64(x.export_wh) &&
         r.U64(x.import_register) && r.U64(x.export_register) && Sig(r, x.sig);
}

Bytes EncodeReading(const Reading& reading) {
  Bytes out;
  Writer w(out);
  EncodeReadingBody(w, reading);
  Sig(w, reading.sig);
  return out;
}

DecodeError DecodeMarketRecord(const Record& rec, MarketRecord& out) {
  if (!IsMarketKind(rec.kind)) return DecodeError::kUnknownRecordKind;
  // A version this node does not know has no meaning: refuse it like an unknown kind.
  if (rec.version != kMarketRecordVersion) return DecodeError::kBadFieldValue;
  Reader r(rec.payload);
  bool ok = false;
  switch (rec.kind) {
    case RecordKind::kMeterRegistration: {
      MeterRegistration x;
      std::uint8_t role = 0;
      ok = Key(r, x.meter) && Key(r, x.owner) && r.U8(role) && r.U64(x.grant) && Sig(r, x.utility_sig);
      if (ok) {
        auto parsed = MeterRoleFromByte(role);
        if (!parsed) return DecodeError::kBadFieldValue;
        x.role = *parsed;
      }
      out = x;
      break;
    }
    case RecordKind::kReadings: {
      ReadingBatch x;
      std::size_t n = 0;
      ok = r.Count(n, kMaxReadingsPerBatch, kReadingSize);
      if (ok && n == 0) return DecodeError::kBadFieldValue;
      x.readings.resize(ok ? n : 0);
      for (auto& reading : x.readings)
        if (!(ok = DecodeReading(r, reading))) break;
      std::uint8_t has_series = 0;
      ok = ok && r.U8(has_series);
      if (ok && has_series > 1) return DecodeError::kBadFieldValue;
      if (ok && has_series == 1) {
        Cid cid{};
        ok = r.Raw(cid);
        if (ok && !IsRawSha256Cid(cid)) return DecodeError::kBadFieldValue;
        x.series = cid;
      }
      out = std::move(x);
      break;
    }
    case RecordKind::kPriceCoefficients: {
      PriceCoefficients x;
      ok = r.U64(x.a) && r.U64(x.b) && r.U64(x.c) && Sig(r, x.utility_sig);
      out = x;
      break;
    }
    case RecordKind::kChannelFunding: {
      ChannelFunding x;
      ok = Key(r, x.consumer) && Key(r, x.producer) && Key(r, x.utility) && Key(r, x.consumer_meter) &&
           Key(r, x.producer_meter) && r.U64(x.energy_wh) && r.U32(x.slot) && r.U64(x.price) && r.U64(x.cwa) &&
           r.U64(x.cwb) && r.U64(x.cwu) && r.U32(x.expiry) && r.U32(x.contest_window) &&
           r.U64(x.delivery_start) && r.U64(x.delivery_end);
      out = x;
      break;
    }
    case RecordKind::kUtilityKeyRotation: {
      UtilityKeyRotation x;
      ok = Key(r, x.new_key) && Sig(r, x.utility_sig);
      out = x;
      break;
    }
    case RecordKind::kMeterDeregistration: {
      MeterDeregistration x;
      ok = Key(r, x.meter) && Sig(r, x.utility_sig);
      out = x;
      break;
    }
    case RecordKind::kNone:
    case RecordKind::kCoinbase:
    case RecordKind::kChannelSettlement:  // DecodeSettlementRecord (consensus/channel.h)
      return DecodeError::kUnknownRecordKind;
  }
  if (ok) r.ExpectEnd();
  return r.error();
}

Hash256 ReadingSigHash(const Params& params, const Reading& reading) {
  static const crypto::TaggedHasher kTag("wattline/reading");
  Bytes buf;
  buf.reserve(4 + kReadingSize);
  Writer w(buf);
  w.Raw(params.magic);
  EncodeReadingBody(w, reading);
  return kTag.Hash(buf);
}

Hash256 UtilitySigHash(const Params& params, const OutPoint& first_input, const MarketRecord& rec) {
  static const crypto::TaggedHasher kTag("wattline/utility");
  Bytes payload = EncodePayload(rec);
  // Every utility record ends with its 64-byte signature; the message is what precedes it.
  const std::size_t body = payload.size() >= 64 ? payload.size() - 64 : payload.size();
  Bytes buf;
  Writer w(buf);
  w.Raw(params.magic);
  w.Hash(first_input.txid);
  w.U32(first_input.index);
  w.U32(static_cast<std::uint32_t>(KindOf(rec)));
  w.U32(kMarketRecordVersion);
  w.Raw(ByteSpan(payload.data(), body));
  return kTag.Hash(buf);
}

bool SetUtilitySignature(MarketRecord& rec, const Signature& sig) {
  if (auto* x = std::get_if<MeterRegistration>(&rec)) return x->utility_sig = sig, true;
  if (auto* x = std::get_if<MeterDeregistration>(&rec)) return x->utility_sig = sig, true;
  if (auto* x = std::get_if<PriceCoefficients>(&rec)) return x->utility_sig = sig, true;
  if (auto* x = std::get_if<UtilityKeyRotation>(&rec)) return x->utility_sig = sig, true;
  return false;
}

// --- CIDs -------------------------------------------------------------------------------------

namespace {
constexpr std::uint8_t kCidPrefix[4] = {0x01, 0x55, 0x12, 0x20};
constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";
}  // namespace

Cid ComputeCid(ByteSpan bytes) {
  Cid cid{};
  std::copy(std::begin(kCidPrefix), std::end(kCidPrefix), cid.begin());
  const Hash256 digest = crypto::Sha256Of(bytes);
  std::copy(digest.bytes.begin(), digest.bytes.end(), cid.begin() + 4);
  return cid;
}

bool IsRawSha256Cid(const Cid& cid) { return std::equal(std::begin(kCidPrefix), std::end(kCidPrefix), cid.begin()); }

std::string CidToString(const Cid& cid) {
  std::string out = "b";
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : cid) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32[(buffer << (5 - bits)) & 31]);
  return out;
}

std::optional<Cid> CidFromString(std::string_view text) {
  // 36 bytes = 288 bits = 58 symbols (57.6 rounded up) after the multibase prefix.
  if (text.size() != 1 + 58 || text[0] != 'b') return std::nullopt;
  Cid cid{};
  std::size_t n = 0;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char ch : text.substr(1)) {
    int v = -1;
    if (ch >= 'a' && ch <= 'z') v = ch - 'a';
    if (ch >= '2' && ch <= '7') v = ch - '2' + 26;
    if (v < 0) return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      if (n == cid.size()) return std::nullopt;
      cid[n++] = static_cast<std::uint8_t>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  // The unused low bits of the last symbol must be zero (one text form per CID).
  if (n != cid.size() || (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  if (!IsRawSha256Cid(cid)) return std::nullopt;
  return cid;
}

// --- Arithmetic -------------------------------------------------------------------------------

std::uint32_t SlotOfHeight(std::uint32_t height, const Params& params) { return height / params.slot_blocks; }

namespace {
__extension__ typedef unsigned __int128 u128;  // GCC and Clang: exact 128-bit products

// a * b, saturating at kMaxPrice (a and b are below 2^64, so the 128-bit product is exact).
u128 SatMul(u128 a, u128 b) {
  if (a == 0 || b == 0) return 0;
  if (a > kMaxPrice || b > kMaxPrice) return kMaxPrice;
  const u128 p = a * b;  // < 2^102: exact
  return p > kMaxPrice ? kMaxPrice : p;
}
}  // namespace

std::uint64_t SlotPrice(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t demand_wh) {
  const u128 d = demand_wh / 1000;
  const u128 term_a = SatMul(a, SatMul(d, d));
  const u128 term_b = SatMul(b, d);
  const u128 term_c = c > kMaxPrice ? kMaxPrice : c;
  const u128 sum = term_a + term_b + term_c;  // each <= kMaxPrice: no overflow
  return static_cast<std::uint64_t>(sum > kMaxPrice ? kMaxPrice : sum);
}

std::optional<std::uint64_t> EnergyCost(std::uint64_t energy_wh, std::uint64_t price) {
  const u128 cost = (static_cast<u128>(energy_wh) * price + 999) / 1000;
  if (cost > static_cast<u128>(kMaxMoney.units)) return std::nullopt;
  return static_cast<std::uint64_t>(cost);
}

std::optional<RewardResult> ProductionReward(std::uint64_t export_wh, std::uint64_t carry, std::uint64_t units_per_mwh) {
  constexpr u128 kMicro = 1'000'000;
  const u128 total = static_cast<u128>(export_wh) * units_per_mwh + (carry % kMicro);
  const u128 units = total / kMicro;
  if (units > static_cast<u128>(kMaxMoney.units)) return std::nullopt;
  return RewardResult{static_cast<std::uint64_t>(units), static_cast<std::uint64_t>(total % kMicro)};
}

}  // namespace wattline::consensus
