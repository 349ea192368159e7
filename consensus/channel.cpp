#include "consensus/channel.h"

#include <algorithm>

#include "consensus/params.h"
#include "crypto/hash.h"

namespace wattline::consensus {

namespace {

__extension__ typedef unsigned __int128 u128;  // GCC and Clang: exact 128-bit products

constexpr std::uint64_t kMaxUnits = static_cast<std::uint64_t>(kMaxMoney.units);


void EncodeChannelId(Writer& w, const ChannelId& id) {
  w.Hash(id.txid);
  w.U32(id.index);
}

}  // namespace

Hash256 CommitmentSigHash(const Params& params, const Commitment& c) {
  static const crypto::TaggedHasher kTag("wattline/commitment");
  Bytes buf;
  Writer w(buf);
  w.Raw(params.magic);
  EncodeChannelId(w, c.channel);
  w.U64(c.state);
  w.U64(c.cc);
  w.U64(c.fee);
  return kTag.Hash(buf);
}

Bytes EncodeSettlement(const ChannelSettlement& s) {
  Bytes out;
  Writer w(out);
  w.U8(static_cast<std::uint8_t>(s.path));
  EncodeChannelId(w, s.channel);
  switch (s.path) {
    case SettlementPath::kCooperative:
      w.U64(s.cc);
      w.U64(s.fee);
      break;
    case SettlementPath::kPost:
      w.U64(s.state);
      w.U64(s.cc);
      w.U64(s.fee);
      w.Raw(s.sig_a.span());
      w.Raw(s.sig_b.span());
      break;
    case SettlementPath::kSettle:
      break;
    case SettlementPath::kExpiry:
      w.U64(s.fee);
      break;
    case SettlementPath::kPenalty:
    case SettlementPath::kDelivered:
      w.U64(s.fee);
      w.VarInt(s.evidence.size());
      for (const Reading& r : s.evidence) {
        const Bytes enc = EncodeReading(r);
        w.Raw(enc);
      }
      break;
  }
  return out;
}

DecodeError DecodeSettlement(ByteSpan bytes, ChannelSettlement& out) {
  Reader r(bytes);
  ChannelSettlement s;
  std::uint8_t path = 0;
  if (!r.U8(path) || !r.Hash(s.channel.txid) || !r.U32(s.channel.index)) return r.error();
  if (path < 1 || path > 6) return DecodeError::kBadFieldValue;
  s.path = static_cast<SettlementPath>(path);
  bool ok = true;
  switch (s.path) {
    case SettlementPath::kCooperative:
      ok = r.U64(s.cc) && r.U64(s.fee);
      break;
    case SettlementPath::kPost:
      ok = r.U64(s.state) && r.U64(s.cc) && r.U64(s.fee) && r.Raw(s.sig_a.bytes) && r.Raw(s.sig_b.bytes);
      break;
    case SettlementPath::kSettle:
      break;
    case SettlementPath::kExpiry:
      ok = r.U64(s.fee);
      break;
    case SettlementPath::kPenalty:
    case SettlementPath::kDelivered: {
      std::size_t n = 0;
      ok = r.U64(s.fee) && r.Count(n, kMaxEvidenceReadings, kReadingSize);
      if (ok && n == 0) return DecodeError::kBadFieldValue;
      s.evidence.resize(ok ? n : 0);
      for (std::size_t i = 0; ok && i < n; ++i) ok = DecodeReading(r, s.evidence[i]);
      break;
    }
  }
  if (!ok || !r.ExpectEnd()) return r.error();
  out = std::move(s);
  return DecodeError::kOk;
}

Record MakeSettlementRecord(const ChannelSettlement& s) {
  return Record{RecordKind::kChannelSettlement, kSettlementRecordVersion, EncodeSettlement(s)};
}

DecodeError DecodeSettlementRecord(const Record& rec, ChannelSettlement& out) {
  if (rec.kind != RecordKind::kChannelSettlement) return DecodeError::kUnknownRecordKind;
  if (rec.version != kSettlementRecordVersion) return DecodeError::kBadFieldValue;
  return DecodeSettlement(rec.payload, out);
}

std::optional<Shares> StateShares(std::uint64_t cwa, std::uint64_t cwb, std::uint64_t cwu, std::uint64_t cc) {
  if (cc > cwa || cwa > kMaxUnits || cwu > kMaxUnits) return std::nullopt;
  auto b = MoneyAdd(cwb, cc);
  if (!b) return std::nullopt;
  return Shares{cwa - cc, *b, cwu};
}

std::optional<Payout> ApplyFee(Shares shares, std::uint64_t fee, const std::vector<Party>& payers, std::uint64_t dust) {
  std::uint64_t left = fee;
  for (Party p : payers) {
    std::uint64_t& share = shares[static_cast<std::size_t>(p)];
    const std::uint64_t take = std::min(share, left);
    share -= take;
    left -= take;
  }
  if (left > 0) return std::nullopt;
  Payout out{shares, fee};
  for (std::uint64_t& share : out.shares) {
    if (share > 0 && share < dust) {
      // The fee never exceeds the coins it came from, so this sum stays within the inputs.
      out.fee += share;
      share = 0;
    }
  }
  return out;
}

std::optional<PenaltySplit> PenaltyShares(std::uint64_t cwa, std::uint64_t cwb, std::uint64_t cwu,
                                          std::uint64_t energy_wh, std::uint64_t price, std::uint64_t a_import_wh,
                                          std::uint64_t b_export_wh) {
  if (b_export_wh >= energy_wh) return std::nullopt;  // B delivered all it was asked for
  if (cwa > kMaxUnits || cwb > kMaxUnits || cwu > kMaxUnits) return std::nullopt;
  PenaltySplit out;
  out.received_wh = std::min(a_import_wh, energy_wh);
  out.delivered_wh = std::min(b_export_wh, out.received_wh);
  const auto paid = EnergyCost(out.received_wh, price);
  const auto to_b = EnergyCost(out.delivered_wh, price);
  if (!paid || !to_b || *paid > cwa) return std::nullopt;
  auto to_u = MoneyAdd(cwu, *paid - *to_b);  // cost is monotonic: *to_b <= *paid
  if (!to_u) return std::nullopt;
  out.shares = {cwa - *paid, *to_b, *to_u};
  out.pool = cwb;
  return out;
}

std::optional<Shares> DeliveredShares(std::uint64_t cwa, std::uint64_t cwb, std::uint64_t cwu, std::uint64_t energy_wh,
                                      std::uint64_t price, std::uint64_t b_export_wh) {
  const auto cost = EnergyCost(std::min(b_export_wh, energy_wh), price);
  if (!cost) return std::nullopt;
  return StateShares(cwa, cwb, cwu, *cost);
}

std::uint64_t SettlementFee(std::uint64_t settled, std::uint32_t percent) {
  const u128 p = std::min<std::uint32_t>(percent, 100);
  return static_cast<std::uint64_t>(static_cast<u128>(settled) * p / 100);
}

std::uint64_t PoolShare(std::uint64_t pool, std::uint32_t slot_blocks, std::uint32_t height) {
  if (slot_blocks == 0) return 0;
  std::uint64_t share = pool / slot_blocks;
  if (height % slot_blocks == slot_blocks - 1) share += pool % slot_blocks;
  return share;
}

Hash256 AccumulateEvidence(const Hash256& acc, const Reading& reading) {
  static const crypto::TaggedHasher kTag("wattline/evidence");
  Bytes buf;
  buf.reserve(32 + kReadingSize);
  Writer w(buf);
  w.Hash(acc);
  w.Raw(EncodeReading(reading));
  return kTag.Hash(buf);
}

bool InDeliveryInterval(const Reading& reading, std::uint64_t start, std::uint64_t end) {
  if (reading.start < start) return false;
  if (reading.start > end || end - reading.start < reading.length) return false;
  return true;
}

}  // namespace wattline::consensus
