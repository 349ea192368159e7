// consensus/channel.h: the settlement record's canonical encoding, the commitment signature
// hash, and the settlement arithmetic (state shares, fees, dust, penalty and delivered splits,
// settlement fee, pool shares, evidence accumulator), exhaustively at the edges.
#include "consensus/channel.h"

#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "consensus/params.h"
#include "consensus/tx_check.h"
#include "consensus/tx_verify.h"
#include "test_util.h"

using namespace wattline;
using namespace wattline::consensus;
using namespace wattline::consensus::test;

namespace {

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();
const std::uint64_t kMaxUnits = static_cast<std::uint64_t>(kMaxMoney.units);

ChannelId SomeChannel() { return {Filled(0x11), 3}; }

Reading SomeReading(std::uint8_t meter_key, std::uint64_t start) {
  Reading r;
  r.meter = TestPub(meter_key);
  r.start = start;
  r.length = 900;
  r.import_wh = 5;
  r.export_wh = 7;
  r.import_register = 105;
  r.export_register = 207;
  r.sig = SignWith(meter_key, ReadingSigHash(Regtest(), r));
  return r;
}

std::vector<ChannelSettlement> OneOfEachPath() {
  std::vector<ChannelSettlement> all;
  ChannelSettlement s;
  s.channel = SomeChannel();
  s.path = SettlementPath::kCooperative;
  s.cc = 400;
  s.fee = 20;
  all.push_back(s);
  s = {};
  s.channel = SomeChannel();
  s.path = SettlementPath::kPost;
  s.state = 17;
  s.cc = 250;
  s.fee = 30;
  s.sig_a = SignWith(1, CommitmentSigHash(Regtest(), s.AsCommitment()));
  s.sig_b = SignWith(2, CommitmentSigHash(Regtest(), s.AsCommitment()));
  all.push_back(s);
  s = {};
  s.channel = SomeChannel();
  s.path = SettlementPath::kSettle;
  all.push_back(s);
  s = {};
  s.channel = SomeChannel();
  s.path = SettlementPath::kExpiry;
  s.fee = 9;
  all.push_back(s);
  s = {};
  s.channel = SomeChannel();
  s.path = SettlementPath::kPenalty;
  s.fee = 11;
  s.evidence = {SomeReading(21, 1'000'000), SomeReading(22, 1'000'000)};
  all.push_back(s);
  s.path = SettlementPath::kDelivered;
  s.evidence = {SomeReading(22, 1'000'900)};
  all.push_back(s);
  return all;
}

}  // namespace

TEST(ChannelSettlementCodec, EveryPathRoundTripsAndHasItsDocumentedSize) {
  const std::size_t head = 1 + 32 + 4;
  const std::size_t sizes[] = {head + 16, head + 24 + 128, head, head + 8, head + 8 + 1 + 2 * kReadingSize,
                               head + 8 + 1 + kReadingSize};
  const auto all = OneOfEachPath();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Bytes enc = EncodeSettlement(all[i]);
    EXPECT_EQ(enc.size(), sizes[i]) << "path " << i + 1;
    EXPECT_EQ(enc[0], i + 1);
    ChannelSettlement back;
    ASSERT_EQ(DecodeSettlement(enc, back), DecodeError::kOk) << "path " << i + 1;
    EXPECT_EQ(back, all[i]);
  }
}

TEST(ChannelSettlementCodec, RejectsUnknownPathTruncationTrailingBytesAndEmptyEvidence) {
  for (const auto& s : OneOfEachPath()) {
    const Bytes enc = EncodeSettlement(s);
    ChannelSettlement out;
    for (std::size_t n = 0; n < enc.size(); ++n)
      EXPECT_NE(DecodeSettlement(ByteSpan(enc.data(), n), out), DecodeError::kOk) << "prefix " << n;
    Bytes longer = enc;
    longer.push_back(0);
    EXPECT_EQ(DecodeSettlement(longer, out), DecodeError::kTrailingBytes);
  }
  for (std::uint8_t path : {0, 7, 255}) {
    Bytes enc = EncodeSettlement(OneOfEachPath()[2]);
    enc[0] = path;
    ChannelSettlement out;
    EXPECT_EQ(DecodeSettlement(enc, out), DecodeError::kBadFieldValue) << int(path);
  }
  ChannelSettlement empty = OneOfEachPath()[4];
  empty.evidence.clear();
  ChannelSettlement out;
  EXPECT_EQ(DecodeSettlement(EncodeSettlement(empty), out), DecodeError::kBadFieldValue);
  ChannelSettlement many = OneOfEachPath()[4];
  many.evidence.assign(kMaxEvidenceReadings + 1, SomeReading(21, 5));
  EXPECT_EQ(DecodeSettlement(EncodeSettlement(many), out), DecodeError::kCountTooLarge);
  many.evidence.resize(kMaxEvidenceReadings);
  EXPECT_EQ(DecodeSettlement(EncodeSettlement(many), out), DecodeError::kOk);
}

TEST(ChannelSettlementCodec, MaximalFieldsRoundTrip) {
  ChannelSettlement s;
  s.path = SettlementPath::kPost;
  s.channel = {Filled(0xff), std::numeric_limits<std::uint32_t>::max()};
  s.state = s.cc = s.fee = kMax64;
  s.sig_a.bytes.fill(0xff);
  s.sig_b.bytes.fill(0xff);
  ChannelSettlement back;
  ASSERT_EQ(DecodeSettlement(EncodeSettlement(s), back), DecodeError::kOk);
  EXPECT_EQ(back, s);
}

TEST(CommitmentSigHash, CoversEveryFieldAndTheNetwork) {
  const Commitment c{SomeChannel(), 5, 100, 10};
  const Hash256 h = CommitmentSigHash(Regtest(), c);
  Commitment other = c;
  other.state = 6;
  EXPECT_NE(CommitmentSigHash(Regtest(), other), h);
  other = c;
  other.cc = 101;
  EXPECT_NE(CommitmentSigHash(Regtest(), other), h);
  other = c;
  other.fee = 11;
  EXPECT_NE(CommitmentSigHash(Regtest(), other), h);
  other = c;
  other.channel.index = 4;
  EXPECT_NE(CommitmentSigHash(Regtest(), other), h);
  EXPECT_NE(CommitmentSigHash(GetParams(Network::kMain), c), h);
  // A signature made for it verifies, and not for the next state.
  const Signature sig = SignWith(1, h);
  EXPECT_TRUE(crypto::Verify(TestPub(1), h, sig));
  other = c;
  other.state = 6;
  EXPECT_FALSE(crypto::Verify(TestPub(1), CommitmentSigHash(Regtest(), other), sig));
}

TEST(ChannelArithmetic, StateSharesMoveCcFromAToB) {
  EXPECT_EQ(StateShares(955, 1000, 0, 0), (Shares{955, 1000, 0}));
  EXPECT_EQ(StateShares(955, 1000, 50, 955), (Shares{0, 1955, 50}));
  EXPECT_EQ(StateShares(955, 1000, 50, 382), (Shares{573, 1382, 50}));
  EXPECT_FALSE(StateShares(955, 1000, 0, 956));
  EXPECT_FALSE(StateShares(kMax64, 0, 0, 0));
  EXPECT_FALSE(StateShares(10, kMaxUnits, 0, 1));
  EXPECT_FALSE(StateShares(10, 0, kMaxUnits + 1, 1));
  EXPECT_EQ(StateShares(kMaxUnits, 0, 0, kMaxUnits), (Shares{0, kMaxUnits, 0}));
}

TEST(ChannelArithmetic, FeeComesFromThePayersInOrderAndDustJoinsIt) {
  // A pays all of it.
  auto p = ApplyFee({573, 1382, 50}, 73, {Party::kA, Party::kB}, 0);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->shares, (Shares{500, 1382, 50}));
  EXPECT_EQ(p->fee, 73u);
  // A's share runs out, B pays the rest; U (not a payer) is untouched.
  p = ApplyFee({10, 100, 50}, 30, {Party::kA, Party::kB}, 0);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->shares, (Shares{0, 80, 50}));
  // The payers cannot cover it.
  EXPECT_FALSE(ApplyFee({10, 100, 50}, 111, {Party::kA, Party::kB}, 0));
  EXPECT_FALSE(ApplyFee({10, 100, 50}, 1, {}, 0));
  // Dust: a share below the bound is not paid out.
  p = ApplyFee({573, 1382, 50}, 73, {Party::kA}, 546);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->shares, (Shares{0, 1382, 0}));
  EXPECT_EQ(p->fee, 73u + 500 + 50);
  // Nothing is created or lost: shares + fee == the coins in.
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 20000; ++i) {
    const Shares s{rng() % 10'000, rng() % 10'000, rng() % 10'000};
    const std::uint64_t fee = rng() % 12'000, dust = rng() % 700;
    std::vector<Party> payers{Party::kA, Party::kB, Party::kU};
    payers.resize(rng() % 4);
    auto r = ApplyFee(s, fee, payers, dust);
    std::uint64_t cover = 0;
    for (Party x : payers) cover += s[static_cast<std::size_t>(x)];
    ASSERT_EQ(r.has_value(), cover >= fee);
    if (!r) continue;
    EXPECT_EQ(r->shares[0] + r->shares[1] + r->shares[2] + r->fee, s[0] + s[1] + s[2]);
    for (std::uint64_t x : r->shares) EXPECT_TRUE(x == 0 || x >= dust);
  }
}

TEST(ChannelArithmetic, PenaltyPaysForWhatWasReceivedAndPoolsTheCollateral) {
  // Asked 2,500 Wh at 382 units/kWh (CwA 955): A's meter took 2,000 Wh, B's exported 1,200 Wh.
  auto p = PenaltyShares(955, 1000, 0, 2500, 382, 2000, 1200);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->received_wh, 2000u);
  EXPECT_EQ(p->delivered_wh, 1200u);
  // A pays ceil(764) = 764: 459 (ceil 458.4) to B, 305 to U; B's 1,000 go to the pool.
  EXPECT_EQ(p->shares, (Shares{955 - 764, 459, 305}));
  EXPECT_EQ(p->pool, 1000u);
  EXPECT_EQ(p->shares[0] + p->shares[1] + p->shares[2] + p->pool, 955u + 1000u + 0u);
  // A took more than asked: it pays for the energy asked only.
  p = PenaltyShares(955, 1000, 7, 2500, 382, 9000, 0);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->shares, (Shares{0, 0, 955 + 7}));
  // B delivered all: no penalty.
  EXPECT_FALSE(PenaltyShares(955, 1000, 0, 2500, 382, 2500, 2500));
  EXPECT_FALSE(PenaltyShares(955, 1000, 0, 2500, 382, 0, kMax64));
  // CwA below the cost of what A received (a funding record never allows it).
  EXPECT_FALSE(PenaltyShares(900, 1000, 0, 2500, 382, 2500, 0));
  // Extremes never overflow.
  EXPECT_FALSE(PenaltyShares(kMax64, kMax64, kMax64, kMax64, kMax64, kMax64, 0));
  std::mt19937_64 rng(TestSeed() + 1);
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t energy = 1 + rng() % 100'000, price = rng() % 100'000;
    const auto cost = EnergyCost(energy, price);
    const std::uint64_t cwa = *cost + rng() % 1000, cwb = rng() % 100'000, cwu = rng() % 1000;
    const std::uint64_t imp = rng() % 150'000, exp = rng() % 150'000;
    auto r = PenaltyShares(cwa, cwb, cwu, energy, price, imp, exp);
    ASSERT_EQ(r.has_value(), exp < energy);
    if (!r) continue;
    EXPECT_EQ(r->shares[0] + r->shares[1] + r->shares[2] + r->pool, cwa + cwb + cwu);
    EXPECT_EQ(r->pool, cwb);
    EXPECT_LE(r->delivered_wh, r->received_wh);
  }
}

TEST(ChannelArithmetic, DeliveredPaysBForMeteredDeliveryUpToTheAsk) {
  EXPECT_EQ(DeliveredShares(955, 1000, 0, 2500, 382, 1200), (Shares{955 - 459, 1000 + 459, 0}));
  EXPECT_EQ(DeliveredShares(955, 1000, 3, 2500, 382, 99'999), (Shares{0, 1955, 3}));
  EXPECT_EQ(DeliveredShares(955, 1000, 0, 2500, 382, 0), (Shares{955, 1000, 0}));
  EXPECT_FALSE(DeliveredShares(100, 1000, 0, 2500, 382, 2500));
  EXPECT_FALSE(DeliveredShares(kMax64, kMax64, kMax64, kMax64, kMax64, kMax64));
}

TEST(ChannelArithmetic, SettlementFeeIsAFloorPercentInWideArithmetic) {
  EXPECT_EQ(SettlementFee(1955, 1), 19u);
  EXPECT_EQ(SettlementFee(99, 1), 0u);
  EXPECT_EQ(SettlementFee(1955, 0), 0u);
  EXPECT_EQ(SettlementFee(1955, 100), 1955u);
  EXPECT_EQ(SettlementFee(1955, 250), 1955u);
  EXPECT_EQ(SettlementFee(kMax64, 50), kMax64 / 2);
  EXPECT_EQ(SettlementFee(kMax64, 100), kMax64);
}

TEST(ChannelArithmetic, PoolSharesOfASlotSumToThePool) {
  for (std::uint32_t slot_blocks : {1u, 6u, 144u}) {
    for (std::uint64_t pool : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{5}, std::uint64_t{1000},
                               std::uint64_t{1001}, kMaxUnits}) {
      const std::uint32_t first = 7 * slot_blocks;  // slot 7
      std::uint64_t sum = 0;
      for (std::uint32_t h = first; h < first + slot_blocks; ++h) {
        const std::uint64_t share = PoolShare(pool, slot_blocks, h);
        if (h + 1 < first + slot_blocks) EXPECT_EQ(share, pool / slot_blocks);
        sum += share;
      }
      EXPECT_EQ(sum, pool) << slot_blocks << " " << pool;
    }
  }
  EXPECT_EQ(PoolShare(100, 0, 5), 0u);
}

TEST(ChannelEvidence, AccumulatorDependsOnEveryReadingAndTheOrder) {
  const Reading r1 = SomeReading(21, 1'000'000), r2 = SomeReading(21, 1'000'900);
  const Hash256 zero{};
  const Hash256 a = AccumulateEvidence(AccumulateEvidence(zero, r1), r2);
  EXPECT_NE(a, AccumulateEvidence(AccumulateEvidence(zero, r2), r1));
  Reading forged = r2;
  forged.export_wh += 1;
  EXPECT_NE(a, AccumulateEvidence(AccumulateEvidence(zero, r1), forged));
  Reading resigned = r2;
  resigned.sig.bytes[0] ^= 1;
  EXPECT_NE(a, AccumulateEvidence(AccumulateEvidence(zero, r1), resigned));
  EXPECT_EQ(a, AccumulateEvidence(AccumulateEvidence(zero, r1), r2));
}

TEST(ChannelEvidence, DeliveryIntervalHoldsOnlyWholeReadings) {
  Reading r = SomeReading(21, 1000);  // [1000, 1900)
  EXPECT_TRUE(InDeliveryInterval(r, 1000, 1900));
  EXPECT_TRUE(InDeliveryInterval(r, 0, 5000));
  EXPECT_FALSE(InDeliveryInterval(r, 1001, 5000));
  EXPECT_FALSE(InDeliveryInterval(r, 0, 1899));
  r.start = kMax64 - 10;
  EXPECT_FALSE(InDeliveryInterval(r, 0, kMax64));
  r.length = 10;
  EXPECT_TRUE(InDeliveryInterval(r, 0, kMax64));
}

// The committed vectors, tests/vectors/channels.json (contrib/make_vectors.cpp, never
// regenerated here): the encodings, the commitment hash and signatures, the accumulator and
// the penalty example stay what they were.
TEST(ChannelVectors, MatchTheCommittedFile) {
  const std::string path = std::string(WATTLINE_TEST_VECTORS_DIR) + "/channels.json";
  std::ifstream f(path);
  ASSERT_TRUE(f) << "cannot open " << path;
  const auto j = nlohmann::json::parse(f);
  ASSERT_EQ(j["settlements"].size(), 6u);
  for (const auto& v : j["settlements"]) {
    const Bytes bytes = FromHex(v["hex"].get<std::string>());
    ChannelSettlement s;
    ASSERT_EQ(DecodeSettlement(bytes, s), DecodeError::kOk) << v["description"];
    EXPECT_EQ(static_cast<int>(s.path), v["path"].get<int>());
    EXPECT_EQ(EncodeSettlement(s), bytes) << v["description"];
    if (s.path == SettlementPath::kPost) {
      const Hash256 h = CommitmentSigHash(Regtest(), s.AsCommitment());
      EXPECT_EQ(h.ToHex(), j["commitment"]["sighash"].get<std::string>());
      EXPECT_TRUE(crypto::Verify(TestPub(1), h, s.sig_a));
      EXPECT_TRUE(crypto::Verify(TestPub(2), h, s.sig_b));
    }
    for (const Reading& r : s.evidence) EXPECT_TRUE(crypto::Verify(r.meter, ReadingSigHash(Regtest(), r), r.sig));
  }
  const Bytes enc = FromHex(j["evidence_accumulator"]["reading"].get<std::string>());
  Reader rd(enc);
  Reading r;
  ASSERT_TRUE(DecodeReading(rd, r));
  EXPECT_EQ(AccumulateEvidence(Hash256{}, r).ToHex(), j["evidence_accumulator"]["after_one"].get<std::string>());
  const auto& p = j["penalty_example"];
  auto u = [&](const char* k) { return std::stoull(p[k].get<std::string>()); };
  auto split = PenaltyShares(u("cwa"), u("cwb"), u("cwu"), u("energy_wh"), u("price"), u("a_import_wh"), u("b_export_wh"));
  ASSERT_TRUE(split);
  EXPECT_EQ(split->shares, (Shares{u("to_a"), u("to_b"), u("to_u")}));
  EXPECT_EQ(split->pool, u("pool"));
}

TEST(ChannelCloseCondition, EncodesIn49BytesAndRoundTrips) {
  const Condition c = Condition::ChannelClose(Filled(0x11), 7, kMax64, 6);
  const Bytes enc = EncodeCondition(c);
  EXPECT_EQ(enc.size(), 1u + 32 + 4 + 8 + 4);
  EXPECT_EQ(enc[0], 7);
  Condition back;
  ASSERT_EQ(DecodeCondition(enc, back), DecodeError::kOk);
  EXPECT_EQ(back, c);
  EXPECT_NE(Condition::ChannelClose(Filled(0x11), 7, 5, 6), Condition::ChannelClose(Filled(0x11), 7, 6, 6));
}

TEST(ChannelCloseCondition, MustBeWholeAndContested) {
  std::string why;
  EXPECT_TRUE(CheckCondition(Condition::ChannelClose(Filled(0x11), 0, 1, 6), why));
  EXPECT_FALSE(CheckCondition(Condition::ChannelClose(Filled(0x11), 0, 1, 0), why));
  EXPECT_EQ(why, "a closing output needs a contest window");
  EXPECT_FALSE(CheckCondition(Condition::Or(Condition::ChannelClose(Filled(0x11), 0, 1, 6), Condition::Key(TestPub(1))), why));
  EXPECT_EQ(why, "a closing condition cannot be nested");
  EXPECT_FALSE(CheckCondition(Condition::AfterBlocks(3, Condition::ChannelClose(Filled(0x11), 0, 1, 6)), why));
}

TEST(ChannelCloseCondition, NoTransactionCreatesOneUntilPostsAreAccepted) {
  auto tx = MakeSpend(OutPoint{Filled(0x44), 0}, Coins(1), Condition::ChannelClose(Filled(0x11), 0, 1, 6));
  ValidationState s;
  EXPECT_FALSE(CheckTransaction(Transaction(tx), s));
  EXPECT_EQ(s.reason(), Reason::kTxBadCondition);
  EXPECT_NE(s.detail().find("created only by a channel post"), std::string::npos) << s.detail();
}

TEST(ChannelCloseCondition, IsNotSpendableYet) {
  const Coin coin{TxOut{Coins(2), Condition::ChannelClose(Filled(0x11), 0, 4, 6)}, 1, false};
  auto tx = MakeSpend(OutPoint{Filled(0x44), 0}, Coins(1));
  for (const Satisfaction& sat : {Satisfaction::ChannelPath(0, {}),
                                  Satisfaction::ChannelPath(0b011, {SignWith(1, Sighash(tx, 0, coin.out)),
                                                                    SignWith(2, Sighash(tx, 0, coin.out))})}) {
    tx.inputs[0].satisfaction = sat;
    const Transaction frozen(tx);
    const Coin* coins[] = {&coin};
    for (std::uint32_t height : {2u, 7u, 1000u}) {
      Amount fee;
      ValidationState s;
      EXPECT_FALSE(CheckTxInputs(frozen, coins, height, Regtest(), fee, s));
      EXPECT_EQ(s.reason(), Reason::kTxChannelPath);
    }
  }
}

TEST(ChannelPathSatisfaction, SignerBitmapOverABU) {
  Signature a, b;
  a.bytes.fill(1);
  b.bytes.fill(2);
  for (const Satisfaction& sat : {Satisfaction::ChannelPath(0, {}), Satisfaction::ChannelPath(0b101, {a, b}),
                                  Satisfaction::ChannelPath(0b111, {a, b, a})}) {
    const Bytes enc = EncodeSatisfaction(sat);
    EXPECT_EQ(enc.size(), 2 + 64 * sat.sigs.size());
    Satisfaction back;
    ASSERT_EQ(DecodeSatisfaction(enc, back), DecodeError::kOk);
    EXPECT_EQ(back, sat);
  }
  Bytes bad = EncodeSatisfaction(Satisfaction::ChannelPath(0b001, {a}));
  bad[1] = 0b1001;
  Satisfaction out;
  EXPECT_EQ(DecodeSatisfaction(bad, out), DecodeError::kBadFieldValue);
  // A key condition does not take it.
  const Coin coin{TxOut{Coins(2), Condition::Key(TestPub(1))}, 1, false};
  auto tx = MakeSpend(OutPoint{Filled(0x44), 0}, Coins(1));
  tx.inputs[0].satisfaction = Satisfaction::ChannelPath(0b001, {SignWith(1, Sighash(tx, 0, coin.out))});
  const Transaction frozen(tx);
  const Coin* coins[] = {&coin};
  Amount fee;
  ValidationState s;
  EXPECT_FALSE(CheckTxInputs(frozen, coins, 5, Regtest(), fee, s));
  EXPECT_EQ(s.reason(), Reason::kTxSatisfactionMismatch);
}
