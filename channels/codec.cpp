#include "channels/codec.h"

#include "consensus/condition.h"
#include "consensus/record.h"

namespace wattline::channels::codec {

using namespace consensus;

void PutOutPoint(Writer& w, const OutPoint& o) {
  w.Hash(o.txid);
  w.U32(o.index);
}
bool GetOutPoint(Reader& r, OutPoint& o) { return r.Hash(o.txid) && r.U32(o.index); }

void PutSig(Writer& w, const Signature& s) { w.Raw(s.span()); }
bool GetSig(Reader& r, Signature& s) { return r.Raw(s.bytes); }

void PutTxOut(Writer& w, const TxOut& o) {
  w.U64(static_cast<std::uint64_t>(o.amount.units));
  EncodeCondition(w, o.condition);
}
bool GetTxOut(Reader& r, TxOut& o) {
  std::uint64_t amount = 0;
  if (!r.U64(amount)) return false;
  if (amount > static_cast<std::uint64_t>(INT64_MAX)) return r.Fail(DecodeError::kAmountOutOfRange);
  o.amount = Amount{static_cast<std::int64_t>(amount)};
  return DecodeCondition(r, o.condition);
}

void PutInputs(Writer& w, const std::vector<FundingInput>& in, const std::optional<TxOut>& change) {
  w.VarInt(in.size());
  for (const auto& i : in) {
    PutOutPoint(w, i.prevout);
    PutTxOut(w, i.coin);
  }
  w.U8(change ? 1 : 0);
  if (change) PutTxOut(w, *change);
}
bool GetInputs(Reader& r, std::vector<FundingInput>& in, std::optional<TxOut>& change) {
  std::size_t n = 0;
  if (!r.Count(n, kMaxFundingInputs, 36 + 8 + 1)) return false;
  in.resize(n);
  for (auto& i : in)
    if (!GetOutPoint(r, i.prevout) || !GetTxOut(r, i.coin)) return false;
  std::uint8_t has = 0;
  if (!r.U8(has)) return false;
  if (has > 1) return r.Fail(DecodeError::kBadFieldValue);
  change.reset();
  if (has) {
    TxOut o;
    if (!GetTxOut(r, o)) return false;
    if (o.amount.units == 0) return r.Fail(DecodeError::kBadFieldValue);  // no change is "none", not 0
    change = std::move(o);
  }
  return true;
}

void PutFunding(Writer& w, const ChannelFunding& f) { w.VarBytes(MakeRecord(f).payload); }

bool GetFunding(Reader& r, ChannelFunding& f) {
  Bytes payload;
  if (!r.VarBytes(payload, kMaxChannelMessage)) return false;
  Record rec{RecordKind::kChannelFunding, kMarketRecordVersion, std::move(payload)};
  MarketRecord decoded;
  if (DecodeMarketRecord(rec, decoded) != DecodeError::kOk || !std::holds_alternative<ChannelFunding>(decoded))
    return r.Fail(DecodeError::kBadFieldValue);
  f = std::get<ChannelFunding>(decoded);
  return true;
}

}  // namespace wattline::channels::codec
