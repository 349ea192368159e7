#include "consensus/record.h"

#include <optional>

namespace wattline::consensus {

Record Record::Coinbase(std::uint32_t height, ByteSpan extra) {
  Record rec;
  rec.kind = RecordKind::kCoinbase;
  rec.version = kCoinbaseRecordVersion;
  Writer w(rec.payload);
  w.U32(height);
  w.Raw(extra);
  return rec;
}

void EncodeRecord(Writer& w, const Record& rec) {
  w.VarInt(static_cast<std::uint32_t>(rec.kind));
  if (rec.kind == RecordKind::kNone) return;
  w.VarInt(rec.version);
  w.VarBytes(rec.payload);
}

bool DecodeRecord(Reader& r, Record& rec) {
  std::uint64_t kind;
  if (!r.VarInt(kind, UINT32_MAX)) return false;
  rec = Record{};
  switch (kind) {
    case static_cast<std::uint32_t>(RecordKind::kNone):
      return true;
    case static_cast<std::uint32_t>(RecordKind::kCoinbase):
    case static_cast<std::uint32_t>(RecordKind::kMeterRegistration):
    case static_cast<std::uint32_t>(RecordKind::kReadings):
    case static_cast<std::uint32_t>(RecordKind::kPriceCoefficients):
    case static_cast<std::uint32_t>(RecordKind::kChannelFunding):
    case static_cast<std::uint32_t>(RecordKind::kChannelSettlement):
    case static_cast<std::uint32_t>(RecordKind::kUtilityKeyRotation):
    case static_cast<std::uint32_t>(RecordKind::kMeterDeregistration): {
      rec.kind = static_cast<RecordKind>(kind);
      std::uint64_t version;
      if (!r.VarInt(version, UINT32_MAX)) return false;
      rec.version = static_cast<std::uint32_t>(version);
      return r.VarBytes(rec.payload, kMaxRecordPayload);
    }
    default:
      return r.Fail(DecodeError::kUnknownRecordKind);
  }
}

std::optional<std::uint32_t> CoinbaseHeight(const Record& rec) {
  if (rec.kind != RecordKind::kCoinbase || rec.version != kCoinbaseRecordVersion) return std::nullopt;
  if (rec.payload.size() < 4 || rec.payload.size() > 4 + kMaxCoinbaseExtra) return std::nullopt;
  Reader r(rec.payload);
  std::uint32_t h = 0;
  r.U32(h);
  return h;
}

}  // namespace wattline::consensus
