#include "consensus/market_rules.h"

#include <algorithm>
#include <limits>

#include "crypto/hex.h"

namespace wattline::consensus {

namespace {

std::uint64_t SatAdd(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

/** a + b when the sum stays within kMaxMoney. */
std::optional<std::uint64_t> MoneyAdd(std::uint64_t a, std::uint64_t b) {
  const auto max = static_cast<std::uint64_t>(kMaxMoney.units);
  if (a > max || b > max - a) return std::nullopt;
  return a + b;
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
  // Queues (or runs) one signature check; false when it ran and failed.
  bool Add(const XOnlyPubKey& key, const Hash256& msg, const Signature& sig, Reason reason, const std::string& what,
           const std::optional<crypto::ParsedPubKey>& parsed = std::nullopt) {
    if (sink) {
      sink->push_back({key, msg, sig, parsed});
      return true;
    }
    if (!(parsed ? parsed->Verify(msg, sig) : crypto::Verify(key, msg, sig))) return state.Invalid(reason, what);
    return true;
  }
};

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
  return true;
}

}  // namespace

bool CheckMarketShape(const Transaction& tx, ValidationState& state) {
  if (!IsMarketKind(tx.record().kind)) return true;
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
                       Amount& minted, ValidationState& state, std::vector<SigCheck>* sink) {
  minted = Amount{0};
  if (!IsMarketKind(tx.record().kind)) return true;
  MarketRecord rec;
  const DecodeError e = DecodeMarketRecord(tx.record(), rec);
  if (e != DecodeError::kOk) return state.Invalid(Reason::kTxRecordPayload, std::string(DecodeErrorName(e)));
  MarketReader rd(ov, params);
  const MarketGlobals before = rd.Globals();
  MarketGlobals g = before;
  Normalize(g, ctx.height, params);
  Checker checker{sink, state};
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
      return true;
    default:
      return false;
  }
}

}  // namespace wattline::consensus
