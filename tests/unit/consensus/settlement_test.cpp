// Channel settlement in validation (consensus/market_rules.h with consensus/channel.h): every
// path end to end over a market state (funding, meter evidence, post, supersede, settle,
// cooperative, expiry, penalty, delivered), one test per rejection reason, the incentive pool
// paid over the next slot, and coins conserved in every accepted close (outputs + fee + pool
// == the coins of the spent channel output).
//
// Runs on a regtest copy whose price is 382,000 units per kWh, so that deposits are well above
// the dust bound; A is key 1, B key 2, U the regtest utility key; A's meter 21, B's meter 22.
#include <gtest/gtest.h>

#include "consensus/channel.h"
#include "consensus/market.h"
#include "consensus/market_rules.h"
#include "consensus/market_state.h"
#include "consensus/tx_check.h"
#include "consensus/tx_verify.h"
#include "test_util.h"

using namespace wattline;
using namespace wattline::consensus;
using namespace wattline::consensus::test;

namespace {

constexpr std::uint64_t kT0 = 1'800'000'000;
constexpr std::uint8_t kA = 1, kB = 2, kOther = 3;
constexpr std::uint8_t kMeterA = 21, kMeterB = 22, kMeterOther = 23;
constexpr std::uint32_t kFundHeight = 100;  // slot 10 on regtest
constexpr std::uint64_t kPrice = 382'000;

crypto::SecretKey UtilitySecret() { return *crypto::SecretKey::FromBytes(DocumentedUtilitySecret(Network::kRegtest).span()); }

class SettlementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_params.initial_a = 0;
    m_params.initial_b = 0;
    m_params.initial_c = kPrice;
    for (auto [meter, owner, role] : {std::tuple{kMeterA, kA, MeterRole::kConsumer},
                                      std::tuple{kMeterB, kB, MeterRole::kProducer},
                                      std::tuple{kMeterOther, kOther, MeterRole::kProsumer}}) {
      MeterState m;
      m.owner = TestPub(owner);
      m.role = role;
      m.registered = true;
      WriteMeter(m_state, TestPub(meter), m);
    }
  }

  ChannelFunding Funding() const {
    ChannelFunding f;
    f.consumer = TestPub(kA);
    f.producer = TestPub(kB);
    f.utility = m_params.utility_key;
    f.consumer_meter = TestPub(kMeterA);
    f.producer_meter = TestPub(kMeterB);
    f.energy_wh = 2'500;
    f.slot = 10;
    f.price = kPrice;
    f.cwa = 955'000;  // cost(2,500 Wh)
    f.cwb = 1'000'000;
    f.cwu = 50'000;
    f.expiry = 200;
    f.contest_window = 6;
    f.delivery_start = kT0 + 3'600;
    f.delivery_end = kT0 + 7'200;
    return f;
  }

  /** Funds the channel at height 100; remembers its outpoint. */
  void Fund(const ChannelFunding& f) {
    MutableTransaction tx;
    tx.inputs.push_back({OutPoint{Filled(0x70), m_next++}, Satisfaction::Sig(Signature{})});
    tx.outputs.push_back({Amount{static_cast<std::int64_t>(f.cwa + f.cwb + f.cwu)},
                          Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window)});
    tx.record = MakeRecord(f);
    const Transaction frozen(tx);
    ValidationState s;
    ASSERT_TRUE(CheckTransaction(frozen, s)) << s.ToString();
    MarketOverlay child(&m_state);
    Amount minted;
    ASSERT_TRUE(ApplyMarketRecord(frozen, {kFundHeight, kT0}, m_params, child, minted, s)) << s.ToString();
    Merge(child);
    m_channel = OutPoint{frozen.txid(), 0};
    m_coin = Coin{frozen.outputs()[0], kFundHeight, false};
  }

  Reading MakeReading(std::uint8_t meter, std::uint64_t start, std::uint32_t length, std::uint64_t import_wh,
                      std::uint64_t export_wh) {
    auto& reg = m_registers[meter];
    Reading r;
    r.meter = TestPub(meter);
    r.start = start;
    r.length = length;
    r.import_wh = import_wh;
    r.export_wh = export_wh;
    r.import_register = reg.first += import_wh;
    r.export_register = reg.second += export_wh;
    r.sig = TestKey(meter).Sign(ReadingSigHash(m_params, r), Hash256{});
    return r;
  }

  /** Counts readings on chain (a readings transaction at height 101, after the interval). */
  void Count(std::vector<Reading> readings) {
    const ReadingBatch batch{std::move(readings), {}};
    MutableTransaction tx;
    ValidationState s;
    std::vector<TxOut> outs;
    ASSERT_TRUE(ComputeReadingOutputs(batch, m_state, m_params, outs, s)) << s.ToString();
    tx.outputs = outs;
    tx.record = MakeRecord(batch);
    const Transaction frozen(tx);
    MarketOverlay child(&m_state);
    Amount minted;
    ASSERT_TRUE(ApplyMarketRecord(frozen, {101, kT0 + 86'400}, m_params, child, minted, s)) << s.ToString();
    Merge(child);
  }

  /** The condition of the channel's current output. */
  Condition CurrentCondition() const {
    const ChannelFunding f = Funding();
    auto ch = MarketReader(m_state, m_params).Channel(m_channel);
    if (ch && ch->status == ChannelStatus::kClosing)
      return Condition::ChannelClose(m_channel.txid, m_channel.index, ch->posted_state, f.contest_window);
    return Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window);
  }

  /**
   * A settlement transaction spending the current output, signed by the signer set (bit 0 A,
   * bit 1 B, bit 2 U; `wrong_key` signs in place of A when set).
   */
  MutableTransaction SettleTx(const ChannelSettlement& s, std::vector<TxOut> outputs, std::uint8_t signers,
                              std::optional<std::uint8_t> wrong_key = std::nullopt) {
    MutableTransaction tx;
    tx.inputs.push_back({m_coin_outpoint.value_or(m_channel), Satisfaction::ChannelPath(0, {})});
    tx.outputs = std::move(outputs);
    tx.record = MakeSettlementRecord(s);
    const Hash256 msg = Sighash(tx, 0, m_coin.out, m_params);
    std::vector<Signature> sigs;
    if (signers & 1) sigs.push_back(SignWith(wrong_key.value_or(kA), msg));
    if (signers & 2) sigs.push_back(SignWith(kB, msg));
    if (signers & 4) sigs.push_back(UtilitySecret().Sign(msg, Hash256{}));
    tx.inputs[0].satisfaction = Satisfaction::ChannelPath(signers, std::move(sigs));
    return tx;
  }

  ChannelSettlement Path(SettlementPath path) const {
    ChannelSettlement s;
    s.path = path;
    s.channel = m_channel;
    return s;
  }

  ChannelSettlement Post(std::uint64_t n, std::uint64_t cc, std::uint64_t fee) const {
    ChannelSettlement s = Path(SettlementPath::kPost);
    s.state = n;
    s.cc = cc;
    s.fee = fee;
    const Hash256 msg = CommitmentSigHash(m_params, s.AsCommitment());
    s.sig_a = SignWith(kA, msg);
    s.sig_b = SignWith(kB, msg);
    return s;
  }
  MutableTransaction PostTx(const ChannelSettlement& s) {
    return SettleTx(s, {{Amount{static_cast<std::int64_t>(m_coin.out.amount.units - s.fee)},
                         Condition::ChannelClose(m_channel.txid, m_channel.index, s.state, Funding().contest_window)}},
                    0);
  }

  static std::vector<TxOut> Pays(std::uint64_t a, std::uint64_t b, std::uint64_t u) {
    std::vector<TxOut> out;
    if (a) out.push_back({Amount{static_cast<std::int64_t>(a)}, Condition::Key(TestPub(kA))});
    if (b) out.push_back({Amount{static_cast<std::int64_t>(b)}, Condition::Key(TestPub(kB))});
    if (u) out.push_back({Amount{static_cast<std::int64_t>(u)}, Condition::Key(Regtest().utility_key)});
    return out;
  }

  /**
   * CheckTransaction, ApplyMarketRecord and CheckTxInputs as a block at height/time would run
   * them; merged when accepted, and then the coins are checked to be conserved.
   */
  Reason Apply(const MutableTransaction& mtx, std::uint32_t height, std::uint64_t time = kT0 + 86'400) {
    const Transaction tx(mtx);
    ValidationState s;
    if (!CheckTransaction(tx, s)) return Last(s);
    MarketOverlay child(&m_state);
    Amount minted, pooled;
    if (!ApplyMarketRecord(tx, {height, time}, m_params, child, minted, s, nullptr, &pooled)) return Last(s);
    const Coin* coins[] = {&m_coin};
    Amount fee;
    if (!CheckTxInputs(tx, coins, height, m_params, fee, s, nullptr, minted, pooled)) return Last(s);
    std::int64_t out = 0;
    for (const auto& o : tx.outputs()) out += o.amount.units;
    EXPECT_EQ(out + fee.units + pooled.units, m_coin.out.amount.units);
    EXPECT_EQ(minted.units, 0);
    m_fee = fee;
    m_pooled = pooled;
    Merge(child);
    if (!tx.outputs().empty() && tx.outputs()[0].condition.type == ConditionType::kChannelClose) {
      m_coin = Coin{tx.outputs()[0], height, false};
      m_coin_outpoint = OutPoint{tx.txid(), 0};
    }
    return Reason::kOk;
  }
  Reason Last(const ValidationState& s) {
    m_last = s;
    EXPECT_NE(ReasonCode(s.reason()), "unknown-reason");
    return s.reason();
  }

  void Merge(const MarketOverlay& child) {
    for (const auto& [k, v] : child.Writes()) m_state.Write(k, v);
  }
  MarketReader Reader() const { return MarketReader(m_state, m_params); }
  bool ChannelGone() const {
    auto r = Reader();
    return !r.Channel(m_channel) && r.Meter(TestPub(kMeterA))->channels == 0 &&
           r.Meter(TestPub(kMeterB))->channels == 0 && r.Watch(TestPub(kMeterA)).empty() &&
           r.Watch(TestPub(kMeterB)).empty() && r.Globals().channels_settled == 1;
  }

  Params m_params = Regtest();
  EmptyMarketStore m_empty;
  MarketOverlay m_state{&m_empty};
  std::map<std::uint8_t, std::pair<std::uint64_t, std::uint64_t>> m_registers;
  OutPoint m_channel;
  std::optional<OutPoint> m_coin_outpoint;
  Coin m_coin;
  ValidationState m_last;
  Amount m_fee, m_pooled;
  std::uint32_t m_next = 0;
};

constexpr std::uint64_t kFunded = 955'000 + 1'000'000 + 50'000;
constexpr std::uint64_t kFloor = kFunded / 100;  // 1% while the pool pays nothing

}  // namespace

TEST_F(SettlementTest, FundingStartsWatchingBothMeters) {
  Fund(Funding());
  auto ch = Reader().Channel(m_channel);
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->status, ChannelStatus::kOpen);
  EXPECT_EQ(ch->amount, kFunded);
  EXPECT_EQ(ch->current, m_channel);
  EXPECT_EQ(Reader().Meter(TestPub(kMeterA))->channels, 1u);
  EXPECT_EQ(Reader().Watch(TestPub(kMeterB)), (WatchList{{m_channel, true}}));
  ChannelState back;
  EXPECT_EQ(EncodeChannelState(*ch).size(), 384u);  // docs/channels.md, "State"
  ASSERT_EQ(DecodeChannelState(EncodeChannelState(*ch), back), DecodeError::kOk);
  EXPECT_EQ(back, *ch);
}

TEST_F(SettlementTest, CooperativeClosePaysTheStateSharesMinusTheFeeFromA) {
  Fund(Funding());
  ChannelSettlement s = Path(SettlementPath::kCooperative);
  s.cc = 382'000;
  s.fee = kFloor;
  const auto outs = Pays(955'000 - 382'000 - kFloor, 1'382'000, 50'000);
  EXPECT_EQ(Apply(SettleTx(s, outs, 0b001), 150), Reason::kChannelSigners);
  EXPECT_EQ(Apply(SettleTx(s, outs, 0b111), 150), Reason::kChannelSigners);
  EXPECT_EQ(Apply(SettleTx(s, outs, 0b011, kOther), 150), Reason::kTxBadSignature);
  EXPECT_EQ(Apply(SettleTx(s, Pays(955'000 - 382'000 - kFloor, 1'382'001, 49'999), 0b011), 150), Reason::kChannelOutputs);
  ChannelSettlement low = s;
  low.fee = kFloor - 1;
  EXPECT_EQ(Apply(SettleTx(low, Pays(955'000 - 382'000 - kFloor + 1, 1'382'000, 50'000), 0b011), 150), Reason::kChannelFee);
  ChannelSettlement over = s;
  over.cc = 955'001;
  EXPECT_EQ(Apply(SettleTx(over, Pays(0, 1'955'001 - kFloor, 50'000), 0b011), 150), Reason::kChannelAmount);
  ASSERT_EQ(Apply(SettleTx(s, outs, 0b011), 150), Reason::kOk) << m_last.ToString();
  EXPECT_EQ(m_fee.units, static_cast<std::int64_t>(kFloor));
  EXPECT_TRUE(ChannelGone());
  EXPECT_EQ(Apply(SettleTx(s, outs, 0b011), 150), Reason::kChannelUnknown);
}

TEST_F(SettlementTest, ShapeAndInputRules) {
  Fund(Funding());
  ChannelSettlement s = Path(SettlementPath::kCooperative);
  s.fee = kFloor;
  auto tx = SettleTx(s, Pays(955'000 - kFloor, 1'000'000, 50'000), 0b011);
  auto two = tx;
  two.inputs.push_back({OutPoint{Filled(0x99), 0}, Satisfaction::Sig(Signature{})});
  EXPECT_EQ(Apply(two, 150), Reason::kChannelShape);
  auto elsewhere = tx;
  elsewhere.inputs[0].prevout = OutPoint{Filled(0x98), 0};
  EXPECT_EQ(Apply(elsewhere, 150), Reason::kChannelInput);
  ChannelSettlement unknown = s;
  unknown.channel = OutPoint{Filled(0x97), 0};
  EXPECT_EQ(Apply(SettleTx(unknown, Pays(955'000 - kFloor, 1'000'000, 50'000), 0b011), 150), Reason::kChannelUnknown);
  auto closing = tx;
  closing.outputs.push_back({Amount{1}, Condition::ChannelClose(m_channel.txid, 0, 1, 6)});
  EXPECT_EQ(Apply(closing, 150), Reason::kChannelShape);
  // A closing output outside a settlement record is refused context-free.
  auto plain = MakeSpend(OutPoint{Filled(0x96), 0}, Amount{5}, Condition::ChannelClose(m_channel.txid, 0, 1, 6));
  ValidationState v;
  EXPECT_FALSE(CheckTransaction(Transaction(plain), v));
  EXPECT_EQ(v.reason(), Reason::kTxBadCondition);
  // A channel output spent without a settlement record.
  auto spend = MakeSpend(m_channel, Amount{5});
  spend.inputs[0].satisfaction = Satisfaction::ChannelPath(0, {});
  EXPECT_EQ(Apply(spend, 150), Reason::kTxChannelPath);
}

TEST_F(SettlementTest, PostSupersedeAndSettleAfterTheWindow) {
  Fund(Funding());
  ChannelSettlement forged = Post(3, 100'000, 500);
  forged.sig_b = SignWith(kOther, CommitmentSigHash(m_params, forged.AsCommitment()));
  EXPECT_EQ(Apply(PostTx(forged), 120), Reason::kChannelCommitmentSig);
  auto wrong_window = PostTx(Post(3, 100'000, 500));
  wrong_window.outputs[0].condition.window = 7;
  EXPECT_EQ(Apply(wrong_window, 120), Reason::kChannelOutputs);
  EXPECT_EQ(Apply(PostTx(Post(3, 955'001, 500)), 120), Reason::kChannelAmount);

  ASSERT_EQ(Apply(PostTx(Post(3, 100'000, 500)), 120), Reason::kOk) << m_last.ToString();
  auto ch = Reader().Channel(m_channel);
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->status, ChannelStatus::kClosing);
  EXPECT_EQ(ch->amount, kFunded - 500);
  EXPECT_EQ(ch->posted_state, 3u);

  // A stale state cannot supersede; cooperative and expiry closes wait for the window.
  EXPECT_EQ(Apply(PostTx(Post(2, 900'000, 500)), 121), Reason::kChannelStaleState);
  EXPECT_EQ(Apply(PostTx(Post(3, 900'000, 500)), 121), Reason::kChannelStaleState);
  ChannelSettlement coop = Path(SettlementPath::kCooperative);
  coop.fee = kFloor;
  EXPECT_EQ(Apply(SettleTx(coop, Pays(1, 1, 1), 0b011), 121), Reason::kChannelStatus);

  // The newer state supersedes (anyone may send it, no signer) and restarts the window.
  ASSERT_EQ(Apply(PostTx(Post(5, 300'000, 700)), 123), Reason::kOk) << m_last.ToString();
  ChannelSettlement settle = Path(SettlementPath::kSettle);
  const std::uint64_t amount = kFunded - 1'200;
  const std::uint64_t floor = amount / 100;
  // A pays both posts' fees (1,200) and the settle fee (1% of what the closing output holds).
  const auto outs = Pays(955'000 - 300'000 - 1'200 - floor, 1'300'000, 50'000);
  EXPECT_EQ(Apply(SettleTx(settle, outs, 0), 128), Reason::kChannelWindow);
  EXPECT_EQ(ReasonCategory(Reason::kChannelWindow), Category::kPremature);
  EXPECT_EQ(Apply(SettleTx(settle, Pays(955'000 - 300'000 - 1'200, 1'300'000, 50'000), 0), 129), Reason::kChannelOutputs);
  EXPECT_EQ(Apply(SettleTx(settle, outs, 0b100), 129), Reason::kChannelSigners);
  ASSERT_EQ(Apply(SettleTx(settle, outs, 0), 129), Reason::kOk) << m_last.ToString();
  EXPECT_EQ(m_fee.units, static_cast<std::int64_t>(floor));
  EXPECT_TRUE(ChannelGone());
}

TEST_F(SettlementTest, ExpiryForcesStateZeroWithTheFeeFromTheSigner) {
  Fund(Funding());
  ChannelSettlement s = Path(SettlementPath::kExpiry);
  s.fee = kFloor;
  const auto outs = Pays(955'000, 1'000'000, 50'000 - kFloor);
  EXPECT_EQ(Apply(SettleTx(s, outs, 0b100), 199), Reason::kChannelNotExpired);
  EXPECT_EQ(Apply(SettleTx(s, outs, 0b110), 200), Reason::kChannelSigners);
  EXPECT_EQ(Apply(SettleTx(s, Pays(955'000 - kFloor, 1'000'000, 50'000), 0b100), 200), Reason::kChannelOutputs);
  ASSERT_EQ(Apply(SettleTx(s, outs, 0b100), 200), Reason::kOk) << m_last.ToString();
  EXPECT_TRUE(ChannelGone());
}

TEST_F(SettlementTest, ExpiryAfterAPostIsRefused) {
  Fund(Funding());
  ASSERT_EQ(Apply(PostTx(Post(1, 10'000, 100)), 150), Reason::kOk);
  ChannelSettlement s = Path(SettlementPath::kExpiry);
  s.fee = kFloor;
  EXPECT_EQ(Apply(SettleTx(s, Pays(955'000, 1'000'000, 50'000 - kFloor - 100), 0b100), 250), Reason::kChannelStatus);
}

class EvidenceTest : public SettlementTest {
 protected:
  void SetUp() override {
    SettlementTest::SetUp();
    // Counted before the funding: never evidence.
    m_before = MakeReading(kMeterA, kT0, 900, 5, 0);
    Count({m_before});
    Fund(Funding());
    const std::uint64_t s0 = Funding().delivery_start;
    // A's meter takes 2,000 Wh, B's exports 1,200 Wh, in four quarter hours each.
    for (int i = 0; i < 4; ++i) {
      m_evidence.push_back(MakeReading(kMeterA, s0 + 900 * i, 900, 500, 0));
      m_evidence.push_back(MakeReading(kMeterB, s0 + 900 * i, 900, 0, 300));
    }
    // After the interval: counted but not folded.
    m_after = MakeReading(kMeterA, Funding().delivery_end, 900, 7, 0);
    std::vector<Reading> batch = m_evidence;
    batch.push_back(m_after);
    Count(batch);
  }
  ChannelSettlement WithEvidence(SettlementPath path, std::vector<Reading> evidence, std::uint64_t fee = kFloor) {
    ChannelSettlement s = Path(path);
    s.fee = fee;
    s.evidence = std::move(evidence);
    return s;
  }
  Reading m_before, m_after;
  std::vector<Reading> m_evidence;
};

TEST_F(EvidenceTest, ChainFoldsTheCountedReadingsOfTheInterval) {
  auto ch = Reader().Channel(m_channel);
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->count_a, 4u);
  EXPECT_EQ(ch->count_b, 4u);
  EXPECT_EQ(ch->import_a_wh, 2'000u);
  EXPECT_EQ(ch->export_b_wh, 1'200u);
}

TEST_F(EvidenceTest, PenaltyPaysFromTheEvidenceAndPoolsBsCollateral) {
  // The worked example of docs/channels.md: A keeps 191, B gets 459, U gets 305 + its deposit.
  const auto outs = Pays(191'000 - kFloor, 458'400, 305'600 + 50'000);
  const auto s = WithEvidence(SettlementPath::kPenalty, m_evidence);
  EXPECT_EQ(Apply(SettleTx(s, outs, 0b101), 150, Funding().delivery_end - 1), Reason::kChannelDeliveryOpen);
  EXPECT_EQ(Apply(SettleTx(s, outs, 0b011), 150), Reason::kChannelSigners);
  ASSERT_EQ(Apply(SettleTx(s, outs, 0b101), 150), Reason::kOk) << m_last.ToString();
  EXPECT_EQ(m_pooled.units, 1'000'000);
  EXPECT_EQ(m_fee.units, static_cast<std::int64_t>(kFloor));
  const MarketGlobals g = Reader().Globals();
  EXPECT_EQ(g.pool_accrued, 1'000'000u);
  EXPECT_EQ(g.pool_slot, 15u);
  EXPECT_EQ(g.PoolOutstanding(), 1'000'000u);
  EXPECT_TRUE(ChannelGone());
}

TEST_F(EvidenceTest, ForgedEvidenceIsRefusedWithItsReason) {
  const auto outs = Pays(191'000 - kFloor, 458'400, 305'600 + 50'000);
  auto penalty = [&](std::vector<Reading> ev) { return Apply(SettleTx(WithEvidence(SettlementPath::kPenalty, ev), outs, 0b101), 150); };
  auto other = m_evidence;
  other[0] = MakeReading(kMeterOther, other[0].start, 900, 500, 0);
  EXPECT_EQ(penalty(other), Reason::kEvidenceOtherMeter);
  auto unsigned_ = m_evidence;
  unsigned_[3].export_wh = 900;  // B's meter "exported" more: the signature no longer holds
  EXPECT_EQ(penalty(unsigned_), Reason::kEvidenceUnsigned);
  auto outside = m_evidence;
  outside.push_back(m_after);
  EXPECT_EQ(penalty(outside), Reason::kEvidenceOutsideInterval);
  auto before = m_evidence;
  before.insert(before.begin(), m_before);
  EXPECT_EQ(penalty(before), Reason::kEvidenceOutsideInterval);
  auto omitted = m_evidence;
  omitted.erase(omitted.begin() + 3);  // one of B's readings left out: B looks worse
  EXPECT_EQ(penalty(omitted), Reason::kEvidenceUncounted);
  auto reordered = m_evidence;
  std::swap(reordered[0], reordered[2]);
  EXPECT_EQ(penalty(reordered), Reason::kEvidenceUncounted);
  auto uncounted = m_evidence;
  uncounted.push_back(MakeReading(kMeterA, Funding().delivery_start + 1'800, 900, 1, 0));  // signed, never on chain
  EXPECT_EQ(penalty(uncounted), Reason::kEvidenceUncounted);
  EXPECT_EQ(Apply(SettleTx(WithEvidence(SettlementPath::kPenalty, m_evidence), Pays(191'000 - kFloor, 400'000, 364'000 + 50'000), 0b101), 150),
            Reason::kEvidenceArithmetic);
  // Interleaving across meters is free: each meter's readings keep their order.
  auto grouped = m_evidence;
  std::stable_partition(grouped.begin(), grouped.end(), [](const Reading& r) { return r.meter == TestPub(kMeterA); });
  EXPECT_EQ(penalty(grouped), Reason::kOk) << m_last.ToString();
}

TEST_F(EvidenceTest, DeliveredPaysBForWhatItsMeterExported) {
  // B exported 1,200 Wh: A pays cost(1,200) = 458,400 and keeps the rest; U's deposit pays the fee.
  const auto s = WithEvidence(SettlementPath::kDelivered, m_evidence);
  EXPECT_EQ(Apply(SettleTx(s, Pays(955'000 - 458'400, 1'458'400, 50'000 - kFloor), 0b101), 150), Reason::kChannelSigners);
  ASSERT_EQ(Apply(SettleTx(s, Pays(955'000 - 458'400, 1'458'400 - kFloor, 50'000), 0b110), 150), Reason::kOk)
      << m_last.ToString();
  EXPECT_EQ(m_pooled.units, 0);
  EXPECT_TRUE(ChannelGone());
}

TEST_F(SettlementTest, PenaltyWithoutAShortfallIsRefused) {
  Fund(Funding());
  std::vector<Reading> ev;
  const std::uint64_t s0 = Funding().delivery_start;
  ev.push_back(MakeReading(kMeterA, s0, 900, 2'500, 0));
  ev.push_back(MakeReading(kMeterB, s0, 900, 0, 2'500));
  Count(ev);
  ChannelSettlement s = Path(SettlementPath::kPenalty);
  s.fee = kFloor;
  s.evidence = ev;
  EXPECT_EQ(Apply(SettleTx(s, Pays(1, 1, 1), 0b101), 150), Reason::kChannelNoShortfall);
}

TEST_F(SettlementTest, PoolPaysTheNextSlotsBlocksAndLiftsTheFeeFloor) {
  MarketGlobals g = Reader().Globals();
  g.pool_slot = 15;
  g.pool_accrued = 1'000'003;
  g.pool_in_total = 1'000'003;
  WriteGlobals(m_state, g);
  std::uint64_t paid = 0;
  for (std::uint32_t h = 150; h < 170; ++h) {
    MarketOverlay block(&m_state);
    const Amount share = ConnectBlockPool(h, m_params, block);
    EXPECT_EQ(PoolShareAt(m_state, m_params, h), share);
    EXPECT_EQ(share.units, h < 160 ? 0 : (h == 169 ? 100'003 : 100'000)) << h;
    paid += static_cast<std::uint64_t>(share.units);
    Merge(block);
  }
  EXPECT_EQ(paid, 1'000'003u);
  EXPECT_EQ(Reader().Globals().PoolOutstanding(), 0u);
}

TEST_F(SettlementTest, WhileThePoolPaysACloseNeedsNoSettlementFee) {
  Fund(Funding());
  MarketGlobals g = Reader().Globals();
  g.pool_slot = 15;
  g.pool_paying = 10;
  g.pool_in_total = 10;
  WriteGlobals(m_state, g);
  ChannelSettlement s = Path(SettlementPath::kCooperative);
  EXPECT_EQ(Apply(SettleTx(s, Pays(955'000, 1'000'000, 50'000), 0b011), 160), Reason::kChannelFee);  // slot 16 pays nothing
  ASSERT_EQ(Apply(SettleTx(s, Pays(955'000, 1'000'000, 50'000), 0b011), 150), Reason::kOk) << m_last.ToString();
  EXPECT_EQ(m_fee.units, 0);
}

TEST_F(SettlementTest, AMeterBacksABoundedNumberOfChannels) {
  m_params.max_channels_per_meter = 1;
  Fund(Funding());
  ChannelFunding second = Funding();
  second.cwb = 7;
  MutableTransaction tx;
  tx.inputs.push_back({OutPoint{Filled(0x71), 0}, Satisfaction::Sig(Signature{})});
  tx.outputs.push_back({Amount{static_cast<std::int64_t>(second.cwa + second.cwb + second.cwu)},
                        Condition::Channel(second.consumer, second.producer, second.utility, second.expiry, 6)});
  tx.record = MakeRecord(second);
  MarketOverlay child(&m_state);
  Amount minted;
  ValidationState s;
  EXPECT_FALSE(ApplyMarketRecord(Transaction(tx), {kFundHeight, kT0}, m_params, child, minted, s));
  EXPECT_EQ(s.reason(), Reason::kFundingMeterBusy);
  EXPECT_TRUE(DependsOnMarketState(Reason::kFundingMeterBusy));
}

TEST(SettlementRecord, RoundTripAndKind) {
  ChannelSettlement s;
  s.path = SettlementPath::kExpiry;
  s.channel = OutPoint{Filled(0x12), 3};
  s.fee = 77;
  const Record rec = MakeSettlementRecord(s);
  EXPECT_EQ(rec.kind, RecordKind::kChannelSettlement);
  ChannelSettlement back;
  ASSERT_EQ(DecodeSettlementRecord(rec, back), DecodeError::kOk);
  EXPECT_EQ(back, s);
  Record other = rec;
  other.version = 2;
  EXPECT_EQ(DecodeSettlementRecord(other, back), DecodeError::kBadFieldValue);
  other = rec;
  other.kind = RecordKind::kChannelFunding;
  EXPECT_EQ(DecodeSettlementRecord(other, back), DecodeError::kUnknownRecordKind);
}
