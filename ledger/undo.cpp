#include "ledger/undo.h"

namespace wattline::ledger {

consensus::Bytes EncodeUndo(const BlockUndo& undo) {
  consensus::Bytes out;
  consensus::Writer w(out);
  w.VarInt(undo.spent.size());
  for (const auto& c : undo.spent) EncodeCoin(w, c);
  if (!undo.market.empty()) {
    w.VarInt(undo.market.size());
    for (const auto& [key, value] : undo.market) {
      w.VarBytes({reinterpret_cast<const std::uint8_t*>(key.data()), key.size()});
      w.U8(value ? 1 : 0);
      if (value) w.VarBytes(*value);
    }
  }
  return out;
}

consensus::DecodeError DecodeUndo(consensus::ByteSpan bytes, BlockUndo& undo) {
  consensus::Reader r(bytes);
  std::size_t n = 0;
  undo.spent.clear();
  undo.market.clear();
  // A coin takes at least 1 + 8 + 33 bytes.
  if (r.Count(n, consensus::kMaxBlockSize, 42)) {
    undo.spent.resize(n);
    for (auto& c : undo.spent)
      if (!DecodeCoin(r, c)) break;
  }
  if (r.ok() && r.remaining() > 0) {
    std::size_t entries = 0;
    // An entry takes at least 1 (key length) + 1 (key) + 1 (present) bytes.
    // An empty section is never written: a lone zero byte is trailing garbage.
    if (r.Count(entries, consensus::kMaxBlockSize, 3) && entries == 0) r.Fail(consensus::DecodeError::kTrailingBytes);
    if (r.ok()) {
      // Keys are written in increasing order (the map's); any other order is a second encoding.
      std::string previous;
      for (std::size_t i = 0; i < entries; ++i) {
        consensus::Bytes key, value;
        std::uint8_t present = 0;
        if (!r.VarBytes(key, 64) || !r.U8(present)) break;
        if (present > 1) {
          r.Fail(consensus::DecodeError::kBadFieldValue);
          break;
        }
        if (present && !r.VarBytes(value, consensus::kMaxRecordPayload)) break;
        std::string k(key.begin(), key.end());
        if (k.empty() || (i > 0 && k <= previous)) {
          r.Fail(consensus::DecodeError::kBadFieldValue);
          break;
        }
        previous = k;
        undo.market.emplace(std::move(k), present ? std::optional(value) : std::nullopt);
      }
    }
  }
  r.ExpectEnd();
  return r.error();
}

}  // namespace wattline::ledger
