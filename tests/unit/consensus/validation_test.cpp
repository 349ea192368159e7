// One test per Reason that consensus code produces, asserting the exact Reason and its text
// code; the text of the reasons only the ledger produces; and the reason table itself.
#include "consensus/validation.h"

#include <gtest/gtest.h>

#include <set>

#include "consensus/block_check.h"
#include "consensus/tx_check.h"
#include "consensus/tx_verify.h"
#include "test_util.h"

using namespace wattline::consensus;
using namespace wattline::consensus::test;

namespace {

#define EXPECT_REASON(state, r, code)             \
  do {                                            \
    EXPECT_EQ((state).reason(), (r)) << (state).ToString(); \
    EXPECT_EQ(ReasonCode((state).reason()), code); \
  } while (0)

const OutPoint kPrev{Filled(0x11), 0};
const OutPoint kPrev2{Filled(0x11), 1};

Coin KeyCoin(Amount amount, std::uint8_t key = 1, std::uint32_t height = 1, bool coinbase = false) {
  return Coin{TxOut{amount, Condition::Key(TestPub(key))}, height, coinbase};
}

/** Signs every key-condition input of tx with `key`. */
void SignAll(MutableTransaction& tx, const std::vector<Coin>& coins, std::uint8_t key = 1) {
  for (std::size_t i = 0; i < tx.inputs.size(); ++i)
    tx.inputs[i].satisfaction = Satisfaction::Sig(SignWith(key, Sighash(tx, static_cast<std::uint32_t>(i), coins[i].out)));
}

bool CheckSpend(const MutableTransaction& mtx, const std::vector<Coin>& coins, std::uint32_t height,
                ValidationState& state, Amount* fee_out = nullptr) {
  Transaction tx(mtx);
  std::vector<const Coin*> ptrs;
  for (const auto& c : coins) ptrs.push_back(&c);
  Amount fee{-1};
  ValidationState check_state;
  EXPECT_TRUE(CheckTransaction(tx, check_state)) << check_state.ToString();
  bool ok = CheckTxInputs(tx, ptrs, height, Regtest(), fee, state);
  if (fee_out) *fee_out = fee;
  return ok;
}

bool CheckTx(const MutableTransaction& mtx, ValidationState& state) { return CheckTransaction(Transaction(mtx), state); }

MutableTransaction Payment() { return MakeSpend(kPrev, Coins(1)); }

TransactionRef Cb(std::uint32_t height = 1) { return MakeTransactionRef(MakeCoinbase(height, Coins(50), Condition::Key(TestPub(1)))); }

/** Re-mines a block after its transactions changed. */
void Refresh(Block& b) {
  b.header.merkle_root = BlockMerkleRoot(b);
  Mine(b.header);
}

}  // namespace

// --- The table -------------------------------------------------------------------------------

TEST(Reasons, CodesAreDistinctAndCategorised) {
  std::set<std::string_view> codes;
  int count = 0;
  for (int v = 0; v <= 0xffff; ++v) {
    const auto r = static_cast<Reason>(v);
    const auto code = ReasonCode(r);
    if (code == "unknown-reason") continue;
    ++count;
    EXPECT_TRUE(codes.insert(code).second) << "duplicate code " << code;
    EXPECT_EQ(ReasonCategory(r) == Category::kValid, r == Reason::kOk) << code;
    ValidationState s;
    if (r != Reason::kOk) {
      s.Invalid(r, "detail");
      EXPECT_EQ(s.ToString(), std::string(code) + ": detail");
      EXPECT_FALSE(s.IsValid());
    }
  }
  EXPECT_EQ(count, 91);  // kOk and 90 rejections; update with docs when appending a Reason
}

TEST(Reasons, Categories) {
  EXPECT_EQ(ReasonCategory(Reason::kTxDecode), Category::kMalformed);
  EXPECT_EQ(ReasonCategory(Reason::kBlockBadMerkleRoot), Category::kMalformed);
  EXPECT_EQ(ReasonCategory(Reason::kTxMissingInputs), Category::kMissingInputs);
  EXPECT_EQ(ReasonCategory(Reason::kTxHeightLocked), Category::kPremature);
  EXPECT_EQ(ReasonCategory(Reason::kBlockTimeTooNew), Category::kPremature);
  EXPECT_EQ(ReasonCategory(Reason::kBlockPrevMissing), Category::kMissingPrev);
  EXPECT_EQ(ReasonCategory(Reason::kBlockCachedInvalid), Category::kKnownInvalid);
  EXPECT_EQ(ReasonCategory(Reason::kTxBadSignature), Category::kInvalid);
}

TEST(Reasons, LedgerOnlyCodes) {
  EXPECT_EQ(ReasonCode(Reason::kOk), "ok");
  EXPECT_EQ(ReasonCode(Reason::kTxDecode), "bad-txns-encoding");
  EXPECT_EQ(ReasonCode(Reason::kBlockDecode), "bad-blk-encoding");
  EXPECT_EQ(ReasonCode(Reason::kBlockPrevMissing), "prev-blk-not-found");
  EXPECT_EQ(ReasonCode(Reason::kBlockPrevInvalid), "bad-prevblk");
  EXPECT_EQ(ReasonCode(Reason::kBlockCachedInvalid), "duplicate-invalid");
  EXPECT_EQ(ReasonCode(Reason::kBlockCoinbaseAmount), "bad-cb-amount");
  ValidationState s;
  s.DecodeFailed(Reason::kTxDecode, DecodeError::kTrailingBytes);
  EXPECT_EQ(s.ToString(), "bad-txns-encoding: trailing-bytes");
  EXPECT_EQ(s.category(), Category::kMalformed);
}

// --- CheckTransaction ------------------------------------------------------------------------

TEST(CheckTransaction, AcceptsPaymentAndCoinbase) {
  ValidationState s;
  EXPECT_TRUE(CheckTx(Payment(), s)) << s.ToString();
  EXPECT_TRUE(CheckTx(MakeCoinbase(7, Coins(50), Condition::Key(TestPub(1))), s)) << s.ToString();
  EXPECT_TRUE(s.IsValid());
}

TEST(CheckTransaction, TxVersion) {
  auto tx = Payment();
  tx.version = 2;
  ValidationState s;
  EXPECT_FALSE(CheckTx(tx, s));
  EXPECT_REASON(s, Reason::kTxBadVersion, "bad-txns-version");
  tx.version = 0;
  EXPECT_FALSE(CheckTx(tx, s));
  EXPECT_REASON(s, Reason::kTxBadVersion, "bad-txns-version");
}

TEST(CheckTransaction, TxNoInputs) {
  auto tx = Payment();
  tx.inputs.clear();  // no inputs and no coinbase record
  ValidationState s;
  EXPECT_FALSE(CheckTx(tx, s));
  EXPECT_REASON(s, Reason::kTxNoInputs, "bad-txns-vin-empty");
}

TEST(CheckTransaction, TxNoOutputs) {
  auto tx = Payment();
  tx.outputs.clear();
  ValidationState s;
  EXPECT_FALSE(CheckTx(tx, s));
  EXPECT_REASON(s, Reason::kTxNoOutputs, "bad-txns-vout-empty");
}

TEST(CheckTransaction, TxOversize) {
  auto tx = Payment();
  while (Transaction(tx).size() <= kMaxTxSize) tx.outputs.push_back({Amount{0}, Condition::Key(TestPub(2))});
  ValidationState s;
  EXPECT_FALSE(CheckTx(tx, s));
  EXPECT_REASON(s, Reason::kTxOversize, "bad-txns-oversize");
  tx.outputs.pop_back();
  EXPECT_TRUE(CheckTx(tx, s)) << s.ToString();
}

TEST(CheckTransaction, TxOutputTooLarge) {
  for (std::int64_t bad : {kMaxMoney.units + 1, std::int64_t{-1}, INT64_MAX}) {
    auto tx = Payment();
    tx.outputs[0].amount = Amount{bad};
    ValidationState s;
    EXPECT_FALSE(CheckTx(tx, s));
    EXPECT_REASON(s, Reason::kTxOutputTooLarge, "bad-txns-vout-toolarge");
  }
  auto tx = Payment();
  tx.outputs[0].amount = kMaxMoney;
  ValidationState s;
  EXPECT_TRUE(CheckTx(tx, s));
}

TEST(CheckTransaction, TxOutputTotalTooLarge) {
  auto tx = Payment();
  tx.outputs[0].amount = kMaxMoney;
  tx.outputs.push_back({Amount{1}, Condition::Key(TestPub(2))});
  ValidationState s;
  EXPECT_FALSE(CheckTx(tx, s));
  EXPECT_REASON(s, Reason::kTxOutputTotalTooLarge, "bad-txns-txouttotal-toolarge");
}

// CVE-2018-17144.
TEST(CheckTransaction, TxDuplicateInputs) {
  auto tx = Payment();
  tx.inputs.push_back({kPrev2, Satisfaction::Sig(Signature{})});
  tx.inputs.push_back({kPrev, Satisfaction::Sig(Signature{})});
  ValidationState s;
  EXPECT_FALSE(CheckTx(tx, s));
  EXPECT_REASON(s, Reason::kTxDuplicateInputs, "bad-txns-inputs-duplicate");
}

TEST(CheckTransaction, TxBadCondition) {
  const auto k1 = TestPub(1), k2 = TestPub(2);
  for (const Condition& bad :
       {Condition::Multisig(0, {k1, k2}), Condition::Multisig(3, {k1, k2}), Condition::Multisig(1, {}),
        Condition::Multisig(1, {k1, k1}), Condition::Or(Condition::Key(k1), Condition::Multisig(2, {k2})),
        Condition::AfterHeight(5, Condition::AfterBlocks(1, Condition::Multisig(2, {k1, k2, k1}))),
}) {
    auto tx = Payment();
    tx.outputs[0].condition = bad;
    ValidationState s;
    EXPECT_FALSE(CheckTx(tx, s));
    EXPECT_REASON(s, Reason::kTxBadCondition, "bad-txns-condition");
  }
  auto tx = Payment();
  tx.outputs[0].condition = Condition::Or(Condition::Multisig(2, {k1, k2, TestPub(3)}),
                                          Condition::AfterHeight(100, Condition::Key(k1)));
  ValidationState s;
  EXPECT_TRUE(CheckTx(tx, s)) << s.ToString();
}

// Bug fix: conditions built in memory beyond the decoder's limits (more than 16 keys, nested
// deeper than 4) passed CheckTransaction, although their encoding decodes nowhere.
TEST(CheckTransaction, TxBadConditionBeyondDecoderLimits) {
  std::vector<XOnlyPubKey> keys17;
  for (std::uint8_t i = 1; i <= 17; ++i) keys17.push_back(TestPub(i));
  const Condition k = Condition::Key(TestPub(1));
  const Condition depth4 = Condition::Or(Condition::Or(Condition::Or(k, k), k), k);
  const Condition depth5 = Condition::AfterHeight(1, depth4);
  std::string why;
  EXPECT_TRUE(CheckCondition(depth4, why)) << why;
  EXPECT_TRUE(CheckCondition(Condition::Multisig(16, std::vector<XOnlyPubKey>(keys17.begin(), keys17.end() - 1)), why));
  for (const Condition& bad : {Condition::Multisig(1, keys17), depth5}) {
    auto tx = Payment();
    tx.outputs[0].condition = bad;
    ValidationState s;
    EXPECT_FALSE(CheckTx(tx, s));
    EXPECT_REASON(s, Reason::kTxBadCondition, "bad-txns-condition");
    Condition decoded;
    EXPECT_NE(DecodeCondition(EncodeCondition(bad), decoded), DecodeError::kOk);
  }
}

TEST(CheckTransaction, TxRecordNotAllowed) {
  auto tx = Payment();
  tx.record = Record::Coinbase(5);
  ValidationState s;
  EXPECT_FALSE(CheckTx(tx, s));
  EXPECT_REASON(s, Reason::kTxRecordNotAllowed, "bad-txns-record");
}

TEST(CheckTransaction, TxCoinbaseBadRecord) {
  std::vector<Record> bad(4, Record::Coinbase(5));
  bad[0].payload.resize(3);                          // no room for the height
  bad[1].version = 2;                                // unknown record version
  bad[2].payload.resize(4 + kMaxCoinbaseExtra + 1);  // too much extra data
  bad[3].version = 0;
  for (const Record& rec : bad) {
    auto tx = MakeCoinbase(5, Coins(50), Condition::Key(TestPub(1)));
    tx.record = rec;
    ValidationState s;
    EXPECT_FALSE(CheckTx(tx, s));
    EXPECT_REASON(s, Reason::kTxCoinbaseBadRecord, "bad-cb-record");
  }
  auto tx = MakeCoinbase(5, Coins(50), Condition::Key(TestPub(1)));
  tx.record = Record::Coinbase(5, Bytes(kMaxCoinbaseExtra, 0xab));
  ValidationState s;
  EXPECT_TRUE(CheckTx(tx, s)) << s.ToString();
}

// --- CheckTxInputs ---------------------------------------------------------------------------

TEST(CheckTxInputs, AcceptsAndComputesFee) {
  std::vector<Coin> coins{KeyCoin(Coins(3))};
  auto tx = Payment();
  SignAll(tx, coins);
  ValidationState s;
  Amount fee;
  EXPECT_TRUE(CheckSpend(tx, coins, 10, s, &fee)) << s.ToString();
  EXPECT_EQ(fee, Coins(2));
  // Exactly equal in and out: zero fee.
  tx.outputs[0].amount = Coins(3);
  SignAll(tx, coins);
  EXPECT_TRUE(CheckSpend(tx, coins, 10, s, &fee)) << s.ToString();
  EXPECT_EQ(fee, Amount{0});
  // Two inputs, two outputs.
  auto tx2 = Payment();
  tx2.inputs.push_back({kPrev2, {}});
  tx2.outputs.push_back({Amount{5}, Condition::Key(TestPub(3))});
  std::vector<Coin> coins2{KeyCoin(Coins(1)), KeyCoin(Amount{10})};
  SignAll(tx2, coins2);
  EXPECT_TRUE(CheckSpend(tx2, coins2, 10, s, &fee)) << s.ToString();
  EXPECT_EQ(fee, Amount{5});
}

TEST(CheckTxInputs, TxMissingInputs) {
  auto tx = Payment();
  Transaction frozen(tx);
  const Coin* none[] = {nullptr};
  Amount fee;
  ValidationState s;
  EXPECT_FALSE(CheckTxInputs(frozen, none, 10, Regtest(), fee, s));
  EXPECT_REASON(s, Reason::kTxMissingInputs, "bad-txns-inputs-missingorspent");
  EXPECT_EQ(s.category(), Category::kMissingInputs);
  // Fewer coins than inputs.
  EXPECT_FALSE(CheckTxInputs(frozen, {}, 10, Regtest(), fee, s));
  EXPECT_REASON(s, Reason::kTxMissingInputs, "bad-txns-inputs-missingorspent");
}

TEST(CheckTxInputs, TxPrematureCoinbaseSpend) {
  const std::uint32_t maturity = Regtest().coinbase_maturity;
  std::vector<Coin> coins{KeyCoin(Coins(50), 1, 10, /*coinbase=*/true)};
  auto tx = Payment();
  SignAll(tx, coins);
  ValidationState s;
  EXPECT_FALSE(CheckSpend(tx, coins, 10 + maturity - 1, s));
  EXPECT_REASON(s, Reason::kTxPrematureCoinbaseSpend, "bad-txns-premature-spend-of-coinbase");
  EXPECT_EQ(s.category(), Category::kPremature);
  ValidationState ok;
  EXPECT_TRUE(CheckSpend(tx, coins, 10 + maturity, ok)) << ok.ToString();
  // A non-coinbase coin is spendable in the next block.
  coins[0].coinbase = false;
  EXPECT_TRUE(CheckSpend(tx, coins, 11, ok)) << ok.ToString();
}

TEST(CheckTxInputs, TxInputValuesOutOfRange) {
  {
    std::vector<Coin> coins{KeyCoin(Amount{kMaxMoney.units + 1})};
    auto tx = Payment();
    SignAll(tx, coins);
    ValidationState s;
    EXPECT_FALSE(CheckSpend(tx, coins, 10, s));
    EXPECT_REASON(s, Reason::kTxInputValuesOutOfRange, "bad-txns-inputvalues-outofrange");
  }
  {
    std::vector<Coin> coins{KeyCoin(kMaxMoney), KeyCoin(Amount{1})};
    auto tx = Payment();
    tx.inputs.push_back({kPrev2, {}});
    SignAll(tx, coins);
    ValidationState s;
    EXPECT_FALSE(CheckSpend(tx, coins, 10, s));
    EXPECT_REASON(s, Reason::kTxInputValuesOutOfRange, "bad-txns-inputvalues-outofrange");
  }
}

TEST(CheckTxInputs, TxInBelowOut) {
  std::vector<Coin> coins{KeyCoin(Amount{Coins(1).units - 1})};
  auto tx = Payment();
  SignAll(tx, coins);
  ValidationState s;
  EXPECT_FALSE(CheckSpend(tx, coins, 10, s));
  EXPECT_REASON(s, Reason::kTxInBelowOut, "bad-txns-in-belowout");
}

TEST(CheckTxInputs, TxHeightLocked) {
  std::vector<Coin> coins{Coin{TxOut{Coins(2), Condition::AfterHeight(50, Condition::Key(TestPub(1)))}, 1, false}};
  auto tx = Payment();
  SignAll(tx, coins);
  ValidationState s;
  EXPECT_FALSE(CheckSpend(tx, coins, 49, s));
  EXPECT_REASON(s, Reason::kTxHeightLocked, "bad-txns-height-locked");
  EXPECT_EQ(s.category(), Category::kPremature);
  ValidationState ok;
  EXPECT_TRUE(CheckSpend(tx, coins, 50, ok)) << ok.ToString();
}

TEST(CheckTxInputs, TxRelativeLocked) {
  std::vector<Coin> coins{Coin{TxOut{Coins(2), Condition::AfterBlocks(10, Condition::Key(TestPub(1)))}, 20, false}};
  auto tx = Payment();
  SignAll(tx, coins);
  ValidationState s;
  EXPECT_FALSE(CheckSpend(tx, coins, 29, s));
  EXPECT_REASON(s, Reason::kTxRelativeLocked, "bad-txns-relative-locked");
  ValidationState ok;
  EXPECT_TRUE(CheckSpend(tx, coins, 30, ok)) << ok.ToString();
}

TEST(CheckTxInputs, TxSatisfactionMismatch) {
  const auto k1 = TestPub(1), k2 = TestPub(2);
  struct Case {
    Condition cond;
    Satisfaction sat;
  };
  const Signature zero{};
  std::vector<Case> cases = {
      {Condition::Key(k1), Satisfaction::Multi(1, {zero})},
      {Condition::Key(k1), Satisfaction::Branch(0, Satisfaction::Sig(zero))},
      {Condition::Multisig(1, {k1, k2}), Satisfaction::Sig(zero)},
      {Condition::Or(Condition::Key(k1), Condition::Key(k2)), Satisfaction::Sig(zero)},
      {Condition::AfterHeight(1, Condition::Key(k1)), Satisfaction::Branch(1, Satisfaction::Sig(zero))},
  };
  for (const auto& c : cases) {
    std::vector<Coin> coins{Coin{TxOut{Coins(2), c.cond}, 1, false}};
    auto tx = Payment();
    tx.inputs[0].satisfaction = c.sat;
    ValidationState s;
    EXPECT_FALSE(CheckSpend(tx, coins, 10, s));
    EXPECT_REASON(s, Reason::kTxSatisfactionMismatch, "bad-txns-satisfaction-mismatch");
  }
}

TEST(CheckTxInputs, TxMultisigSigners) {
  const Condition cond = Condition::Multisig(2, {TestPub(1), TestPub(2), TestPub(3)});
  std::vector<Coin> coins{Coin{TxOut{Coins(2), cond}, 1, false}};
  auto tx = Payment();
  const Hash256 msg = Sighash(tx, 0, coins[0].out);
  for (const Satisfaction& sat :
       {Satisfaction::Multi(0b001, {SignWith(1, msg)}),                                    // too few
        Satisfaction::Multi(0b111, {SignWith(1, msg), SignWith(2, msg), SignWith(3, msg)}),  // too many
        Satisfaction::Multi(0b1001, {SignWith(1, msg), SignWith(1, msg)}),                  // bit beyond n
        Satisfaction::Multi(0x8001, {SignWith(1, msg), SignWith(1, msg)})}) {
    tx.inputs[0].satisfaction = sat;
    ValidationState s;
    EXPECT_FALSE(CheckSpend(tx, coins, 10, s));
    EXPECT_REASON(s, Reason::kTxMultisigSigners, "bad-txns-multisig-signers");
  }
}

TEST(CheckTxInputs, TxBadSignature) {
  std::vector<Coin> coins{KeyCoin(Coins(2))};
  auto tx = Payment();
  SignAll(tx, coins, /*key=*/2);  // the wrong key
  ValidationState s;
  EXPECT_FALSE(CheckSpend(tx, coins, 10, s));
  EXPECT_REASON(s, Reason::kTxBadSignature, "bad-txns-signature");
  // Signed, then the outputs changed: the txid and so the sighash changed.
  SignAll(tx, coins, 1);
  tx.outputs[0].amount = Amount{tx.outputs[0].amount.units - 1};
  EXPECT_FALSE(CheckSpend(tx, coins, 10, s));
  EXPECT_REASON(s, Reason::kTxBadSignature, "bad-txns-signature");
  // A signature for another network's magic.
  auto tx2 = Payment();
  tx2.inputs[0].satisfaction =
      Satisfaction::Sig(SignWith(1, SignatureHash(GetParams(Network::kMain), tx2.ComputeTxid(), 0, coins[0].out)));
  EXPECT_FALSE(CheckSpend(tx2, coins, 10, s));
  EXPECT_REASON(s, Reason::kTxBadSignature, "bad-txns-signature");
}

// --- Headers ---------------------------------------------------------------------------------

TEST(CheckBlockHeader, BlockBadVersion) {
  BlockHeader h = Regtest().genesis.header;
  h.version = 2;
  Mine(h);
  ValidationState s;
  EXPECT_FALSE(CheckBlockHeader(h, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockBadVersion, "bad-version");
}

TEST(CheckBlockHeader, BlockHighHash) {
  BlockHeader h = Regtest().genesis.header;
  ValidationState ok;
  EXPECT_TRUE(CheckBlockHeader(h, Regtest(), ok)) << ok.ToString();
  MineFailing(h);
  ValidationState s;
  EXPECT_FALSE(CheckBlockHeader(h, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockHighHash, "high-hash");
  // Bits easier than the network's limit, or invalid bits, whatever the hash.
  for (std::uint32_t bits : {0x2100ffffu, 0u, 0x04923456u}) {
    h.bits = bits;
    EXPECT_FALSE(CheckBlockHeader(h, Regtest(), s));
    EXPECT_REASON(s, Reason::kBlockHighHash, "high-hash");
  }
}

namespace {
HeaderContext Context(const BlockHeader& h) {
  return HeaderContext{1, h.bits, h.time - 1, static_cast<std::int64_t>(h.time)};
}
}  // namespace

TEST(ContextualCheckHeader, Accepts) {
  BlockHeader h = Regtest().genesis.header;
  ValidationState s;
  EXPECT_TRUE(ContextualCheckHeader(h, Context(h), Regtest(), s)) << s.ToString();
}

TEST(ContextualCheckHeader, BlockBadBits) {
  BlockHeader h = Regtest().genesis.header;
  auto ctx = Context(h);
  ctx.expected_bits = 0x1f7fffff;
  ValidationState s;
  EXPECT_FALSE(ContextualCheckHeader(h, ctx, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockBadBits, "bad-diffbits");
}

TEST(ContextualCheckHeader, BlockTimeTooOld) {
  BlockHeader h = Regtest().genesis.header;
  auto ctx = Context(h);
  ctx.median_time_past = h.time;  // equal to the median is too old
  ValidationState s;
  EXPECT_FALSE(ContextualCheckHeader(h, ctx, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockTimeTooOld, "time-too-old");
  EXPECT_EQ(MedianTime({5, 1, 9, 3, 7}), 5u);
  EXPECT_EQ(MedianTime({}), 0u);
}

TEST(ContextualCheckHeader, BlockTimeTooNew) {
  BlockHeader h = Regtest().genesis.header;
  auto ctx = Context(h);
  ctx.now = static_cast<std::int64_t>(h.time) - Regtest().max_future_block_time;
  ValidationState ok;
  EXPECT_TRUE(ContextualCheckHeader(h, ctx, Regtest(), ok)) << ok.ToString();  // exactly at the limit
  ctx.now -= 1;
  ValidationState s;
  EXPECT_FALSE(ContextualCheckHeader(h, ctx, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockTimeTooNew, "time-too-new");
  EXPECT_EQ(s.category(), Category::kPremature);
}

// --- Blocks ----------------------------------------------------------------------------------

TEST(CheckBlock, Accepts) {
  Block b = MakeBlock({Cb(), MakeTransactionRef(Payment())});
  ValidationState s;
  EXPECT_TRUE(CheckBlock(b, Regtest(), s)) << s.ToString();
}

TEST(CheckBlock, HeaderReasonsComeFirst) {
  Block b = MakeBlock({Cb()});
  MineFailing(b.header);
  ValidationState s;
  EXPECT_FALSE(CheckBlock(b, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockHighHash, "high-hash");
}

TEST(CheckBlock, BlockBadMerkleRoot) {
  Block b = MakeBlock({Cb(), MakeTransactionRef(Payment())});
  b.txs.push_back(b.txs[1]);  // CVE-2012-2459-style duplication does not keep the root
  Mine(b.header);
  ValidationState s;
  EXPECT_FALSE(CheckBlock(b, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockBadMerkleRoot, "bad-txnmrklroot");
  EXPECT_EQ(s.category(), Category::kMalformed);
}

TEST(CheckBlock, BlockNoCoinbase) {
  for (std::vector<TransactionRef> txs : {std::vector<TransactionRef>{}, {MakeTransactionRef(Payment())}}) {
    Block b = MakeBlock(txs);
    ValidationState s;
    EXPECT_FALSE(CheckBlock(b, Regtest(), s));
    EXPECT_REASON(s, Reason::kBlockNoCoinbase, "bad-cb-missing");
  }
}

TEST(CheckBlock, BlockMultipleCoinbase) {
  Block b = MakeBlock({Cb(1), Cb(2)});
  ValidationState s;
  EXPECT_FALSE(CheckBlock(b, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockMultipleCoinbase, "bad-cb-multiple");
}

TEST(CheckBlock, BlockDuplicateTx) {
  auto tx = MakeTransactionRef(Payment());
  Block b = MakeBlock({Cb(), tx, tx});
  ValidationState s;
  EXPECT_FALSE(CheckBlock(b, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockDuplicateTx, "bad-txns-duplicate");
  // Same txid, different witness (wtxid): still a duplicate.
  auto other = Payment();
  other.inputs[0].satisfaction = Satisfaction::Sig(SignWith(3, Filled(1)));
  Block b2 = MakeBlock({Cb(), tx, MakeTransactionRef(other)});
  EXPECT_FALSE(CheckBlock(b2, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockDuplicateTx, "bad-txns-duplicate");
}

TEST(CheckBlock, BlockInvalidTx) {
  auto bad = Payment();
  bad.outputs.clear();
  Block b = MakeBlock({Cb(), MakeTransactionRef(bad)});
  ValidationState s;
  EXPECT_FALSE(CheckBlock(b, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockInvalidTx, "bad-blk-tx");
  EXPECT_NE(s.detail().find("bad-txns-vout-empty"), std::string::npos) << s.detail();
  // A bad coinbase record.
  auto cb = MakeCoinbase(1, Coins(50), Condition::Key(TestPub(1)));
  cb.record.payload.resize(2);
  Block b2 = MakeBlock({MakeTransactionRef(cb)});
  EXPECT_FALSE(CheckBlock(b2, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockInvalidTx, "bad-blk-tx");
  EXPECT_NE(s.detail().find("bad-cb-record"), std::string::npos) << s.detail();
}

TEST(CheckBlock, BlockOversize) {
  // Transactions each under the transaction limit, together over the block limit.
  std::vector<TransactionRef> txs{Cb()};
  std::size_t total = kHeaderSize + 9;
  for (std::uint32_t i = 0; total <= kMaxBlockSize; ++i) {
    auto tx = MakeSpend(OutPoint{Filled(0x33), i}, Amount{0});
    tx.outputs.resize(2000, tx.outputs[0]);
    txs.push_back(MakeTransactionRef(tx));
    ASSERT_LE(txs.back()->size(), kMaxTxSize);
    total += txs.back()->size();
  }
  Block b = MakeBlock(txs);
  ValidationState s;
  EXPECT_FALSE(CheckBlock(b, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockOversize, "bad-blk-length");
  EXPECT_EQ(s.category(), Category::kMalformed);
  // One transaction fewer fits.
  txs.pop_back();
  Block fits = MakeBlock(txs);
  ValidationState ok;
  EXPECT_TRUE(CheckBlock(fits, Regtest(), ok)) << ok.ToString();
}

// Bug fix: CheckBlock counted 9 bytes for the transaction count whatever its size, so a block
// whose encoding was up to 8 bytes under kMaxBlockSize (which DecodeBlock accepts) failed as
// bad-blk-length. The limit is on the encoding: exactly kMaxBlockSize passes, one more fails.
TEST(CheckBlock, BlockSizeLimitIsExactlyTheEncodingSize) {
  auto coinbase = [](std::size_t extra) {
    auto cb = MakeCoinbase(1, Coins(50), Condition::Key(TestPub(1)));
    cb.record = Record::Coinbase(1, Bytes(extra, 0xcc));
    return MakeTransactionRef(cb);
  };
  auto spend = [](std::uint32_t i, std::size_t n_outputs) {
    auto tx = MakeSpend(OutPoint{Filled(0x33), i}, Amount{0});
    tx.outputs.resize(n_outputs, tx.outputs[0]);
    return MakeTransactionRef(tx);
  };
  std::vector<TransactionRef> txs{coinbase(0)};
  std::size_t size = kHeaderSize + 1 + txs[0]->size();
  std::uint32_t i = 0;
  while (size + spend(i, 2000)->size() < kMaxBlockSize - 2000) {
    txs.push_back(spend(i++, 2000));
    size += txs.back()->size();
  }
  // The last transaction leaves a gap of 0..96 bytes, filled by the coinbase's extra bytes.
  std::size_t n = 2000;
  while (size + spend(i, n)->size() > kMaxBlockSize) --n;
  txs.push_back(spend(i, n));
  size += txs.back()->size();
  const std::size_t gap = kMaxBlockSize - size;
  ASSERT_LE(gap, kMaxCoinbaseExtra);
  ASSERT_LT(txs.size(), 128u);  // one-byte count

  txs[0] = coinbase(gap);
  Block exact = MakeBlock(txs);
  ASSERT_EQ(EncodeBlock(exact).size(), kMaxBlockSize);
  Block decoded;
  EXPECT_EQ(DecodeBlock(EncodeBlock(exact), decoded), DecodeError::kOk);
  ValidationState ok;
  EXPECT_TRUE(CheckBlock(exact, Regtest(), ok)) << ok.ToString();

  if (gap == 0) {
    txs[txs.size() - 1] = spend(i, n + 1);  // grows by 41 bytes
  } else {
    txs[0] = coinbase(gap + 1);
  }
  Block over = MakeBlock(txs);
  ASSERT_GT(EncodeBlock(over).size(), kMaxBlockSize);
  EXPECT_EQ(DecodeBlock(EncodeBlock(over), decoded), DecodeError::kObjectTooLarge);
  ValidationState s;
  EXPECT_FALSE(CheckBlock(over, Regtest(), s));
  EXPECT_REASON(s, Reason::kBlockOversize, "bad-blk-length");
}

TEST(CheckCoinbaseHeight, BlockCoinbaseHeight) {
  Block b = MakeBlock({Cb(7)});
  ValidationState s;
  EXPECT_TRUE(CheckCoinbaseHeight(b, 7, s)) << s.ToString();
  EXPECT_FALSE(CheckCoinbaseHeight(b, 8, s));
  EXPECT_REASON(s, Reason::kBlockCoinbaseHeight, "bad-cb-height");
  EXPECT_FALSE(CheckCoinbaseHeight(b, 6, s));
  EXPECT_REASON(s, Reason::kBlockCoinbaseHeight, "bad-cb-height");
}
