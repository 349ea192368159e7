// The market's contextual rules: ApplyMarketRecord on a small evolving market state.
//
// Input: FuzzedDataProvider bytes. A regtest market starts empty, with a pool of fixed keys
// (meters, owners, candidate utility keys) whose secrets the harness knows; then a sequence
// of operations, each one transaction: registrations, deregistrations, coefficient changes and
// key rotations (signed by the utility key in force, or not), reading batches (usually shaped
// to continue each meter's registers, signed by the meter, with the outputs the builder
// computes, or not), channel fundings (usually at the slot's price), and raw records of any
// kind with fuzz payloads. Heights and block times only go forward, as on a chain.
//
// Checked: nothing crashes or throws; every rejection says why; the inline and the deferred
// signature forms agree (the same verdict, minted amount and writes, or the same reason); a
// readings transaction that passes mints exactly the sum of its outputs, which is what the
// owners' and the chain's reward totals grow by; a registration mints exactly its grant; and
// over the whole run, the units minted by accepted transactions equal grants_total +
// rewards_total of the final state, which never exceeds kMaxMoney.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <limits>

#include "consensus/market.h"
#include "consensus/market_rules.h"
#include "consensus/market_state.h"
#include "consensus/tx_check.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

namespace {

constexpr int kPool = 12;  // keys 1..12: meters 1..6, owners 7..10, utility candidates 11, 12

struct Keys {
  std::vector<crypto::SecretKey> secrets;
  std::vector<XOnlyPubKey> pubs;
  crypto::SecretKey documented = *crypto::SecretKey::FromBytes(DocumentedUtilitySecret(Network::kRegtest).span());
  Keys() {
    for (int i = 1; i <= kPool; ++i) {
      std::array<std::uint8_t, 32> b{};
      b[31] = static_cast<std::uint8_t>(i);
      secrets.push_back(*crypto::SecretKey::FromBytes(b));
      pubs.push_back(secrets.back().PubKey());
    }
  }
  const crypto::SecretKey* SecretOf(const XOnlyPubKey& k) const {
    if (k == documented.PubKey()) return &documented;
    for (std::size_t i = 0; i < pubs.size(); ++i)
      if (pubs[i] == k) return &secrets[i];
    return nullptr;
  }
};

const Keys& K() {
  static const Keys keys;
  return keys;
}

const XOnlyPubKey& Meter(FuzzedDataProvider& fdp) { return K().pubs[fdp.ConsumeIntegralInRange<std::size_t>(0, 5)]; }
const XOnlyPubKey& Owner(FuzzedDataProvider& fdp) { return K().pubs[fdp.ConsumeIntegralInRange<std::size_t>(6, 9)]; }
const XOnlyPubKey& AnyKey(FuzzedDataProvider& fdp) { return K().pubs[fdp.ConsumeIntegralInRange<std::size_t>(0, kPool - 1)]; }

// Usually at most max; sometimes anything (to reach the overflow checks).
std::uint64_t Small(FuzzedDataProvider& fdp, std::uint64_t max) {
  return fdp.ConsumeIntegralInRange<int>(0, 7) ? fdp.ConsumeIntegralInRange<std::uint64_t>(0, max)
                                               : fdp.ConsumeIntegral<std::uint64_t>();
}

Amount Units(std::uint64_t v) {
  return Amount{static_cast<std::int64_t>(std::min<std::uint64_t>(v, static_cast<std::uint64_t>(kMaxMoney.units)))};
}

struct Run {
  const Params& params = GetParams(Network::kRegtest);
  EmptyMarketStore empty;
  MarketOverlay state{&empty};
  std::uint32_t height = 1;
  std::uint64_t time = 1'800'000'000;
  std::uint32_t next_input = 0;
  std::uint64_t minted_total = 0;

  MarketReader Reader() const { return MarketReader(state, params); }

  OutPoint Prevout() {
    OutPoint op;
    op.txid.bytes.fill(0x5c);
    op.index = next_input++;
    return op;
  }

  /** A utility record transaction, signed by the key in force (usually) or another key. */
  MutableTransaction UtilityTx(MarketRecord rec, FuzzedDataProvider& fdp, std::vector<TxOut> outputs) {
    MutableTransaction tx;
    tx.inputs.push_back({Prevout(), Satisfaction::Sig(Signature{})});
    tx.outputs = std::move(outputs);
    if (tx.outputs.empty() || fdp.ConsumeIntegralInRange<int>(0, 7) == 0)
      tx.outputs.push_back({Units(Small(fdp, 10'000)), Condition::Key(AnyKey(fdp))});
    const XOnlyPubKey in_force = Reader().Globals().UtilityKeyAt(height);
    const crypto::SecretKey* signer = K().SecretOf(in_force);
    if (fdp.ConsumeIntegralInRange<int>(0, 9) == 0) signer = &K().secrets[fdp.ConsumeIntegralInRange<std::size_t>(0, kPool - 1)];
    if (signer) SetUtilitySignature(rec, signer->Sign(UtilitySigHash(params, tx.inputs[0].prevout, rec), Hash256{}));
    tx.record = MakeRecord(rec);
    return tx;
  }

  MutableTransaction Registration(FuzzedDataProvider& fdp) {
    MeterRegistration reg;
    reg.meter = Meter(fdp);
    reg.owner = Owner(fdp);
    reg.role = static_cast<MeterRole>(fdp.ConsumeIntegralInRange<int>(1, 3));
    reg.grant = Small(fdp, static_cast<std::uint64_t>(params.max_grant_per_meter.units));
    std::vector<TxOut> outs;
    if (reg.grant > 0 && fdp.ConsumeIntegralInRange<int>(0, 7) != 0)
      outs.push_back({Units(reg.grant), Condition::Key(fdp.ConsumeIntegralInRange<int>(0, 7) ? reg.owner : AnyKey(fdp))});
    return UtilityTx(reg, fdp, std::move(outs));
  }

  MutableTransaction Readings(FuzzedDataProvider& fdp) {
    ReadingBatch batch;
    const std::size_t n = fdp.ConsumeIntegralInRange<std::size_t>(1, 5);
    // Registers as this batch has left them, for readings of a meter twice in one batch.
    std::vector<std::pair<XOnlyPubKey, MeterState>> seen;
    for (std::size_t i = 0; i < n; ++i) {
      Reading r;
      r.meter = Meter(fdp);
      MeterState m;
      auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& p) { return p.first == r.meter; });
      if (it != seen.end()) {
        m = it->second;
      } else if (auto loaded = Reader().Meter(r.meter)) {
        m = *loaded;
      }
      if (fdp.ConsumeIntegralInRange<int>(0, 5) != 0) {
        // A plausible continuation.
        r.length = fdp.ConsumeIntegralInRange<std::uint32_t>(1, 3600);
        const std::uint64_t base = m.has_reading ? m.last_end : time - 100'000;
        r.start = base + fdp.ConsumeIntegralInRange<std::uint64_t>(0, 1000);
        r.import_wh = Small(fdp, 5000);
        r.export_wh = Small(fdp, 5000);
        const std::uint64_t ir = m.has_reading ? m.import_register : fdp.ConsumeIntegralInRange<std::uint64_t>(0, 100);
        const std::uint64_t er = m.has_reading ? m.export_register : fdp.ConsumeIntegralInRange<std::uint64_t>(0, 100);
        r.import_register = ir + r.import_wh;  // may wrap: the rules must refuse, not crash
        r.export_register = er + r.export_wh;
        if (fdp.ConsumeIntegralInRange<int>(0, 15) == 0) r.export_register -= fdp.ConsumeIntegralInRange<std::uint64_t>(0, 3);
      } else {
        r.start = fdp.ConsumeIntegral<std::uint64_t>();
        r.length = fdp.ConsumeIntegral<std::uint32_t>();
        r.import_wh = fdp.ConsumeIntegral<std::uint64_t>();
        r.export_wh = fdp.ConsumeIntegral<std::uint64_t>();
        r.import_register = fdp.ConsumeIntegral<std::uint64_t>();
        r.export_register = fdp.ConsumeIntegral<std::uint64_t>();
      }
      if (fdp.ConsumeIntegralInRange<int>(0, 15) != 0) {
        if (const auto* sk = K().SecretOf(r.meter)) r.sig = sk->Sign(ReadingSigHash(params, r), Hash256{});
      }
      MeterState next = m;
      next.has_reading = true;
      next.last_end = r.start + r.length;
      next.import_register = r.import_register;
      next.export_register = r.export_register;
      if (it != seen.end()) it->second = next; else seen.emplace_back(r.meter, next);
      batch.readings.push_back(r);
    }
    MutableTransaction tx;
    ValidationState s;
    std::vector<TxOut> outs;
    const bool computed = ComputeReadingOutputs(batch, state, params, outs, s);
    FUZZ_CHECK(computed == s.IsValid());
    if (computed) {
      std::uint64_t sum = 0;
      for (const auto& o : outs) {
        FUZZ_CHECK(o.amount.units > 0 && MoneyRange(o.amount));
        sum += static_cast<std::uint64_t>(o.amount.units);
        FUZZ_CHECK(sum <= static_cast<std::uint64_t>(kMaxMoney.units));
      }
      tx.outputs = outs;
    }
    switch (fdp.ConsumeIntegralInRange<int>(0, 9)) {
      case 0: if (!tx.outputs.empty()) tx.outputs[0].amount.units += fdp.ConsumeIntegralInRange<std::int64_t>(-1, 1); break;
      case 1: tx.outputs.push_back({Units(Small(fdp, 100)), Condition::Key(Owner(fdp))}); break;
      case 2: if (!tx.outputs.empty()) tx.outputs.pop_back(); break;
      case 3: if (tx.outputs.size() > 1) std::swap(tx.outputs[0], tx.outputs[1]); break;
      default: break;
    }
    if (fdp.ConsumeIntegralInRange<int>(0, 31) == 0) tx.inputs.push_back({Prevout(), Satisfaction::Sig(Signature{})});
    if (fdp.ConsumeIntegralInRange<int>(0, 15) == 0) {
      const std::uint8_t blob = fdp.ConsumeIntegral<std::uint8_t>();
      batch.series = ComputeCid(ByteSpan(&blob, 1));
    }
    tx.record = MakeRecord(batch);
    return tx;
  }

  MutableTransaction Funding(FuzzedDataProvider& fdp) {
    ChannelFunding f;
    f.consumer = Owner(fdp);
    f.producer = Owner(fdp);
    f.utility = fdp.ConsumeIntegralInRange<int>(0, 7) ? Reader().Globals().UtilityKeyAt(height) : AnyKey(fdp);
    f.consumer_meter = Meter(fdp);
    f.producer_meter = Meter(fdp);
    // Usually registered meters of the right roles, as a wallet would pick them.
    if (fdp.ConsumeIntegralInRange<int>(0, 7) != 0) {
      std::vector<XOnlyPubKey> consumers, producers;
      for (std::size_t i = 0; i < 6; ++i) {
        auto m = Reader().Meter(K().pubs[i]);
        if (!m || !m->registered) continue;
        if (RoleConsumes(m->role)) consumers.push_back(K().pubs[i]);
        if (RoleProduces(m->role)) producers.push_back(K().pubs[i]);
      }
      if (!consumers.empty()) f.consumer_meter = consumers[fdp.ConsumeIntegralInRange<std::size_t>(0, consumers.size() - 1)];
      if (!producers.empty()) f.producer_meter = producers[fdp.ConsumeIntegralInRange<std::size_t>(0, producers.size() - 1)];
    }
    // Usually the parties are the meters' owners (as a wallet would build it).
    if (auto m = Reader().Meter(f.consumer_meter); m && fdp.ConsumeIntegralInRange<int>(0, 7) != 0) f.consumer = m->owner;
    if (auto m = Reader().Meter(f.producer_meter); m && fdp.ConsumeIntegralInRange<int>(0, 7) != 0) f.producer = m->owner;
    f.energy_wh = Small(fdp, 100'000);
    f.slot = fdp.ConsumeIntegralInRange<int>(0, 7) ? SlotOfHeight(height, params) : fdp.ConsumeIntegral<std::uint32_t>();
    f.price = fdp.ConsumeIntegralInRange<int>(0, 7) ? Reader().PriceOfSlot(f.slot) : fdp.ConsumeIntegral<std::uint64_t>();
    const auto cost = EnergyCost(f.energy_wh, f.price);
    f.cwa = cost && fdp.ConsumeIntegralInRange<int>(0, 7) ? *cost + Small(fdp, 10) : Small(fdp, 1000);
    f.cwb = Small(fdp, 100'000);
    f.cwu = Small(fdp, 100'000);
    f.expiry = height + fdp.ConsumeIntegralInRange<std::uint32_t>(0, 2000);
    if (fdp.ConsumeIntegralInRange<int>(0, 15) == 0) f.expiry = fdp.ConsumeIntegral<std::uint32_t>();
    f.contest_window = fdp.ConsumeIntegralInRange<int>(0, 15) ? fdp.ConsumeIntegralInRange<std::uint32_t>(1, 20)
                                                               : fdp.ConsumeIntegral<std::uint32_t>();
    f.delivery_start = time + Small(fdp, 10'000);
    f.delivery_end = f.delivery_start + Small(fdp, 10'000);
    MutableTransaction tx;
    tx.inputs.push_back({Prevout(), Satisfaction::Sig(Signature{})});
    const std::uint64_t total = f.cwa + f.cwb + f.cwu;  // may wrap or pass kMaxMoney: Units() caps it
    Condition c = Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window);
    if (fdp.ConsumeIntegralInRange<int>(0, 15) == 0) c = Condition::Key(f.consumer);
    tx.outputs.push_back({Units(fdp.ConsumeIntegralInRange<int>(0, 7) ? total : Small(fdp, 1000)), c});
    if (fdp.ConsumeBool()) tx.outputs.push_back({Units(Small(fdp, 1000)), Condition::Key(AnyKey(fdp))});
    tx.record = MakeRecord(f);
    return tx;
  }

  MutableTransaction Raw(FuzzedDataProvider& fdp) {
    MutableTransaction tx;
    const std::size_t n_in = fdp.ConsumeIntegralInRange<std::size_t>(0, 2);
    for (std::size_t i = 0; i < n_in; ++i) tx.inputs.push_back({Prevout(), Satisfaction::Sig(Signature{})});
    const std::size_t n_out = fdp.ConsumeIntegralInRange<std::size_t>(0, 3);
    for (std::size_t i = 0; i < n_out; ++i) tx.outputs.push_back({Units(Small(fdp, 100'000)), Condition::Key(AnyKey(fdp))});
    constexpr std::uint32_t kinds[] = {2, 3, 4, 5, 7, 8};
    tx.record.kind = static_cast<RecordKind>(kinds[fdp.ConsumeIntegralInRange<std::size_t>(0, 5)]);
    tx.record.version = fdp.ConsumeIntegralInRange<int>(0, 15) ? kMarketRecordVersion : fdp.ConsumeIntegral<std::uint32_t>();
    tx.record.payload = fdp.ConsumeBytes<std::uint8_t>(fdp.ConsumeIntegralInRange<std::size_t>(0, 400));
    return tx;
  }

  void Apply(const MutableTransaction& mtx) {
    const Transaction tx(mtx);
    ValidationState check;
    if (!CheckTransaction(tx, check)) {
      FUZZ_CHECK(!check.IsValid() && ReasonCode(check.reason()) != "unknown-reason");
      return;  // ApplyMarketRecord is only run on transactions that pass CheckTransaction
    }
    const MarketContext ctx{height, time};
    const MarketGlobals before = Reader().Globals();

    MarketOverlay inline_view(&state);
    Amount minted{-1};
    ValidationState s;
    const bool ok = ApplyMarketRecord(tx, ctx, params, inline_view, minted, s);
    FUZZ_CHECK(ok == s.IsValid());

    MarketOverlay sink_view(&state);
    Amount minted2{-1};
    ValidationState s2;
    std::vector<SigCheck> sink;
    const bool ok2 = ApplyMarketRecord(tx, ctx, params, sink_view, minted2, s2, &sink);
    bool sigs = true;
    for (const auto& c : sink) sigs = sigs && c.Verify();
    if (ok) {
      FUZZ_CHECK(ok2 && sigs);
      FUZZ_CHECK(minted2 == minted);
      FUZZ_CHECK(sink_view.Writes() == inline_view.Writes());
    } else {
      FUZZ_CHECK(ReasonCode(s.reason()) != "unknown-reason");
      if (s.reason() == Reason::kUtilityBadSignature || s.reason() == Reason::kReadingBadSignature) {
        FUZZ_CHECK(!ok2 || !sigs);
      } else {
        FUZZ_CHECK(!ok2 && s2.reason() == s.reason());
      }
      return;  // a rejected record's partial writes are discarded
    }

    FUZZ_CHECK(MoneyRange(minted));
    const auto minted_units = static_cast<std::uint64_t>(minted.units);
    const MarketGlobals after = MarketReader(inline_view, params).Globals();
    std::uint64_t out_sum = 0;
    for (const auto& o : tx.outputs()) out_sum += static_cast<std::uint64_t>(o.amount.units);
    MarketRecord rec;
    if (DecodeMarketRecord(tx.record(), rec) == DecodeError::kOk) {
      if (const auto* batch = std::get_if<ReadingBatch>(&rec)) {
        // Supply bookkeeping: a readings transaction mints exactly its outputs, which are the rewards.
        FUZZ_CHECK(minted_units == out_sum);
        FUZZ_CHECK(after.rewards_total == before.rewards_total + minted_units);
        FUZZ_CHECK(after.grants_total == before.grants_total);
        FUZZ_CHECK(after.readings_total == before.readings_total + batch->readings.size());
        std::uint64_t owner_growth = 0;
        for (const auto& o : tx.outputs()) {
          FUZZ_CHECK(o.condition.type == ConditionType::kKey);
          const XOnlyPubKey& owner = o.condition.keys[0];
          owner_growth += MarketReader(inline_view, params).OwnerRewards(owner) - Reader().OwnerRewards(owner);
        }
        FUZZ_CHECK(owner_growth == minted_units);
        for (const auto& r : batch->readings) {
          auto m = MarketReader(inline_view, params).Meter(r.meter);
          FUZZ_CHECK(m && m->registered && m->has_reading && m->reward_carry < 1'000'000);
        }
      } else if (const auto* reg = std::get_if<MeterRegistration>(&rec)) {
        FUZZ_CHECK(minted_units == reg->grant);
        FUZZ_CHECK(after.grants_total == before.grants_total + reg->grant);
        auto m = MarketReader(inline_view, params).Meter(reg->meter);
        FUZZ_CHECK(m && m->registered && m->owner == reg->owner && m->granted <= static_cast<std::uint64_t>(params.max_grant_per_meter.units));
      } else {
        FUZZ_CHECK(minted_units == 0);
        FUZZ_CHECK(after.grants_total == before.grants_total && after.rewards_total == before.rewards_total);
      }
    } else {
      FUZZ_CHECK(false);  // passed CheckTransaction, so it decodes
    }
    FUZZ_CHECK(after.grants_total <= static_cast<std::uint64_t>(params.max_total_grants.units));
    FUZZ_CHECK(after.rewards_total <= static_cast<std::uint64_t>(kMaxMoney.units));
    minted_total += minted_units;
    for (const auto& [k, v] : inline_view.Writes()) state.Write(k, v);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  Run run;
  const int ops = fdp.ConsumeIntegralInRange<int>(1, 24);
  for (int i = 0; i < ops && fdp.remaining_bytes() > 0; ++i) {
    switch (fdp.ConsumeIntegralInRange<int>(0, 9)) {
      case 0:
      case 1: run.Apply(run.Registration(fdp)); break;
      case 2: {
        MeterDeregistration d{Meter(fdp), {}};
        run.Apply(run.UtilityTx(d, fdp, {}));
        break;
      }
      case 3: {
        PriceCoefficients c{Small(fdp, 100), Small(fdp, 100), Small(fdp, 1000), {}};
        run.Apply(run.UtilityTx(c, fdp, {}));
        break;
      }
      case 4: {
        UtilityKeyRotation r{fdp.ConsumeBool() ? K().pubs[10] : K().pubs[11], {}};
        if (fdp.ConsumeIntegralInRange<int>(0, 7) == 0) r.new_key = K().documented.PubKey();
        run.Apply(run.UtilityTx(r, fdp, {}));
        break;
      }
      case 5:
      case 6: run.Apply(run.Readings(fdp)); break;
      case 7: run.Apply(run.Funding(fdp)); break;
      case 8: run.Apply(run.Raw(fdp)); break;
      default: {
        // The next block (sometimes the same one), possibly in a later slot.
        run.height += fdp.ConsumeIntegralInRange<std::uint32_t>(0, 25);
        run.time += fdp.ConsumeIntegralInRange<std::uint64_t>(0, 4000);
        break;
      }
    }
  }
  const MarketGlobals g = run.Reader().Globals();
  FUZZ_CHECK(g.grants_total + g.rewards_total == run.minted_total);
  return 0;
}
