// Spending rules: locks, multisig, "or" branches, coinbase maturity, amounts and fees, the
// signature hash, and deferred signature checks.
#include "consensus/tx_verify.h"

#include <gtest/gtest.h>

#include "consensus/tx_check.h"
#include "test_util.h"

using namespace wattline::consensus;
using namespace wattline::consensus::test;

namespace {

const OutPoint kPrev{Filled(0x44), 3};

struct Result {
  bool ok;
  Reason reason;
  Amount fee;
};

Result Spend(const MutableTransaction& mtx, const Coin& coin, std::uint32_t height, std::vector<SigCheck>* sink = nullptr) {
  Transaction tx(mtx);
  const Coin* coins[] = {&coin};
  ValidationState s;
  Amount fee{-1};
  bool ok = CheckTxInputs(tx, coins, height, Regtest(), fee, s, sink);
  return {ok, s.reason(), fee};
}

Coin CoinOf(const Condition& cond, std::uint32_t height = 1, Amount amount = Coins(2)) {
  return Coin{TxOut{amount, cond}, height, false};
}

}  // namespace

TEST(SignatureHash, Definition) {
  const Params& r = Regtest();
  const TxOut spent{Coins(2), Condition::Key(TestPub(1))};
  const Hash256 txid = Filled(0x5a);
  Bytes msg(r.magic.begin(), r.magic.end());
  msg.insert(msg.end(), txid.bytes.begin(), txid.bytes.end());
  for (std::uint8_t b : {7, 0, 0, 0}) msg.push_back(b);                 // index, u32 LE
  for (std::uint8_t b : {0x00, 0xc2, 0xeb, 0x0b, 0, 0, 0, 0}) msg.push_back(b);  // 2 coins, u64 LE
  Bytes cond = EncodeCondition(spent.condition);
  msg.insert(msg.end(), cond.begin(), cond.end());
  EXPECT_EQ(SignatureHash(r, txid, 7, spent), wattline::crypto::TaggedHash("wattline/sighash", msg));
  // Every part is committed to.
  const Hash256 base = SignatureHash(r, txid, 7, spent);
  EXPECT_NE(SignatureHash(GetParams(Network::kMain), txid, 7, spent), base);
  EXPECT_NE(SignatureHash(r, Filled(0x5b), 7, spent), base);
  EXPECT_NE(SignatureHash(r, txid, 6, spent), base);
  EXPECT_NE(SignatureHash(r, txid, 7, TxOut{Amount{Coins(2).units + 1}, spent.condition}), base);
  EXPECT_NE(SignatureHash(r, txid, 7, TxOut{Coins(2), Condition::Key(TestPub(2))}), base);
}

TEST(Locks, HeightLockAtBoundary) {
  const Coin coin = CoinOf(Condition::AfterHeight(100, Condition::Key(TestPub(1))));
  auto tx = MakeSpend(kPrev, Coins(1));
  tx.inputs[0].satisfaction = Satisfaction::Sig(SignWith(1, Sighash(tx, 0, coin.out)));
  EXPECT_EQ(Spend(tx, coin, 99).reason, Reason::kTxHeightLocked);
  EXPECT_TRUE(Spend(tx, coin, 100).ok);
  EXPECT_TRUE(Spend(tx, coin, 101).ok);
}

TEST(Locks, RelativeLockCountsFromTheCoinsBlock) {
  const Coin coin = CoinOf(Condition::AfterBlocks(5, Condition::Key(TestPub(1))), /*height=*/40);
  auto tx = MakeSpend(kPrev, Coins(1));
  tx.inputs[0].satisfaction = Satisfaction::Sig(SignWith(1, Sighash(tx, 0, coin.out)));
  EXPECT_EQ(Spend(tx, coin, 41).reason, Reason::kTxRelativeLocked);
  EXPECT_EQ(Spend(tx, coin, 44).reason, Reason::kTxRelativeLocked);
  EXPECT_TRUE(Spend(tx, coin, 45).ok);
  // Zero blocks: spendable in the block right after (or the same block, for the ledger's order).
  const Coin zero = CoinOf(Condition::AfterBlocks(0, Condition::Key(TestPub(1))), 40);
  tx.inputs[0].satisfaction = Satisfaction::Sig(SignWith(1, Sighash(tx, 0, zero.out)));
  EXPECT_TRUE(Spend(tx, zero, 40).ok);
}

TEST(Locks, NestedLocksAllApply) {
  const Coin coin = CoinOf(Condition::AfterHeight(50, Condition::AfterBlocks(20, Condition::Key(TestPub(1)))), 40);
  auto tx = MakeSpend(kPrev, Coins(1));
  tx.inputs[0].satisfaction = Satisfaction::Sig(SignWith(1, Sighash(tx, 0, coin.out)));
  EXPECT_EQ(Spend(tx, coin, 49).reason, Reason::kTxHeightLocked);
  EXPECT_EQ(Spend(tx, coin, 59).reason, Reason::kTxRelativeLocked);
  EXPECT_TRUE(Spend(tx, coin, 60).ok);
}

TEST(Multisig, TwoOfThreeEverySignerPair) {
  const Condition cond = Condition::Multisig(2, {TestPub(1), TestPub(2), TestPub(3)});
  const Coin coin = CoinOf(cond);
  auto tx = MakeSpend(kPrev, Coins(1));
  const Hash256 msg = Sighash(tx, 0, coin.out);
  const std::pair<int, int> pairs[] = {{0, 1}, {0, 2}, {1, 2}};
  for (auto [a, b] : pairs) {
    SCOPED_TRACE(std::to_string(a) + "," + std::to_string(b));
    const auto signers = static_cast<std::uint16_t>((1u << a) | (1u << b));
    tx.inputs[0].satisfaction = Satisfaction::Multi(
        signers, {SignWith(static_cast<std::uint8_t>(a + 1), msg), SignWith(static_cast<std::uint8_t>(b + 1), msg)});
    EXPECT_TRUE(Spend(tx, coin, 10).ok);
    // Signatures in the wrong order (not key order) fail.
    tx.inputs[0].satisfaction = Satisfaction::Multi(
        signers, {SignWith(static_cast<std::uint8_t>(b + 1), msg), SignWith(static_cast<std::uint8_t>(a + 1), msg)});
    EXPECT_EQ(Spend(tx, coin, 10).reason, Reason::kTxBadSignature);
  }
}

TEST(Multisig, WrongCountAndSignerBeyondN) {
  const Condition cond = Condition::Multisig(2, {TestPub(1), TestPub(2), TestPub(3)});
  const Coin coin = CoinOf(cond);
  auto tx = MakeSpend(kPrev, Coins(1));
  const Hash256 msg = Sighash(tx, 0, coin.out);
  tx.inputs[0].satisfaction = Satisfaction::Multi(0b010, {SignWith(2, msg)});
  EXPECT_EQ(Spend(tx, coin, 10).reason, Reason::kTxMultisigSigners);
  tx.inputs[0].satisfaction = Satisfaction::Multi(0b111, {SignWith(1, msg), SignWith(2, msg), SignWith(3, msg)});
  EXPECT_EQ(Spend(tx, coin, 10).reason, Reason::kTxMultisigSigners);
  tx.inputs[0].satisfaction = Satisfaction::Multi(0b1001, {SignWith(1, msg), SignWith(4, msg)});  // bit 3, n = 3
  EXPECT_EQ(Spend(tx, coin, 10).reason, Reason::kTxMultisigSigners);
}

TEST(Multisig, BadSignature) {
  const Condition cond = Condition::Multisig(2, {TestPub(1), TestPub(2), TestPub(3)});
  const Coin coin = CoinOf(cond);
  auto tx = MakeSpend(kPrev, Coins(1));
  const Hash256 msg = Sighash(tx, 0, coin.out);
  Signature broken = SignWith(3, msg);
  broken.bytes[10] ^= 1;
  tx.inputs[0].satisfaction = Satisfaction::Multi(0b101, {SignWith(1, msg), broken});
  EXPECT_EQ(Spend(tx, coin, 10).reason, Reason::kTxBadSignature);
  tx.inputs[0].satisfaction = Satisfaction::Multi(0b101, {SignWith(1, msg), SignWith(2, msg)});  // key 2 for slot 3
  EXPECT_EQ(Spend(tx, coin, 10).reason, Reason::kTxBadSignature);
}

TEST(Multisig, SixteenOfSixteen) {
  std::vector<XOnlyPubKey> keys;
  for (std::uint8_t i = 1; i <= 16; ++i) keys.push_back(TestPub(i));
  const Coin coin = CoinOf(Condition::Multisig(16, keys));
  auto tx = MakeSpend(kPrev, Coins(1));
  const Hash256 msg = Sighash(tx, 0, coin.out);
  std::vector<Signature> sigs;
  for (std::uint8_t i = 1; i <= 16; ++i) sigs.push_back(SignWith(i, msg));
  tx.inputs[0].satisfaction = Satisfaction::Multi(0xffff, sigs);
  EXPECT_TRUE(Spend(tx, coin, 10).ok);
}

// "2-of-3 now, or key A after height T".
TEST(OrBranches, TwoOfThreeOrKeyAfterHeight) {
  const Condition cond = Condition::Or(Condition::Multisig(2, {TestPub(1), TestPub(2), TestPub(3)}),
                                       Condition::AfterHeight(500, Condition::Key(TestPub(1))));
  std::string why;
  ASSERT_TRUE(CheckCondition(cond, why)) << why;
  const Coin coin = CoinOf(cond);
  auto tx = MakeSpend(kPrev, Coins(1));
  const Hash256 msg = Sighash(tx, 0, coin.out);
  // Left branch: any time.
  tx.inputs[0].satisfaction = Satisfaction::Branch(0, Satisfaction::Multi(0b011, {SignWith(1, msg), SignWith(2, msg)}));
  EXPECT_TRUE(Spend(tx, coin, 10).ok);
  // Right branch: only from height 500.
  tx.inputs[0].satisfaction = Satisfaction::Branch(1, Satisfaction::Sig(SignWith(1, msg)));
  EXPECT_EQ(Spend(tx, coin, 499).reason, Reason::kTxHeightLocked);
  EXPECT_TRUE(Spend(tx, coin, 500).ok);
  // A satisfaction for the other branch's shape.
  tx.inputs[0].satisfaction = Satisfaction::Branch(0, Satisfaction::Sig(SignWith(1, msg)));
  EXPECT_EQ(Spend(tx, coin, 500).reason, Reason::kTxSatisfactionMismatch);
  // The right key, the wrong branch's key.
  tx.inputs[0].satisfaction = Satisfaction::Branch(1, Satisfaction::Sig(SignWith(2, msg)));
  EXPECT_EQ(Spend(tx, coin, 500).reason, Reason::kTxBadSignature);
}

TEST(OrBranches, NestedOrs) {
  const Condition cond = Condition::Or(Condition::Key(TestPub(1)),
                                       Condition::Or(Condition::Key(TestPub(2)), Condition::Key(TestPub(3))));
  const Coin coin = CoinOf(cond);
  auto tx = MakeSpend(kPrev, Coins(1));
  const Hash256 msg = Sighash(tx, 0, coin.out);
  tx.inputs[0].satisfaction = Satisfaction::Branch(1, Satisfaction::Branch(1, Satisfaction::Sig(SignWith(3, msg))));
  EXPECT_TRUE(Spend(tx, coin, 10).ok);
  tx.inputs[0].satisfaction = Satisfaction::Branch(1, Satisfaction::Branch(0, Satisfaction::Sig(SignWith(3, msg))));
  EXPECT_EQ(Spend(tx, coin, 10).reason, Reason::kTxBadSignature);
  tx.inputs[0].satisfaction = Satisfaction::Branch(1, Satisfaction::Sig(SignWith(3, msg)));
  EXPECT_EQ(Spend(tx, coin, 10).reason, Reason::kTxSatisfactionMismatch);
}

// Satisfactions built in memory (not decoded) can break the shapes the decoder guarantees: a
// branch selector above 1, or a signature count that does not match the signer bitmap. Both
// encode, so a Transaction can hold them; CheckTxInputs must reject them, not read out of
// bounds. (Missing inner satisfactions or signatures do not encode: the encoder throws.)
TEST(OrBranches, MalformedInMemorySatisfactionsAreRejected) {
  const Condition either = Condition::Or(Condition::Key(TestPub(1)), Condition::Key(TestPub(2)));
  auto tx = MakeSpend(kPrev, Coins(1));
  const Hash256 msg = Sighash(tx, 0, CoinOf(either).out);
  Satisfaction bad_branch = Satisfaction::Branch(0, Satisfaction::Sig(SignWith(1, msg)));
  bad_branch.branch = 2;
  tx.inputs[0].satisfaction = bad_branch;
  EXPECT_EQ(Spend(tx, CoinOf(either), 10).reason, Reason::kTxSatisfactionMismatch);

  const Condition two = Condition::Multisig(2, {TestPub(1), TestPub(2)});
  for (std::size_t n_sigs : {0u, 1u, 3u}) {
    tx.inputs[0].satisfaction = Satisfaction::Multi(0b11, std::vector<Signature>(n_sigs, SignWith(1, msg)));
    EXPECT_EQ(Spend(tx, CoinOf(two), 10).reason, Reason::kTxSatisfactionMismatch) << n_sigs;
  }

  Satisfaction no_inner = Satisfaction::Branch(0, Satisfaction::Sig(SignWith(1, msg)));
  no_inner.inner.clear();
  tx.inputs[0].satisfaction = no_inner;
  EXPECT_THROW(Transaction{tx}, std::out_of_range);
}

TEST(CoinbaseMaturity, SpendableAfterMaturity) {
  const std::uint32_t maturity = Regtest().coinbase_maturity;
  Coin coin = CoinOf(Condition::Key(TestPub(1)), 200, Coins(50));
  coin.coinbase = true;
  auto tx = MakeSpend(kPrev, Coins(1));
  tx.inputs[0].satisfaction = Satisfaction::Sig(SignWith(1, Sighash(tx, 0, coin.out)));
  EXPECT_EQ(Spend(tx, coin, 200 + 1).reason, Reason::kTxPrematureCoinbaseSpend);
  EXPECT_EQ(Spend(tx, coin, 200 + maturity - 1).reason, Reason::kTxPrematureCoinbaseSpend);
  EXPECT_TRUE(Spend(tx, coin, 200 + maturity).ok);
}

TEST(Amounts, InBelowOutAndFees) {
  const Coin coin = CoinOf(Condition::Key(TestPub(1)), 1, Amount{1000});
  auto tx = MakeSpend(kPrev, Amount{1000});
  tx.outputs.push_back({Amount{0}, Condition::Key(TestPub(2))});
  auto sign = [&] { tx.inputs[0].satisfaction = Satisfaction::Sig(SignWith(1, Sighash(tx, 0, coin.out))); };
  sign();
  auto r = Spend(tx, coin, 10);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.fee, Amount{0});
  tx.outputs[1].amount = Amount{1};
  sign();
  EXPECT_EQ(Spend(tx, coin, 10).reason, Reason::kTxInBelowOut);
  tx.outputs[0].amount = Amount{600};
  tx.outputs[1].amount = Amount{300};
  sign();
  r = Spend(tx, coin, 10);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.fee, Amount{100});
}

TEST(SigChecks, DeferredToSinkAndRolledBackOnFailure) {
  const Coin coin = CoinOf(Condition::Multisig(2, {TestPub(1), TestPub(2), TestPub(3)}));
  auto tx = MakeSpend(kPrev, Coins(1));
  const Hash256 msg = Sighash(tx, 0, coin.out);
  Signature bad = SignWith(2, msg);
  bad.bytes[0] ^= 1;
  tx.inputs[0].satisfaction = Satisfaction::Multi(0b011, {SignWith(1, msg), bad});
  std::vector<SigCheck> sink(1);  // one check already queued by the caller
  auto r = Spend(tx, coin, 10, &sink);
  EXPECT_TRUE(r.ok);  // signatures are not checked here...
  ASSERT_EQ(sink.size(), 3u);
  EXPECT_TRUE(sink[1].Verify());
  EXPECT_FALSE(sink[2].Verify());  // ...but by whoever runs the sink
  EXPECT_EQ(sink[1].msg, msg);
  EXPECT_EQ(sink[2].key, TestPub(2));
  // A failure after checks were queued leaves the sink as it was.
  tx.outputs[0].amount = Coins(3);
  tx.inputs[0].satisfaction = Satisfaction::Multi(0b011, {SignWith(1, Sighash(tx, 0, coin.out)), SignWith(2, Sighash(tx, 0, coin.out))});
  r = Spend(tx, coin, 10, &sink);
  EXPECT_EQ(r.reason, Reason::kTxInBelowOut);
  EXPECT_EQ(sink.size(), 3u);
}
