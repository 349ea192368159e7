#include "channels/builder.h"

#include "consensus/market_rules.h"
#include "consensus/tx_verify.h"

namespace wattline::channels {

using namespace consensus;

namespace {

std::vector<TxOut> Outputs(const ChannelFunding& f, const Shares& shares) {
  std::vector<TxOut> out;
  const XOnlyPubKey* keys[3] = {&f.consumer, &f.producer, &f.utility};
  for (int i = 0; i < 3; ++i)
    if (shares[i] > 0) out.push_back({Amount{static_cast<std::int64_t>(shares[i])}, Condition::Key(*keys[i])});
  return out;
}

MutableTransaction Close(const ChannelState& ch, const ChannelSettlement& s, std::vector<TxOut> outputs) {
  MutableTransaction tx;
  tx.inputs.push_back({ch.current, Satisfaction::ChannelPath(0, {})});
  tx.outputs = std::move(outputs);
  tx.record = MakeSettlementRecord(s);
  return tx;
}

ChannelSettlement Base(const ChannelId& id, SettlementPath path) {
  ChannelSettlement s;
  s.path = path;
  s.channel = id;
  return s;
}

std::uint64_t PostsFee(const ChannelState& ch) { return ch.Funded() - ch.amount; }

// Saturating, as consensus folds the evidence totals (a saturated total only ever refuses).
std::uint64_t SatAdd(std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

}  // namespace

Condition CurrentCondition(const ChannelId& id, const ChannelState& ch) {
  const ChannelFunding& f = ch.funding;
  if (ch.status == ChannelStatus::kClosing)
    return Condition::ChannelClose(id.txid, id.index, ch.posted_state, f.contest_window);
  return Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window);
}

TxOut CurrentOutput(const ChannelId& id, const ChannelState& ch) {
  return {Amount{static_cast<std::int64_t>(ch.amount)}, CurrentCondition(id, ch)};
}

std::uint64_t FeeFloor(const MarketGlobals& g, std::uint32_t height, const Params& params, std::uint64_t spent_amount) {
  return PoolPayingAt(g, height, params) == 0 ? SettlementFee(spent_amount, params.settlement_fee_percent) : 0;
}

std::optional<MutableTransaction> BuildPost(const ChannelId& id, const ChannelState& ch, const Commitment& c,
                                            const Signature& sig_a, const Signature& sig_b, std::string& why) {
  if (c.channel != id) return why = "the commitment is of another channel", std::nullopt;
  if (ch.status == ChannelStatus::kClosing && c.state <= ch.posted_state)
    return why = "state " + std::to_string(ch.posted_state) + " is posted already", std::nullopt;
  const ChannelFunding& f = ch.funding;
  auto shares = StateShares(f.cwa, f.cwb, f.cwu, c.cc);
  if (!shares || c.fee > ch.amount || !ApplyFee(*shares, PostsFee(ch) + c.fee, {Party::kA, Party::kB}, 0))
    return why = "A's and B's shares cannot pay the posts' fees", std::nullopt;
  ChannelSettlement s = Base(id, SettlementPath::kPost);
  s.state = c.state;
  s.cc = c.cc;
  s.fee = c.fee;
  s.sig_a = sig_a;
  s.sig_b = sig_b;
  return Close(ch, s,
               {{Amount{static_cast<std::int64_t>(ch.amount - c.fee)},
                 Condition::ChannelClose(id.txid, id.index, c.state, f.contest_window)}});
}

std::optional<MutableTransaction> BuildSettle(const ChannelId& id, const ChannelState& ch, std::uint64_t min_fee,
                                              std::uint64_t dust, std::string& why) {
  if (ch.status != ChannelStatus::kClosing) return why = "nothing is posted", std::nullopt;
  const ChannelFunding& f = ch.funding;
  auto shares = StateShares(f.cwa, f.cwb, f.cwu, ch.posted_cc);
  auto after_posts = shares ? ApplyFee(*shares, PostsFee(ch), {Party::kA, Party::kB}, 0) : std::nullopt;
  auto payout = after_posts ? ApplyFee(after_posts->shares, min_fee, {Party::kA, Party::kB, Party::kU}, dust)
                            : std::nullopt;
  if (!payout) return why = "the posted state cannot pay the settlement fee", std::nullopt;
  return Close(ch, Base(id, SettlementPath::kSettle), Outputs(f, payout->shares));
}

std::optional<MutableTransaction> BuildCooperative(const ChannelId& id, const ChannelState& ch, std::uint64_t cc,
                                                   std::uint64_t fee, std::uint64_t dust, std::string& why) {
  if (ch.status != ChannelStatus::kOpen) return why = "a state was posted: the channel settles after its window", std::nullopt;
  const ChannelFunding& f = ch.funding;
  auto shares = StateShares(f.cwa, f.cwb, f.cwu, cc);
  if (!shares) return why = "Cc " + std::to_string(cc) + " above CwA", std::nullopt;
  auto payout = ApplyFee(*shares, fee, {Party::kA, Party::kB}, dust);
  if (!payout) return why = "A and B cannot pay the fee", std::nullopt;
  ChannelSettlement s = Base(id, SettlementPath::kCooperative);
  s.cc = cc;
  s.fee = fee;
  return Close(ch, s, Outputs(f, payout->shares));
}

std::optional<MutableTransaction> BuildExpiry(const ChannelId& id, const ChannelState& ch, Party signer, std::uint64_t fee,
                                              std::uint64_t dust, std::string& why) {
  if (ch.status != ChannelStatus::kOpen) return why = "a state was posted: the channel settles after its window", std::nullopt;
  const ChannelFunding& f = ch.funding;
  auto payout = ApplyFee(Shares{f.cwa, f.cwb, f.cwu}, fee, {signer}, dust);
  if (!payout) return why = "the signer's deposit cannot pay the fee", std::nullopt;
  ChannelSettlement s = Base(id, SettlementPath::kExpiry);
  s.fee = fee;
  return Close(ch, s, Outputs(f, payout->shares));
}

std::optional<MutableTransaction> BuildEvidenceClose(const ChannelId& id, const ChannelState& ch, SettlementPath path,
                                                     std::vector<Reading> evidence, std::uint64_t fee, std::uint64_t dust,
                                                     std::string& why) {
  const bool penalty = path == SettlementPath::kPenalty;
  if (!penalty && path != SettlementPath::kDelivered) return why = "not an evidence path", std::nullopt;
  if (evidence.empty() || evidence.size() > kMaxEvidenceReadings)
    return why = "a close carries 1 to " + std::to_string(kMaxEvidenceReadings) + " readings", std::nullopt;
  const ChannelFunding& f = ch.funding;
  std::uint64_t import_a = 0, export_b = 0;
  for (const Reading& r : evidence) {
    if (r.meter == f.consumer_meter) import_a = SatAdd(import_a, r.import_wh);
    else if (r.meter == f.producer_meter) export_b = SatAdd(export_b, r.export_wh);
    else return why = "a reading of another meter", std::nullopt;
  }
  Shares shares{};
  if (penalty) {
    auto split = PenaltyShares(f.cwa, f.cwb, f.cwu, f.energy_wh, f.price, import_a, export_b);
    if (!split) return why = "B's meter exported what was asked: no shortfall", std::nullopt;
    shares = split->shares;
  } else {
    auto split = DeliveredShares(f.cwa, f.cwb, f.cwu, f.energy_wh, f.price, export_b);
    if (!split) return why = "the delivered energy costs more than CwA", std::nullopt;
    shares = *split;
  }
  const std::vector<Party> payers = penalty ? std::vector{Party::kA, Party::kU} : std::vector{Party::kB, Party::kU};
  auto payout = ApplyFee(shares, PostsFee(ch) + fee, payers, dust);
  if (!payout) return why = "the signers cannot pay the fee", std::nullopt;
  ChannelSettlement s = Base(id, path);
  s.fee = fee;
  s.evidence = std::move(evidence);
  return Close(ch, s, Outputs(f, payout->shares));
}

Hash256 CloseSighash(const Params& params, const MutableTransaction& tx, const ChannelId& id, const ChannelState& ch) {
  return SignatureHash(params, tx.ComputeTxid(), 0, CurrentOutput(id, ch));
}

void AttachSignatures(MutableTransaction& tx, std::uint8_t signers, std::vector<Signature> sigs) {
  tx.inputs.at(0).satisfaction = Satisfaction::ChannelPath(signers, std::move(sigs));
}

}  // namespace wattline::channels
