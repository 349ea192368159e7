// Generates the pinned test vectors in tests/vectors/ (docs/encoding.md, "Test vectors"):
// conditions.json, transactions.json, headers.json, merkle.json, market.json and channels.json.
//
//   wattline-make-vectors [output-dir]    (default: tests/vectors)
//
// Deterministic: secret keys are 00..01, 00..02, ...; BIP340 signatures use all-zero aux
// randomness; prevouts are SHA-256 of fixed strings. Re-run only when the encoding changes on
// purpose (a hard fork): tests/unit/consensus/vectors_test.cpp checks the committed files and
// never regenerates them.
#include <array>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "consensus/block.h"
#include "consensus/channel.h"
#include "consensus/market.h"
#include "consensus/merkle.h"
#include "consensus/params.h"
#include "consensus/pow.h"
#include "consensus/tx_check.h"
#include "consensus/tx_verify.h"
#include "crypto/hex.h"
#include "crypto/schnorr.h"

using namespace wattline;
using namespace wattline::consensus;
using Json = nlohmann::ordered_json;

namespace {

crypto::SecretKey Key(std::uint8_t i) {
  std::array<std::uint8_t, 32> b{};
  b[31] = i;
  return *crypto::SecretKey::FromBytes(b);
}
XOnlyPubKey Pub(std::uint8_t i) { return Key(i).PubKey(); }
Signature Sign(std::uint8_t key, const Hash256& msg) { return Key(key).Sign(msg, Hash256{}); }
std::string Hex(ByteSpan b) { return crypto::HexEncode(b); }
Hash256 Named(const std::string& s) {
  return crypto::Sha256Of(ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}
const Params& Net() { return GetParams(Network::kRegtest); }

// --- Transactions ----------------------------------------------------------------------------

struct TxVector {
  std::string description;
  MutableTransaction tx;
  std::vector<Coin> coins;        //!< the coin each input spends
  std::uint32_t spend_height = 0; //!< a height at which the transaction is valid
};

/** Fills every input's satisfaction by calling sign(input index, sighash). */
template <typename F>
void SignInputs(TxVector& v, F sign) {
  const Hash256 txid = v.tx.ComputeTxid();
  for (std::size_t i = 0; i < v.tx.inputs.size(); ++i)
    v.tx.inputs[i].satisfaction = sign(i, SignatureHash(Net(), txid, static_cast<std::uint32_t>(i), v.coins[i].out));
}

std::vector<TxVector> MakeTxVectors() {
  std::vector<TxVector> out;
  {
    TxVector v{"coinbase at height 1: 50 coins to key 1, 8 extra bytes", {}, {}, 1};
    v.tx.record = Record::Coinbase(1, ByteSpan(reinterpret_cast<const std::uint8_t*>("wattline"), 8));
    v.tx.outputs.push_back({Coins(50), Condition::Key(Pub(1))});
    out.push_back(v);
  }
  {
    TxVector v{"payment: key 1 spends 10 coins to key 2 (3 coins) and back to key 1 (6.9999 coins)", {}, {}, 200};
    v.coins = {Coin{{Coins(10), Condition::Key(Pub(1))}, 100, false}};
    v.tx.inputs.push_back({OutPoint{Named("prevout-a"), 0}, {}});
    v.tx.outputs.push_back({Coins(3), Condition::Key(Pub(2))});
    v.tx.outputs.push_back({Amount{699'990'000}, Condition::Key(Pub(1))});
    SignInputs(v, [](std::size_t, const Hash256& m) { return Satisfaction::Sig(Sign(1, m)); });
    out.push_back(v);
  }
  {
    TxVector v{"two inputs (keys 1 and 2) to one output, fee 1000 units", {}, {}, 200};
    v.coins = {Coin{{Amount{5000}, Condition::Key(Pub(1))}, 100, false},
               Coin{{Amount{7000}, Condition::Key(Pub(2))}, 150, false}};
    v.tx.inputs.push_back({OutPoint{Named("prevout-b"), 1}, {}});
    v.tx.inputs.push_back({OutPoint{Named("prevout-c"), 300}, {}});
    v.tx.outputs.push_back({Amount{11000}, Condition::Key(Pub(3))});
    SignInputs(v, [](std::size_t i, const Hash256& m) { return Satisfaction::Sig(Sign(i == 0 ? 1 : 2, m)); });
    out.push_back(v);
  }
  {
    TxVector v{"2-of-3 multisig (keys 1, 2, 3) spent by keys 1 and 3", {}, {}, 200};
    v.coins = {Coin{{Coins(4), Condition::Multisig(2, {Pub(1), Pub(2), Pub(3)})}, 100, false}};
    v.tx.inputs.push_back({OutPoint{Named("prevout-d"), 2}, {}});
    v.tx.outputs.push_back({Coins(4), Condition::Multisig(1, {Pub(4), Pub(5)})});
    SignInputs(v, [](std::size_t, const Hash256& m) { return Satisfaction::Multi(0b101, {Sign(1, m), Sign(3, m)}); });
    out.push_back(v);
  }
  const Condition recovery = Condition::Or(Condition::Multisig(2, {Pub(1), Pub(2), Pub(3)}),
                                           Condition::AfterHeight(500, Condition::Key(Pub(1))));
  {
    TxVector v{"'2-of-3 now, or key 1 after height 500', spent now by keys 2 and 3 (left branch)", {}, {}, 200};
    v.coins = {Coin{{Coins(1), recovery}, 100, false}};
    v.tx.inputs.push_back({OutPoint{Named("prevout-e"), 0}, {}});
    v.tx.outputs.push_back({Amount{99'999'000}, Condition::Key(Pub(6))});
    SignInputs(v, [](std::size_t, const Hash256& m) {
      return Satisfaction::Branch(0, Satisfaction::Multi(0b110, {Sign(2, m), Sign(3, m)}));
    });
    out.push_back(v);
  }
  {
    TxVector v{"'2-of-3 now, or key 1 after height 500', spent at height 500 by key 1 (right branch)", {}, {}, 500};
    v.coins = {Coin{{Coins(1), recovery}, 100, false}};
    v.tx.inputs.push_back({OutPoint{Named("prevout-f"), 0}, {}});
    v.tx.outputs.push_back({Amount{99'999'000}, Condition::Key(Pub(1))});
    SignInputs(v, [](std::size_t, const Hash256& m) { return Satisfaction::Branch(1, Satisfaction::Sig(Sign(1, m))); });
    out.push_back(v);
  }
  {
    TxVector v{"relative lock: key 2, 144 blocks after confirmation (coin at 1000, spent at 1144)", {}, {}, 1144};
    v.coins = {Coin{{Coins(2), Condition::AfterBlocks(144, Condition::Key(Pub(2)))}, 1000, false}};
    v.tx.inputs.push_back({OutPoint{Named("prevout-g"), 7}, {}});
    v.tx.outputs.push_back({Coins(2), Condition::AfterHeight(2000, Condition::Key(Pub(3)))});
    SignInputs(v, [](std::size_t, const Hash256& m) { return Satisfaction::Sig(Sign(2, m)); });
    out.push_back(v);
  }
  {
    TxVector v{"mature coinbase output spent (coin at height 5, spent at 105)", {}, {}, 105};
    v.coins = {Coin{{Coins(50), Condition::Key(Pub(1))}, 5, true}};
    v.tx.inputs.push_back({OutPoint{Named("prevout-h"), 0}, {}});
    v.tx.outputs.push_back({Coins(25), Condition::Key(Pub(2))});
    v.tx.outputs.push_back({Coins(25), Condition::Or(Condition::Key(Pub(3)), Condition::AfterBlocks(10, Condition::Key(Pub(4))))});
    SignInputs(v, [](std::size_t, const Hash256& m) { return Satisfaction::Sig(Sign(1, m)); });
    out.push_back(v);
  }
  return out;
}

Json TxJson(const TxVector& v) {
  Transaction tx(v.tx);
  Bytes base;
  Writer w(base);
  EncodeTransactionBase(w, v.tx);
  Json j;
  j["description"] = v.description;
  j["hex"] = Hex(EncodeTransaction(tx));
  j["base_size"] = base.size();
  j["txid"] = tx.txid().ToHex();
  j["wtxid"] = tx.wtxid().ToHex();
  Json inputs = Json::array();
  for (std::size_t i = 0; i < v.coins.size(); ++i) {
    Json in;
    in["amount"] = v.coins[i].out.amount.units;
    in["condition"] = Hex(EncodeCondition(v.coins[i].out.condition));
    in["height"] = v.coins[i].height;
    in["coinbase"] = v.coins[i].coinbase;
    in["sighash"] = SignatureHash(Net(), tx.txid(), static_cast<std::uint32_t>(i), v.coins[i].out).ToHex();
    inputs.push_back(in);
  }
  j["spent"] = inputs;
  j["spend_height"] = v.spend_height;
  // Self-check: the vector is a valid transaction at spend_height.
  ValidationState s;
  if (!CheckTransaction(tx, s)) throw std::runtime_error(v.description + ": " + s.ToString());
  if (!tx.IsCoinbase()) {
    std::vector<const Coin*> coins;
    for (const auto& c : v.coins) coins.push_back(&c);
    Amount fee;
    if (!CheckTxInputs(tx, coins, v.spend_height, Net(), fee, s)) throw std::runtime_error(v.description + ": " + s.ToString());
    j["fee"] = fee.units;
  }
  return j;
}

// --- Invalid encodings -----------------------------------------------------------------------

Json Invalid(const std::string& type, const std::string& description, const std::string& hex, DecodeError e) {
  return Json{{"description", description}, {"type", type}, {"hex", hex}, {"error", std::string(DecodeErrorName(e))}};
}

/** An invalid encoding too long to write out: parts concatenated, each repeated `repeat` times. */
Json InvalidParts(const std::string& type, const std::string& description, const std::vector<std::pair<std::string, std::size_t>>& parts,
                  DecodeError e) {
  Json p = Json::array();
  for (const auto& [hex, repeat] : parts) p.push_back(Json{{"hex", hex}, {"repeat", repeat}});
  return Json{{"description", description}, {"type", type}, {"hex_parts", p}, {"error", std::string(DecodeErrorName(e))}};
}

std::string H32(std::uint8_t fill) {
  Hash256 h;
  h.bytes.fill(fill);
  return h.ToHex();
}
std::string KeyCond(std::uint8_t fill) { return "01" + H32(fill); }
std::string Sig64(std::uint8_t fill) { return H32(fill) + H32(fill); }
std::string VarIntHex(std::uint64_t v) {
  Bytes b;
  Writer w(b);
  w.VarInt(v);
  return Hex(b);
}

Json ConditionInvalids() {
  std::string keys17;
  for (int i = 1; i <= 17; ++i) keys17 += H32(static_cast<std::uint8_t>(i));
  const std::string k = KeyCond(1);
  Json a = Json::array();
  a.push_back(Invalid("condition", "empty input", "", DecodeError::kTruncated));
  a.push_back(Invalid("condition", "key condition cut inside the key", k.substr(0, 40), DecodeError::kTruncated));
  a.push_back(Invalid("condition", "key condition followed by a byte", k + "00", DecodeError::kTrailingBytes));
  a.push_back(Invalid("condition", "tag 0", "00" + H32(1), DecodeError::kUnknownConditionType));
  a.push_back(Invalid("condition", "tag 8", "08" + H32(1), DecodeError::kUnknownConditionType));
  a.push_back(Invalid("condition", "channel close cut inside its state number", "07" + H32(1) + "00000000" "0100",
                      DecodeError::kTruncated));
  a.push_back(Invalid("condition", "multisig with 17 keys", "0201" "11" + keys17, DecodeError::kCountTooLarge));
  a.push_back(Invalid("condition", "multisig 1-of-2 with one key present", "0201" "02" + H32(1), DecodeError::kTruncated));
  a.push_back(Invalid("condition", "height lock without inner condition", "03f4010000", DecodeError::kTruncated));
  a.push_back(Invalid("condition", "or with one branch", "05" + k, DecodeError::kTruncated));
  a.push_back(Invalid("condition", "depth 5: or(or(or(or(key, key), key), key), key)",
                      "05050505" + k + k + k + k + k, DecodeError::kTooDeep));
  a.push_back(Invalid("condition", "depth 5: four nested locks around a key",
                      "030a000000" "040a000000" "030a000000" "040a000000" + k, DecodeError::kTooDeep));
  a.push_back(Invalid("satisfaction", "empty input", "", DecodeError::kTruncated));
  a.push_back(Invalid("satisfaction", "tag 0", "00" + Sig64(1), DecodeError::kUnknownSatisfactionType));
  a.push_back(Invalid("satisfaction", "tag 5", "05" + Sig64(1), DecodeError::kUnknownSatisfactionType));
  a.push_back(Invalid("satisfaction", "channel path with signer bit 3 (only A, B, U exist)", "0408" + Sig64(1),
                      DecodeError::kBadFieldValue));
  a.push_back(Invalid("satisfaction", "channel path bitmap 0b011 with one signature", "0403" + Sig64(1),
                      DecodeError::kTruncated));
  a.push_back(Invalid("satisfaction", "signature cut short", "01" + Sig64(1).substr(0, 126), DecodeError::kTruncated));
  a.push_back(Invalid("satisfaction", "signature followed by a byte", "01" + Sig64(1) + "01", DecodeError::kTrailingBytes));
  a.push_back(Invalid("satisfaction", "multisig with no signer bit set", "020000", DecodeError::kEmptyMultisigSigners));
  a.push_back(Invalid("satisfaction", "multisig bitmap 0b11 with one signature", "020300" + Sig64(1), DecodeError::kTruncated));
  a.push_back(Invalid("satisfaction", "branch selector 2", "0302" "01" + Sig64(1), DecodeError::kBadBranch));
  a.push_back(Invalid("satisfaction", "depth 5: four branches around a signature", "0300030003000300" "01" + Sig64(1),
                      DecodeError::kTooDeep));
  a.push_back(Invalid("record", "empty input", "", DecodeError::kTruncated));
  a.push_back(Invalid("record", "kind 0 followed by a byte", "0000", DecodeError::kTrailingBytes));
  a.push_back(Invalid("record", "kind 0 as two bytes", "8000", DecodeError::kNonMinimalVarInt));
  a.push_back(Invalid("record", "kind 9 (unknown)", "090100", DecodeError::kUnknownRecordKind));
  a.push_back(Invalid("record", "kind 10 (unknown)", "0a0100", DecodeError::kUnknownRecordKind));
  a.push_back(Invalid("record", "kind 2^32", "8080808010", DecodeError::kVarIntOverflow));
  a.push_back(Invalid("record", "coinbase record, version 2^32", "01" "8080808010" "00", DecodeError::kVarIntOverflow));
  a.push_back(Invalid("record", "coinbase record, version 1 as two bytes", "01" "8100" "00", DecodeError::kNonMinimalVarInt));
  a.push_back(Invalid("record", "coinbase record, payload length 5 with 4 bytes", "0101" "05" "01000000", DecodeError::kTruncated));
  a.push_back(InvalidParts("record", "coinbase record, payload of 16385 bytes",
                           {{"0101" + VarIntHex(kMaxRecordPayload + 1), 1}, {"00", kMaxRecordPayload + 1}},
                           DecodeError::kPayloadTooLarge));
  return a;
}

Json TxInvalids(const std::string& payment_hex) {
  const std::string ver = "01000000";
  const std::string prevout = H32(0x11) + "00000000";
  const std::string out1 = "00e1f50500000000" + KeyCond(0x22);
  const std::string witness = "01" + Sig64(7);
  auto payment = [&](const std::string& w) { return ver + "01" + prevout + "01" + out1 + "00" + w; };
  Json a = Json::array();
  a.push_back(Invalid("transaction", "payment vector without its last byte", payment_hex.substr(0, payment_hex.size() - 2),
                      DecodeError::kTruncated));
  a.push_back(Invalid("transaction", "payment vector followed by a zero byte", payment_hex + "00", DecodeError::kTrailingBytes));
  a.push_back(Invalid("transaction", "empty input", "", DecodeError::kTruncated));
  a.push_back(Invalid("transaction", "input count 1 as two bytes", ver + "8100", DecodeError::kNonMinimalVarInt));
  a.push_back(Invalid("transaction", "input count above 2^64", ver + "ffffffffffffffffff7f", DecodeError::kVarIntOverflow));
  a.push_back(Invalid("transaction", "input count 2778 (above the limit 2777)", ver + VarIntHex(2778), DecodeError::kCountTooLarge));
  a.push_back(Invalid("transaction", "input count 2 with 36 bytes left", ver + "02" + prevout, DecodeError::kCountTooLarge));
  a.push_back(Invalid("transaction", "output count 4 with 41 bytes left", ver + "00" "04" + out1, DecodeError::kCountTooLarge));
  a.push_back(Invalid("transaction", "amount 2^63", ver + "01" + prevout + "01" "0000000000000080" + KeyCond(1) + "00" + witness,
                      DecodeError::kAmountOutOfRange));
  a.push_back(Invalid("transaction", "output condition tag 8", ver + "01" + prevout + "01" "00e1f50500000000" "08" + H32(1) + "00" + witness,
                      DecodeError::kUnknownConditionType));
  a.push_back(Invalid("transaction", "record kind 9 (unknown)", ver + "01" + prevout + "01" + out1 + "090100" + witness,
                      DecodeError::kUnknownRecordKind));
  a.push_back(Invalid("transaction", "witness tag 5", payment("05" + Sig64(7)), DecodeError::kUnknownSatisfactionType));
  a.push_back(Invalid("transaction", "witness branch selector 2", payment("0302" + witness), DecodeError::kBadBranch));
  a.push_back(Invalid("transaction", "witness multisig with no signer", payment("020000"), DecodeError::kEmptyMultisigSigners));
  a.push_back(Invalid("transaction", "witness nested 5 deep", payment("03000300030003000" "1" + Sig64(7)), DecodeError::kTooDeep));
  a.push_back(Invalid("transaction", "1 input and no witness", ver + "01" + prevout + "01" + out1 + "00", DecodeError::kTruncated));
  a.push_back(InvalidParts("transaction", "coinbase with 16385-byte record payload",
                           {{ver + "00" "01" + out1 + "0101" + VarIntHex(kMaxRecordPayload + 1), 1}, {"00", kMaxRecordPayload + 1}},
                           DecodeError::kPayloadTooLarge));
  // 2440 outputs of 41 bytes: 100,053 bytes in all, over the 100,000-byte limit.
  a.push_back(InvalidParts("transaction", "coinbase of 100053 bytes (2440 key outputs)",
                           {{ver + "00" + VarIntHex(2440), 1}, {"0000000000000000" + KeyCond(1), 2440}, {"01010400000000", 1}},
                           DecodeError::kObjectTooLarge));
  return a;
}

// --- Headers, blocks, compact targets --------------------------------------------------------

Json HeaderJson(const std::string& description, const BlockHeader& h) {
  auto enc = h.Encode();
  Json j;
  j["description"] = description;
  j["hex"] = Hex(enc);
  j["hash"] = h.Hash().ToHex();
  j["bits"] = h.bits;
  auto target = CompactToTarget(h.bits);
  j["target"] = target ? Json(NumberToHash(*target).ToHex()) : Json();
  std::ostringstream work;
  work << BlockWork(h.bits);
  j["work"] = work.str();
  return j;
}

Json BlockJson(const std::string& description, const Block& b) {
  Json j;
  j["description"] = description;
  j["hex"] = Hex(EncodeBlock(b));
  j["hash"] = b.Hash().ToHex();
  j["merkle_root"] = BlockMerkleRoot(b).ToHex();
  Json txids = Json::array(), wtxids = Json::array();
  for (const auto& tx : b.txs) {
    txids.push_back(tx->txid().ToHex());
    wtxids.push_back(tx->wtxid().ToHex());
  }
  j["txids"] = txids;
  j["wtxids"] = wtxids;
  return j;
}

Json Headers(const std::vector<TxVector>& txs) {
  Json j;
  j["comment"] = "Block headers (88 bytes), blocks and compact targets. docs/encoding.md, 'Block headers' and 'Blocks'. "
                 "hash = SHA256(SHA256(header)), shown as its bytes in order, which is also the big-endian number "
                 "compared with the target. work = 2^256 / (target + 1), decimal.";
  Json headers = Json::array();
  for (Network n : {Network::kMain, Network::kTestnet, Network::kDevnet, Network::kRegtest}) {
    Json h = HeaderJson(std::string(NetworkName(n)) + " genesis header", GetParams(n).genesis.header);
    h["network"] = NetworkName(n);
    headers.push_back(h);
  }
  BlockHeader h;
  h.version = 1;
  h.prev_hash = Named("previous block");
  h.merkle_root = Named("merkle root");
  h.time = 1'800'000'000;
  h.bits = 0x1d00ffff;
  h.nonce = 0x0123456789abcdef;
  headers.push_back(HeaderJson("arbitrary header with every field distinct (not meeting its target)", h));
  j["headers"] = headers;

  Json blocks = Json::array();
  for (Network n : {Network::kMain, Network::kRegtest}) {
    Json b = BlockJson(std::string(NetworkName(n)) + " genesis block", GetParams(n).genesis);
    b["network"] = NetworkName(n);
    blocks.push_back(b);
  }
  // A regtest block at height 1 holding a coinbase and three of the transaction vectors.
  Block b;
  b.txs.push_back(MakeTransactionRef(txs[0].tx));
  for (std::size_t i = 1; i <= 3; ++i) b.txs.push_back(MakeTransactionRef(txs[i].tx));
  b.header.prev_hash = Net().genesis_hash;
  b.header.time = Net().genesis.header.time + 60;
  b.header.bits = Net().genesis.header.bits;
  b.header.merkle_root = BlockMerkleRoot(b);
  auto target = *CompactToTarget(b.header.bits);
  while (HashToNumber(b.header.Hash()) > target) ++b.header.nonce;
  Json bj = BlockJson("regtest block at height 1: a coinbase and 3 transactions (odd merkle level)", b);
  bj["network"] = "regtest";
  blocks.push_back(bj);
  j["blocks"] = blocks;

  Json compact = Json::array();
  for (std::uint32_t bits : {0x1d00ffffu, 0x207fffffu, 0x1e00ffffu, 0x03123456u, 0x02123456u, 0x01120000u, 0x04123456u,
                             0x2100ffffu, 0x04923456u, 0x00000000u, 0x01003456u, 0x21010000u, 0x227fffffu}) {
    Json c;
    char buf[11];
    std::snprintf(buf, sizeof buf, "0x%08x", bits);
    c["bits"] = buf;
    auto t = CompactToTarget(bits);
    c["target"] = t ? Json(NumberToHash(*t).ToHex()) : Json();
    if (t) {
      std::snprintf(buf, sizeof buf, "0x%08x", TargetToCompact(*t));
      c["canonical"] = buf;
    }
    compact.push_back(c);
  }
  j["compact"] = compact;

  const std::string header_hex = Hex(GetParams(Network::kRegtest).genesis.header.Encode());
  const std::string block_hex = Hex(EncodeBlock(GetParams(Network::kRegtest).genesis));
  const std::string after_header = block_hex.substr(2 * kHeaderSize + 2);
  Json inv = Json::array();
  inv.push_back(Invalid("header", "87 bytes", header_hex.substr(0, 174), DecodeError::kTruncated));
  inv.push_back(Invalid("header", "89 bytes", header_hex + "00", DecodeError::kTrailingBytes));
  inv.push_back(Invalid("block", "header only, no transaction count", header_hex, DecodeError::kTruncated));
  inv.push_back(Invalid("block", "regtest genesis without its last byte", block_hex.substr(0, block_hex.size() - 2),
                        DecodeError::kTruncated));
  inv.push_back(Invalid("block", "regtest genesis followed by a zero byte", block_hex + "00", DecodeError::kTrailingBytes));
  inv.push_back(Invalid("block", "transaction count 1 as two bytes", header_hex + "8100" + after_header,
                        DecodeError::kNonMinimalVarInt));
  inv.push_back(Invalid("block", "transaction count 127 with ~100 bytes left", header_hex + "7f" + after_header,
                        DecodeError::kCountTooLarge));
  inv.push_back(Invalid("block", "transaction count above 2^64", header_hex + "ffffffffffffffffff7f", DecodeError::kVarIntOverflow));
  std::string bad_tag = block_hex;
  const std::size_t tag_at = 2 * (kHeaderSize + 1 + 4 + 1 + 1 + 8);  // the coinbase output's condition tag
  bad_tag.replace(tag_at, 2, "09");
  inv.push_back(Invalid("block", "coinbase output condition tag 9", bad_tag, DecodeError::kUnknownConditionType));
  inv.push_back(InvalidParts("block", "1,000,001 bytes", {{"00", kMaxBlockSize + 1}}, DecodeError::kObjectTooLarge));
  j["invalid"] = inv;
  return j;
}

Json Merkle() {
  Json j;
  j["comment"] = "Merkle roots (docs/encoding.md, 'Merkle root'). Leaf i is SHA256 of the single byte i. "
                 "node = TaggedHash('wattline/merkle', left || right); an odd last node is carried up unchanged; "
                 "no leaves: 32 zero bytes.";
  std::vector<Hash256> all;
  for (int i = 0; i < 17; ++i) {
    const std::uint8_t b = static_cast<std::uint8_t>(i);
    all.push_back(crypto::Sha256Of(ByteSpan(&b, 1)));
  }
  Json v = Json::array();
  auto add = [&](const std::string& d, const std::vector<Hash256>& leaves) {
    Json e;
    e["description"] = d;
    Json l = Json::array();
    for (const auto& h : leaves) l.push_back(h.ToHex());
    e["leaves"] = l;
    e["root"] = ComputeMerkleRoot(leaves).ToHex();
    v.push_back(e);
  };
  for (int n : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17})
    add(std::to_string(n) + " leaves", std::vector<Hash256>(all.begin(), all.begin() + n));
  add("[a, b, c, c]: differs from [a, b, c] (CVE-2012-2459)", {all[0], all[1], all[2], all[2]});
  add("[a, b, c, d, e, e]: differs from [a, b, c, d, e]", {all[0], all[1], all[2], all[3], all[4], all[4]});
  j["vectors"] = v;
  return j;
}

Json Conditions() {
  Json j;
  j["comment"] = "Spending conditions, satisfactions and records (docs/encoding.md). Keys are the BIP340 x-only "
                 "public keys of the secret keys 1, 2, 3, ... (32-byte big-endian); signatures are arbitrary bytes "
                 "here (they are checked in transactions.json).";
  const Condition key = Condition::Key(Pub(1));
  std::vector<XOnlyPubKey> keys16;
  for (std::uint8_t i = 1; i <= 16; ++i) keys16.push_back(Pub(i));
  std::vector<std::pair<std::string, Condition>> conds = {
      {"key 1", key},
      {"1-of-1 multisig (key 1)", Condition::Multisig(1, {Pub(1)})},
      {"2-of-3 multisig (keys 1, 2, 3)", Condition::Multisig(2, {Pub(1), Pub(2), Pub(3)})},
      {"16-of-16 multisig (keys 1..16)", Condition::Multisig(16, keys16)},
      {"key 1 from height 500", Condition::AfterHeight(500, key)},
      {"key 1, 144 blocks after confirmation", Condition::AfterBlocks(144, key)},
      {"key 1 or key 2", Condition::Or(key, Condition::Key(Pub(2)))},
      {"2-of-3 now, or key 1 after height 500",
       Condition::Or(Condition::Multisig(2, {Pub(1), Pub(2), Pub(3)}), Condition::AfterHeight(500, key))},
      {"depth 4 (the deepest allowed): or(or(or(key 1, key 2), key 3), key 4)",
       Condition::Or(Condition::Or(Condition::Or(key, Condition::Key(Pub(2))), Condition::Key(Pub(3))), Condition::Key(Pub(4)))},
      {"height lock 4294967295 around a relative lock 0 around key 1",
       Condition::AfterHeight(UINT32_MAX, Condition::AfterBlocks(0, key))},
      {"channel: A = key 1, B = key 2, U = key 3, expiry 200, contest window 6",
       Condition::Channel(Pub(1), Pub(2), Pub(3), 200, 6)},
      {"channel close: channel sha256('channel funding txid'):0, state 12, contest window 6",
       Condition::ChannelClose(Named("channel funding txid"), 0, 12, 6)},
  };
  Json c = Json::array();
  for (const auto& [d, cond] : conds) c.push_back(Json{{"description", d}, {"hex", Hex(EncodeCondition(cond))}});
  j["conditions"] = c;

  Signature s1, s2, s3;
  s1.bytes.fill(0x11);
  s2.bytes.fill(0x22);
  s3.bytes.fill(0x33);
  std::vector<std::pair<std::string, Satisfaction>> sats = {
      {"signature", Satisfaction::Sig(s1)},
      {"multisig, signers 0 and 2 (bitmap 0x0005)", Satisfaction::Multi(0x0005, {s1, s2})},
      {"multisig, signer 15 only (bitmap 0x8000)", Satisfaction::Multi(0x8000, {s3})},
      {"left branch, signature", Satisfaction::Branch(0, Satisfaction::Sig(s1))},
      {"right branch of the right branch, multisig signer 1",
       Satisfaction::Branch(1, Satisfaction::Branch(1, Satisfaction::Multi(0x0002, {s2})))},
      {"channel path, A and B sign (bitmap 0b011)", Satisfaction::ChannelPath(0b011, {s1, s2})},
      {"channel path, no signer (post or settle)", Satisfaction::ChannelPath(0, {})},
  };
  Json s = Json::array();
  for (const auto& [d, sat] : sats) s.push_back(Json{{"description", d}, {"hex", Hex(EncodeSatisfaction(sat))}});
  j["satisfactions"] = s;

  std::vector<std::pair<std::string, Record>> recs = {
      {"no record (plain payment)", Record{}},
      {"coinbase record, height 1, no extra bytes", Record::Coinbase(1)},
      {"coinbase record, height 300, extra bytes 'wattline'",
       Record::Coinbase(300, ByteSpan(reinterpret_cast<const std::uint8_t*>("wattline"), 8))},
  };
  Json r = Json::array();
  for (const auto& [d, rec] : recs) {
    Bytes b;
    Writer w(b);
    EncodeRecord(w, rec);
    r.push_back(Json{{"description", d}, {"hex", Hex(b)}});
  }
  j["records"] = r;
  j["invalid"] = ConditionInvalids();
  return j;
}

// --- The energy market (market.json) ---------------------------------------------------------

std::string Dec(std::uint64_t v) { return std::to_string(v); }

crypto::SecretKey UtilitySecretOf(Network n) { return *crypto::SecretKey::FromBytes(DocumentedUtilitySecret(n).span()); }

Reading SignedReading(std::uint8_t meter, std::uint64_t start, std::uint32_t length, std::uint64_t imp, std::uint64_t exp,
                      std::uint64_t imp_reg, std::uint64_t exp_reg) {
  Reading r;
  r.meter = Pub(meter);
  r.start = start;
  r.length = length;
  r.import_wh = imp;
  r.export_wh = exp;
  r.import_register = imp_reg;
  r.export_register = exp_reg;
  r.sig = Sign(meter, ReadingSigHash(Net(), r));
  return r;
}

Json Market() {
  Json j;
  j["comment"] = "The energy market (docs/market.md; encodings in docs/encoding.md, 'Market records'). Network regtest "
                 "(magic e70a7704). Record payloads are the canonical encodings of consensus/market.h; 'record' is the "
                 "whole record (kind, version, payload) as a transaction carries it. Utility records are signed by the "
                 "regtest documented utility key over UtilitySigHash with the stated first input; readings by their "
                 "meter keys (secret keys 21, 22) over ReadingSigHash. Owners are keys 1, 2; BIP340 aux = 32 zero bytes. "
                 "Integers above 2^53 are decimal strings; all arithmetic samples are decimal strings.";
  j["network"] = "regtest";
  const OutPoint first_input{Named("market-utility-input"), 1};
  j["first_input"] = Json{{"txid", first_input.txid.ToHex()}, {"index", first_input.index}};

  const auto utility = UtilitySecretOf(Network::kRegtest);
  auto utility_signed = [&](MarketRecord rec) {
    SetUtilitySignature(rec, utility.Sign(UtilitySigHash(Net(), first_input, rec), Hash256{}));
    return rec;
  };
  ChannelFunding f;
  f.consumer = Pub(1);
  f.producer = Pub(2);
  f.utility = Net().utility_key;
  f.consumer_meter = Pub(21);
  f.producer_meter = Pub(22);
  f.energy_wh = 5000;
  f.slot = 10;
  f.price = 1;
  f.cwa = 5;
  f.cwb = 1000;
  f.cwu = 100;
  f.expiry = 200;
  f.contest_window = 6;
  f.delivery_start = 1'800'003'600;
  f.delivery_end = 1'800'007'200;
  ReadingBatch batch;
  batch.readings.push_back(SignedReading(21, 1'799'999'100, 900, 0, 250, 0, 250));
  batch.readings.push_back(SignedReading(22, 1'799'999'100, 900, 1200, 30, 5000, 30));
  ReadingBatch with_series = batch;
  with_series.series = ComputeCid(ByteSpan(reinterpret_cast<const std::uint8_t*>("wattline series"), 15));
  const std::vector<std::pair<std::string, MarketRecord>> recs = {
      {"meter registration: meter 21 to owner 1, producer, grant 1 coin",
       utility_signed(MeterRegistration{Pub(21), Pub(1), MeterRole::kProducer, 100'000'000, {}})},
      {"meter registration: meter 22 to owner 2, prosumer, no grant",
       utility_signed(MeterRegistration{Pub(22), Pub(2), MeterRole::kProsumer, 0, {}})},
      {"readings: meters 21 and 22, one interval of 900 s each, no series", batch},
      {"readings: the same two readings with a series CID", with_series},
      {"price coefficients a = 3, b = 5, c = 7", utility_signed(PriceCoefficients{3, 5, 7, {}})},
      {"channel funding: A = key 1 (meter 21), B = key 2 (meter 22), U = the regtest utility key, 5000 Wh at price 1 in slot 10", f},
      {"utility key rotation to key 50", utility_signed(UtilityKeyRotation{Pub(50), {}})},
      {"meter deregistration of meter 21", utility_signed(MeterDeregistration{Pub(21), {}})},
  };
  Json r = Json::array();
  for (const auto& [d, rec] : recs) {
    const Record record = MakeRecord(rec);
    Bytes b;
    Writer w(b);
    EncodeRecord(w, record);
    Json e{{"description", d},
           {"kind", static_cast<std::uint32_t>(record.kind)},
           {"version", record.version},
           {"payload", Hex(record.payload)},
           {"record", Hex(b)}};
    if (std::holds_alternative<ReadingBatch>(rec) || std::holds_alternative<ChannelFunding>(rec)) {
      e["utility_sighash"] = nullptr;
    } else {
      const Hash256 h = UtilitySigHash(Net(), first_input, rec);
      if (!crypto::Verify(Net().utility_key, h, Signature{[&] {
            Signature s;
            std::copy(record.payload.end() - 64, record.payload.end(), s.bytes.begin());
            return s;
          }()}))
        throw std::runtime_error(d + ": utility signature does not verify");
      e["utility_sighash"] = h.ToHex();
    }
    MarketRecord back;
    if (DecodeMarketRecord(record, back) != DecodeError::kOk || !(back == rec)) throw std::runtime_error(d + ": no round trip");
    r.push_back(e);
  }
  j["records"] = r;

  Json rs = Json::array();
  for (const Reading& x : batch.readings) {
    rs.push_back(Json{{"meter", Hex(x.meter.span())},
                      {"start", Dec(x.start)},
                      {"length", x.length},
                      {"import_wh", Dec(x.import_wh)},
                      {"export_wh", Dec(x.export_wh)},
                      {"import_register", Dec(x.import_register)},
                      {"export_register", Dec(x.export_register)},
                      {"encoding", Hex(EncodeReading(x))},
                      {"sighash", ReadingSigHash(Net(), x).ToHex()},
                      {"devnet_sighash", ReadingSigHash(GetParams(Network::kDevnet), x).ToHex()}});
    if (!crypto::Verify(x.meter, ReadingSigHash(Net(), x), x.sig)) throw std::runtime_error("reading signature");
  }
  j["readings"] = rs;

  const Condition channel = Condition::Channel(Pub(1), Pub(2), Net().utility_key, 200, 6);
  j["channel_condition"] = Json{{"description", "Channel(A = key 1, B = key 2, U = the regtest utility key, T = 200, window = 6)"},
                                {"hex", Hex(EncodeCondition(channel))}};

  Json keys = Json::array();
  for (Network n : {Network::kMain, Network::kTestnet, Network::kDevnet, Network::kRegtest}) {
    const Hash256 secret = DocumentedUtilitySecret(n);
    keys.push_back(Json{{"network", std::string(NetworkName(n))},
                        {"secret", Hex(secret.span())},
                        {"pubkey", Hex(GetParams(n).utility_key.span())}});
  }
  j["utility_keys"] = keys;

  const std::uint64_t max64 = UINT64_MAX;
  Json prices = Json::array();
  for (const auto& [a, b, c, d] : std::vector<std::array<std::uint64_t, 4>>{
           {1, 1, 1, 0}, {1, 1, 1, 999}, {1, 1, 1, 1000}, {3, 5, 7, 13'045}, {0, 0, 0, max64}, {2, 0, 0, 45'825'756'000},
           {1, 0, 0, 45'825'757'000}, {0, 1, kMaxPrice - 1, 1000}, {0, 0, max64, 0}, {max64, max64, max64, max64},
           {1'000'000, 250, 12, 987'654'321}})
    prices.push_back(Json{{"a", Dec(a)}, {"b", Dec(b)}, {"c", Dec(c)}, {"demand_wh", Dec(d)}, {"price", Dec(SlotPrice(a, b, c, d))}});
  j["slot_price"] = prices;

  Json rewards = Json::array();
  for (const auto& [e, carry, rate] : std::vector<std::array<std::uint64_t, 3>>{
           {1, 0, 100'000'000}, {1234, 0, 100'000'000}, {1, 0, 1'234'567}, {7, 999'999, 1'234'567}, {0, 42, 1'234'567},
           {static_cast<std::uint64_t>(kMaxMoney.units), 999'999, 1'000'000}, {static_cast<std::uint64_t>(kMaxMoney.units) + 1, 0, 1'000'000},
           {max64, 999'999, max64}}) {
    const auto res = ProductionReward(e, carry, rate);
    rewards.push_back(Json{{"export_wh", Dec(e)},
                           {"carry", Dec(carry)},
                           {"units_per_mwh", Dec(rate)},
                           {"units", res ? Json(Dec(res->units)) : Json(nullptr)},
                           {"carry_out", res ? Json(Dec(res->carry)) : Json(nullptr)}});
  }
  j["production_reward"] = rewards;

  Json costs = Json::array();
  for (const auto& [e, p] : std::vector<std::array<std::uint64_t, 2>>{
           {0, 5}, {1, 1}, {1000, 1}, {1001, 1}, {12'345, 7}, {1000, kMaxPrice}, {1001, kMaxPrice}, {max64, max64}}) {
    const auto cost = EnergyCost(e, p);
    costs.push_back(Json{{"energy_wh", Dec(e)}, {"price", Dec(p)}, {"cost", cost ? Json(Dec(*cost)) : Json(nullptr)}});
  }
  j["energy_cost"] = costs;

  // Payloads that do not decode (DecodeMarketRecord).
  const Bytes reg = MakeRecord(recs[0].second).payload;
  Bytes bad_role = reg;
  bad_role[64] = 4;
  const Bytes coef = MakeRecord(recs[4].second).payload;
  const Bytes rd = MakeRecord(recs[2].second).payload;
  Bytes series2 = rd;
  series2.back() = 2;
  Json inv = Json::array();
  auto invalid = [&](const std::string& d, RecordKind kind, std::uint32_t version, const Bytes& payload, DecodeError e) {
    Record rec;
    rec.kind = kind;
    rec.version = version;
    rec.payload = payload;
    MarketRecord out;
    if (DecodeMarketRecord(rec, out) != e) throw std::runtime_error(d + ": not " + std::string(DecodeErrorName(e)));
    inv.push_back(Json{{"description", d},
                       {"kind", static_cast<std::uint32_t>(kind)},
                       {"version", version},
                       {"payload", Hex(payload)},
                       {"error", std::string(DecodeErrorName(e))}});
  };
  invalid("registration without its last byte", RecordKind::kMeterRegistration, 1, Bytes(reg.begin(), reg.end() - 1),
          DecodeError::kTruncated);
  invalid("registration followed by a byte", RecordKind::kMeterRegistration, 1, [&] { Bytes b = reg; b.push_back(0); return b; }(),
          DecodeError::kTrailingBytes);
  invalid("registration with role 4", RecordKind::kMeterRegistration, 1, bad_role, DecodeError::kBadFieldValue);
  invalid("registration with role 0", RecordKind::kMeterRegistration, 1, [&] { Bytes b = reg; b[64] = 0; return b; }(),
          DecodeError::kBadFieldValue);
  invalid("price coefficients, version 2", RecordKind::kPriceCoefficients, 2, coef, DecodeError::kBadFieldValue);
  invalid("price coefficients, version 0", RecordKind::kPriceCoefficients, 0, coef, DecodeError::kBadFieldValue);
  invalid("empty readings batch", RecordKind::kReadings, 1, Bytes{0x00, 0x00}, DecodeError::kBadFieldValue);
  invalid("readings batch of 101", RecordKind::kReadings, 1, [&] {
    Bytes b;
    Writer w(b);
    w.VarInt(101);
    const Bytes one = EncodeReading(batch.readings[0]);
    for (int i = 0; i < 101; ++i) w.Raw(one);
    w.U8(0);
    return b;
  }(), DecodeError::kCountTooLarge);
  invalid("readings batch with series flag 2", RecordKind::kReadings, 1, series2, DecodeError::kBadFieldValue);
  invalid("readings batch without its series flag", RecordKind::kReadings, 1, Bytes(rd.begin(), rd.end() - 1), DecodeError::kTruncated);
  invalid("coinbase kind is not a market record", RecordKind::kCoinbase, 1, Bytes{1, 0, 0, 0}, DecodeError::kUnknownRecordKind);
  j["invalid"] = inv;
  return j;
}

// --- Channel settlement (channels.json) -------------------------------------------------------

Json Channels() {
  Json j;
  j["comment"] = "Channel settlement (consensus/channel.h, docs/channels.md). Network regtest (magic e70a7704). "
                 "'hex' is the settlement record's canonical payload; the post's commitment is signed by A (secret "
                 "key 1) and B (key 2) over CommitmentSigHash, BIP340 aux = 32 zero bytes; evidence readings are "
                 "signed by meter keys 21 and 22. Arithmetic samples are decimal strings.";
  ChannelId id{Named("channel funding txid"), 0};
  Reading r;
  r.meter = Pub(22);
  r.start = 1'800'000'000;
  r.length = 900;
  r.export_wh = 250;
  r.export_register = 1250;
  r.sig = Sign(22, ReadingSigHash(Net(), r));
  Reading q = r;
  q.meter = Pub(21);
  q.export_wh = 0;
  q.export_register = 0;
  q.import_wh = 300;
  q.import_register = 4300;
  q.sig = Sign(21, ReadingSigHash(Net(), q));
  Json list = Json::array();
  auto add = [&](const std::string& what, const ChannelSettlement& s) {
    Json e;
    e["description"] = what;
    e["path"] = static_cast<int>(s.path);
    e["hex"] = Hex(EncodeSettlement(s));
    list.push_back(e);
  };
  ChannelSettlement s;
  s.channel = id;
  s.path = SettlementPath::kCooperative;
  s.cc = 382;
  s.fee = 19;
  add("cooperative close of state Cc = 382, fee 19", s);
  s.path = SettlementPath::kPost;
  s.state = 12;
  const Hash256 h = CommitmentSigHash(Net(), s.AsCommitment());
  s.sig_a = Sign(1, h);
  s.sig_b = Sign(2, h);
  add("post of commitment 12 (Cc = 382, fee 19) signed by A and B", s);
  j["commitment"] = {{"txid", id.txid.ToHex()}, {"index", id.index}, {"state", "12"}, {"cc", "382"}, {"fee", "19"},
                     {"sighash", h.ToHex()}, {"sig_a", Hex(s.sig_a.span())}, {"sig_b", Hex(s.sig_b.span())}};
  ChannelSettlement t;
  t.channel = id;
  t.path = SettlementPath::kSettle;
  add("settle of the posted state after the contest window", t);
  t.path = SettlementPath::kExpiry;
  t.fee = 19;
  add("expiry refund of state 0, fee 19", t);
  t.path = SettlementPath::kPenalty;
  t.evidence = {q, r};
  add("penalty close by U + A, evidence: one reading of A's meter (21), one of B's (22)", t);
  t.path = SettlementPath::kDelivered;
  t.evidence = {r};
  add("delivered close by U + B, evidence: one reading of B's meter (22)", t);
  j["settlements"] = list;
  Hash256 acc{};
  acc = AccumulateEvidence(acc, r);
  j["evidence_accumulator"] = {{"reading", Hex(EncodeReading(r))}, {"after_one", acc.ToHex()}};
  auto p = PenaltyShares(955, 1000, 0, 2500, 382, 2000, 1200);
  j["penalty_example"] = {{"cwa", "955"}, {"cwb", "1000"}, {"cwu", "0"}, {"energy_wh", "2500"}, {"price", "382"},
                          {"a_import_wh", "2000"}, {"b_export_wh", "1200"},
                          {"to_a", std::to_string(p->shares[0])}, {"to_b", std::to_string(p->shares[1])},
                          {"to_u", std::to_string(p->shares[2])}, {"pool", std::to_string(p->pool)}};
  return j;
}

void Write(const std::string& dir, const std::string& name, const Json& j) {
  std::ofstream f(dir + "/" + name);
  f << j.dump(2) << "\n";
  if (!f) throw std::runtime_error("cannot write " + dir + "/" + name);
  std::cout << "wrote " << dir << "/" << name << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "tests/vectors";
  try {
    auto txs = MakeTxVectors();
    Json t;
    t["comment"] = "Transactions (docs/encoding.md, 'Transactions'). Network regtest (magic e70a7704). For each "
                   "spent coin: amount (base units), condition (hex), the height of its block, whether it is a "
                   "coinbase output, and the signature hash of the input spending it. Each transaction is valid at "
                   "spend_height with the given fee. Signatures: BIP340, secret keys 1, 2, 3, ..., aux = 32 zero bytes.";
    t["network"] = "regtest";
    Json valid = Json::array();
    for (const auto& v : txs) valid.push_back(TxJson(v));
    t["valid"] = valid;
    t["invalid"] = TxInvalids(valid[1]["hex"]);
    Write(dir, "transactions.json", t);
    Write(dir, "conditions.json", Conditions());
    Write(dir, "headers.json", Headers(txs));
    Write(dir, "merkle.json", Merkle());
    Write(dir, "market.json", Market());
    Write(dir, "channels.json", Channels());
  } catch (const std::exception& e) {
    std::cerr << "make_vectors: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
