// Decoders: every DecodeError reached by a crafted input, for each object, and seeded random
// encode -> decode -> encode round trips.
#include <gtest/gtest.h>

#include <random>

#include "consensus/block.h"
#include "consensus/condition.h"
#include "consensus/record.h"
#include "consensus/transaction.h"
#include "test_util.h"

using namespace wattline::consensus;
using namespace wattline::consensus::test;
namespace crypto = wattline::crypto;

namespace {

std::string Hex32(std::uint8_t fill) { return ToHex(Filled(fill).span()); }
std::string Sig64(std::uint8_t fill) { return Hex32(fill) + Hex32(fill); }
std::string KeyCond(std::uint8_t fill) { return "01" + Hex32(fill); }

DecodeError DecCond(const std::string& hex) {
  Condition c;
  return DecodeCondition(FromHex(hex), c);
}
DecodeError DecSat(const std::string& hex) {
  Satisfaction s;
  return DecodeSatisfaction(FromHex(hex), s);
}
DecodeError DecRecord(const std::string& hex) {
  Bytes b = FromHex(hex);
  Reader r(b);
  Record rec;
  DecodeRecord(r, rec) && r.ExpectEnd();
  return r.error();
}
DecodeError DecTx(const std::string& hex) {
  TransactionRef tx;
  return DecodeTransaction(FromHex(hex), tx);
}
DecodeError DecTxBytes(const Bytes& b) {
  TransactionRef tx;
  return DecodeTransaction(b, tx);
}
DecodeError DecHeader(const std::string& hex) {
  BlockHeader h;
  return DecodeHeader(FromHex(hex), h);
}
DecodeError DecBlock(const Bytes& b) {
  Block blk;
  return DecodeBlock(b, blk);
}

const std::string kVersion = "01000000";
const std::string kPrevout = Hex32(0x11) + "00000000";
const std::string kOneKeyOutput = "0100e1f50500000000" + KeyCond(0x22);  // 1 output of 1 coin

// A 1-in, 1-out payment with no record, then the witness.
std::string Payment(const std::string& witness) { return kVersion + "01" + kPrevout + kOneKeyOutput + "00" + witness; }

}  // namespace

// --- Conditions ------------------------------------------------------------------------------

TEST(ConditionCodec, KnownLayouts) {
  EXPECT_EQ(ToHex(EncodeCondition(Condition::Key(XOnlyPubKey{Filled(0xaa).bytes}))), KeyCond(0xaa));
  EXPECT_EQ(ToHex(EncodeCondition(Condition::Multisig(2, {XOnlyPubKey{Filled(1).bytes}, XOnlyPubKey{Filled(2).bytes}}))),
            "020202" + Hex32(1) + Hex32(2));
  EXPECT_EQ(ToHex(EncodeCondition(Condition::AfterHeight(0x01020304, Condition::Key(XOnlyPubKey{Filled(3).bytes})))),
            "0304030201" + KeyCond(3));
  EXPECT_EQ(ToHex(EncodeCondition(Condition::AfterBlocks(5, Condition::Key(XOnlyPubKey{Filled(3).bytes})))),
            "0405000000" + KeyCond(3));
  EXPECT_EQ(ToHex(EncodeCondition(Condition::Or(Condition::Key(XOnlyPubKey{Filled(4).bytes}),
                                                Condition::Key(XOnlyPubKey{Filled(5).bytes})))),
            "05" + KeyCond(4) + KeyCond(5));
}

TEST(ConditionCodec, Errors) {
  EXPECT_EQ(DecCond(KeyCond(1)), DecodeError::kOk);
  EXPECT_EQ(DecCond(""), DecodeError::kTruncated);
  EXPECT_EQ(DecCond(KeyCond(1).substr(0, 64)), DecodeError::kTruncated);
  EXPECT_EQ(DecCond(KeyCond(1) + "00"), DecodeError::kTrailingBytes);
  EXPECT_EQ(DecCond("00" + Hex32(1)), DecodeError::kUnknownConditionType);
  EXPECT_EQ(DecCond("08" + Hex32(1)), DecodeError::kUnknownConditionType);  // 6 Channel, 7 ChannelClose
  EXPECT_EQ(DecCond("07" + Hex32(1)), DecodeError::kTruncated);              // a closing condition is 49 bytes
  EXPECT_EQ(DecCond("ff"), DecodeError::kUnknownConditionType);
  // Multisig: n is one byte and at most 16.
  std::string keys16, keys17;
  for (int i = 0; i < 16; ++i) keys16 += Hex32(static_cast<std::uint8_t>(i + 1));
  keys17 = keys16 + Hex32(17);
  EXPECT_EQ(DecCond("020110" + keys16), DecodeError::kOk);
  EXPECT_EQ(DecCond("020111" + keys17), DecodeError::kCountTooLarge);
  EXPECT_EQ(DecCond("0201ff"), DecodeError::kCountTooLarge);
  EXPECT_EQ(DecCond("020102" + Hex32(1)), DecodeError::kTruncated);
  // A lock without its inner condition, a lock with a short height.
  EXPECT_EQ(DecCond("0300000000"), DecodeError::kTruncated);
  EXPECT_EQ(DecCond("03000000"), DecodeError::kTruncated);
  EXPECT_EQ(DecCond("05" + KeyCond(1)), DecodeError::kTruncated);
  // Depth: the root is depth 1; depth 4 is the deepest allowed.
  EXPECT_EQ(DecCond("05" "05" "05" + KeyCond(1) + KeyCond(2) + KeyCond(3) + KeyCond(4)), DecodeError::kOk);
  EXPECT_EQ(DecCond("05" "05" "05" "05" + KeyCond(1) + KeyCond(2) + KeyCond(3) + KeyCond(4) + KeyCond(5)),
            DecodeError::kTooDeep);
  EXPECT_EQ(DecCond("0301000000" "0401000000" "0301000000" "0401000000" + KeyCond(1)), DecodeError::kTooDeep);
  EXPECT_EQ(DecCond("0301000000" "0401000000" "0301000000" + KeyCond(1)), DecodeError::kOk);
}

// --- Satisfactions ---------------------------------------------------------------------------

TEST(SatisfactionCodec, KnownLayouts) {
  Signature s1{}, s2{};
  s1.bytes.fill(0x01);
  s2.bytes.fill(0x02);
  EXPECT_EQ(ToHex(EncodeSatisfaction(Satisfaction::Sig(s1))), "01" + Sig64(1));
  EXPECT_EQ(ToHex(EncodeSatisfaction(Satisfaction::Multi(0x0005, {s1, s2}))), "020500" + Sig64(1) + Sig64(2));
  EXPECT_EQ(ToHex(EncodeSatisfaction(Satisfaction::Branch(1, Satisfaction::Sig(s2)))), "0301" "01" + Sig64(2));
}

TEST(SatisfactionCodec, Errors) {
  EXPECT_EQ(DecSat("01" + Sig64(1)), DecodeError::kOk);
  EXPECT_EQ(DecSat(""), DecodeError::kTruncated);
  EXPECT_EQ(DecSat("01" + Sig64(1).substr(2)), DecodeError::kTruncated);
  EXPECT_EQ(DecSat("01" + Sig64(1) + "01"), DecodeError::kTrailingBytes);
  EXPECT_EQ(DecSat("00" + Sig64(1)), DecodeError::kUnknownSatisfactionType);
  EXPECT_EQ(DecSat("05" + Sig64(1)), DecodeError::kUnknownSatisfactionType);  // 4 is ChannelPath
  EXPECT_EQ(DecSat("0408" + Sig64(1)), DecodeError::kBadFieldValue);          // signers beyond A, B, U
  EXPECT_EQ(DecSat("0401" + Sig64(1)), DecodeError::kOk);
  EXPECT_EQ(DecSat("0400"), DecodeError::kOk);                                  // no signer: post or settle
  // Multisig: the bitmap says how many signatures follow; it may not be empty.
  EXPECT_EQ(DecSat("020300" + Sig64(1) + Sig64(2)), DecodeError::kOk);
  EXPECT_EQ(DecSat("020300" + Sig64(1)), DecodeError::kTruncated);
  EXPECT_EQ(DecSat("020100" + Sig64(1) + Sig64(2)), DecodeError::kTrailingBytes);
  EXPECT_EQ(DecSat("020000"), DecodeError::kEmptyMultisigSigners);
  EXPECT_EQ(DecSat("0200"), DecodeError::kTruncated);
  // Branch selector 0 or 1.
  EXPECT_EQ(DecSat("0300" "01" + Sig64(1)), DecodeError::kOk);
  EXPECT_EQ(DecSat("0302" "01" + Sig64(1)), DecodeError::kBadBranch);
  EXPECT_EQ(DecSat("03ff" "01" + Sig64(1)), DecodeError::kBadBranch);
  EXPECT_EQ(DecSat("0300"), DecodeError::kTruncated);
  EXPECT_EQ(DecSat("0300" "0300" "0300" "01" + Sig64(1)), DecodeError::kOk);
  EXPECT_EQ(DecSat("0300" "0300" "0300" "0300" "01" + Sig64(1)), DecodeError::kTooDeep);
}

// --- Records ---------------------------------------------------------------------------------

TEST(RecordCodec, LayoutAndErrors) {
  Bytes out;
  Writer w(out);
  EncodeRecord(w, Record{});
  EncodeRecord(w, Record::Coinbase(0x0102, FromHex("abcd")));
  EXPECT_EQ(ToHex(out), "00" "01" "01" "06" "02010000abcd");

  EXPECT_EQ(DecRecord("00"), DecodeError::kOk);
  EXPECT_EQ(DecRecord("010106" "02010000abcd"), DecodeError::kOk);
  EXPECT_EQ(DecRecord(""), DecodeError::kTruncated);
  EXPECT_EQ(DecRecord("0001"), DecodeError::kTrailingBytes);  // kind 0 carries nothing
  EXPECT_EQ(DecRecord("8000"), DecodeError::kNonMinimalVarInt);
  EXPECT_EQ(DecRecord("01" "8100" "00"), DecodeError::kNonMinimalVarInt);
  // 2-5, 7, 8: the market (consensus/market.h); 6: channel settlement (consensus/channel.h).
  for (const char* reserved : {"09", "7f", "ffffffff0f"})
    EXPECT_EQ(DecRecord(std::string(reserved) + "0100"), DecodeError::kUnknownRecordKind) << reserved;
  EXPECT_EQ(DecRecord("8080808010"), DecodeError::kVarIntOverflow);          // kind 2^32
  EXPECT_EQ(DecRecord("01" "8080808010" "00"), DecodeError::kVarIntOverflow);  // version 2^32
  EXPECT_EQ(DecRecord("01" "ffffffff0f" "00"), DecodeError::kOk);
  EXPECT_EQ(DecRecord("0101" "04" "000000"), DecodeError::kTruncated);
  // Payload limit: 16384 bytes.
  std::string payload(2 * kMaxRecordPayload, '0');
  EXPECT_EQ(DecRecord("0101" "808001" + payload), DecodeError::kOk);
  EXPECT_EQ(DecRecord("0101" "818001" + payload + "00"), DecodeError::kPayloadTooLarge);
}

// --- Transactions ----------------------------------------------------------------------------

TEST(TransactionCodec, KnownLayout) {
  MutableTransaction tx;
  tx.inputs.push_back({OutPoint{Filled(0x11), 0}, Satisfaction::Sig(Signature{})});
  tx.outputs.push_back({Coins(1), Condition::Key(XOnlyPubKey{Filled(0x22).bytes})});
  const std::string hex = Payment("01" + Sig64(0));
  Transaction frozen(tx);
  EXPECT_EQ(ToHex(EncodeTransaction(frozen)), hex);
  EXPECT_EQ(frozen.size(), hex.size() / 2);
  // txid over the base only, wtxid over everything.
  const Bytes all = FromHex(hex);
  const std::size_t base_size = all.size() - 65;
  EXPECT_EQ(frozen.txid(), crypto::TaggedHash("wattline/txid", ByteSpan(all).first(base_size)));
  EXPECT_EQ(frozen.wtxid(), crypto::TaggedHash("wattline/wtxid", all));
  EXPECT_EQ(tx.ComputeTxid(), frozen.txid());
  // The witness does not change the txid.
  tx.inputs[0].satisfaction = Satisfaction::Sig(SignWith(1, Filled(0)));
  Transaction signed_tx(tx);
  EXPECT_EQ(signed_tx.txid(), frozen.txid());
  EXPECT_NE(signed_tx.wtxid(), frozen.wtxid());
}

TEST(TransactionCodec, Errors) {
  const std::string witness = "01" + Sig64(7);
  ASSERT_EQ(DecTx(Payment(witness)), DecodeError::kOk);
  const std::string full = Payment(witness);
  // A prefix is truncated, or a count is found to exceed what the prefix can hold.
  for (std::size_t cut = 0; cut < full.size(); cut += 2) {
    const DecodeError e = DecTx(full.substr(0, cut));
    EXPECT_TRUE(e == DecodeError::kTruncated || e == DecodeError::kCountTooLarge) << cut;
  }
  EXPECT_EQ(DecTx(full.substr(0, full.size() - 2)), DecodeError::kTruncated);
  EXPECT_EQ(DecTx(full + "00"), DecodeError::kTrailingBytes);
  EXPECT_EQ(DecTx(kVersion + "8100"), DecodeError::kNonMinimalVarInt);
  EXPECT_EQ(DecTx(kVersion + "ffffffffffffffffff7f"), DecodeError::kVarIntOverflow);
  // Counts: above the limit, or above what the rest of the input could hold.
  EXPECT_EQ(DecTx(kVersion + "ffff03"), DecodeError::kCountTooLarge);
  EXPECT_EQ(DecTx(kVersion + "02" + kPrevout), DecodeError::kCountTooLarge);
  EXPECT_EQ(DecTx(kVersion + "00" "04" + kOneKeyOutput.substr(2)), DecodeError::kCountTooLarge);
  // Amount above 2^63 - 1.
  EXPECT_EQ(DecTx(kVersion + "01" + kPrevout + "01" "0000000000000080" + KeyCond(1) + "00" + witness),
            DecodeError::kAmountOutOfRange);
  EXPECT_EQ(DecTx(kVersion + "01" + kPrevout + "01" "ffffffffffffff7f" + KeyCond(1) + "00" + witness),
            DecodeError::kOk);
  EXPECT_EQ(DecTx(kVersion + "01" + kPrevout + "01" "00e1f50500000000" "08" + Hex32(1) + "00" + witness),
            DecodeError::kUnknownConditionType);
  EXPECT_EQ(DecTx(kVersion + "01" + kPrevout + kOneKeyOutput + "09" "0100" + witness), DecodeError::kUnknownRecordKind);
  EXPECT_EQ(DecTx(Payment("05" + Sig64(7))), DecodeError::kUnknownSatisfactionType);
  EXPECT_EQ(DecTx(Payment("0302" + witness)), DecodeError::kBadBranch);
  EXPECT_EQ(DecTx(Payment("020000")), DecodeError::kEmptyMultisigSigners);
  EXPECT_EQ(DecTx(Payment("0300" "0300" "0300" "0300" + witness)), DecodeError::kTooDeep);
  EXPECT_EQ(DecTx(kVersion + "01" + kPrevout + kOneKeyOutput + "0101" "818001" +
                  std::string(2 * kMaxRecordPayload + 2, '0') + witness),
            DecodeError::kPayloadTooLarge);
}

TEST(TransactionCodec, ObjectTooLarge) {
  MutableTransaction tx = MakeCoinbase(1, Amount{0}, Condition::Key(TestPub(1)));
  while (Transaction(tx).size() <= kMaxTxSize) tx.outputs.push_back(tx.outputs[0]);
  Bytes big = EncodeTransaction(Transaction(tx));
  EXPECT_EQ(DecTxBytes(big), DecodeError::kObjectTooLarge);
  tx.outputs.pop_back();
  EXPECT_EQ(DecTxBytes(EncodeTransaction(Transaction(tx))), DecodeError::kOk);
}

// Bug fix: the output-count bound assumed every output takes >= 41 bytes, but the smallest
// decodable output (a zero-key multisig condition, rejected later by CheckTransaction) takes
// 11, so the encoding of such a transaction did not decode (count-too-large).
TEST(TransactionCodec, SmallestOutputsRoundTrip) {
  MutableTransaction tx;
  tx.record = Record::Coinbase(1);
  tx.outputs.push_back({Amount{0}, Condition::Multisig(0, {})});
  tx.outputs.push_back({Amount{0}, Condition::Multisig(1, {})});
  Transaction frozen(tx);
  TransactionRef back;
  ASSERT_EQ(DecodeTransaction(EncodeTransaction(frozen), back), DecodeError::kOk);
  EXPECT_EQ(back->data().outputs, tx.outputs);
}

// --- Headers and blocks ----------------------------------------------------------------------

TEST(HeaderCodec, LayoutAndErrors) {
  BlockHeader h;
  h.version = 1;
  h.prev_hash = Filled(0xaa);
  h.merkle_root = Filled(0xbb);
  h.time = 0x0102030405060708;
  h.bits = 0x207fffff;
  h.nonce = 0x1122334455667788;
  const std::string hex = "01000000" + Hex32(0xaa) + Hex32(0xbb) + "0807060504030201" "ffff7f20" "8877665544332211";
  auto enc = h.Encode();
  EXPECT_EQ(enc.size(), kHeaderSize);
  EXPECT_EQ(ToHex(enc), hex);
  EXPECT_EQ(h.Hash(), crypto::Sha256d(enc));
  BlockHeader back;
  ASSERT_EQ(DecodeHeader(FromHex(hex), back), DecodeError::kOk);
  EXPECT_EQ(back, h);
  EXPECT_EQ(DecHeader(hex.substr(0, 174)), DecodeError::kTruncated);
  EXPECT_EQ(DecHeader(""), DecodeError::kTruncated);
  EXPECT_EQ(DecHeader(hex + "00"), DecodeError::kTrailingBytes);
}

TEST(BlockCodec, Errors) {
  const Block& genesis = Regtest().genesis;
  Bytes good = EncodeBlock(genesis);
  Block back;
  ASSERT_EQ(DecodeBlock(good, back), DecodeError::kOk);
  EXPECT_EQ(back.Hash(), genesis.Hash());
  EXPECT_EQ(EncodeBlock(back), good);

  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(DecBlock(trailing), DecodeError::kTrailingBytes);
  EXPECT_EQ(DecBlock(Bytes(good.begin(), good.end() - 1)), DecodeError::kTruncated);
  EXPECT_EQ(DecBlock(Bytes(good.begin(), good.begin() + 50)), DecodeError::kTruncated);

  Bytes header(good.begin(), good.begin() + kHeaderSize);
  Bytes nonminimal = header;
  nonminimal.insert(nonminimal.end(), {0x81, 0x00});
  nonminimal.insert(nonminimal.end(), good.begin() + kHeaderSize + 1, good.end());
  EXPECT_EQ(DecBlock(nonminimal), DecodeError::kNonMinimalVarInt);

  Bytes too_many = header;
  too_many.insert(too_many.end(), {0x7f});  // 127 transactions of >= 7 bytes in ~100 bytes
  too_many.insert(too_many.end(), good.begin() + kHeaderSize + 1, good.end());
  EXPECT_EQ(DecBlock(too_many), DecodeError::kCountTooLarge);

  Bytes overflow = header;
  for (int i = 0; i < 9; ++i) overflow.push_back(0xff);
  overflow.push_back(0x7f);
  EXPECT_EQ(DecBlock(overflow), DecodeError::kVarIntOverflow);

  // An error inside a transaction is the block's error.
  Bytes bad_tx = good;
  bad_tx[kHeaderSize + 1 + 4 + 1 + 1 + 8] = 0x09;  // the coinbase output's condition tag
  EXPECT_EQ(DecBlock(bad_tx), DecodeError::kUnknownConditionType);

  Bytes huge(kMaxBlockSize + 1, 0);
  EXPECT_EQ(DecBlock(huge), DecodeError::kObjectTooLarge);
}

// Bug fix: the block's transaction-count bound assumed each transaction takes >= 47 bytes,
// but the smallest decodable transaction (no inputs, no outputs, no record) takes 7.
TEST(BlockCodec, SmallestTransactionsRoundTrip) {
  MutableTransaction empty;
  Block b;
  b.txs.push_back(MakeTransactionRef(empty));
  b.txs.push_back(MakeTransactionRef(empty));
  Block back;
  ASSERT_EQ(DecodeBlock(EncodeBlock(b), back), DecodeError::kOk);
  ASSERT_EQ(back.txs.size(), 2u);
  EXPECT_EQ(back.txs[0]->txid(), b.txs[0]->txid());
}

// --- Random round trips ----------------------------------------------------------------------

namespace {

struct Gen {
  std::mt19937_64 rng;
  std::uint64_t U(std::uint64_t lo, std::uint64_t hi) { return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng); }
  template <typename T>
  void Fill(T& bytes) {
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  }
  XOnlyPubKey Key() {
    XOnlyPubKey k;
    Fill(k.bytes);
    return k;
  }
  Signature Sig() {
    Signature s;
    Fill(s.bytes);
    return s;
  }
  Condition Cond(int depth) {
    const std::uint64_t max_type = depth >= kMaxConditionDepth ? 2 : 5;
    switch (U(1, max_type)) {
      case 1: return Condition::Key(Key());
      case 2: {
        std::vector<XOnlyPubKey> keys(U(0, kMaxMultisigKeys));
        for (auto& k : keys) k = Key();
        return Condition::Multisig(static_cast<std::uint8_t>(U(0, 255)), keys);
      }
      case 3: return Condition::AfterHeight(static_cast<std::uint32_t>(rng()), Cond(depth + 1));
      case 4: return Condition::AfterBlocks(static_cast<std::uint32_t>(rng()), Cond(depth + 1));
      default: return Condition::Or(Cond(depth + 1), Cond(depth + 1));
    }
  }
  Satisfaction Sat(int depth) {
    switch (U(1, depth >= kMaxConditionDepth ? 2 : 3)) {
      case 1: return Satisfaction::Sig(Sig());
      case 2: {
        auto signers = static_cast<std::uint16_t>(U(1, 0xffff));
        std::vector<Signature> sigs(static_cast<std::size_t>(std::popcount(signers)));
        for (auto& s : sigs) s = Sig();
        return Satisfaction::Multi(signers, sigs);
      }
      default: return Satisfaction::Branch(static_cast<std::uint8_t>(U(0, 1)), Sat(depth + 1));
    }
  }
  Record Rec() {
    if (U(0, 1) == 0) return Record{};
    Record r;
    r.kind = RecordKind::kCoinbase;
    r.version = static_cast<std::uint32_t>(rng() >> U(0, 32));
    r.payload.resize(U(0, 300));
    Fill(r.payload);
    return r;
  }
  MutableTransaction Tx() {
    MutableTransaction tx;
    tx.version = static_cast<std::uint32_t>(U(0, 3));
    tx.inputs.resize(U(0, 4));
    for (auto& in : tx.inputs) {
      Fill(in.prevout.txid.bytes);
      in.prevout.index = static_cast<std::uint32_t>(rng() >> U(0, 32));
      in.satisfaction = Sat(1);
    }
    tx.outputs.resize(U(0, 4));
    for (auto& o : tx.outputs) {
      o.amount = Amount{static_cast<std::int64_t>(rng() >> U(1, 63))};
      o.condition = Cond(1);
    }
    tx.record = Rec();
    return tx;
  }
};

}  // namespace

TEST(Codec, RandomRoundTrips) {
  const std::uint64_t seed = TestSeed();
  Gen g{std::mt19937_64(seed)};
  for (int i = 0; i < 300; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i) + ", seed " + std::to_string(seed));
    Condition c = g.Cond(1);
    Bytes cb = EncodeCondition(c);
    Condition c2;
    ASSERT_EQ(DecodeCondition(cb, c2), DecodeError::kOk);
    EXPECT_EQ(c2, c);
    EXPECT_EQ(EncodeCondition(c2), cb);

    Satisfaction s = g.Sat(1);
    Bytes sb = EncodeSatisfaction(s);
    Satisfaction s2;
    ASSERT_EQ(DecodeSatisfaction(sb, s2), DecodeError::kOk);
    EXPECT_EQ(s2, s);
    EXPECT_EQ(EncodeSatisfaction(s2), sb);

    Transaction tx(g.Tx());
    Bytes tb = EncodeTransaction(tx);
    EXPECT_EQ(tx.size(), tb.size());
    TransactionRef tx2;
    ASSERT_EQ(DecodeTransaction(tb, tx2), DecodeError::kOk) << ToHex(tb);
    EXPECT_EQ(tx2->version(), tx.version());
    EXPECT_EQ(tx2->inputs(), tx.inputs());
    EXPECT_EQ(tx2->outputs(), tx.outputs());
    EXPECT_EQ(tx2->record(), tx.record());
    EXPECT_EQ(tx2->txid(), tx.txid());
    EXPECT_EQ(tx2->wtxid(), tx.wtxid());
    EXPECT_EQ(EncodeTransaction(*tx2), tb);
    // Any strict prefix fails, and so does any extra byte.
    const std::size_t cut = g.U(0, tb.size() - 1);
    EXPECT_NE(DecodeTransaction(ByteSpan(tb).first(cut), tx2), DecodeError::kOk);
    tb.push_back(static_cast<std::uint8_t>(g.rng()));
    EXPECT_EQ(DecodeTransaction(tb, tx2), DecodeError::kTrailingBytes);
  }
  for (int i = 0; i < 50; ++i) {
    SCOPED_TRACE("block " + std::to_string(i) + ", seed " + std::to_string(seed));
    Block b;
    b.header.version = static_cast<std::uint32_t>(g.rng());
    g.Fill(b.header.prev_hash.bytes);
    g.Fill(b.header.merkle_root.bytes);
    b.header.time = g.rng();
    b.header.bits = static_cast<std::uint32_t>(g.rng());
    b.header.nonce = g.rng();
    for (std::uint64_t n = g.U(0, 5); n > 0; --n) b.txs.push_back(MakeTransactionRef(g.Tx()));
    Bytes bb = EncodeBlock(b);
    Block b2;
    ASSERT_EQ(DecodeBlock(bb, b2), DecodeError::kOk);
    EXPECT_EQ(b2.header, b.header);
    ASSERT_EQ(b2.txs.size(), b.txs.size());
    for (std::size_t j = 0; j < b.txs.size(); ++j) EXPECT_EQ(b2.txs[j]->wtxid(), b.txs[j]->wtxid());
    EXPECT_EQ(EncodeBlock(b2), bb);
  }
}

// Random bytes never crash a decoder, and whatever decodes re-encodes to the same bytes.
TEST(Codec, RandomBytesDecodeCanonicallyOrFail) {
  const std::uint64_t seed = TestSeed();
  Gen g{std::mt19937_64(seed)};
  for (int i = 0; i < 20000; ++i) {
    Bytes b(g.U(0, 120));
    g.Fill(b);
    if (!b.empty() && g.U(0, 1)) b[0] = static_cast<std::uint8_t>(g.U(1, 5));  // a known tag, often
    Condition c;
    if (DecodeCondition(b, c) == DecodeError::kOk) EXPECT_EQ(EncodeCondition(c), b);
    Satisfaction s;
    if (DecodeSatisfaction(b, s) == DecodeError::kOk) EXPECT_EQ(EncodeSatisfaction(s), b);
    TransactionRef tx;
    if (DecodeTransaction(b, tx) == DecodeError::kOk) EXPECT_EQ(EncodeTransaction(*tx), b);
  }
}

// Mutations of valid encodings (a byte changed, inserted or removed) either fail to decode or
// decode to something whose encoding is exactly the mutated bytes: no second encoding exists.
TEST(Codec, MutatedEncodingsAreCanonicalOrRejected) {
  const std::uint64_t seed = TestSeed();
  Gen g{std::mt19937_64(seed)};
  int decoded = 0;
  for (int i = 0; i < 3000; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i) + ", seed " + std::to_string(seed));
    Bytes tb = EncodeTransaction(Transaction(g.Tx()));
    Block blk;
    blk.header.bits = static_cast<std::uint32_t>(g.rng());
    blk.txs.push_back(MakeTransactionRef(g.Tx()));
    Bytes bb = EncodeBlock(blk);
    for (Bytes* b : {&tb, &bb}) {
      const std::size_t at = g.U(0, b->size() - 1);
      switch (g.U(0, 2)) {
        case 0: (*b)[at] = static_cast<std::uint8_t>(g.rng()); break;
        case 1: b->insert(b->begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(g.rng())); break;
        default: b->erase(b->begin() + static_cast<std::ptrdiff_t>(at)); break;
      }
    }
    TransactionRef tx;
    if (DecodeTransaction(tb, tx) == DecodeError::kOk) {
      ++decoded;
      EXPECT_EQ(EncodeTransaction(*tx), tb);
    }
    Block b2;
    if (DecodeBlock(bb, b2) == DecodeError::kOk) {
      ++decoded;
      EXPECT_EQ(EncodeBlock(b2), bb);
    }
  }
  EXPECT_GT(decoded, 0);  // the property was exercised
}
