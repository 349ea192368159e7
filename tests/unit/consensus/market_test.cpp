// The energy market's consensus code (consensus/market*.h): one test per rejection reason of
// ApplyMarketRecord and of the market parts of CheckTransaction / CheckTxInputs, the positive
// paths (grants, production rewards and their carried remainders, coefficient changes, slot
// demand and price), the market arithmetic (exhaustive and randomised against an independent
// implementation), and the round trip and decode errors of every market encoding.
//
// Everything runs on regtest (slot_blocks 10, coefficients a = b = c = 1) over a MarketOverlay
// on an EmptyMarketStore, with sink = nullptr so that signatures are checked inline. Each
// transaction is applied to a fresh child overlay that is merged only when it is accepted (a
// rejected record may leave partial writes behind, which the caller must discard).
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <set>

#include "consensus/market.h"
#include "consensus/market_rules.h"
#include "consensus/market_state.h"
#include "consensus/tx_check.h"
#include "test_util.h"

using namespace wattline;
using namespace wattline::consensus;
using namespace wattline::consensus::test;

namespace {

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kMax32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kT0 = 1'800'000'000;  // a block time; readings end at or before it

crypto::SecretKey UtilitySecret(Network net = Network::kRegtest) {
  return *crypto::SecretKey::FromBytes(DocumentedUtilitySecret(net).span());
}

XOnlyPubKey AllOnesKey() {
  XOnlyPubKey k;
  k.bytes.fill(0xff);
  return k;
}
Signature AllOnesSig() {
  Signature s;
  s.bytes.fill(0xff);
  return s;
}

// Key indices: owners 1..9, meters 20.., a new utility key 50.
constexpr std::uint8_t kOwnerA = 1, kOwnerB = 2, kOwnerC = 3;
constexpr std::uint8_t kMeter1 = 21, kMeter2 = 22, kMeter3 = 23;
constexpr std::uint8_t kNewUtility = 50;

Reading MakeReading(std::uint8_t meter, std::uint64_t start, std::uint32_t length, std::uint64_t import_wh,
                    std::uint64_t export_wh, std::uint64_t import_register, std::uint64_t export_register,
                    const Params& params = Regtest()) {
  Reading r;
  r.meter = TestPub(meter);
  r.start = start;
  r.length = length;
  r.import_wh = import_wh;
  r.export_wh = export_wh;
  r.import_register = import_register;
  r.export_register = export_register;
  r.sig = TestKey(meter).Sign(ReadingSigHash(params, r), Hash256{});
  return r;
}

class MarketTest : public ::testing::Test {
 protected:
  const Params& params() const { return m_params_copy; }
  Params& mutable_params() { return m_params_copy; }

  /** A fresh, unique outpoint for the next utility/funding transaction. */
  OutPoint NextPrevout() { return OutPoint{Filled(0x70), m_next_input++}; }

  /** A transaction carrying a utility record signed by `signer` over its first input. */
  MutableTransaction UtilityTx(MarketRecord rec, const crypto::SecretKey& signer, std::vector<TxOut> outputs = {}) {
    MutableTransaction tx;
    tx.inputs.push_back({NextPrevout(), Satisfaction::Sig(Signature{})});
    tx.outputs = outputs.empty() ? std::vector<TxOut>{{Amount{1000}, Condition::Key(TestPub(9))}} : std::move(outputs);
    SetUtilitySignature(rec, signer.Sign(UtilitySigHash(params(), tx.inputs[0].prevout, rec), Hash256{}));
    tx.record = MakeRecord(rec);
    return tx;
  }
  MutableTransaction UtilityTx(MarketRecord rec, std::vector<TxOut> outputs = {}) {
    return UtilityTx(std::move(rec), UtilitySecret(), std::move(outputs));
  }

  MutableTransaction RegistrationTx(std::uint8_t meter, std::uint8_t owner, MeterRole role, std::uint64_t grant = 0) {
    MeterRegistration reg{TestPub(meter), TestPub(owner), role, grant, {}};
    std::vector<TxOut> outs;
    if (grant > 0) outs.push_back({Amount{static_cast<std::int64_t>(grant)}, Condition::Key(TestPub(owner))});
    return UtilityTx(reg, std::move(outs));
  }

  /** A readings transaction; its outputs are what ComputeReadingOutputs says, unless given. */
  MutableTransaction ReadingsTx(std::vector<Reading> readings, std::optional<std::vector<TxOut>> outputs = std::nullopt) {
    const ReadingBatch batch{std::move(readings), {}};
    MutableTransaction tx;
    if (outputs) {
      tx.outputs = *outputs;
    } else {
      ValidationState s;
      std::vector<TxOut> outs;
      if (ComputeReadingOutputs(batch, m_state, params(), outs, s)) tx.outputs = outs;
    }
    tx.record = MakeRecord(batch);
    return tx;
  }

  /**
   * CheckTransaction, then ApplyMarketRecord at height/time on a child overlay, merged into
   * the state when accepted. Also runs the deferred-signature form and checks it agrees.
   */
  Reason Apply(const MutableTransaction& mtx, std::uint32_t height = 100, std::uint64_t time = kT0) {
    const Transaction tx(mtx);
    ValidationState s;
    m_minted = Amount{-1};
    if (!CheckTransaction(tx, s)) {
      m_last = s;
      return s.reason();
    }
    const MarketContext ctx{height, time};
    MarketOverlay child(&m_state);
    const bool ok = ApplyMarketRecord(tx, ctx, params(), child, m_minted, s);
    EXPECT_EQ(ok, s.IsValid());
    if (!ok) {
      EXPECT_NE(ReasonCode(s.reason()), "unknown-reason");
    }
    // The deferred form: the same verdict, once its signature checks are run.
    {
      MarketOverlay other(&m_state);
      ValidationState s2;
      Amount minted2{-1};
      std::vector<SigCheck> sink;
      const bool ok2 = ApplyMarketRecord(tx, ctx, params(), other, minted2, s2, &sink);
      bool sigs = true;
      for (const auto& c : sink) sigs = sigs && c.Verify();
      if (ok) {
        EXPECT_TRUE(ok2 && sigs) << s2.ToString();
        EXPECT_EQ(minted2, m_minted);
        EXPECT_EQ(other.Writes(), child.Writes());
      } else if (s.reason() == Reason::kUtilityBadSignature || s.reason() == Reason::kReadingBadSignature) {
        EXPECT_TRUE(!ok2 || !sigs);
      } else {
        EXPECT_FALSE(ok2);
        EXPECT_EQ(s2.reason(), s.reason());
      }
    }
    m_last = s;
    if (ok)
      for (const auto& [k, v] : child.Writes()) m_state.Write(k, v);
    return s.reason();
  }

  MarketReader Reader() const { return MarketReader(m_state, params()); }
  MeterState MeterOf(std::uint8_t meter) const {
    auto m = Reader().Meter(TestPub(meter));
    EXPECT_TRUE(m);
    return m.value_or(MeterState{});
  }

  void Register(std::uint8_t meter, std::uint8_t owner, MeterRole role, std::uint64_t grant = 0, std::uint32_t height = 100) {
    ASSERT_EQ(Apply(RegistrationTx(meter, owner, role, grant), height), Reason::kOk) << m_last.ToString();
  }

  // --- Channel funding ---------------------------------------------------------------------------

  /** A valid funding at height 100 (slot 10, price 1 on a fresh regtest chain): meters 21 (A) and 22 (B). */
  ChannelFunding GoodFunding() {
    ChannelFunding f;
    f.consumer = TestPub(kOwnerA);
    f.producer = TestPub(kOwnerB);
    f.utility = params().utility_key;
    f.consumer_meter = TestPub(kMeter1);
    f.producer_meter = TestPub(kMeter2);
    f.energy_wh = 5'000;
    f.slot = 10;
    f.price = 1;
    f.cwa = 5;  // ceil(5000 * 1 / 1000)
    f.cwb = 1'000;
    f.cwu = 100;
    f.expiry = 200;
    f.contest_window = 6;
    f.delivery_start = kT0 + 3600;
    f.delivery_end = kT0 + 7200;
    return f;
  }
  void SetUpFundingMeters() {
    Register(kMeter1, kOwnerA, MeterRole::kConsumer);
    Register(kMeter2, kOwnerB, MeterRole::kProducer);
  }
  /** The funding's transaction: output 0 is the channel output of CwA + CwB + CwU (unless told). */
  MutableTransaction FundingTx(const ChannelFunding& f, std::optional<TxOut> out0 = std::nullopt) {
    MutableTransaction tx;
    tx.inputs.push_back({NextPrevout(), Satisfaction::Sig(Signature{})});
    if (out0) {
      tx.outputs.push_back(*out0);
    } else {
      const std::uint64_t total = f.cwa + f.cwb + f.cwu;
      tx.outputs.push_back({Amount{static_cast<std::int64_t>(total)},
                            Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window)});
    }
    tx.record = MakeRecord(f);
    return tx;
  }

  Params m_params_copy = Regtest();
  EmptyMarketStore m_empty;
  MarketOverlay m_state{&m_empty};
  ValidationState m_last;
  Amount m_minted{0};
  std::uint32_t m_next_input = 0;
};

}  // namespace

// ================================================================================================
// Registration, deregistration, grants
// ================================================================================================

TEST_F(MarketTest, RegistrationWithGrantMintsExactlyTheGrant) {
  ASSERT_EQ(Apply(RegistrationTx(kMeter1, kOwnerA, MeterRole::kProducer, Coins(3).units)), Reason::kOk);
  EXPECT_EQ(m_minted, Coins(3));
  const MeterState m = MeterOf(kMeter1);
  EXPECT_TRUE(m.registered);
  EXPECT_EQ(m.owner, TestPub(kOwnerA));
  EXPECT_EQ(m.role, MeterRole::kProducer);
  EXPECT_EQ(m.granted, static_cast<std::uint64_t>(Coins(3).units));
  EXPECT_EQ(m.registered_height, 100u);
  const MarketGlobals g = Reader().Globals();
  EXPECT_EQ(g.grants_total, static_cast<std::uint64_t>(Coins(3).units));
  EXPECT_EQ(g.meters_registered, 1u);
  // Without a grant nothing is minted.
  ASSERT_EQ(Apply(RegistrationTx(kMeter2, kOwnerA, MeterRole::kConsumer)), Reason::kOk);
  EXPECT_EQ(m_minted, Amount{0});
  // And the minted units are what CheckTxInputs lets the outputs exceed the inputs by.
  auto tx = RegistrationTx(kMeter3, kOwnerB, MeterRole::kProsumer, 777);
  ASSERT_EQ(tx.outputs.size(), 1u);
  const Coin coin{TxOut{Amount{500}, Condition::Key(TestPub(kOwnerC))}, 1, false};
  tx.inputs[0].satisfaction = Satisfaction::Sig(SignWith(kOwnerC, Sighash(tx, 0, coin.out)));
  const Transaction frozen(tx);
  const Coin* coins[] = {&coin};
  Amount fee;
  ValidationState s;
  // 500 in, 777 out: only valid with the grant minted.
  EXPECT_FALSE(CheckTxInputs(frozen, coins, 100, params(), fee, s));
  EXPECT_EQ(s.reason(), Reason::kTxInBelowOut);
  ValidationState s2;
  EXPECT_TRUE(CheckTxInputs(frozen, coins, 100, params(), fee, s2, nullptr, Amount{777})) << s2.ToString();
  EXPECT_EQ(fee, Amount{500});
  EXPECT_EQ(Apply(tx), Reason::kOk);
  EXPECT_EQ(m_minted, Amount{777});
}

TEST_F(MarketTest, AlreadyRegisteredMeter) {
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  EXPECT_EQ(Apply(RegistrationTx(kMeter1, kOwnerB, MeterRole::kConsumer)), Reason::kMeterAlreadyRegistered);
  // After deregistration it may be registered again (a new owner), keeping its registers.
  ASSERT_EQ(Apply(UtilityTx(MeterDeregistration{TestPub(kMeter1), {}})), Reason::kOk);
  EXPECT_EQ(Apply(RegistrationTx(kMeter1, kOwnerB, MeterRole::kConsumer), 101), Reason::kOk);
  EXPECT_EQ(MeterOf(kMeter1).owner, TestPub(kOwnerB));
  EXPECT_EQ(Reader().Globals().meters_registered, 1u);
}

TEST_F(MarketTest, RegistrationBadMeterKey) {
  MeterRegistration reg{AllOnesKey(), TestPub(kOwnerA), MeterRole::kProducer, 0, {}};
  EXPECT_EQ(Apply(UtilityTx(reg)), Reason::kMeterBadKey);
  reg = {TestPub(kMeter1), AllOnesKey(), MeterRole::kProducer, 0, {}};
  EXPECT_EQ(Apply(UtilityTx(reg)), Reason::kMeterBadKey);
}

TEST_F(MarketTest, DeregisteringAnUnregisteredMeter) {
  EXPECT_EQ(Apply(UtilityTx(MeterDeregistration{TestPub(kMeter1), {}})), Reason::kMeterUnregistered);
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  ASSERT_EQ(Apply(UtilityTx(MeterDeregistration{TestPub(kMeter1), {}})), Reason::kOk);
  EXPECT_FALSE(MeterOf(kMeter1).registered);
  EXPECT_EQ(Reader().Globals().meters_registered, 0u);
  // Twice: the second finds it deregistered.
  EXPECT_EQ(Apply(UtilityTx(MeterDeregistration{TestPub(kMeter1), {}})), Reason::kMeterUnregistered);
}

TEST_F(MarketTest, GrantOverThePerMeterBound) {
  const auto bound = static_cast<std::uint64_t>(params().max_grant_per_meter.units);
  EXPECT_EQ(Apply(RegistrationTx(kMeter1, kOwnerA, MeterRole::kProducer, bound + 1)), Reason::kMeterGrantTooLarge);
  // The bound counts all registrations of the meter.
  Register(kMeter1, kOwnerA, MeterRole::kProducer, bound - 10);
  ASSERT_EQ(Apply(UtilityTx(MeterDeregistration{TestPub(kMeter1), {}})), Reason::kOk);
  EXPECT_EQ(Apply(RegistrationTx(kMeter1, kOwnerA, MeterRole::kProducer, 11)), Reason::kMeterGrantTooLarge);
  EXPECT_EQ(Apply(RegistrationTx(kMeter1, kOwnerA, MeterRole::kProducer, 10)), Reason::kOk);
  EXPECT_EQ(MeterOf(kMeter1).granted, bound);
}

TEST_F(MarketTest, GrantOverTheTotalBound) {
  mutable_params().max_total_grants = Coins(15);
  Register(kMeter1, kOwnerA, MeterRole::kProducer, Coins(10).units);
  EXPECT_EQ(Apply(RegistrationTx(kMeter2, kOwnerA, MeterRole::kProducer, Coins(6).units)), Reason::kMeterGrantTotal);
  EXPECT_EQ(Apply(RegistrationTx(kMeter2, kOwnerA, MeterRole::kProducer, Coins(5).units)), Reason::kOk);
  EXPECT_EQ(Reader().Globals().grants_total, static_cast<std::uint64_t>(Coins(15).units));
  EXPECT_EQ(Apply(RegistrationTx(kMeter3, kOwnerA, MeterRole::kProducer, 1)), Reason::kMeterGrantTotal);
  EXPECT_EQ(Apply(RegistrationTx(kMeter3, kOwnerA, MeterRole::kProducer, 0)), Reason::kOk);
}

TEST_F(MarketTest, GrantOutputMissingOrWrong) {
  const MeterRegistration reg{TestPub(kMeter1), TestPub(kOwnerA), MeterRole::kProducer, 5000, {}};
  // Output 0 pays someone else, the wrong amount, or nothing like the grant.
  EXPECT_EQ(Apply(UtilityTx(reg, {{Amount{5000}, Condition::Key(TestPub(kOwnerB))}})), Reason::kMeterGrantOutput);
  EXPECT_EQ(Apply(UtilityTx(reg, {{Amount{4999}, Condition::Key(TestPub(kOwnerA))}})), Reason::kMeterGrantOutput);
  EXPECT_EQ(Apply(UtilityTx(reg, {{Amount{1000}, Condition::Key(TestPub(9))}})), Reason::kMeterGrantOutput);
  // The grant in output 1 is not output 0.
  EXPECT_EQ(Apply(UtilityTx(reg, {{Amount{1000}, Condition::Key(TestPub(9))}, {Amount{5000}, Condition::Key(TestPub(kOwnerA))}})),
            Reason::kMeterGrantOutput);
  EXPECT_EQ(Apply(UtilityTx(reg, {{Amount{5000}, Condition::Key(TestPub(kOwnerA))}, {Amount{1}, Condition::Key(TestPub(9))}})),
            Reason::kOk);
}

// ================================================================================================
// Utility signatures, keys and coefficients
// ================================================================================================

TEST_F(MarketTest, CoefficientChangeByANonUtilityKey) {
  EXPECT_EQ(Apply(UtilityTx(PriceCoefficients{3, 4, 5, {}}, TestKey(7))), Reason::kUtilityBadSignature);
  // Every utility record kind is checked.
  EXPECT_EQ(Apply(UtilityTx(MeterRegistration{TestPub(kMeter1), TestPub(kOwnerA), MeterRole::kProducer, 0, {}}, TestKey(7))),
            Reason::kUtilityBadSignature);
  EXPECT_EQ(Apply(UtilityTx(MeterDeregistration{TestPub(kMeter1), {}}, TestKey(7))), Reason::kUtilityBadSignature);
  EXPECT_EQ(Apply(UtilityTx(UtilityKeyRotation{TestPub(kNewUtility), {}}, TestKey(7))), Reason::kUtilityBadSignature);
  // The documented key of another network is another key.
  EXPECT_EQ(Apply(UtilityTx(PriceCoefficients{3, 4, 5, {}}, UtilitySecret(Network::kDevnet))), Reason::kUtilityBadSignature);
}

TEST_F(MarketTest, UtilitySignatureIsBoundToTheFirstInput) {
  auto tx = UtilityTx(PriceCoefficients{3, 4, 5, {}});
  tx.inputs[0].prevout.index += 1000;  // the signature covered the original outpoint
  EXPECT_EQ(Apply(tx), Reason::kUtilityBadSignature);
  // A second input does not matter; the first does.
  auto tx2 = UtilityTx(PriceCoefficients{3, 4, 5, {}});
  tx2.inputs.push_back({NextPrevout(), Satisfaction::Sig(Signature{})});
  EXPECT_EQ(Apply(tx2), Reason::kOk);
  std::swap(tx2.inputs[0], tx2.inputs[1]);
  EXPECT_EQ(Apply(tx2), Reason::kUtilityBadSignature);
}

TEST_F(MarketTest, RotatedOutKey) {
  const std::uint32_t h = 100;
  ASSERT_EQ(Apply(UtilityTx(UtilityKeyRotation{TestPub(kNewUtility), {}}), h), Reason::kOk);
  // At height h the old key is still in force (the rotation takes effect from the next block).
  EXPECT_EQ(Apply(UtilityTx(PriceCoefficients{2, 2, 2, {}}), h), Reason::kOk);
  EXPECT_EQ(Apply(UtilityTx(PriceCoefficients{2, 2, 2, {}}, TestKey(kNewUtility)), h), Reason::kUtilityBadSignature);
  // From h + 1 only the new key signs.
  EXPECT_EQ(Apply(UtilityTx(PriceCoefficients{2, 2, 2, {}}), h + 1), Reason::kUtilityBadSignature);
  EXPECT_EQ(Apply(UtilityTx(MeterRegistration{TestPub(kMeter1), TestPub(kOwnerA), MeterRole::kProducer, 0, {}}), h + 1),
            Reason::kUtilityBadSignature);
  EXPECT_EQ(Apply(UtilityTx(PriceCoefficients{2, 2, 2, {}}, TestKey(kNewUtility)), h + 1), Reason::kOk);
  EXPECT_EQ(Reader().Globals().utility_key, TestPub(kNewUtility));
  EXPECT_FALSE(Reader().Globals().has_pending_key);
  // And a funding names the new U from h + 1.
  EXPECT_EQ(Reader().Globals().UtilityKeyAt(h + 1), TestPub(kNewUtility));
}

TEST_F(MarketTest, RotationToTheSameKey) {
  EXPECT_EQ(Apply(UtilityTx(UtilityKeyRotation{params().utility_key, {}})), Reason::kUtilityBadKey);
  EXPECT_EQ(Apply(UtilityTx(UtilityKeyRotation{AllOnesKey(), {}})), Reason::kUtilityBadKey);  // not a point
}

TEST_F(MarketTest, CoefficientChangeTakesEffectFromTheNextSlot) {
  // Height 105 is in slot 10 (regtest: 10 blocks a slot).
  ASSERT_EQ(SlotOfHeight(105, params()), 10u);
  ASSERT_EQ(Apply(UtilityTx(PriceCoefficients{3, 5, 7, {}}), 105), Reason::kOk);
  const MarketReader rd = Reader();
  EXPECT_EQ(rd.PriceOfSlot(10), SlotPrice(1, 1, 1, 0));  // = 1
  EXPECT_EQ(rd.PriceOfSlot(10), 1u);
  EXPECT_EQ(rd.PriceOfSlot(11), 7u);  // no demand in slot 10: c
  const MarketGlobals g = rd.Globals();
  EXPECT_EQ(g.CoefficientsAt(10), (Coefficients{1, 1, 1}));
  EXPECT_EQ(g.CoefficientsAt(11), (Coefficients{3, 5, 7}));
  EXPECT_EQ(g.CoefficientsAt(1000), (Coefficients{3, 5, 7}));
  // A later change in slot 11 queues behind the one in force.
  ASSERT_EQ(Apply(UtilityTx(PriceCoefficients{0, 0, 9, {}}), 110), Reason::kOk);
  EXPECT_EQ(Reader().PriceOfSlot(11), 7u);
  EXPECT_EQ(Reader().PriceOfSlot(12), 9u);
  EXPECT_EQ(Reader().Globals().coefficients, (Coefficients{3, 5, 7}));
}

// ================================================================================================
// Readings
// ================================================================================================

TEST_F(MarketTest, ReadingsPay100UnitsPerExportedWhToTheOwner) {
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  Register(kMeter2, kOwnerB, MeterRole::kProsumer);
  Register(kMeter3, kOwnerA, MeterRole::kConsumer);
  ASSERT_EQ(params().reward_units_per_mwh, 100'000'000u);
  const auto tx = ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, 1234, 0, 1234),
                              MakeReading(kMeter2, kT0 - 900, 900, 10, 50, 10, 50),
                              MakeReading(kMeter3, kT0 - 900, 900, 300, 40, 300, 40)});  // consumer: no reward
  ASSERT_EQ(tx.outputs.size(), 2u);
  EXPECT_EQ(tx.outputs[0], (TxOut{Amount{123'400}, Condition::Key(TestPub(kOwnerA))}));
  EXPECT_EQ(tx.outputs[1], (TxOut{Amount{5'000}, Condition::Key(TestPub(kOwnerB))}));
  ASSERT_EQ(Apply(tx), Reason::kOk) << m_last.ToString();
  EXPECT_EQ(m_minted, Amount{128'400});
  EXPECT_EQ(Reader().OwnerRewards(TestPub(kOwnerA)), 123'400u);
  EXPECT_EQ(Reader().OwnerRewards(TestPub(kOwnerB)), 5'000u);
  const MeterState m1 = MeterOf(kMeter1);
  EXPECT_EQ(m1.rewarded, 123'400u);
  EXPECT_EQ(m1.exported_wh, 1234u);
  EXPECT_EQ(m1.readings, 1u);
  EXPECT_EQ(m1.last_start, kT0 - 900);
  EXPECT_EQ(m1.last_end, kT0);
  EXPECT_EQ(MeterOf(kMeter3).rewarded, 0u);
  EXPECT_EQ(MeterOf(kMeter3).imported_wh, 300u);
  const MarketGlobals g = Reader().Globals();
  EXPECT_EQ(g.rewards_total, 128'400u);
  EXPECT_EQ(g.readings_total, 3u);
  // Two meters of one owner in one batch: one output, in first-appearance order.
  const auto tx2 = ReadingsTx({MakeReading(kMeter2, kT0, 900, 0, 1, 10, 51), MakeReading(kMeter1, kT0, 900, 0, 2, 0, 1236),
                               MakeReading(kMeter1, kT0 + 900, 900, 0, 3, 0, 1239)});
  ASSERT_EQ(tx2.outputs.size(), 2u);
  EXPECT_EQ(tx2.outputs[0], (TxOut{Amount{100}, Condition::Key(TestPub(kOwnerB))}));
  EXPECT_EQ(tx2.outputs[1], (TxOut{Amount{500}, Condition::Key(TestPub(kOwnerA))}));
  EXPECT_EQ(Apply(tx2, 101, kT0 + 1800), Reason::kOk) << m_last.ToString();
  EXPECT_EQ(m_minted, Amount{600});
  // A readings transaction that earns nothing has no outputs.
  const auto tx3 = ReadingsTx({MakeReading(kMeter3, kT0, 900, 5, 0, 305, 40)});
  EXPECT_TRUE(tx3.outputs.empty());
  EXPECT_EQ(Apply(tx3, 101, kT0 + 900), Reason::kOk);
  EXPECT_EQ(m_minted, Amount{0});
}

TEST_F(MarketTest, RewardRemaindersAreCarried) {
  mutable_params().reward_units_per_mwh = 1'234'567;  // 1.234567 units per Wh
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  Register(kMeter2, kOwnerB, MeterRole::kProsumer);
  std::mt19937_64 rng(TestSeed());
  std::uint64_t reg1 = 0, reg2 = 0, total1 = 0, total2 = 0, paid1 = 0, paid2 = 0;
  std::uint64_t t = kT0 - 1'000'000;
  for (int i = 0; i < 400; ++i) {
    const std::uint64_t e1 = rng() % 1000, e2 = rng() % 3;
    reg1 += e1;
    reg2 += e2;
    total1 += e1;
    total2 += e2;
    const auto tx = ReadingsTx({MakeReading(kMeter1, t, 60, 0, e1, 0, reg1, params()),
                                MakeReading(kMeter2, t, 60, 0, e2, 0, reg2, params())});
    ASSERT_EQ(Apply(tx, 100 + static_cast<std::uint32_t>(i), kT0), Reason::kOk) << i << ": " << m_last.ToString();
    for (const auto& out : tx.outputs) (out.condition == Condition::Key(TestPub(kOwnerA)) ? paid1 : paid2) += static_cast<std::uint64_t>(out.amount.units);
    EXPECT_EQ(static_cast<std::uint64_t>(m_minted.units),
              [&] { std::uint64_t s = 0; for (const auto& o : tx.outputs) s += static_cast<std::uint64_t>(o.amount.units); return s; }());
    // No watt-hour lost or counted twice: everything paid so far is floor(total * rate / 10^6).
    ASSERT_EQ(paid1, total1 * 1'234'567 / 1'000'000);
    ASSERT_EQ(paid2, total2 * 1'234'567 / 1'000'000);
    EXPECT_EQ(MeterOf(kMeter1).reward_carry, total1 * 1'234'567 % 1'000'000);
    t += 60;
  }
  EXPECT_EQ(MeterOf(kMeter1).rewarded, paid1);
  EXPECT_EQ(Reader().Globals().rewards_total, paid1 + paid2);
}

TEST_F(MarketTest, ReadingOfAnUnregisteredMeter) {
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, 1, 0, 1)})), Reason::kReadingUnknownMeter);
}

TEST_F(MarketTest, ReadingOfADeregisteredMeter) {
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  ASSERT_EQ(Apply(UtilityTx(MeterDeregistration{TestPub(kMeter1), {}})), Reason::kOk);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, 1, 0, 1)}), 101), Reason::kReadingDeregisteredMeter);
}

TEST_F(MarketTest, ReadingSignedByTheWrongKey) {
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  Reading r = MakeReading(kMeter1, kT0 - 900, 900, 0, 1, 0, 1);
  r.sig = TestKey(kMeter2).Sign(ReadingSigHash(params(), r), Hash256{});
  EXPECT_EQ(Apply(ReadingsTx({r})), Reason::kReadingBadSignature);
  r.sig = {};
  EXPECT_EQ(Apply(ReadingsTx({r})), Reason::kReadingBadSignature);
  // A changed field breaks a good signature.
  r = MakeReading(kMeter1, kT0 - 900, 900, 0, 1, 0, 1);
  r.import_register = 5;
  r.import_wh = 5;
  EXPECT_EQ(Apply(ReadingsTx({r})), Reason::kReadingBadSignature);
}

TEST_F(MarketTest, ReadingSignedForAnotherNetwork) {
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  const Reading devnet = MakeReading(kMeter1, kT0 - 900, 900, 0, 1, 0, 1, GetParams(Network::kDevnet));
  EXPECT_NE(ReadingSigHash(GetParams(Network::kDevnet), devnet), ReadingSigHash(params(), devnet));
  EXPECT_EQ(Apply(ReadingsTx({devnet})), Reason::kReadingBadSignature);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, 1, 0, 1)})), Reason::kOk);
}

TEST_F(MarketTest, DecreasingRegister) {
  Register(kMeter1, kOwnerA, MeterRole::kProsumer);
  ASSERT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 1800, 900, 10, 20, 100, 200)})), Reason::kOk);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, 0, 99, 200)})), Reason::kReadingRegisterDecrease);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, 0, 100, 199)})), Reason::kReadingRegisterDecrease);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, 0, 100, 200)})), Reason::kOk);
}

TEST_F(MarketTest, IntervalEnergyIsNotTheRegisterDelta) {
  Register(kMeter1, kOwnerA, MeterRole::kProsumer);
  // First reading: the interval's energy cannot exceed the register.
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 1800, 900, 0, 201, 100, 200)})), Reason::kReadingEnergyMismatch);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 1800, 900, 101, 0, 100, 200)})), Reason::kReadingEnergyMismatch);
  ASSERT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 1800, 900, 10, 20, 100, 200)})), Reason::kOk);
  // Then it must be exactly the delta, both ways.
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 5, 6, 105, 207)})), Reason::kReadingEnergyMismatch);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 4, 7, 105, 207)})), Reason::kReadingEnergyMismatch);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 5, 7, 105, 207)})), Reason::kOk);
}

TEST_F(MarketTest, OverlappingInterval) {
  Register(kMeter1, kOwnerA, MeterRole::kProsumer);
  ASSERT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 1800, 900, 0, 0, 0, 0)})), Reason::kOk);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 901, 900, 0, 0, 0, 0)})), Reason::kReadingOverlap);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 1800, 100, 0, 0, 0, 0)})), Reason::kReadingOverlap);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 3600, 900, 0, 0, 0, 0)})), Reason::kReadingOverlap);  // earlier
  // Adjacent is fine, and so is a gap.
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 300, 0, 0, 0, 0)})), Reason::kOk);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 100, 100, 0, 0, 0, 0)})), Reason::kOk);
}

TEST_F(MarketTest, FutureInterval) {
  Register(kMeter1, kOwnerA, MeterRole::kProsumer);
  const std::uint64_t future = params().max_reading_future;
  // end = block_time + max_reading_future is the last allowed end.
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 + future - 899, 900, 0, 0, 0, 0)})), Reason::kReadingFuture);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 + future - 900, 900, 0, 0, 0, 0)})), Reason::kOk);
  EXPECT_EQ(ReasonCategory(Reason::kReadingFuture), Category::kPremature);
}

TEST_F(MarketTest, ZeroOrOversizeLength) {
  Register(kMeter1, kOwnerA, MeterRole::kProsumer);
  const std::uint32_t longest = params().max_reading_length;
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 0, 0, 0, 0, 0)})), Reason::kReadingInterval);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - longest - 1, longest + 1, 0, 0, 0, 0)})), Reason::kReadingInterval);
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - longest, longest, 0, 0, 0, 0)})), Reason::kOk);
}

TEST_F(MarketTest, DuplicateReading) {
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  const Reading r = MakeReading(kMeter1, kT0 - 900, 900, 0, 10, 0, 10);
  EXPECT_EQ(Apply(ReadingsTx({r, r})), Reason::kReadingDuplicate);
  ASSERT_EQ(Apply(ReadingsTx({r})), Reason::kOk);
  // Again in a later transaction (and a later block).
  EXPECT_EQ(Apply(ReadingsTx({r})), Reason::kReadingDuplicate);
  EXPECT_EQ(Apply(ReadingsTx({r}), 150, kT0 + 10'000), Reason::kReadingDuplicate);
}

TEST_F(MarketTest, RewardOutputsWrong) {
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  const std::vector<Reading> batch{MakeReading(kMeter1, kT0 - 900, 900, 0, 10, 0, 10)};
  const TxOut good{Amount{1000}, Condition::Key(TestPub(kOwnerA))};
  EXPECT_EQ(Apply(ReadingsTx(batch, std::vector<TxOut>{})), Reason::kReadingReward);
  EXPECT_EQ(Apply(ReadingsTx(batch, std::vector<TxOut>{{Amount{1001}, good.condition}})), Reason::kReadingReward);
  EXPECT_EQ(Apply(ReadingsTx(batch, std::vector<TxOut>{{Amount{999}, good.condition}})), Reason::kReadingReward);
  EXPECT_EQ(Apply(ReadingsTx(batch, std::vector<TxOut>{{good.amount, Condition::Key(TestPub(kOwnerB))}})), Reason::kReadingReward);
  EXPECT_EQ(Apply(ReadingsTx(batch, std::vector<TxOut>{good, {Amount{0}, good.condition}})), Reason::kReadingReward);
  EXPECT_EQ(Apply(ReadingsTx(batch, std::vector<TxOut>{good})), Reason::kOk);
  // No reward, but an output anyway.
  const std::vector<Reading> none{MakeReading(kMeter1, kT0, 60, 0, 0, 0, 10)};
  EXPECT_EQ(Apply(ReadingsTx(none, std::vector<TxOut>{{Amount{0}, good.condition}}), 100, kT0 + 60), Reason::kReadingReward);
}

TEST_F(MarketTest, RewardOverflow) {
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  Register(kMeter2, kOwnerA, MeterRole::kProducer);
  // 10^14 Wh at 100 units a Wh is 10^16 units, above all money (2.1 * 10^15).
  const std::uint64_t huge = 100'000'000'000'000;
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, huge, 0, huge)})), Reason::kReadingRewardOverflow);
  // Each below all money, their sum above it (one owner, one output).
  const std::uint64_t big = 12'000'000'000'000;  // 1.2 * 10^15 units
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, big, 0, big), MakeReading(kMeter2, kT0 - 900, 900, 0, big, 0, big)})),
            Reason::kReadingRewardOverflow);
  ASSERT_EQ(Apply(ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, big, 0, big)})), Reason::kOk);
  EXPECT_EQ(m_minted, Amount{1'200'000'000'000'000});
  // Across transactions: the chain's reward total is bounded by all money too.
  EXPECT_EQ(Apply(ReadingsTx({MakeReading(kMeter2, kT0 - 900, 900, 0, big, 0, big)})), Reason::kReadingRewardOverflow);
}

// ================================================================================================
// Channel funding
// ================================================================================================

TEST_F(MarketTest, FundingValid) {
  SetUpFundingMeters();
  const ChannelFunding f = GoodFunding();
  ASSERT_EQ(Apply(FundingTx(f)), Reason::kOk) << m_last.ToString();
  EXPECT_EQ(m_minted, Amount{0});
  EXPECT_EQ(Reader().Demand(10), 5'000u);
  EXPECT_EQ(Reader().Globals().channels_funded, 1u);
}

TEST_F(MarketTest, DemandOfASlotSetsTheNextSlotsPrice) {
  SetUpFundingMeters();
  // Coefficients 3, 5, 7 from slot 10 (set in slot 9).
  ASSERT_EQ(Apply(UtilityTx(PriceCoefficients{3, 5, 7, {}}), 95), Reason::kOk);
  ASSERT_EQ(Reader().PriceOfSlot(10), 7u);  // slot 9 had no demand
  ChannelFunding f = GoodFunding();
  f.price = 7;
  f.energy_wh = 12'345;
  f.cwa = 87;  // ceil(12345 * 7 / 1000) = ceil(86.415)
  ASSERT_EQ(Apply(FundingTx(f), 100), Reason::kOk) << m_last.ToString();
  f.energy_wh = 700;  // a second funding in the same slot adds to its demand
  f.cwa = 5;
  ASSERT_EQ(Apply(FundingTx(f), 109), Reason::kOk) << m_last.ToString();
  EXPECT_EQ(Reader().Demand(10), 13'045u);
  // D = 13 whole kWh: p = 3 * 169 + 5 * 13 + 7.
  EXPECT_EQ(Reader().PriceOfSlot(11), 3u * 169 + 5 * 13 + 7);  // 579
  EXPECT_EQ(Reader().PriceOfSlot(12), 7u);
  f.slot = 11;
  f.price = 579;
  f.energy_wh = 1000;
  f.cwa = 579;
  EXPECT_EQ(Apply(FundingTx(f), 110), Reason::kOk) << m_last.ToString();
}

TEST_F(MarketTest, FundingWrongSlotPrice) {
  SetUpFundingMeters();
  ChannelFunding f = GoodFunding();
  f.price = 2;
  f.cwa = 10;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingPrice);
  f.price = 0;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingPrice);
  EXPECT_EQ(ReasonCategory(Reason::kFundingPrice), Category::kPremature);
}

TEST_F(MarketTest, FundingWrongSlot) {
  SetUpFundingMeters();
  ChannelFunding f = GoodFunding();
  f.slot = 9;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingSlot);
  f.slot = 11;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingSlot);
  f.slot = 10;
  EXPECT_EQ(Apply(FundingTx(f), 110), Reason::kFundingSlot);  // height 110 is slot 11
  EXPECT_EQ(Apply(FundingTx(f), 109), Reason::kOk);
}

TEST_F(MarketTest, FundingWrongKeys) {
  SetUpFundingMeters();
  ChannelFunding f = GoodFunding();
  f.utility = TestPub(kNewUtility);  // U is not the utility key
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingKeys);
  // A == B, A == U: the matching channel output is refused by CheckTransaction already, so
  // the output here has three different keys and the record's own check must refuse it.
  const ChannelFunding g = GoodFunding();
  const TxOut distinct{Amount{1105}, Condition::Channel(g.consumer, g.producer, g.utility, g.expiry, g.contest_window)};
  f = GoodFunding();
  f.producer = f.consumer;  // A == B
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kTxBadCondition);
  EXPECT_EQ(Apply(FundingTx(f, distinct)), Reason::kFundingKeys);
  f = GoodFunding();
  f.consumer = f.utility;  // A == U
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kTxBadCondition);
  EXPECT_EQ(Apply(FundingTx(f, distinct)), Reason::kFundingKeys);
  f = GoodFunding();
  f.producer = f.utility;  // B == U
  EXPECT_EQ(Apply(FundingTx(f, distinct)), Reason::kFundingKeys);
  f = GoodFunding();
  f.producer = AllOnesKey();  // not a point
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingKeys);
}

TEST_F(MarketTest, FundingUnderpaid) {
  SetUpFundingMeters();
  ChannelFunding f = GoodFunding();
  f.energy_wh = 5'001;  // 5.001 units: CwA must be 6
  f.cwa = 5;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingUnderpaid);
  f.cwa = 6;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kOk);
}

TEST_F(MarketTest, FundingExpiry) {
  SetUpFundingMeters();
  ChannelFunding f = GoodFunding();
  f.expiry = 99;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingExpiry);
  f.expiry = 100;  // not after the funding height
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingExpiry);
  f.expiry = 100 + params().max_channel_lifetime + 1;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingExpiry);
  f.expiry = 100 + params().max_channel_lifetime;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kOk);
}

TEST_F(MarketTest, FundingWindow) {
  SetUpFundingMeters();
  ChannelFunding f = GoodFunding();
  f.contest_window = 0;
  // The channel output of window 0 is itself not a valid condition, so the output names window 1.
  const TxOut out{Amount{1105}, Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, 1)};
  EXPECT_EQ(Apply(FundingTx(f, out)), Reason::kFundingWindow);
  // With the output matching it, CheckTransaction already refuses it.
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kTxBadCondition);
  f.contest_window = params().max_contest_window + 1;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingWindow);
  f.contest_window = params().max_contest_window;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kOk);
}

TEST_F(MarketTest, FundingEmptyDeliveryInterval) {
  SetUpFundingMeters();
  ChannelFunding f = GoodFunding();
  f.delivery_end = f.delivery_start;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingInterval);
}

TEST_F(MarketTest, FundingOutputConditionWrong) {
  SetUpFundingMeters();
  const ChannelFunding f = GoodFunding();
  const Amount total{1105};
  EXPECT_EQ(Apply(FundingTx(f, TxOut{total, Condition::Key(f.consumer)})), Reason::kFundingOutput);
  EXPECT_EQ(Apply(FundingTx(f, TxOut{total, Condition::Channel(f.producer, f.consumer, f.utility, f.expiry, f.contest_window)})),
            Reason::kFundingOutput);  // A and B swapped
  EXPECT_EQ(Apply(FundingTx(f, TxOut{total, Condition::Channel(f.consumer, f.producer, f.utility, f.expiry + 1, f.contest_window)})),
            Reason::kFundingOutput);
  EXPECT_EQ(Apply(FundingTx(f, TxOut{total, Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window + 1)})),
            Reason::kFundingOutput);
  EXPECT_EQ(Apply(FundingTx(f, TxOut{total, Condition::Multisig(2, {f.consumer, f.producer, f.utility})})), Reason::kFundingOutput);
}

TEST_F(MarketTest, FundingAmountWrong) {
  SetUpFundingMeters();
  const ChannelFunding f = GoodFunding();
  const Condition ch = Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window);
  EXPECT_EQ(Apply(FundingTx(f, TxOut{Amount{1104}, ch})), Reason::kFundingAmount);
  EXPECT_EQ(Apply(FundingTx(f, TxOut{Amount{1106}, ch})), Reason::kFundingAmount);
  EXPECT_EQ(Apply(FundingTx(f, TxOut{Amount{1105}, ch})), Reason::kOk);
}

TEST_F(MarketTest, FundingMeterNotOwnedOrWrongRole) {
  SetUpFundingMeters();
  Register(kMeter3, kOwnerC, MeterRole::kProsumer);
  Register(24, kOwnerA, MeterRole::kProducer);  // A's, but a producer meter
  Register(25, kOwnerB, MeterRole::kConsumer);  // B's, but a consumer meter
  ChannelFunding f = GoodFunding();
  f.consumer_meter = TestPub(kMeter3);  // owned by C
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingMeter);
  f = GoodFunding();
  f.producer_meter = TestPub(kMeter3);
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingMeter);
  f = GoodFunding();
  f.consumer_meter = TestPub(24);
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingMeter);
  f = GoodFunding();
  f.producer_meter = TestPub(25);
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingMeter);
  f = GoodFunding();
  f.producer_meter = TestPub(30);  // never registered
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingMeter);
  // A deregistered meter does not count either.
  ASSERT_EQ(Apply(UtilityTx(MeterDeregistration{TestPub(kMeter2), {}})), Reason::kOk);
  EXPECT_EQ(Apply(FundingTx(GoodFunding())), Reason::kFundingMeter);
}

TEST_F(MarketTest, FundingEnergyZero) {
  SetUpFundingMeters();
  ChannelFunding f = GoodFunding();
  f.energy_wh = 0;
  f.cwa = 0;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingEnergy);
}

// ================================================================================================
// 2^64 - 1 (and 2^32 - 1) in every field, for each record kind
// ================================================================================================

TEST_F(MarketTest, AllOnesRegistration) {
  // The role byte 0xff is no role: the payload does not decode.
  MeterRegistration reg{AllOnesKey(), AllOnesKey(), static_cast<MeterRole>(0xff), kMax64, AllOnesSig()};
  MutableTransaction tx;
  tx.inputs.push_back({NextPrevout(), Satisfaction::Sig(Signature{})});
  tx.outputs.push_back({Amount{1}, Condition::Key(TestPub(9))});
  tx.record = MakeRecord(reg);
  EXPECT_EQ(Apply(tx), Reason::kTxRecordPayload);
  // The highest role, signed: keys are not points.
  reg.role = MeterRole::kProsumer;
  EXPECT_EQ(Apply(UtilityTx(reg)), Reason::kMeterBadKey);
  // Unsigned: the signature comes first.
  tx.record = MakeRecord(reg);
  EXPECT_EQ(Apply(tx), Reason::kUtilityBadSignature);
  // Good keys, the grant 2^64 - 1: bounded, no overflow.
  reg.meter = TestPub(kMeter1);
  reg.owner = TestPub(kOwnerA);
  EXPECT_EQ(Apply(UtilityTx(reg, {{kMaxMoney, Condition::Key(TestPub(kOwnerA))}})), Reason::kMeterGrantTooLarge);
}

TEST_F(MarketTest, AllOnesDeregistration) {
  EXPECT_EQ(Apply(UtilityTx(MeterDeregistration{AllOnesKey(), AllOnesSig()})), Reason::kMeterUnregistered);
}

TEST_F(MarketTest, AllOnesCoefficientsSaturateThePrice) {
  SetUpFundingMeters();
  ASSERT_EQ(Apply(UtilityTx(PriceCoefficients{kMax64, kMax64, kMax64, AllOnesSig()}), 95), Reason::kOk);
  EXPECT_EQ(Reader().PriceOfSlot(10), kMaxPrice);
  // A funding at the saturated price: 1 Wh costs ceil(kMaxPrice / 1000); all of them cost more than all money.
  ChannelFunding f = GoodFunding();
  f.price = kMaxPrice;
  f.energy_wh = kMax64;
  f.cwa = static_cast<std::uint64_t>(kMaxMoney.units);
  f.cwb = f.cwu = 0;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kFundingUnderpaid);
  f.energy_wh = 1;
  f.cwa = (kMaxPrice + 999) / 1000;
  EXPECT_EQ(Apply(FundingTx(f)), Reason::kOk) << m_last.ToString();
}

TEST_F(MarketTest, AllOnesRotation) {
  EXPECT_EQ(Apply(UtilityTx(UtilityKeyRotation{AllOnesKey(), AllOnesSig()})), Reason::kUtilityBadKey);
  MutableTransaction tx = UtilityTx(UtilityKeyRotation{AllOnesKey(), {}});
  tx.record = MakeRecord(UtilityKeyRotation{AllOnesKey(), AllOnesSig()});
  EXPECT_EQ(Apply(tx), Reason::kUtilityBadSignature);
}

TEST_F(MarketTest, AllOnesReading) {
  Reading r;
  r.meter = AllOnesKey();
  r.start = kMax64;
  r.length = kMax32;
  r.import_wh = r.export_wh = r.import_register = r.export_register = kMax64;
  r.sig = AllOnesSig();
  EXPECT_EQ(Apply(ReadingsTx({r})), Reason::kReadingUnknownMeter);
  Register(kMeter1, kOwnerA, MeterRole::kProsumer);
  r.meter = TestPub(kMeter1);
  EXPECT_EQ(Apply(ReadingsTx({r})), Reason::kReadingInterval);  // length 2^32 - 1
  r.length = 60;
  EXPECT_EQ(Apply(ReadingsTx({r})), Reason::kReadingInterval);  // start + length overflows
  r.start = kMax64 - 60;
  EXPECT_EQ(Apply(ReadingsTx({r})), Reason::kReadingFuture);
  EXPECT_EQ(Apply(ReadingsTx({r}), kMax32, kMax64), Reason::kReadingBadSignature);
  r = MakeReading(kMeter1, kMax64 - 60, 60, kMax64, kMax64, kMax64, kMax64);
  // At the end of time: the registers are consistent; the reward of 2^64 - 1 Wh overflows.
  EXPECT_EQ(Apply(ReadingsTx({r}, std::vector<TxOut>{}), kMax32, kMax64), Reason::kReadingRewardOverflow);
  // Not exporting: counted without overflow (counters saturate).
  r = MakeReading(kMeter1, kMax64 - 60, 60, kMax64, 0, kMax64, 0);
  EXPECT_EQ(Apply(ReadingsTx({r}), kMax32, kMax64), Reason::kOk) << m_last.ToString();
  EXPECT_EQ(MeterOf(kMeter1).imported_wh, kMax64);
  EXPECT_EQ(MeterOf(kMeter1).last_end, kMax64);
}

TEST_F(MarketTest, AllOnesFunding) {
  SetUpFundingMeters();
  ChannelFunding f;
  f.consumer = f.producer = f.utility = f.consumer_meter = f.producer_meter = AllOnesKey();
  f.energy_wh = f.price = f.cwa = f.cwb = f.cwu = f.delivery_start = f.delivery_end = kMax64;
  f.slot = f.expiry = f.contest_window = kMax32;
  const TxOut out{kMaxMoney, Condition::Key(TestPub(9))};
  EXPECT_EQ(Apply(FundingTx(f, out)), Reason::kFundingKeys);
  // Good keys and meters; every number 2^64 - 1 / 2^32 - 1.
  const ChannelFunding good = GoodFunding();
  f.consumer = good.consumer;
  f.producer = good.producer;
  f.utility = good.utility;
  f.consumer_meter = good.consumer_meter;
  f.producer_meter = good.producer_meter;
  EXPECT_EQ(Apply(FundingTx(f, out)), Reason::kFundingSlot);
  f.slot = 10;
  EXPECT_EQ(Apply(FundingTx(f, out)), Reason::kFundingPrice);
  f.price = 1;
  EXPECT_EQ(Apply(FundingTx(f, out)), Reason::kFundingUnderpaid);  // 2^64 - 1 Wh cost more than all money
  f.energy_wh = good.energy_wh;
  EXPECT_EQ(Apply(FundingTx(f, out)), Reason::kFundingExpiry);  // 2^32 - 1 is too far ahead
  f.expiry = good.expiry;
  EXPECT_EQ(Apply(FundingTx(f, out)), Reason::kFundingWindow);
  f.contest_window = good.contest_window;
  EXPECT_EQ(Apply(FundingTx(f, out)), Reason::kFundingInterval);  // start == end
  f.delivery_start = 0;
  EXPECT_EQ(Apply(FundingTx(f, out)), Reason::kFundingAmount);  // CwA + CwB + CwU overflow
  f.cwb = f.cwu = 0;  // CwA alone above all money
  EXPECT_EQ(Apply(FundingTx(f, out)), Reason::kFundingAmount);
}

TEST_F(MarketTest, FundingDemandSaturates) {
  SetUpFundingMeters();
  ChannelFunding f = GoodFunding();
  ASSERT_EQ(Apply(UtilityTx(PriceCoefficients{0, 0, 0, {}}), 95), Reason::kOk);
  f.price = 0;
  f.energy_wh = kMax64;
  f.cwa = 0;
  ASSERT_EQ(Apply(FundingTx(f)), Reason::kOk) << m_last.ToString();
  ASSERT_EQ(Apply(FundingTx(f)), Reason::kOk) << m_last.ToString();
  EXPECT_EQ(Reader().Demand(10), kMax64);
}

// ================================================================================================
// CheckTransaction / CheckTxInputs: the market's shapes and the channel condition
// ================================================================================================

TEST_F(MarketTest, ReadingsTransactionWithInputs) {
  Register(kMeter1, kOwnerA, MeterRole::kProducer);
  auto tx = ReadingsTx({MakeReading(kMeter1, kT0 - 900, 900, 0, 10, 0, 10)});
  tx.inputs.push_back({NextPrevout(), Satisfaction::Sig(Signature{})});
  ValidationState s;
  EXPECT_FALSE(CheckTransaction(Transaction(tx), s));
  EXPECT_EQ(s.reason(), Reason::kTxReadingsInputs);
  EXPECT_EQ(ReasonCode(s.reason()), "bad-readings-inputs");
}

TEST(MarketShape, NoInputsWithoutCoinbaseOrReadingsRecord) {
  MutableTransaction tx;
  tx.outputs.push_back({Amount{1}, Condition::Key(TestPub(1))});
  ValidationState s;
  EXPECT_FALSE(CheckTransaction(Transaction(tx), s));
  EXPECT_EQ(s.reason(), Reason::kTxNoInputs);
  EXPECT_EQ(ReasonCode(s.reason()), "bad-txns-vin-empty");
  // Nor with another market record.
  tx.record = MakeRecord(PriceCoefficients{1, 2, 3, {}});
  ValidationState s2;
  EXPECT_FALSE(CheckTransaction(Transaction(tx), s2));
  EXPECT_EQ(s2.reason(), Reason::kTxNoInputs);
  tx.record = MakeRecord(MeterRegistration{TestPub(21), TestPub(1), MeterRole::kProducer, 1, {}});
  ValidationState s3;
  EXPECT_FALSE(CheckTransaction(Transaction(tx), s3));
  EXPECT_EQ(s3.reason(), Reason::kTxNoInputs);
  // And ApplyMarketRecord refuses a utility record without an input to sign over.
  EmptyMarketStore empty;
  MarketOverlay ov(&empty);
  Amount minted;
  ValidationState s4;
  EXPECT_FALSE(ApplyMarketRecord(Transaction(tx), {100, kT0}, Regtest(), ov, minted, s4));
  EXPECT_EQ(s4.reason(), Reason::kTxNoInputs);
}

TEST(MarketShape, UndecodablePayload) {
  MutableTransaction tx;
  tx.inputs.push_back({OutPoint{Filled(1), 0}, Satisfaction::Sig(Signature{})});
  tx.outputs.push_back({Amount{1}, Condition::Key(TestPub(1))});
  tx.record = MakeRecord(PriceCoefficients{1, 2, 3, {}});
  tx.record.payload.pop_back();
  ValidationState s;
  EXPECT_FALSE(CheckTransaction(Transaction(tx), s));
  EXPECT_EQ(s.reason(), Reason::kTxRecordPayload);
  EXPECT_EQ(ReasonCode(s.reason()), "bad-txns-record-payload");
  // A readings record that does not decode, with no inputs.
  MutableTransaction r;
  r.record.kind = RecordKind::kReadings;
  r.record.version = kMarketRecordVersion;
  r.record.payload = {0x00, 0x00};  // empty batch
  ValidationState s2;
  EXPECT_FALSE(CheckTransaction(Transaction(r), s2));
  EXPECT_EQ(s2.reason(), Reason::kTxRecordPayload);
}

TEST(MarketShape, ChannelOutputs) {
  const XOnlyPubKey a = TestPub(1), b = TestPub(2), u = TestPub(3);
  MutableTransaction tx;
  tx.inputs.push_back({OutPoint{Filled(1), 0}, Satisfaction::Sig(Signature{})});
  tx.outputs.push_back({Coins(1), Condition::Channel(a, b, u, 500, 10)});
  ValidationState s;
  EXPECT_TRUE(CheckTransaction(Transaction(tx), s)) << s.ToString();
  // Round trip of the condition's encoding: tag 6, A, B, U, T, window.
  const Bytes enc = EncodeCondition(tx.outputs[0].condition);
  ASSERT_EQ(enc.size(), 1u + 96 + 4 + 4);
  EXPECT_EQ(enc[0], 6);
  Condition back;
  ASSERT_EQ(DecodeCondition(enc, back), DecodeError::kOk);
  EXPECT_EQ(back, tx.outputs[0].condition);
  // Nested in Or (either side) or under a lock: bad-txns-condition.
  for (const Condition& nested : {Condition::Or(Condition::Channel(a, b, u, 500, 10), Condition::Key(a)),
                                  Condition::Or(Condition::Key(a), Condition::Channel(a, b, u, 500, 10)),
                                  Condition::AfterHeight(5, Condition::Channel(a, b, u, 500, 10))}) {
    tx.outputs[0].condition = nested;
    ValidationState n;
    EXPECT_FALSE(CheckTransaction(Transaction(tx), n));
    EXPECT_EQ(n.reason(), Reason::kTxBadCondition);
    EXPECT_EQ(ReasonCode(n.reason()), "bad-txns-condition");
  }
  // Two equal keys, or no contest window.
  for (const Condition& bad : {Condition::Channel(a, a, u, 500, 10), Condition::Channel(a, b, b, 500, 10),
                               Condition::Channel(u, b, u, 500, 10), Condition::Channel(a, b, u, 500, 0)}) {
    tx.outputs[0].condition = bad;
    ValidationState n;
    EXPECT_FALSE(CheckTransaction(Transaction(tx), n));
    EXPECT_EQ(n.reason(), Reason::kTxBadCondition);
  }
}

TEST(MarketShape, ChannelOutputIsNotSpendable) {
  const Coin coin{TxOut{Coins(2), Condition::Channel(TestPub(1), TestPub(2), TestPub(3), 10, 5)}, 1, false};
  auto tx = MakeSpend(OutPoint{Filled(0x44), 0}, Coins(1));
  for (const Satisfaction& sat :
       {Satisfaction::Sig(SignWith(1, Sighash(tx, 0, coin.out))),
        Satisfaction::Multi(0b011, {SignWith(1, Sighash(tx, 0, coin.out)), SignWith(2, Sighash(tx, 0, coin.out))}),
        Satisfaction::Branch(0, Satisfaction::Sig(SignWith(1, Sighash(tx, 0, coin.out))))}) {
    tx.inputs[0].satisfaction = sat;
    const Transaction frozen(tx);
    const Coin* coins[] = {&coin};
    for (std::uint32_t height : {5u, 10u, 11u, 1000u}) {
      Amount fee;
      ValidationState s;
      EXPECT_FALSE(CheckTxInputs(frozen, coins, height, Regtest(), fee, s));
      EXPECT_EQ(s.reason(), Reason::kTxChannelPath);
      EXPECT_EQ(ReasonCode(s.reason()), "bad-txns-channel-path");
    }
  }
}

TEST(MarketShape, FundingWithoutOutputs) {
  MutableTransaction tx;
  tx.inputs.push_back({OutPoint{Filled(1), 0}, Satisfaction::Sig(Signature{})});
  tx.record = MakeRecord(ChannelFunding{});
  ValidationState s;
  EXPECT_FALSE(CheckTransaction(Transaction(tx), s));
  EXPECT_EQ(s.reason(), Reason::kTxNoOutputs);
}

TEST(MarketShape, EveryMarketReasonHasACode) {
  for (int r : {20, 21, 39, 80, 81, 82, 83, 84, 85, 86, 87, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100,
                110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120}) {
    const auto reason = static_cast<Reason>(r);
    EXPECT_NE(ReasonCode(reason), "unknown-reason") << r;
  }
  // Distinct codes.
  std::set<std::string_view> codes;
  for (int r = 0; r <= 120; ++r)
    if (ReasonCode(static_cast<Reason>(r)) != "unknown-reason") {
      EXPECT_TRUE(codes.insert(ReasonCode(static_cast<Reason>(r))).second) << r;
    }
}

// ================================================================================================
// Arithmetic
// ================================================================================================

namespace {
__extension__ typedef unsigned __int128 u128;

// An independent SlotPrice: division-based saturation instead of products of capped factors.
std::uint64_t RefSlotPrice(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t demand_wh) {
  const u128 max = kMaxPrice;
  const u128 d = demand_wh / 1000;
  const u128 d2 = d * d;  // d < 2^54: exact
  auto mul = [&](u128 x, u128 y) -> u128 {
    if (x == 0 || y == 0) return 0;
    if (x > max / y) return max + 1;  // above the cap (exact value irrelevant)
    return x * y;
  };
  u128 sum = 0;
  for (u128 term : {mul(a, d2), mul(b, d), static_cast<u128>(c)}) {
    sum += term > max ? max + 1 : term;
    if (sum > max) return kMaxPrice;
  }
  return static_cast<std::uint64_t>(sum);
}

std::uint64_t Interesting(std::mt19937_64& rng) {
  static const std::uint64_t edges[] = {0, 1, 2, 999, 1000, 1001, 1999, 2000, kMaxPrice - 1, kMaxPrice, kMaxPrice + 1,
                                        (1ull << 32) - 1, 1ull << 32, 45'825'756'949, 45'825'756'950, kMax64 - 1, kMax64};
  switch (rng() % 4) {
    case 0: return edges[rng() % std::size(edges)];
    case 1: return rng() >> (rng() % 64);
    case 2: return rng() % 100'000;
    default: return rng();
  }
}
}  // namespace

TEST(MarketArithmetic, SlotPriceSmallExhaustive) {
  for (std::uint64_t a = 0; a < 5; ++a)
    for (std::uint64_t b = 0; b < 5; ++b)
      for (std::uint64_t c = 0; c < 5; ++c)
        for (std::uint64_t wh = 0; wh < 20'000; wh += 37) {
          const std::uint64_t d = wh / 1000;
          ASSERT_EQ(SlotPrice(a, b, c, wh), a * d * d + b * d + c) << a << " " << b << " " << c << " " << wh;
        }
  // Demand counts in whole kWh, rounded down.
  EXPECT_EQ(SlotPrice(1, 0, 0, 999), 0u);
  EXPECT_EQ(SlotPrice(1, 0, 0, 1000), 1u);
  EXPECT_EQ(SlotPrice(1, 0, 0, 1999), 1u);
  EXPECT_EQ(SlotPrice(1, 0, 0, 2000), 4u);
}

TEST(MarketArithmetic, SlotPriceSaturates) {
  EXPECT_EQ(SlotPrice(kMax64, kMax64, kMax64, kMax64), kMaxPrice);
  EXPECT_EQ(SlotPrice(0, 0, kMax64, 0), kMaxPrice);
  EXPECT_EQ(SlotPrice(0, 0, kMaxPrice, 0), kMaxPrice);
  EXPECT_EQ(SlotPrice(0, 0, kMaxPrice - 1, 0), kMaxPrice - 1);
  EXPECT_EQ(SlotPrice(0, 1, kMaxPrice - 1, 1000), kMaxPrice);
  EXPECT_EQ(SlotPrice(0, 1, kMaxPrice - 2, 1000), kMaxPrice - 1);
  EXPECT_EQ(SlotPrice(1, 0, 0, kMax64), kMaxPrice);  // D^2 ~ 3.4 * 10^32
  EXPECT_EQ(SlotPrice(kMax64, 0, 0, 1000), kMaxPrice);
  EXPECT_EQ(SlotPrice(kMax64, 0, 0, 999), 0u);  // D = 0
  EXPECT_EQ(SlotPrice(0, kMax64, 5, 999), 5u);
  // sqrt(kMaxPrice) = 45'825'756.9...: the a-term alone reaches the cap between D = 45825756 and 45825757.
  EXPECT_EQ(SlotPrice(1, 0, 0, 45'825'756'000), 45'825'756ull * 45'825'756ull);
  EXPECT_EQ(SlotPrice(1, 0, 0, 45'825'757'000), kMaxPrice);
  EXPECT_LT(45'825'756ull * 45'825'756ull, kMaxPrice);
}

TEST(MarketArithmetic, SlotPriceRandomCrossCheckAndMonotonic) {
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 200'000; ++i) {
    const std::uint64_t a = Interesting(rng), b = Interesting(rng), c = Interesting(rng);
    std::uint64_t d1 = Interesting(rng), d2 = Interesting(rng);
    if (d1 > d2) std::swap(d1, d2);
    const std::uint64_t p1 = SlotPrice(a, b, c, d1), p2 = SlotPrice(a, b, c, d2);
    ASSERT_EQ(p1, RefSlotPrice(a, b, c, d1)) << a << " " << b << " " << c << " " << d1;
    ASSERT_LE(p1, kMaxPrice);
    ASSERT_LE(p2, kMaxPrice);
    ASSERT_LE(p1, p2) << "not monotonic: " << a << " " << b << " " << c << " " << d1 << " " << d2;
    // Monotonic in every coefficient too.
    ASSERT_LE(SlotPrice(a / 2, b, c, d1), p1);
    ASSERT_LE(SlotPrice(a, b / 2, c, d1), p1);
    ASSERT_LE(SlotPrice(a, b, c / 2, d1), p1);
  }
}

TEST(MarketArithmetic, EnergyCost) {
  EXPECT_EQ(EnergyCost(0, kMax64), 0u);
  EXPECT_EQ(EnergyCost(kMax64, 0), 0u);
  EXPECT_EQ(EnergyCost(1, 1), 1u);  // rounded up
  EXPECT_EQ(EnergyCost(1000, 1), 1u);
  EXPECT_EQ(EnergyCost(1001, 1), 2u);
  EXPECT_EQ(EnergyCost(12'345, 7), 87u);
  const auto max = static_cast<std::uint64_t>(kMaxMoney.units);
  EXPECT_EQ(EnergyCost(max * 1000, 1), max);
  EXPECT_EQ(EnergyCost(max * 1000 + 1, 1), std::nullopt);
  EXPECT_EQ(EnergyCost(1000, max), max);
  EXPECT_EQ(EnergyCost(1001, max), std::nullopt);
  EXPECT_EQ(EnergyCost(kMax64, kMax64), std::nullopt);  // no 128-bit overflow
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t e = Interesting(rng), p = Interesting(rng);
    const u128 exact = static_cast<u128>(e) * p;
    const auto cost = EnergyCost(e, p);
    if (!cost) {
      ASSERT_GT(exact, static_cast<u128>(max) * 1000);
      continue;
    }
    ASSERT_LE(*cost, max);
    ASSERT_GE(static_cast<u128>(*cost) * 1000, exact);      // covers the energy
    ASSERT_LT(static_cast<u128>(*cost) * 1000, exact + 1000);  // by less than one unit
  }
}

TEST(MarketArithmetic, ProductionReward) {
  auto r = ProductionReward(1, 0, 100'000'000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->units, 100u);
  EXPECT_EQ(r->carry, 0u);
  r = ProductionReward(1, 999'999, 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->units, 1u);
  EXPECT_EQ(r->carry, 0u);
  r = ProductionReward(0, 123, 1'234'567);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->units, 0u);
  EXPECT_EQ(r->carry, 123u);
  EXPECT_EQ(ProductionReward(kMax64, 999'999, kMax64), std::nullopt);  // no 128-bit overflow
  EXPECT_EQ(ProductionReward(kMax64, 0, 100'000'000), std::nullopt);
  const auto max = static_cast<std::uint64_t>(kMaxMoney.units);
  r = ProductionReward(max, 999'999, 1'000'000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->units, max);
  EXPECT_EQ(ProductionReward(max + 1, 0, 1'000'000), std::nullopt);
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t e = Interesting(rng), rate = Interesting(rng), carry = rng() % 1'000'000;
    const u128 total = static_cast<u128>(e) * rate + carry;
    const auto res = ProductionReward(e, carry, rate);
    if (!res) {
      ASSERT_GT(total / 1'000'000, static_cast<u128>(max));
      continue;
    }
    ASSERT_LT(res->carry, 1'000'000u);
    ASSERT_LE(res->units, max);
    ASSERT_EQ(static_cast<u128>(res->units) * 1'000'000 + res->carry, total);  // nothing lost
  }
}

TEST(MarketArithmetic, SlotOfHeight) {
  EXPECT_EQ(SlotOfHeight(0, Regtest()), 0u);
  EXPECT_EQ(SlotOfHeight(9, Regtest()), 0u);
  EXPECT_EQ(SlotOfHeight(10, Regtest()), 1u);
  EXPECT_EQ(SlotOfHeight(kMax32, Regtest()), kMax32 / 10);
  EXPECT_EQ(SlotOfHeight(119, GetParams(Network::kMain)), 1u);
  EXPECT_EQ(SlotOfHeight(24, GetParams(Network::kDevnet)), 2u);
}

// ================================================================================================
// Encodings
// ================================================================================================

namespace {

std::vector<MarketRecord> OneOfEach() {
  Signature s;
  for (std::size_t i = 0; i < s.bytes.size(); ++i) s.bytes[i] = static_cast<std::uint8_t>(i);
  ReadingBatch batch;
  batch.readings.push_back(MakeReading(21, 1'000, 900, 1, 2, 3, 4));
  batch.readings.push_back(MakeReading(22, 2'000, 60, 5, 6, 7, 8));
  ReadingBatch with_series = batch;
  const std::uint8_t blob[] = {1, 2, 3};
  with_series.series = ComputeCid(blob);
  ChannelFunding f;
  f.consumer = TestPub(1);
  f.producer = TestPub(2);
  f.utility = TestPub(3);
  f.consumer_meter = TestPub(21);
  f.producer_meter = TestPub(22);
  f.energy_wh = 1;
  f.slot = 2;
  f.price = 3;
  f.cwa = 4;
  f.cwb = 5;
  f.cwu = 6;
  f.expiry = 7;
  f.contest_window = 8;
  f.delivery_start = 9;
  f.delivery_end = 10;
  return {MeterRegistration{TestPub(21), TestPub(1), MeterRole::kProducer, 12345, s},
          MeterRegistration{TestPub(22), TestPub(2), MeterRole::kConsumer, 0, s},
          MeterRegistration{TestPub(23), TestPub(3), MeterRole::kProsumer, kMax64, s},
          batch,
          with_series,
          PriceCoefficients{1, 2, kMax64, s},
          f,
          UtilityKeyRotation{TestPub(50), s},
          MeterDeregistration{TestPub(21), s}};
}

DecodeError DecodePayload(RecordKind kind, const Bytes& payload, std::uint32_t version = kMarketRecordVersion) {
  Record rec;
  rec.kind = kind;
  rec.version = version;
  rec.payload = payload;
  MarketRecord out;
  return DecodeMarketRecord(rec, out);
}

}  // namespace

TEST(MarketEncoding, RoundTripOfEveryRecord) {
  for (const MarketRecord& rec : OneOfEach()) {
    SCOPED_TRACE(static_cast<int>(MakeRecord(rec).kind));
    const Record r = MakeRecord(rec);
    EXPECT_TRUE(IsMarketKind(r.kind));
    EXPECT_EQ(r.version, kMarketRecordVersion);
    MarketRecord back;
    ASSERT_EQ(DecodeMarketRecord(r, back), DecodeError::kOk);
    EXPECT_EQ(back, rec);
    EXPECT_EQ(MakeRecord(back).payload, r.payload);
    // The whole record (kind, version, payload) round-trips through the record codec.
    Bytes enc;
    Writer w(enc);
    EncodeRecord(w, r);
    Reader rd(enc);
    Record again;
    ASSERT_TRUE(DecodeRecord(rd, again) && rd.ExpectEnd());
    EXPECT_EQ(again.kind, r.kind);
    EXPECT_EQ(again.payload, r.payload);
  }
  // Kinds on the wire.
  const auto all = OneOfEach();
  EXPECT_EQ(MakeRecord(all[0]).kind, static_cast<RecordKind>(2));
  EXPECT_EQ(MakeRecord(all[3]).kind, static_cast<RecordKind>(3));
  EXPECT_EQ(MakeRecord(all[5]).kind, static_cast<RecordKind>(4));
  EXPECT_EQ(MakeRecord(all[6]).kind, static_cast<RecordKind>(5));
  EXPECT_EQ(MakeRecord(all[7]).kind, static_cast<RecordKind>(7));
  EXPECT_EQ(MakeRecord(all[8]).kind, static_cast<RecordKind>(8));
  // Sizes: fixed-width fields.
  EXPECT_EQ(MakeRecord(all[0]).payload.size(), 32u + 32 + 1 + 8 + 64);
  EXPECT_EQ(MakeRecord(all[3]).payload.size(), 1u + 2 * kReadingSize + 1);
  EXPECT_EQ(MakeRecord(all[4]).payload.size(), 1u + 2 * kReadingSize + 1 + kCidSize);
  EXPECT_EQ(MakeRecord(all[5]).payload.size(), 3u * 8 + 64);
  EXPECT_EQ(MakeRecord(all[6]).payload.size(), 5u * 32 + 8 + 4 + 8 * 4 + 4 + 4 + 8 + 8);
  EXPECT_EQ(MakeRecord(all[7]).payload.size(), 32u + 64);
  EXPECT_EQ(MakeRecord(all[8]).payload.size(), 32u + 64);
}

TEST(MarketEncoding, TruncatedAndTrailing) {
  for (const MarketRecord& rec : OneOfEach()) {
    const Record r = MakeRecord(rec);
    SCOPED_TRACE(static_cast<int>(r.kind));
    Bytes longer = r.payload;
    longer.push_back(0);
    EXPECT_EQ(DecodePayload(r.kind, longer), DecodeError::kTrailingBytes);
    for (std::size_t n = 0; n < r.payload.size(); ++n) {
      const Bytes shorter(r.payload.begin(), r.payload.begin() + static_cast<std::ptrdiff_t>(n));
      const DecodeError e = DecodePayload(r.kind, shorter);
      if (r.kind == RecordKind::kReadings) {
        // A batch whose count promises more than is left is refused before reading it.
        ASSERT_TRUE(e == DecodeError::kTruncated || e == DecodeError::kCountTooLarge) << n << ": " << DecodeErrorName(e);
      } else {
        ASSERT_EQ(e, DecodeError::kTruncated) << n;
      }
    }
  }
}

TEST(MarketEncoding, BadRoleByte) {
  const Record r = MakeRecord(MeterRegistration{TestPub(21), TestPub(1), MeterRole::kProducer, 0, {}});
  for (int role = 0; role < 256; ++role) {
    Bytes p = r.payload;
    p[64] = static_cast<std::uint8_t>(role);
    const DecodeError e = DecodePayload(RecordKind::kMeterRegistration, p);
    EXPECT_EQ(e, role >= 1 && role <= 3 ? DecodeError::kOk : DecodeError::kBadFieldValue) << role;
  }
  EXPECT_EQ(MeterRoleFromByte(0), std::nullopt);
  EXPECT_EQ(MeterRoleFromByte(4), std::nullopt);
  EXPECT_EQ(MeterRoleName(MeterRole::kProsumer), "prosumer");
  EXPECT_TRUE(RoleProduces(MeterRole::kProsumer) && RoleConsumes(MeterRole::kProsumer));
  EXPECT_TRUE(RoleProduces(MeterRole::kProducer) && !RoleConsumes(MeterRole::kProducer));
  EXPECT_TRUE(!RoleProduces(MeterRole::kConsumer) && RoleConsumes(MeterRole::kConsumer));
}

TEST(MarketEncoding, BatchCounts) {
  const Bytes one = EncodeReading(MakeReading(21, 1000, 60, 0, 0, 0, 0));
  ASSERT_EQ(one.size(), kReadingSize);
  auto batch = [&](std::size_t n, std::uint64_t count) {
    Bytes p;
    Writer w(p);
    w.VarInt(count);
    for (std::size_t i = 0; i < n; ++i) w.Raw(one);
    w.U8(0);
    return p;
  };
  EXPECT_EQ(DecodePayload(RecordKind::kReadings, batch(0, 0)), DecodeError::kBadFieldValue);  // empty batch
  EXPECT_EQ(DecodePayload(RecordKind::kReadings, batch(1, 1)), DecodeError::kOk);
  EXPECT_EQ(DecodePayload(RecordKind::kReadings, batch(100, 100)), DecodeError::kOk);
  EXPECT_LE(batch(100, 100).size(), kMaxRecordPayload);
  EXPECT_EQ(DecodePayload(RecordKind::kReadings, batch(101, 101)), DecodeError::kCountTooLarge);  // over 100
  EXPECT_EQ(DecodePayload(RecordKind::kReadings, batch(2, 3)), DecodeError::kCountTooLarge);      // more than is left
  // The series flag and CID.
  Bytes p = batch(1, 1);
  p.back() = 2;
  EXPECT_EQ(DecodePayload(RecordKind::kReadings, p), DecodeError::kBadFieldValue);
  p.back() = 1;
  EXPECT_EQ(DecodePayload(RecordKind::kReadings, p), DecodeError::kTruncated);
  const std::uint8_t blob[] = {9};
  Cid cid = ComputeCid(blob);
  p.insert(p.end(), cid.begin(), cid.end());
  EXPECT_EQ(DecodePayload(RecordKind::kReadings, p), DecodeError::kOk);
  p[p.size() - kCidSize + 1] = 0x70;  // dag-pb, not raw
  EXPECT_EQ(DecodePayload(RecordKind::kReadings, p), DecodeError::kBadFieldValue);
}

TEST(MarketEncoding, UnknownVersionAndKind) {
  for (const MarketRecord& rec : OneOfEach()) {
    const Record r = MakeRecord(rec);
    EXPECT_EQ(DecodePayload(r.kind, r.payload, 0), DecodeError::kBadFieldValue);
    EXPECT_EQ(DecodePayload(r.kind, r.payload, 2), DecodeError::kBadFieldValue);
    EXPECT_EQ(DecodePayload(r.kind, r.payload, kMax32), DecodeError::kBadFieldValue);
  }
  EXPECT_EQ(DecodePayload(RecordKind::kCoinbase, {1, 0, 0, 0}), DecodeError::kUnknownRecordKind);
  EXPECT_EQ(DecodePayload(RecordKind::kNone, {}), DecodeError::kUnknownRecordKind);
  EXPECT_FALSE(IsMarketKind(RecordKind::kCoinbase));
  EXPECT_FALSE(IsMarketKind(RecordKind::kNone));
  // Kind 6 (settlement) is checked against the market state but decodes in consensus/channel.h.
  EXPECT_TRUE(IsMarketKind(RecordKind::kChannelSettlement));
  MarketRecord none;
  EXPECT_EQ(DecodeMarketRecord(Record{RecordKind::kChannelSettlement, 1, {}}, none), DecodeError::kUnknownRecordKind);
}

TEST(MarketEncoding, ReadingEncoding) {
  const Reading r = MakeReading(21, kMax64 - 5, kMax32, 1, kMax64, 3, 4);
  const Bytes enc = EncodeReading(r);
  ASSERT_EQ(enc.size(), kReadingSize);
  ::wattline::consensus::Reader rd(enc);
  Reading back;
  ASSERT_TRUE(DecodeReading(rd, back));
  EXPECT_TRUE(rd.ExpectEnd());
  EXPECT_EQ(back, r);
  ::wattline::consensus::Reader cut(ByteSpan(enc).first(enc.size() - 1));
  EXPECT_FALSE(DecodeReading(cut, back));
  EXPECT_EQ(cut.error(), DecodeError::kTruncated);
}

TEST(MarketEncoding, SignatureHashes) {
  const Params& p = Regtest();
  const Reading r = MakeReading(21, 1000, 900, 1, 2, 3, 4);
  // ReadingSigHash: tag, magic, then the reading without its signature.
  Bytes msg(p.magic.begin(), p.magic.end());
  const Bytes enc = EncodeReading(r);
  msg.insert(msg.end(), enc.begin(), enc.end() - 64);
  EXPECT_EQ(ReadingSigHash(p, r), crypto::TaggedHash("wattline/reading", msg));
  Reading other = r;
  other.sig = {};  // the signature is not committed to
  EXPECT_EQ(ReadingSigHash(p, other), ReadingSigHash(p, r));
  for (int field = 0; field < 7; ++field) {
    Reading changed = r;
    switch (field) {
      case 0: changed.meter = TestPub(22); break;
      case 1: changed.start++; break;
      case 2: changed.length++; break;
      case 3: changed.import_wh++; break;
      case 4: changed.export_wh++; break;
      case 5: changed.import_register++; break;
      case 6: changed.export_register++; break;
    }
    EXPECT_NE(ReadingSigHash(p, changed), ReadingSigHash(p, r));
  }
  EXPECT_NE(ReadingSigHash(GetParams(Network::kMain), r), ReadingSigHash(p, r));
  // UtilitySigHash: tag, magic, outpoint, kind, version, body (payload without the signature).
  const OutPoint op{Filled(0x5a), 7};
  const MarketRecord coef = PriceCoefficients{1, 2, 3, {}};
  Bytes umsg(p.magic.begin(), p.magic.end());
  Writer w(umsg);
  w.Hash(op.txid);
  w.U32(op.index);
  w.U32(4);
  w.U32(1);
  const Bytes payload = MakeRecord(coef).payload;
  w.Raw(ByteSpan(payload).first(payload.size() - 64));
  EXPECT_EQ(UtilitySigHash(p, op, coef), crypto::TaggedHash("wattline/utility", umsg));
  MarketRecord signed_coef = coef;
  EXPECT_TRUE(SetUtilitySignature(signed_coef, AllOnesSig()));
  EXPECT_EQ(UtilitySigHash(p, op, signed_coef), UtilitySigHash(p, op, coef));
  EXPECT_NE(UtilitySigHash(p, OutPoint{op.txid, 8}, coef), UtilitySigHash(p, op, coef));
  EXPECT_NE(UtilitySigHash(GetParams(Network::kDevnet), op, coef), UtilitySigHash(p, op, coef));
  // The kind is committed: a deregistration and a rotation of the same key differ.
  EXPECT_NE(UtilitySigHash(p, op, MeterDeregistration{TestPub(21), {}}), UtilitySigHash(p, op, UtilityKeyRotation{TestPub(21), {}}));
  MarketRecord batch = ReadingBatch{{r}, {}};
  EXPECT_FALSE(SetUtilitySignature(batch, AllOnesSig()));
  MarketRecord funding = ChannelFunding{};
  EXPECT_FALSE(SetUtilitySignature(funding, AllOnesSig()));
}

TEST(MarketEncoding, DocumentedUtilityKeys) {
  std::set<XOnlyPubKey> keys;
  for (Network n : {Network::kMain, Network::kTestnet, Network::kDevnet, Network::kRegtest}) {
    const Params& p = GetParams(n);
    EXPECT_EQ(UtilitySecret(n).PubKey(), p.utility_key);
    EXPECT_TRUE(p.utility_key.IsValid());
    const std::string text = "wattline " + std::string(NetworkName(n)) + " utility key";
    EXPECT_EQ(DocumentedUtilitySecret(n), crypto::Sha256Of({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
    keys.insert(p.utility_key);
    EXPECT_EQ(InitialGlobals(p).utility_key, p.utility_key);
    EXPECT_EQ(InitialGlobals(p).coefficients, (Coefficients{p.initial_a, p.initial_b, p.initial_c}));
  }
  EXPECT_EQ(keys.size(), 4u);
}

TEST(MarketEncoding, Cids) {
  const std::uint8_t blob[] = {'h', 'i'};
  const Cid cid = ComputeCid(blob);
  EXPECT_TRUE(IsRawSha256Cid(cid));
  const std::string text = CidToString(cid);
  EXPECT_EQ(text.size(), 59u);
  EXPECT_EQ(text.substr(0, 7), "bafkrei");  // CIDv1 raw sha2-256 prefix
  EXPECT_EQ(CidFromString(text), cid);
  EXPECT_EQ(CidFromString(text.substr(1)), std::nullopt);
  EXPECT_EQ(CidFromString("B" + text.substr(1)), std::nullopt);
  std::string upper = text;
  upper[1] = 'A';
  EXPECT_EQ(CidFromString(upper), std::nullopt);
}

TEST(MarketState, MeterStateRoundTrip) {
  MeterState s;
  EXPECT_EQ([&] { MeterState b; return DecodeMeterState(EncodeMeterState(s), b) == DecodeError::kOk && b == s; }(), true);
  s.owner = TestPub(1);
  s.role = MeterRole::kConsumer;
  s.registered = true;
  s.registered_height = kMax32;
  s.granted = 1;
  s.has_reading = true;
  s.last_start = 2;
  s.last_end = kMax64;
  s.import_register = 3;
  s.export_register = 4;
  s.reward_carry = 999'999;
  s.rewarded = 5;
  s.exported_wh = 6;
  s.imported_wh = 7;
  s.readings = 8;
  s.channels = 9;
  const Bytes enc = EncodeMeterState(s);
  EXPECT_EQ(enc.size(), 1u + 32 + 1 + 1 + 4 + 8 + 1 + 8 * 9 + 4);
  MeterState back;
  ASSERT_EQ(DecodeMeterState(enc, back), DecodeError::kOk);
  EXPECT_EQ(back, s);
  Bytes b = enc;
  b.push_back(0);
  EXPECT_EQ(DecodeMeterState(b, back), DecodeError::kTrailingBytes);
  for (std::size_t n = 0; n < enc.size(); ++n)
    ASSERT_EQ(DecodeMeterState(ByteSpan(enc).first(n), back), DecodeError::kTruncated) << n;
  // Version 1 (before channels) has no watch count.
  b = Bytes(enc.begin(), enc.end() - 4);
  b[0] = 1;
  ASSERT_EQ(DecodeMeterState(b, back), DecodeError::kOk);
  MeterState v1 = s;
  v1.channels = 0;
  EXPECT_EQ(back, v1);
  b = enc;
  b[0] = 3;  // version
  EXPECT_EQ(DecodeMeterState(b, back), DecodeError::kBadFieldValue);
  b = enc;
  b[33] = 0;  // role
  EXPECT_EQ(DecodeMeterState(b, back), DecodeError::kBadFieldValue);
  b = enc;
  b[34] = 2;  // registered flag
  EXPECT_EQ(DecodeMeterState(b, back), DecodeError::kBadFieldValue);
  b = enc;
  b[34 + 1 + 4 + 8] = 7;  // has_reading flag
  EXPECT_EQ(DecodeMeterState(b, back), DecodeError::kBadFieldValue);
}

TEST(MarketState, GlobalsRoundTrip) {
  MarketGlobals g = InitialGlobals(Regtest());
  MarketGlobals back;
  ASSERT_EQ(DecodeGlobals(EncodeGlobals(g), back), DecodeError::kOk);
  EXPECT_EQ(back, g);
  g.has_pending_key = true;
  g.pending_key = TestPub(50);
  g.pending_key_height = kMax32;
  g.coefficients = {kMax64, 0, 1};
  g.has_pending_coefficients = true;
  g.pending_coefficients = {4, 5, kMax64};
  g.pending_slot = 77;
  g.grants_total = 1;
  g.rewards_total = 2;
  g.meters_registered = 3;
  g.readings_total = 4;
  g.channels_funded = kMax64;
  g.channels_settled = 5;
  g.pool_slot = 6;
  g.pool_accrued = 7;
  g.pool_paying = 8;
  g.pool_in_total = 100;
  g.pool_out_total = 9;
  const Bytes enc = EncodeGlobals(g);
  EXPECT_EQ(enc.size(), 1u + 32 + 1 + 32 + 4 + 48 + 1 + 4 + 40 + 8 + 4 + 8 * 4);
  ASSERT_EQ(DecodeGlobals(enc, back), DecodeError::kOk);
  EXPECT_EQ(back, g);
  EXPECT_EQ(EncodeGlobals(back), enc);
  Bytes b = enc;
  b.push_back(0);
  EXPECT_EQ(DecodeGlobals(b, back), DecodeError::kTrailingBytes);
  for (std::size_t n = 0; n < enc.size(); ++n) ASSERT_EQ(DecodeGlobals(ByteSpan(enc).first(n), back), DecodeError::kTruncated) << n;
  b = enc;
  b[0] = 0;
  EXPECT_EQ(DecodeGlobals(b, back), DecodeError::kBadFieldValue);
  b = enc;
  b[33] = 2;  // has_pending_key
  EXPECT_EQ(DecodeGlobals(b, back), DecodeError::kBadFieldValue);
  MarketGlobals overpaid = g;
  overpaid.pool_out_total = overpaid.pool_in_total + 1;  // more paid out of the pool than went in
  EXPECT_EQ(DecodeGlobals(EncodeGlobals(overpaid), back), DecodeError::kBadFieldValue);
  // The pending values apply from their height / slot.
  EXPECT_EQ(g.UtilityKeyAt(kMax32 - 1), g.utility_key);
  EXPECT_EQ(g.UtilityKeyAt(kMax32), TestPub(50));
  EXPECT_EQ(g.CoefficientsAt(76), g.coefficients);
  EXPECT_EQ(g.CoefficientsAt(77), g.pending_coefficients);
}

TEST(MarketState, OverlayAndReader) {
  EmptyMarketStore empty;
  MarketOverlay base(&empty);
  WriteDemand(base, 5, 1234);
  WriteOwnerRewards(base, TestPub(1), 99);
  MarketOverlay top(&base);
  EXPECT_EQ(MarketReader(top, Regtest()).Demand(5), 1234u);
  WriteDemand(top, 5, 4321);
  top.Write(market_keys::Demand(6), Bytes{1, 2, 3});  // corrupt
  EXPECT_EQ(MarketReader(top, Regtest()).Demand(5), 4321u);
  EXPECT_EQ(MarketReader(base, Regtest()).Demand(5), 1234u);
  EXPECT_THROW(MarketReader(top, Regtest()).Demand(6), std::runtime_error);
  const auto undo = top.Undo();
  ASSERT_EQ(undo.size(), 2u);
  EXPECT_EQ(undo.at(market_keys::Demand(6)), std::nullopt);
  EXPECT_TRUE(undo.at(market_keys::Demand(5)).has_value());
  top.Write(market_keys::Demand(5), std::nullopt);  // erased
  EXPECT_EQ(MarketReader(top, Regtest()).Demand(5), 0u);
  top.Clear();
  EXPECT_EQ(MarketReader(top, Regtest()).Demand(5), 1234u);
  EXPECT_EQ(MarketReader(top, Regtest()).OwnerRewards(TestPub(1)), 99u);
  EXPECT_EQ(MarketReader(top, Regtest()).Meter(TestPub(21)), std::nullopt);
  top.Write(market_keys::Meter(TestPub(21)), Bytes{1});
  EXPECT_THROW(MarketReader(top, Regtest()).Meter(TestPub(21)), std::runtime_error);
  top.Write(market_keys::Globals(), Bytes{});
  EXPECT_THROW(MarketReader(top, Regtest()).Globals(), std::runtime_error);
  // Keys: prefix, then the meter or owner key, or the slot big-endian.
  EXPECT_EQ(market_keys::Demand(0x01020304), std::string("d\x01\x02\x03\x04", 5));
  EXPECT_EQ(market_keys::Meter(TestPub(21)).size(), 33u);
  EXPECT_EQ(market_keys::Globals(), "g");
  EXPECT_EQ(market_keys::OwnerRewards(TestPub(1))[0], 'o');
}

namespace wattline::consensus {
namespace {

// The mempool's honest races (a reading relayed after it was mined, before its predecessor, a
// record signed before a rotation) must not read as misbehaviour; forged content must.
TEST(MarketRejections, StateDependentReasonsAreNotPunishable) {
  for (Reason r : {Reason::kReadingDuplicate, Reason::kReadingOverlap, Reason::kReadingEnergyMismatch,
                   Reason::kReadingRegisterDecrease, Reason::kReadingUnknownMeter, Reason::kMeterAlreadyRegistered,
                   Reason::kUtilityBadKey, Reason::kFundingKeys}) {
    EXPECT_TRUE(DependsOnMarketState(r)) << ReasonCode(r);
  }
  for (Reason r : {Reason::kReadingBadSignature, Reason::kReadingInterval, Reason::kTxRecordPayload,
                   Reason::kFundingUnderpaid, Reason::kTxBadSignature, Reason::kOk}) {
    EXPECT_FALSE(DependsOnMarketState(r)) << ReasonCode(r);
  }
}

}  // namespace
}  // namespace wattline::consensus
