#include "channels/messages.h"

#include "channels/codec.h"

#include "consensus/condition.h"
#include "consensus/record.h"

namespace wattline::channels {

using namespace consensus;

using namespace codec;

namespace {

bool Printable(std::string_view s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

struct EncodeVisitor {
  Writer& w;
  void operator()(const OpenMsg& m) {
    w.Hash(m.temp_id);
    PutFunding(w, m.funding);
    w.U64(m.commit_fee);
    PutInputs(w, m.inputs, m.change);
  }
  void operator()(const AcceptMsg& m) {
    w.Hash(m.temp_id);
    PutInputs(w, m.inputs, m.change);
  }
  void operator()(const FundingCreatedMsg& m) {
    w.Hash(m.temp_id);
    PutSig(w, m.sig_a);
  }
  void operator()(const FundingSignedMsg& m) {
    w.Hash(m.temp_id);
    PutSig(w, m.sig_b);
    w.VarInt(m.input_sigs.size());
    for (const auto& s : m.input_sigs) PutSig(w, s);
  }
  void operator()(const UpdateMsg& m) {
    PutOutPoint(w, m.channel);
    w.U64(m.state);
    w.U64(m.cc);
    PutSig(w, m.sig_a);
  }
  void operator()(const UpdateAckMsg& m) {
    PutOutPoint(w, m.channel);
    w.U64(m.state);
    PutSig(w, m.sig_b);
  }
  void operator()(const CloseMsg& m) {
    PutOutPoint(w, m.channel);
    w.U64(m.cc);
    w.U64(m.fee);
    PutSig(w, m.sig);
  }
  void operator()(const CloseAckMsg& m) {
    PutOutPoint(w, m.channel);
    PutSig(w, m.sig);
  }
  void operator()(const ReestablishMsg& m) {
    PutOutPoint(w, m.channel);
    w.U64(m.state);
  }
  void operator()(const TowerUpdateMsg& m) { PutSignedState(m.commitment, m.sig_a, m.sig_b); }
  void operator()(const StateMsg& m) { PutSignedState(m.commitment, m.sig_a, m.sig_b); }
  void PutSignedState(const consensus::Commitment& c, const Signature& sig_a, const Signature& sig_b) {
    PutOutPoint(w, c.channel);
    w.U64(c.state);
    w.U64(c.cc);
    w.U64(c.fee);
    PutSig(w, sig_a);
    PutSig(w, sig_b);
  }
  void operator()(const ErrorMsg& m) {
    w.Hash(m.id);
    w.U8(static_cast<std::uint8_t>(m.code));
    w.VarBytes({reinterpret_cast<const std::uint8_t*>(m.text.data()), m.text.size()});
  }
  void operator()(const ArbitrateMsg& m) {
    PutOutPoint(w, m.channel);
    w.U8(static_cast<std::uint8_t>(m.path));
    w.U64(m.fee);
    PutSig(w, m.sig);
  }
  void operator()(const ArbitrateAckMsg& m) {
    PutOutPoint(w, m.channel);
    PutSig(w, m.sig_u);
  }
};

bool GetSignedState(Reader& r, Commitment& c, Signature& sig_a, Signature& sig_b) {
  return GetOutPoint(r, c.channel) && r.U64(c.state) && r.U64(c.cc) && r.U64(c.fee) && GetSig(r, sig_a) &&
         GetSig(r, sig_b);
}

bool DecodeBody(Reader& r, std::uint8_t type, ChannelMessage& out) {
  switch (type) {
    case 1: {
      OpenMsg m;
      if (!r.Hash(m.temp_id) || !GetFunding(r, m.funding) || !r.U64(m.commit_fee) || !GetInputs(r, m.inputs, m.change)) return false;
      out = std::move(m);
      return true;
    }
    case 2: {
      AcceptMsg m;
      if (!r.Hash(m.temp_id) || !GetInputs(r, m.inputs, m.change)) return false;
      out = std::move(m);
      return true;
    }
    case 3: {
      FundingCreatedMsg m;
      if (!r.Hash(m.temp_id) || !GetSig(r, m.sig_a)) return false;
      out = m;
      return true;
    }
    case 4: {
      FundingSignedMsg m;
      std::size_t n = 0;
      if (!r.Hash(m.temp_id) || !GetSig(r, m.sig_b) || !r.Count(n, kMaxFundingInputs, 64)) return false;
      m.input_sigs.resize(n);
      for (auto& s : m.input_sigs)
        if (!GetSig(r, s)) return false;
      out = std::move(m);
      return true;
    }
    case 5: {
      UpdateMsg m;
      if (!GetOutPoint(r, m.channel) || !r.U64(m.state) || !r.U64(m.cc) || !GetSig(r, m.sig_a)) return false;
      out = m;
      return true;
    }
    case 6: {
      UpdateAckMsg m;
      if (!GetOutPoint(r, m.channel) || !r.U64(m.state) || !GetSig(r, m.sig_b)) return false;
      out = m;
      return true;
    }
    case 7: {
      CloseMsg m;
      if (!GetOutPoint(r, m.channel) || !r.U64(m.cc) || !r.U64(m.fee) || !GetSig(r, m.sig)) return false;
      out = m;
      return true;
    }
    case 8: {
      CloseAckMsg m;
      if (!GetOutPoint(r, m.channel) || !GetSig(r, m.sig)) return false;
      out = m;
      return true;
    }
    case 9: {
      ReestablishMsg m;
      if (!GetOutPoint(r, m.channel) || !r.U64(m.state)) return false;
      out = m;
      return true;
    }
    case 10: {
      TowerUpdateMsg m;
      if (!GetSignedState(r, m.commitment, m.sig_a, m.sig_b)) return false;
      out = m;
      return true;
    }
    case 11: {
      ErrorMsg m;
      std::uint8_t code = 0;
      Bytes text;
      if (!r.Hash(m.id) || !r.U8(code) || !r.VarBytes(text, kMaxErrorText)) return false;
      if (code < 1 || code > static_cast<std::uint8_t>(ErrorCode::kInternal)) return r.Fail(DecodeError::kBadFieldValue);
      m.code = static_cast<ErrorCode>(code);
      m.text.assign(text.begin(), text.end());
      if (!Printable(m.text)) return r.Fail(DecodeError::kBadFieldValue);
      out = std::move(m);
      return true;
    }
    case 12: {
      ArbitrateMsg m;
      std::uint8_t path = 0;
      if (!GetOutPoint(r, m.channel) || !r.U8(path) || !r.U64(m.fee) || !GetSig(r, m.sig)) return false;
      m.path = static_cast<SettlementPath>(path);
      if (m.path != SettlementPath::kPenalty && m.path != SettlementPath::kDelivered)
        return r.Fail(DecodeError::kBadFieldValue);
      out = m;
      return true;
    }
    case 13: {
      ArbitrateAckMsg m;
      if (!GetOutPoint(r, m.channel) || !GetSig(r, m.sig_u)) return false;
      out = m;
      return true;
    }
    case 14: {
      StateMsg m;
      if (!GetSignedState(r, m.commitment, m.sig_a, m.sig_b)) return false;
      out = m;
      return true;
    }
    default:
      return r.Fail(DecodeError::kBadFieldValue);
  }
}

}  // namespace

std::string_view MessageName(const ChannelMessage& m) {
  static constexpr std::string_view kNames[] = {"open",       "accept",    "funding_created", "funding_signed",
                                                "update",     "update_ack", "close",          "close_ack",
                                                "reestablish", "tower_update", "error",    "arbitrate",
                                                "arbitrate_ack", "state"};
  return kNames[m.index()];
}

Bytes EncodeChannelMessage(const ChannelMessage& m) {
  Bytes out;
  Writer w(out);
  w.U8(static_cast<std::uint8_t>(m.index() + 1));
  std::visit(EncodeVisitor{w}, m);
  return out;
}

DecodeError DecodeChannelMessage(ByteSpan bytes, ChannelMessage& out) {
  if (bytes.size() > kMaxChannelMessage) return DecodeError::kObjectTooLarge;
  Reader r(bytes);
  std::uint8_t type = 0;
  if (!r.U8(type) || !DecodeBody(r, type, out) || !r.ExpectEnd()) return r.ok() ? DecodeError::kTruncated : r.error();
  return DecodeError::kOk;
}

}  // namespace wattline::channels
