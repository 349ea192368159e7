#include "consensus/market_rules.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <tuple>
#include <bit>

#include "consensus/channel.h"
#include "crypto/hex.h"

namespace wattline::consensus {

namespace {

std::uint64_t SatAdd(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

// A rotation or coefficient change that has come into force becomes the current value, so
// that a newer change can be queued behind it.
void Normalize(MarketGlobals& g, std::uint32_t height, const Params& params) {
  if (g.has_pending_key && height >= g.pending_key_height) {
    g.utility_key = g.pending_key;
    g.has_pending_key = false;
    g.pending_key = {};
    g.pending_key_height = 0;
  }
  if (g.has_pending_coefficients && SlotOfHeight(height, params) >= g.pending_slot) {
    g.coefficients = g.pending_coefficients;
    g.has_pending_coefficients = false;
    g.pending_coefficients = {};
    g.pending_slot = 0;
  }
}

struct Checker {
  std::vector<SigCheck>* sink;
  ValidationState& state;
  crypto::SigCache* cache = nullptr;  //!< for checks run here (the mempool's)
  // Queues (or runs) one signature check; false when it ran and failed.
  bool Add(const XOnlyPubKey& key, const Hash256& msg, const Signature& sig, Reason reason, const std::string& what,
           const std::optional<crypto::ParsedPubKey>& parsed = std::nullopt) {
    if (sink) {
      sink->push_back({key, msg, sig, parsed});
      return true;
    }
    const SigCheck check{key, msg, sig, parsed};
    if (!check.Verify(cache, crypto::SigCache::Mode::kRemember)) return state.Invalid(reason, what);
    return true;
  }
};

std::string ChannelName(const OutPoint& c) { return c.txid.ToHex() + ":" + std::to_string(c.index); }

// Folds the batch's counted readings of watched meters into their channels' evidence (the
// first kMaxReadingsPerBatch per meter inside each channel's delivery interval).
void FoldEvidence(const ReadingBatch& batch, const std::vector<std::pair<MeterId, MeterState>>& meters,
                  const MarketReader& rd, MarketOverlay& ov) {
  std::vector<std::pair<MeterId, WatchList>> watched;
  for (const auto& [id, m] : meters)
    if (m.channels > 0) watched.emplace_back(id, rd.Watch(id));
  if (watched.empty()) return;
  std::vector<std::pair<OutPoint, ChannelState>> channels;
  for (const Reading& x : batch.readings) {
    auto w = std::find_if(watched.begin(), watched.end(), [&](const auto& p) { return p.first == x.meter; });
    if (w == watched.end()) continue;
    for (const WatchEntry& e : w->second) {
      auto c = std::find_if(channels.begin(), channels.end(), [&](const auto& p) { return p.first == e.channel; });
      if (c == channels.end()) {
        auto loaded = rd.Channel(e.channel);
        if (!loaded) throw std::runtime_error("watch list names a channel without state");
        channels.emplace_back(e.channel, *loaded);
        c = std::prev(channels.end());
      }
      ChannelState& ch = c->second;
      if (!InDeliveryInterval(x, ch.funding.delivery_start, ch.funding.delivery_end)) continue;
      std::uint32_t& count = e.producer ? ch.count_b : ch.count_a;
      if (count >= kMaxReadingsPerBatch) continue;
      Hash256& acc = e.producer ? ch.evidence_b : ch.evidence_a;
      acc = AccumulateEvidence(acc, x);
      ++count;
      if (e.producer)
        ch.export_b_wh = SatAdd(ch.export_b_wh, x.export_wh);
      else
        ch.import_a_wh = SatAdd(ch.import_a_wh, x.import_wh);
    }
  }
  for (const auto& [id, ch] : channels) WriteChannel(ov, id, ch);
}

bool ApplyReadings(const Transaction& tx, const ReadingBatch& batch, const MarketContext& ctx, const Params& params,
                   MarketOverlay& ov, MarketGlobals& g, Amount& minted, ValidationState& state, Checker& checker,
                   std::vector<TxOut>* outputs_only) {
  MarketReader rd(ov, params);
  std::vector<std::pair<MeterId, MeterState>> meters;  // touched in this transaction, in order
  // Each meter's key parsed once for all its readings here (aligned with `meters`); a key
  // that does not parse leaves nullopt, and its readings then fail as bad signatures.
  std::vector<std::optional<crypto::ParsedPubKey>> parsed_keys;
  std::vector<std::pair<XOnlyPubKey, std::uint64_t>> owners;  // rewards by owner, first appearance order
  for (std::size_t i = 0; i < batch.readings.size(); ++i) {
    const Reading& x = batch.readings[i];
    const std::string at = "reading " + std::to_string(i);
    auto it = std::find_if(meters.begin(), meters.end(), [&](const auto& p) { return p.first == x.meter; });
    if (it == meters.end()) {
      auto loaded = rd.Meter(x.meter);
      if (!loaded) return state.Invalid(Reason::kReadingUnknownMeter, at + ": meter " + crypto::HexEncode(x.meter.span()));
      meters.emplace_back(x.meter, *loaded);
      parsed_keys.push_back(outputs_only == nullptr ? crypto::ParsedPubKey::Parse(x.meter) : std::nullopt);
      it = std::prev(meters.end());
    }
    MeterState& m = it->second;
    if (!m.registered) return state.Invalid(Reason::kReadingDeregisteredMeter, at);
    if (x.length == 0 || x.length > params.max_reading_length ||
        x.start > std::numeric_limits<std::uint64_t>::max() - x.length)
      return state.Invalid(Reason::kReadingInterval, at + ": length " + std::to_string(x.length));
    const std::uint64_t end = x.start + x.length;
    if (end > ctx.block_time && end - ctx.block_time > params.max_reading_future)
      return state.Invalid(Reason::kReadingFuture, at + ": ends " + std::to_string(end - ctx.block_time) +
                                                       " s after the block time");
    if (m.has_reading) {
      if (x.start == m.last_start && end == m.last_end) return state.Invalid(Reason::kReadingDuplicate, at);
      if (x.start < m.last_end)
        return state.Invalid(Reason::kReadingOverlap, at + ": starts before " + std::to_string(m.last_end));
      if (x.import_register < m.import_register || x.export_register < m.export_register)
        return state.Invalid(Reason::kReadingRegisterDecrease, at);
      if (x.import_register - m.import_register != x.import_wh || x.export_register - m.export_register != x.export_wh)
        return state.Invalid(Reason::kReadingEnergyMismatch, at + ": interval energy is not the register delta");
    } else if (x.import_register < x.import_wh || x.export_register < x.export_wh) {
      return state.Invalid(Reason::kReadingEnergyMismatch, at + ": interval energy above the register");
    }
    if (outputs_only == nullptr &&
        !checker.Add(x.meter, ReadingSigHash(params, x), x.sig, Reason::kReadingBadSignature, at,
                     parsed_keys[static_cast<std::size_t>(it - meters.begin())]))
      return false;
    if (RoleProduces(m.role) && x.export_wh > 0) {
      auto reward = ProductionReward(x.export_wh, m.reward_carry, params.reward_units_per_mwh);
      if (!reward) return state.Invalid(Reason::kReadingRewardOverflow, at);
      auto rewarded = MoneyAdd(m.rewarded, reward->units);
      auto total = MoneyAdd(g.rewards_total, reward->units);
      if (!rewarded || !total) return state.Invalid(Reason::kReadingRewardOverflow, at);
      m.reward_carry = reward->carry;
      m.rewarded = *rewarded;
      g.rewards_total = *total;
      if (reward->units > 0) {
        auto o = std::find_if(owners.begin(), owners.end(), [&](const auto& p) { return p.first == m.owner; });
        if (o == owners.end()) {
          owners.emplace_back(m.owner, reward->units);
        } else {
          auto sum = MoneyAdd(o->second, reward->units);
          if (!sum) return state.Invalid(Reason::kReadingRewardOverflow, at);
          o->second = *sum;
        }
      }
    }
    m.exported_wh = SatAdd(m.exported_wh, x.export_wh);
    m.imported_wh = SatAdd(m.imported_wh, x.import_wh);
    m.has_reading = true;
    m.last_start = x.start;
    m.last_end = end;
    m.import_register = x.import_register;
    m.export_register = x.export_register;
    ++m.readings;
    ++g.readings_total;
  }
  std::vector<TxOut> expected;
  std::uint64_t sum = 0;
  for (const auto& [owner, units] : owners) {
    expected.push_back({Amount{static_cast<std::int64_t>(units)}, Condition::Key(owner)});
    auto s = MoneyAdd(sum, units);
    if (!s) return state.Invalid(Reason::kReadingRewardOverflow, "rewards of the transaction");
    sum = *s;
  }
  if (outputs_only) {
    *outputs_only = std::move(expected);
    return true;
  }
  if (tx.outputs() != expected)
    return state.Invalid(Reason::kReadingReward, "outputs must pay " + std::to_string(sum) + " units to " +
                                                     std::to_string(expected.size()) + " owner(s)");
  FoldEvidence(batch, meters, rd, ov);
  for (const auto& [id, m] : meters) WriteMeter(ov, id, m);
  for (const auto& [owner, units] : owners) {
    auto total = MoneyAdd(rd.OwnerRewards(owner), units);
    if (!total) return state.Invalid(Reason::kReadingRewardOverflow, "owner total");
    WriteOwnerRewards(ov, owner, *total);
  }
  minted = Amount{static_cast<std::int64_t>(sum)};
  return true;
}

bool ApplyFunding(const Transaction& tx, const ChannelFunding& x, const MarketContext& ctx, const Params& params,
                  MarketOverlay& ov, MarketGlobals& g, ValidationState& state) {
  MarketReader rd(ov, params);
  if (x.utility != g.utility_key) return state.Invalid(Reason::kFundingKeys, "U is not the utility key");
  if (x.consumer == x.producer || x.consumer == x.utility || x.producer == x.utility)
    return state.Invalid(Reason::kFundingKeys, "A, B and U must be three different keys");
  if (!x.consumer.IsValid() || !x.producer.IsValid()) return state.Invalid(Reason::kFundingKeys, "not a curve point");
  if (x.energy_wh == 0) return state.Invalid(Reason::kFundingEnergy, "no energy asked");
  const std::uint32_t slot = SlotOfHeight(ctx.height, params);
  if (x.slot != slot)
    return state.Invalid(Reason::kFundingSlot, "states slot " + std::to_string(x.slot) + ", the block is in slot " +
                                                   std::to_string(slot));
  const std::uint64_t price = rd.PriceOfSlot(slot);
  if (x.price != price)
    return state.Invalid(Reason::kFundingPrice, "states " + std::to_string(x.price) + ", the price of slot " +
                                                    std::to_string(slot) + " is " + std::to_string(price));
  const auto cost = EnergyCost(x.energy_wh, price);
  if (!cost || x.cwa < *cost)
    return state.Invalid(Reason::kFundingUnderpaid,
                         "CwA " + std::to_string(x.cwa) + " < " + (cost ? std::to_string(*cost) : "more than all money"));
  if (x.expiry <= ctx.height)
    return state.Invalid(Reason::kFundingExpiry, "expiry " + std::to_string(x.expiry) + " is not after height " +
                                                     std::to_string(ctx.height));
  if (x.expiry - ctx.height > params.max_channel_lifetime)
    return state.Invalid(Reason::kFundingExpiry, "expiry more than " + std::to_string(params.max_channel_lifetime) +
                                                     " blocks ahead");
  if (x.contest_window == 0 || x.contest_window > params.max_contest_window)
    return state.Invalid(Reason::kFundingWindow, "window " + std::to_string(x.contest_window));
  if (x.delivery_start >= x.delivery_end) return state.Invalid(Reason::kFundingInterval, "empty delivery interval");
  auto cm = rd.Meter(x.consumer_meter);
  if (!cm || !cm->registered || !RoleConsumes(cm->role) || cm->owner != x.consumer)
    return state.Invalid(Reason::kFundingMeter, "A's meter must be a registered consumer or prosumer meter owned by A");
  auto pm = rd.Meter(x.producer_meter);
  if (!pm || !pm->registered || !RoleProduces(pm->role) || pm->owner != x.producer)
    return state.Invalid(Reason::kFundingMeter, "B's meter must be a registered producer or prosumer meter owned by B");
  for (const MeterState* m : {&*cm, &*pm})
    if (m->channels >= params.max_channels_per_meter)
      return state.Invalid(Reason::kFundingMeterBusy, "a meter backs at most " +
                                                          std::to_string(params.max_channels_per_meter) +
                                                          " channels that have not settled");
  auto ab = MoneyAdd(x.cwa, x.cwb);
  auto total = ab ? MoneyAdd(*ab, x.cwu) : std::nullopt;
  if (!total) return state.Invalid(Reason::kFundingAmount, "CwA + CwB + CwU above all money");
  const TxOut& out = tx.outputs().at(0);
  if (out.condition != Condition::Channel(x.consumer, x.producer, x.utility, x.expiry, x.contest_window))
    return state.Invalid(Reason::kFundingOutput, "output 0 must be Channel(A, B, U, T, window)");
  if (static_cast<std::uint64_t>(out.amount.units) != *total)
    return state.Invalid(Reason::kFundingAmount, "output 0 holds " + std::to_string(out.amount.units) + ", CwA + CwB + CwU = " +
                                                     std::to_string(*total));
  WriteDemand(ov, slot, SatAdd(rd.Demand(slot), x.energy_wh));
  ++g.channels_funded;
  // Consensus watches both meters from now on: their counted readings become the evidence.
  const OutPoint channel{tx.txid(), 0};
  ChannelState ch;
  ch.funding = x;
  ch.current = channel;
  ch.amount = *total;
  WriteChannel(ov, channel, ch);
  for (auto [meter, m, producer] : {std::tuple{x.consumer_meter, *cm, false}, std::tuple{x.producer_meter, *pm, true}}) {
    ++m.channels;
    WriteMeter(ov, meter, m);
    WatchList list = rd.Watch(meter);
    list.push_back({channel, producer});
    WriteWatch(ov, meter, list);
  }
  return true;
}

// --- Channel settlement (docs/channels.md) --------------------------------------------------

// A change of slot moves the coins accrued in the slot before into payment, and ends the
// payment of the slot before that.
void RollPool(MarketGlobals& g, std::uint32_t height, const Params& params) {
  const std::uint32_t slot = SlotOfHeight(height, params);
  // An empty pool keeps no slot: the state changes only when penalty coins exist.
  if (slot <= g.pool_slot || (g.pool_accrued == 0 && g.pool_paying == 0)) return;
  g.pool_paying = slot == g.pool_slot + 1 ? g.pool_accrued : 0;
  g.pool_accrued = 0;
  g.pool_slot = slot;
}

// The outputs a payout makes: Key(A), Key(B), Key(U), each only when non-zero.
std::vector<TxOut> PayoutOutputs(const ChannelFunding& f, const Shares& shares) {
  std::vector<TxOut> out;
  const XOnlyPubKey* keys[3] = {&f.consumer, &f.producer, &f.utility};
  for (int i = 0; i < 3; ++i)
    if (shares[i] > 0) out.push_back({Amount{static_cast<std::int64_t>(shares[i])}, Condition::Key(*keys[i])});
  return out;
}

std::string SharesText(const Shares& s) {
  return "A " + std::to_string(s[0]) + ", B " + std::to_string(s[1]) + ", U " + std::to_string(s[2]);
}

struct Evidence {
  std::uint64_t import_a_wh = 0;
  std::uint64_t export_b_wh = 0;
};

// Checks a penalty's or delivered close's readings against what the chain counted.
bool CheckEvidence(const ChannelSettlement& s, const ChannelState& ch, const Params& params, Checker& checker,
                   Evidence& out, ValidationState& state) {
  const ChannelFunding& f = ch.funding;
  Hash256 acc_a{}, acc_b{};
  std::uint32_t count_a = 0, count_b = 0;
  for (std::size_t i = 0; i < s.evidence.size(); ++i) {
    const Reading& x = s.evidence[i];
    const std::string at = "evidence reading " + std::to_string(i);
    const bool of_a = x.meter == f.consumer_meter;
    if (!of_a && x.meter != f.producer_meter)
      return state.Invalid(Reason::kEvidenceOtherMeter, at + ": meter " + crypto::HexEncode(x.meter.span()) +
                                                            " is neither of the channel's meters");
    if (!checker.Add(x.meter, ReadingSigHash(params, x), x.sig, Reason::kEvidenceUnsigned, at)) return false;
    if (!InDeliveryInterval(x, f.delivery_start, f.delivery_end))
      return state.Invalid(Reason::kEvidenceOutsideInterval, at + ": not inside [" + std::to_string(f.delivery_start) +
                                                                  ", " + std::to_string(f.delivery_end) + ")");
    if (of_a) {
      acc_a = AccumulateEvidence(acc_a, x);
      ++count_a;
      out.import_a_wh = SatAdd(out.import_a_wh, x.import_wh);
    } else {
      acc_b = AccumulateEvidence(acc_b, x);
      ++count_b;
      out.export_b_wh = SatAdd(out.export_b_wh, x.export_wh);
    }
  }
  if (acc_a != ch.evidence_a || count_a != ch.count_a || acc_b != ch.evidence_b || count_b != ch.count_b)
    return state.Invalid(Reason::kEvidenceUncounted,
                         "the readings are not, in order, the " + std::to_string(ch.count_a) + " of A's meter and " +
                             std::to_string(ch.count_b) + " of B's meter that the chain counted for this channel");
  return true;
}

// The channel is over: its state and its meters' watch entries go.
void EndChannel(const OutPoint& channel, const ChannelState& ch, MarketOverlay& ov, MarketGlobals& g,
                const MarketReader& rd) {
  WriteChannel(ov, channel, std::nullopt);
  for (const MeterId& meter : {ch.funding.consumer_meter, ch.funding.producer_meter}) {
    auto m = rd.Meter(meter);
    if (!m || m->channels == 0) throw std::runtime_error("channel meter without a watch count");
    --m->channels;
    WriteMeter(ov, meter, *m);
    WatchList list = rd.Watch(meter);
    std::erase_if(list, [&](const WatchEntry& e) { return e.channel == channel; });
    WriteWatch(ov, meter, list);
  }
  ++g.channels_settled;
}

bool ApplySettlement(const Transaction& tx, const ChannelSettlement& s, const MarketContext& ctx, const Params& params,
                     MarketOverlay& ov, MarketGlobals& g, Amount& pooled, ValidationState& state, Checker& checker) {
  MarketReader rd(ov, params);
  auto loaded = rd.Channel(s.channel);
  if (!loaded)
    return state.Invalid(Reason::kChannelUnknown, "no unsettled channel is funded at " + ChannelName(s.channel));
  ChannelState& ch = *loaded;
  const ChannelFunding& f = ch.funding;
  const TxIn& in = tx.inputs().at(0);  // CheckMarketShape: exactly one input
  if (in.prevout != ch.current)
    return state.Invalid(Reason::kChannelInput, "must spend the channel's current output " + ChannelName(ch.current));
  const bool open = ch.status == ChannelStatus::kOpen;
  const Condition spent = open ? Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window)
                               : Condition::ChannelClose(s.channel.txid, s.channel.index, ch.posted_state,
                                                         f.contest_window);

  // Who signs: the path fixes the signer set (expiry: any one party).
  const Satisfaction& sat = in.satisfaction;
  if (sat.type != SatisfactionType::kChannelPath)
    return state.Invalid(Reason::kTxSatisfactionMismatch, "a channel output needs a channel path satisfaction");
  const std::uint8_t a = SignerBit(Party::kA), b = SignerBit(Party::kB), u = SignerBit(Party::kU);
  std::uint8_t want = 0;
  switch (s.path) {
    case SettlementPath::kCooperative: want = static_cast<std::uint8_t>(a | b); break;
    case SettlementPath::kPost:
    case SettlementPath::kSettle: want = 0; break;
    case SettlementPath::kExpiry:
      want = (sat.signers == a || sat.signers == b || sat.signers == u) ? static_cast<std::uint8_t>(sat.signers) : a;
      break;
    case SettlementPath::kPenalty: want = static_cast<std::uint8_t>(a | u); break;
    case SettlementPath::kDelivered: want = static_cast<std::uint8_t>(b | u); break;
  }
  if (sat.signers != want || sat.sigs.size() != static_cast<std::size_t>(std::popcount(want)))
    return state.Invalid(Reason::kChannelSigners, s.path == SettlementPath::kExpiry
                                                      ? "an expiry close is signed by exactly one of A, B and U"
                                                      : "this path is signed by signer set " + std::to_string(want));
  const Hash256 sighash = SignatureHash(params, tx.txid(), 0, TxOut{Amount{static_cast<std::int64_t>(ch.amount)}, spent});
  const XOnlyPubKey* keys[3] = {&f.consumer, &f.producer, &f.utility};
  for (std::size_t i = 0, next = 0; i < 3; ++i)
    if (want & (1u << i))
      if (!checker.Add(*keys[i], sighash, sat.sigs[next++], Reason::kTxBadSignature, "channel path signer " + std::to_string(i)))
        return false;

  const std::uint64_t funded = ch.Funded();
  const std::uint64_t posts_fee = funded - ch.amount;  // paid by the posts so far
  RollPool(g, ctx.height, params);
  const std::uint64_t min_fee = g.pool_paying == 0 ? SettlementFee(ch.amount, params.settlement_fee_percent) : 0;
  const auto dust = static_cast<std::uint64_t>(params.channel_dust.units);
  auto fee_floor = [&](std::uint64_t fee) {
    if (fee >= min_fee) return true;
    return state.Invalid(Reason::kChannelFee, "the slot's pool pays nothing: a close pays at least " +
                                                  std::to_string(min_fee) + " (" +
                                                  std::to_string(params.settlement_fee_percent) + "% of " +
                                                  std::to_string(ch.amount) + ")");
  };
  auto pays = [&](const Payout& p, Reason reason) {
    if (tx.outputs() == PayoutOutputs(f, p.shares)) return true;
    return state.Invalid(reason, "outputs must pay " + SharesText(p.shares) + " (fee " + std::to_string(p.fee) + ")");
  };
  auto not_open = [&]() {
    return state.Invalid(Reason::kChannelStatus, "state " + std::to_string(ch.posted_state) +
                                                     " was posted: the channel settles after its window, by a newer "
                                                     "post, or by meter evidence");
  };

  switch (s.path) {
    case SettlementPath::kCooperative: {
      if (!open) return not_open();
      auto shares = StateShares(f.cwa, f.cwb, f.cwu, s.cc);
      if (!shares) return state.Invalid(Reason::kChannelAmount, "Cc " + std::to_string(s.cc) + " above CwA");
      auto payout = ApplyFee(*shares, s.fee, {Party::kA, Party::kB}, dust);
      if (!payout) return state.Invalid(Reason::kChannelAmount, "A and B cannot pay the fee");
      if (!fee_floor(s.fee) || !pays(*payout, Reason::kChannelOutputs)) return false;
      EndChannel(s.channel, ch, ov, g, rd);
      return true;
    }
    case SettlementPath::kPost: {
      const Commitment c = s.AsCommitment();
      const Hash256 msg = CommitmentSigHash(params, c);
      if (!checker.Add(f.consumer, msg, s.sig_a, Reason::kChannelCommitmentSig, "A's commitment signature") ||
          !checker.Add(f.producer, msg, s.sig_b, Reason::kChannelCommitmentSig, "B's commitment signature"))
        return false;
      if (!open && s.state <= ch.posted_state)
        return state.Invalid(Reason::kChannelStaleState, "state " + std::to_string(s.state) + " is not newer than posted " +
                                                             std::to_string(ch.posted_state));
      auto shares = StateShares(f.cwa, f.cwb, f.cwu, s.cc);
      if (!shares) return state.Invalid(Reason::kChannelAmount, "Cc " + std::to_string(s.cc) + " above CwA");
      // Every post's fee comes out of A's and B's shares at settlement: they must cover them all.
      if (s.fee > ch.amount || !ApplyFee(*shares, posts_fee + s.fee, {Party::kA, Party::kB}, 0))
        return state.Invalid(Reason::kChannelAmount, "A and B cannot pay the posts' fees");
      const TxOut& out = tx.outputs().at(0);  // CheckMarketShape: exactly one
      const std::uint64_t keep = ch.amount - s.fee;
      if (out.condition != Condition::ChannelClose(s.channel.txid, s.channel.index, s.state, f.contest_window) ||
          static_cast<std::uint64_t>(out.amount.units) != keep)
        return state.Invalid(Reason::kChannelOutputs, "output 0 must be ChannelClose(channel, " + std::to_string(s.state) +
                                                          ", " + std::to_string(f.contest_window) + ") of " +
                                                          std::to_string(keep));
      ch.status = ChannelStatus::kClosing;
      ch.current = OutPoint{tx.txid(), 0};
      ch.amount = keep;
      ch.posted_height = ctx.height;
      ch.posted_state = s.state;
      ch.posted_cc = s.cc;
      WriteChannel(ov, s.channel, ch);
      return true;
    }
    case SettlementPath::kSettle: {
      if (open) return state.Invalid(Reason::kChannelStatus, "nothing was posted: close cooperatively or after expiry");
      const std::uint64_t from = static_cast<std::uint64_t>(ch.posted_height) + f.contest_window;
      if (ctx.height < from)
        return state.Invalid(Reason::kChannelWindow, "state " + std::to_string(ch.posted_state) +
                                                         " can be superseded until height " + std::to_string(from - 1));
      auto shares = StateShares(f.cwa, f.cwb, f.cwu, ch.posted_cc);
      auto after_posts = shares ? ApplyFee(*shares, posts_fee, {Party::kA, Party::kB}, 0) : std::nullopt;
      auto payout = after_posts ? ApplyFee(after_posts->shares, min_fee, {Party::kA, Party::kB, Party::kU}, dust)
                                : std::nullopt;
      if (!payout) throw std::runtime_error("posted channel state cannot settle");  // the post checked this
      if (!pays(*payout, Reason::kChannelOutputs)) return false;
      EndChannel(s.channel, ch, ov, g, rd);
      return true;
    }
    case SettlementPath::kExpiry: {
      if (!open) return not_open();
      if (ctx.height < f.expiry)
        return state.Invalid(Reason::kChannelNotExpired, "expires at height " + std::to_string(f.expiry));
      const Party signer = sat.signers == a ? Party::kA : sat.signers == b ? Party::kB : Party::kU;
      auto payout = ApplyFee(Shares{f.cwa, f.cwb, f.cwu}, s.fee, {signer}, dust);
      if (!payout) return state.Invalid(Reason::kChannelAmount, "the signer's deposit cannot pay the fee");
      if (!fee_floor(s.fee) || !pays(*payout, Reason::kChannelOutputs)) return false;
      EndChannel(s.channel, ch, ov, g, rd);
      return true;
    }
    case SettlementPath::kPenalty:
    case SettlementPath::kDelivered: {
      const bool penalty = s.path == SettlementPath::kPenalty;
      if (ctx.block_time < f.delivery_end)
        return state.Invalid(Reason::kChannelDeliveryOpen, "the delivery interval ends at " +
                                                               std::to_string(f.delivery_end));
      Evidence ev;
      if (!CheckEvidence(s, ch, params, checker, ev, state)) return false;
      Shares shares{};
      std::uint64_t pool = 0;
      if (penalty) {
        auto split = PenaltyShares(f.cwa, f.cwb, f.cwu, f.energy_wh, f.price, ev.import_a_wh, ev.export_b_wh);
        if (!split)
          return state.Invalid(Reason::kChannelNoShortfall, "B's meter exported " + std::to_string(ev.export_b_wh) +
                                                                " Wh of the " + std::to_string(f.energy_wh) + " asked");
        shares = split->shares;
        pool = split->pool;
      } else {
        auto split = DeliveredShares(f.cwa, f.cwb, f.cwu, f.energy_wh, f.price, ev.export_b_wh);
        if (!split) return state.Invalid(Reason::kChannelAmount, "the delivered energy costs more than CwA");
        shares = *split;
      }
      // The signers pay the fee, and any earlier post's fee, in this order.
      const std::vector<Party> payers = penalty ? std::vector{Party::kA, Party::kU} : std::vector{Party::kB, Party::kU};
      auto payout = ApplyFee(shares, posts_fee + s.fee, payers, dust);
      if (!payout) return state.Invalid(Reason::kChannelAmount, "the signers cannot pay the fee");
      if (!fee_floor(s.fee) || !pays(*payout, Reason::kEvidenceArithmetic)) return false;
      if (pool > 0) {
        auto accrued = MoneyAdd(g.pool_accrued, pool);
        auto in_total = MoneyAdd(g.pool_in_total, pool);
        if (!accrued || !in_total) return state.Invalid(Reason::kChannelAmount, "the pool would pass all money");
        if (g.pool_accrued == 0 && g.pool_paying == 0) g.pool_slot = SlotOfHeight(ctx.height, params);
        g.pool_accrued = *accrued;
        g.pool_in_total = *in_total;
        pooled = Amount{static_cast<std::int64_t>(pool)};
      }
      EndChannel(s.channel, ch, ov, g, rd);
      return true;
    }
  }
  return state.Invalid(Reason::kTxRecordPayload, "unknown settlement path");
}

}  // namespace

bool CheckSettlementShape(const Transaction& tx, ValidationState& state) {
  ChannelSettlement s;
  const DecodeError e = DecodeSettlementRecord(tx.record(), s);
  if (e != DecodeError::kOk) return state.Invalid(Reason::kTxRecordPayload, std::string(DecodeErrorName(e)));
  if (tx.inputs().size() != 1)
    return state.Invalid(Reason::kChannelShape, "a settlement spends exactly one input: the channel's output");
  if (s.path == SettlementPath::kPost) {
    if (tx.outputs().size() != 1) return state.Invalid(Reason::kChannelShape, "a post has exactly one output");
    const Condition& c = tx.outputs()[0].condition;
    if (c.type != ConditionType::kChannelClose || c.channel_txid != s.channel.txid ||
        c.channel_index != s.channel.index || c.state != s.state)
      return state.Invalid(Reason::kChannelShape, "a post's output is the closing output of its channel and state");
    return true;
  }
  if (tx.outputs().size() > 3) return state.Invalid(Reason::kChannelShape, "a close pays at most A, B and U");
  for (const TxOut& out : tx.outputs())
    if (out.condition.type == ConditionType::kChannelClose)
      return state.Invalid(Reason::kChannelShape, "only a post creates a closing output");
  return true;
}

bool CheckMarketShape(const Transaction& tx, ValidationState& state) {
  if (!IsMarketKind(tx.record().kind)) return true;
  if (tx.record().kind == RecordKind::kChannelSettlement) return CheckSettlementShape(tx, state);
  MarketRecord rec;
  const DecodeError e = DecodeMarketRecord(tx.record(), rec);
  if (e != DecodeError::kOk) return state.Invalid(Reason::kTxRecordPayload, std::string(DecodeErrorName(e)));
  const bool readings = std::holds_alternative<ReadingBatch>(rec);
  if (readings && !tx.inputs().empty()) return state.Invalid(Reason::kTxReadingsInputs, "a readings transaction has no inputs");
  if (!readings && tx.inputs().empty()) return state.Invalid(Reason::kTxNoInputs);
  if (std::holds_alternative<ChannelFunding>(rec) && tx.outputs().empty()) return state.Invalid(Reason::kTxNoOutputs);
  return true;
}

bool ApplyMarketRecord(const Transaction& tx, const MarketContext& ctx, const Params& params, MarketOverlay& ov,
                       Amount& minted, ValidationState& state, std::vector<SigCheck>* sink, Amount* pooled,
                       crypto::SigCache* cache) {
  minted = Amount{0};
  if (pooled) *pooled = Amount{0};
  if (!IsMarketKind(tx.record().kind)) return true;
  if (tx.record().kind == RecordKind::kChannelSettlement) {
    if (!CheckSettlementShape(tx, state)) return false;
    ChannelSettlement s;
    DecodeSettlementRecord(tx.record(), s);
    MarketReader rd(ov, params);
    const MarketGlobals before = rd.Globals();
    MarketGlobals g = before;
    Normalize(g, ctx.height, params);
    Checker checker{sink, state, cache};
    Amount to_pool{0};
    if (!ApplySettlement(tx, s, ctx, params, ov, g, to_pool, state, checker)) return false;
    if (pooled) *pooled = to_pool;
    if (g != before) WriteGlobals(ov, g);
    return true;
  }
  MarketRecord rec;
  const DecodeError e = DecodeMarketRecord(tx.record(), rec);
  if (e != DecodeError::kOk) return state.Invalid(Reason::kTxRecordPayload, std::string(DecodeErrorName(e)));
  MarketReader rd(ov, params);
  const MarketGlobals before = rd.Globals();
  MarketGlobals g = before;
  Normalize(g, ctx.height, params);
  Checker checker{sink, state, cache};
  auto utility_signed = [&](const Signature& sig) {
    if (tx.inputs().empty()) return state.Invalid(Reason::kTxNoInputs);
    return checker.Add(g.utility_key, UtilitySigHash(params, tx.inputs()[0].prevout, rec), sig,
                       Reason::kUtilityBadSignature, "not signed by the utility key in force");
  };

  if (const auto* reg = std::get_if<MeterRegistration>(&rec)) {
    const auto* x = reg;
    if (!utility_signed(x->utility_sig)) return false;
    if (!x->meter.IsValid()) return state.Invalid(Reason::kMeterBadKey, "meter key is not a curve point");
    if (!x->owner.IsValid()) return state.Invalid(Reason::kMeterBadKey, "owner key is not a curve point");
    auto existing = rd.Meter(x->meter);
    if (existing && existing->registered) return state.Invalid(Reason::kMeterAlreadyRegistered);
    MeterState m = existing.value_or(MeterState{});
    const auto per_meter = static_cast<std::uint64_t>(params.max_grant_per_meter.units);
    if (x->grant > per_meter || m.granted > per_meter - x->grant)
      return state.Invalid(Reason::kMeterGrantTooLarge, "grants to one meter are bounded by " + std::to_string(per_meter));
    const auto total_max = static_cast<std::uint64_t>(params.max_total_grants.units);
    if (g.grants_total > total_max || x->grant > total_max - g.grants_total)
      return state.Invalid(Reason::kMeterGrantTotal, "grants are bounded by " + std::to_string(total_max) + " in total");
    if (x->grant > 0) {
      if (tx.outputs().empty() || static_cast<std::uint64_t>(tx.outputs()[0].amount.units) != x->grant ||
          tx.outputs()[0].condition != Condition::Key(x->owner))
        return state.Invalid(Reason::kMeterGrantOutput, "output 0 must pay the grant to the owner");
    }
    m.owner = x->owner;
    m.role = x->role;
    m.registered = true;
    m.registered_height = ctx.height;
    m.granted += x->grant;
    g.grants_total += x->grant;
    ++g.meters_registered;
    WriteMeter(ov, x->meter, m);
    minted = Amount{static_cast<std::int64_t>(x->grant)};
  } else if (const auto* dereg = std::get_if<MeterDeregistration>(&rec)) {
    const auto* x = dereg;
    if (!utility_signed(x->utility_sig)) return false;
    auto existing = rd.Meter(x->meter);
    if (!existing || !existing->registered) return state.Invalid(Reason::kMeterUnregistered);
    existing->registered = false;
    if (g.meters_registered > 0) --g.meters_registered;
    WriteMeter(ov, x->meter, *existing);
  } else if (const auto* coef = std::get_if<PriceCoefficients>(&rec)) {
    const auto* x = coef;
    if (!utility_signed(x->utility_sig)) return false;
    g.has_pending_coefficients = true;
    g.pending_coefficients = {x->a, x->b, x->c};
    g.pending_slot = SlotOfHeight(ctx.height, params) + 1;
  } else if (const auto* rot = std::get_if<UtilityKeyRotation>(&rec)) {
    const auto* x = rot;
    if (!utility_signed(x->utility_sig)) return false;
    if (!x->new_key.IsValid() || x->new_key == g.utility_key)
      return state.Invalid(Reason::kUtilityBadKey, "the new key must be a curve point other than the current key");
    g.has_pending_key = true;
    g.pending_key = x->new_key;
    g.pending_key_height = ctx.height + 1;
  } else if (const auto* batch = std::get_if<ReadingBatch>(&rec)) {
    if (!ApplyReadings(tx, *batch, ctx, params, ov, g, minted, state, checker, nullptr)) return false;
  } else if (const auto* funding = std::get_if<ChannelFunding>(&rec)) {
    if (!ApplyFunding(tx, *funding, ctx, params, ov, g, state)) return false;
  }
  if (g != before) WriteGlobals(ov, g);
  return true;
}

bool ComputeReadingOutputs(const ReadingBatch& batch, const MarketStore& store, const Params& params,
                           std::vector<TxOut>& outputs, ValidationState& state) {
  MarketOverlay ov(&store);
  MarketGlobals g = MarketReader(ov, params).Globals();
  Amount minted;
  Checker checker{nullptr, state};
  MutableTransaction empty;
  const Transaction tx(std::move(empty));
  // Times are not checked here: the caller validates the transaction as a whole afterwards.
  MarketContext ctx{0, std::numeric_limits<std::uint64_t>::max()};
  return ApplyReadings(tx, batch, ctx, params, ov, g, minted, state, checker, &outputs);
}

bool DependsOnMarketState(Reason reason) {
  switch (reason) {
    case Reason::kUtilityBadSignature:
    case Reason::kUtilityBadKey:
    case Reason::kMeterAlreadyRegistered:
    case Reason::kMeterUnregistered:
    case Reason::kMeterGrantTooLarge:
    case Reason::kMeterGrantTotal:
    case Reason::kReadingUnknownMeter:
    case Reason::kReadingDeregisteredMeter:
    case Reason::kReadingRegisterDecrease:
    case Reason::kReadingEnergyMismatch:
    case Reason::kReadingOverlap:
    case Reason::kReadingDuplicate:
    case Reason::kReadingRewardOverflow:
    case Reason::kFundingKeys:
    case Reason::kFundingMeter:
    case Reason::kFundingExpiry:
    case Reason::kFundingMeterBusy:
    // A settlement races with the chain: the channel settled or moved, a newer state was
    // posted, the slot's pool changed the fee floor, or a reading was counted meanwhile.
    case Reason::kChannelUnknown:
    case Reason::kChannelInput:
    case Reason::kChannelStatus:
    case Reason::kChannelStaleState:
    case Reason::kChannelFee:
    case Reason::kChannelOutputs:
    case Reason::kEvidenceUncounted:
    case Reason::kEvidenceArithmetic:
      return true;
    default:
      return false;
  }
}

Amount ConnectBlockPool(std::uint32_t height, const Params& params, MarketOverlay& ov) {
  MarketReader rd(ov, params);
  const MarketGlobals before = rd.Globals();
  MarketGlobals g = before;
  RollPool(g, height, params);
  const std::uint64_t share = PoolShare(g.pool_paying, params.slot_blocks, height);
  g.pool_out_total += share;  // <= pool_in_total: the slot's shares sum to what accrued
  if (g != before) WriteGlobals(ov, g);
  return Amount{static_cast<std::int64_t>(share)};
}

std::uint64_t PoolPayingAt(MarketGlobals g, std::uint32_t height, const Params& params) {
  RollPool(g, height, params);
  return g.pool_paying;
}

Amount PoolShareAt(const MarketStore& store, const Params& params, std::uint32_t height) {
  const std::uint64_t paying = PoolPayingAt(MarketReader(store, params).Globals(), height, params);
  return Amount{static_cast<std::int64_t>(PoolShare(paying, params.slot_blocks, height))};
}

}  // namespace wattline::consensus
