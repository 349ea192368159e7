#include "channels/channel_record.h"

#include "channels/codec.h"
#include "consensus/condition.h"
#include "consensus/record.h"

namespace wattline::channels {

using namespace consensus;
using namespace codec;

std::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kProposed: return "proposed";
    case Phase::kAccepted: return "accepted";
    case Phase::kFunding: return "funding";
    case Phase::kOpen: return "open";
    case Phase::kClosing: return "closing";
    case Phase::kClosed: return "closed";
    case Phase::kFailed: return "failed";
  }
  return "unknown";
}

Bytes EncodeChannelRecord(const ChannelRecord& r) {
  Bytes out;
  Writer w(out);
  w.U8(kChannelRecordVersion);
  w.Hash(r.temp_id);
  w.U8(static_cast<std::uint8_t>(r.role));
  w.U8(static_cast<std::uint8_t>(r.phase));
  PutFunding(w, r.funding);
  w.U64(r.commit_fee);
  PutInputs(w, r.a_inputs, r.a_change);
  PutInputs(w, r.b_inputs, r.b_change);
  PutOutPoint(w, r.channel);
  w.U64(r.state);
  w.U64(r.cc);
  PutSig(w, r.sig_a);
  PutSig(w, r.sig_b);
  w.U8(r.pending ? 1 : 0);
  if (r.pending) {
    w.U64(r.pending_cc);
    PutSig(w, r.pending_sig_a);
  }
  w.U64(r.close_cc);
  w.U64(r.close_fee);
  w.U8(r.close_signed ? 1 : 0);
  if (r.close_signed) {
    PutSig(w, r.close_sig_a);
    PutSig(w, r.close_sig_b);
  }
  w.VarBytes(r.funding_tx);
  w.VarBytes({reinterpret_cast<const std::uint8_t*>(r.peer.data()), r.peer.size()});
  return out;
}

DecodeError DecodeChannelRecord(ByteSpan bytes, ChannelRecord& out) {
  Reader r(bytes);
  ChannelRecord x;
  std::uint8_t version = 0, role = 0, phase = 0, pending = 0, close_signed = 0;
  Bytes peer;
  auto body = [&] {
    if (!r.U8(version)) return false;
    if (version != kChannelRecordVersion) return r.Fail(DecodeError::kBadFieldValue);
    if (!r.Hash(x.temp_id) || !r.U8(role) || !r.U8(phase)) return false;
    if (role < 1 || role > 2 || phase < 1 || phase > static_cast<std::uint8_t>(Phase::kFailed))
      return r.Fail(DecodeError::kBadFieldValue);
    x.role = static_cast<Role>(role);
    x.phase = static_cast<Phase>(phase);
    if (!GetFunding(r, x.funding) || !r.U64(x.commit_fee) || !GetInputs(r, x.a_inputs, x.a_change) ||
        !GetInputs(r, x.b_inputs, x.b_change) || !GetOutPoint(r, x.channel) || !r.U64(x.state) || !r.U64(x.cc) ||
        !GetSig(r, x.sig_a) || !GetSig(r, x.sig_b) || !r.U8(pending))
      return false;
    if (pending > 1) return r.Fail(DecodeError::kBadFieldValue);
    x.pending = pending == 1;
    if (x.pending && (!r.U64(x.pending_cc) || !GetSig(r, x.pending_sig_a))) return false;
    if (!r.U64(x.close_cc) || !r.U64(x.close_fee) || !r.U8(close_signed)) return false;
    if (close_signed > 1) return r.Fail(DecodeError::kBadFieldValue);
    x.close_signed = close_signed == 1;
    if (x.close_signed && (!GetSig(r, x.close_sig_a) || !GetSig(r, x.close_sig_b))) return false;
    if (!r.VarBytes(x.funding_tx, kMaxTxSize) || !r.VarBytes(peer, 255)) return false;
    x.peer.assign(peer.begin(), peer.end());
    return r.ExpectEnd();
  };
  if (!body()) return r.ok() ? DecodeError::kTruncated : r.error();
  out = std::move(x);
  return DecodeError::kOk;
}

MutableTransaction FundingTransaction(const ChannelRecord& r) {
  MutableTransaction tx;
  for (const auto* list : {&r.a_inputs, &r.b_inputs})
    for (const FundingInput& in : *list) tx.inputs.push_back({in.prevout, Satisfaction::Sig(Signature{})});
  const ChannelFunding& f = r.funding;
  tx.outputs.push_back({Amount{static_cast<std::int64_t>(f.cwa + f.cwb + f.cwu)},
                        Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window)});
  if (r.a_change) tx.outputs.push_back(*r.a_change);
  if (r.b_change) tx.outputs.push_back(*r.b_change);
  tx.record = MakeRecord(f);
  return tx;
}

}  // namespace wattline::channels
