// Checks the committed vectors in tests/vectors/ (made by contrib/make_vectors.cpp, never
// regenerated here): every valid encoding decodes, has the stated ids and signature hashes and
// re-encodes to the same bytes; every invalid encoding fails with the stated DecodeError.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "consensus/block.h"
#include "consensus/block_check.h"
#include "consensus/merkle.h"
#include "consensus/params.h"
#include "consensus/pow.h"
#include "consensus/tx_check.h"
#include "consensus/tx_verify.h"
#include "test_util.h"

using namespace wattline::consensus;
using namespace wattline::consensus::test;
using Json = nlohmann::json;

namespace {

Json Load(const std::string& name) {
  const std::string path = std::string(WATTLINE_TEST_VECTORS_DIR) + "/" + name;
  std::ifstream f(path);
  EXPECT_TRUE(f) << "cannot open " << path;
  if (!f) return Json::object();
  return Json::parse(f);
}

Bytes HexOf(const Json& j) {
  if (j.contains("hex_parts")) {
    Bytes out;
    for (const auto& part : j["hex_parts"]) {
      const Bytes b = FromHex(part["hex"].get<std::string>());
      for (std::size_t i = 0; i < part["repeat"].get<std::size_t>(); ++i) out.insert(out.end(), b.begin(), b.end());
    }
    return out;
  }
  auto b = wattline::crypto::HexDecode(j["hex"].get<std::string>());
  EXPECT_TRUE(b) << j["hex"];
  return b ? *b : Bytes{};
}

DecodeError DecodeAs(const std::string& type, const Bytes& b) {
  if (type == "condition") {
    Condition c;
    return DecodeCondition(b, c);
  }
  if (type == "satisfaction") {
    Satisfaction s;
    return DecodeSatisfaction(b, s);
  }
  if (type == "record") {
    Reader r(b);
    Record rec;
    DecodeRecord(r, rec) && r.ExpectEnd();
    return r.error();
  }
  if (type == "transaction") {
    TransactionRef tx;
    return DecodeTransaction(b, tx);
  }
  if (type == "header") {
    BlockHeader h;
    return DecodeHeader(b, h);
  }
  if (type == "block") {
    Block blk;
    return DecodeBlock(b, blk);
  }
  ADD_FAILURE() << "unknown vector type " << type;
  return DecodeError::kOk;
}

void CheckInvalids(const Json& list, std::size_t& count) {
  for (const auto& v : list) {
    SCOPED_TRACE(v["type"].get<std::string>() + ": " + v["description"].get<std::string>());
    const DecodeError e = DecodeAs(v["type"], HexOf(v));
    EXPECT_EQ(DecodeErrorName(e), v["error"].get<std::string>());
    ++count;
  }
}

Hash256 HashOf(const Json& j) {
  auto h = Hash256::FromHex(j.get<std::string>());
  EXPECT_TRUE(h) << j;
  return h ? *h : Hash256{};
}

}  // namespace

TEST(Vectors, Conditions) {
  const Json j = Load("conditions.json");
  ASSERT_FALSE(j["conditions"].empty());
  for (const auto& v : j["conditions"]) {
    SCOPED_TRACE(v["description"].get<std::string>());
    const Bytes b = HexOf(v);
    Condition c;
    ASSERT_EQ(DecodeCondition(b, c), DecodeError::kOk);
    EXPECT_EQ(EncodeCondition(c), b);
    std::string why;
    EXPECT_TRUE(CheckCondition(c, why)) << why;
  }
  for (const auto& v : j["satisfactions"]) {
    SCOPED_TRACE(v["description"].get<std::string>());
    const Bytes b = HexOf(v);
    Satisfaction s;
    ASSERT_EQ(DecodeSatisfaction(b, s), DecodeError::kOk);
    EXPECT_EQ(EncodeSatisfaction(s), b);
  }
  for (const auto& v : j["records"]) {
    SCOPED_TRACE(v["description"].get<std::string>());
    const Bytes b = HexOf(v);
    Reader r(b);
    Record rec;
    ASSERT_TRUE(DecodeRecord(r, rec) && r.ExpectEnd());
    Bytes again;
    Writer w(again);
    EncodeRecord(w, rec);
    EXPECT_EQ(again, b);
  }
  std::size_t n = 0;
  CheckInvalids(j["invalid"], n);
  EXPECT_GE(n, 20u);
}

TEST(Vectors, Transactions) {
  const Json j = Load("transactions.json");
  ASSERT_EQ(j["network"], "regtest");
  const Params& params = GetParams(*NetworkFromName(j["network"].get<std::string>()));
  ASSERT_FALSE(j["valid"].empty());
  for (const auto& v : j["valid"]) {
    SCOPED_TRACE(v["description"].get<std::string>());
    const Bytes b = HexOf(v);
    TransactionRef tx;
    ASSERT_EQ(DecodeTransaction(b, tx), DecodeError::kOk);
    EXPECT_EQ(tx->txid(), HashOf(v["txid"]));
    EXPECT_EQ(tx->wtxid(), HashOf(v["wtxid"]));
    EXPECT_EQ(tx->size(), b.size());
    EXPECT_EQ(EncodeTransaction(*tx), b);
    // The txid is the tagged hash of the first base_size bytes.
    const std::size_t base_size = v["base_size"];
    EXPECT_EQ(tx->txid(), wattline::crypto::TaggedHash("wattline/txid", ByteSpan(b).first(base_size)));
    // Signature hashes, from the spent coins.
    const auto& spent = v["spent"];
    ASSERT_EQ(spent.size(), tx->inputs().size());
    std::vector<Coin> coins;
    for (std::size_t i = 0; i < spent.size(); ++i) {
      Coin coin;
      coin.out.amount = Amount{spent[i]["amount"].get<std::int64_t>()};
      ASSERT_EQ(DecodeCondition(HexOf(Json{{"hex", spent[i]["condition"]}}), coin.out.condition), DecodeError::kOk);
      coin.height = spent[i]["height"];
      coin.coinbase = spent[i]["coinbase"];
      EXPECT_EQ(SignatureHash(params, tx->txid(), static_cast<std::uint32_t>(i), coin.out), HashOf(spent[i]["sighash"]))
          << "input " << i;
      coins.push_back(coin);
    }
    // And the transaction is valid where the vector says.
    ValidationState s;
    EXPECT_TRUE(CheckTransaction(*tx, s)) << s.ToString();
    if (!tx->IsCoinbase()) {
      std::vector<const Coin*> ptrs;
      for (const auto& c : coins) ptrs.push_back(&c);
      Amount fee;
      EXPECT_TRUE(CheckTxInputs(*tx, ptrs, v["spend_height"], params, fee, s)) << s.ToString();
      EXPECT_EQ(fee.units, v["fee"].get<std::int64_t>());
    }
  }
  std::size_t n = 0;
  CheckInvalids(j["invalid"], n);
  EXPECT_GE(n, 15u);
}

TEST(Vectors, HeadersAndBlocks) {
  const Json j = Load("headers.json");
  ASSERT_FALSE(j["headers"].empty());
  for (const auto& v : j["headers"]) {
    SCOPED_TRACE(v["description"].get<std::string>());
    const Bytes b = HexOf(v);
    ASSERT_EQ(b.size(), kHeaderSize);
    BlockHeader h;
    ASSERT_EQ(DecodeHeader(b, h), DecodeError::kOk);
    EXPECT_EQ(h.Hash(), HashOf(v["hash"]));
    EXPECT_EQ(h.bits, v["bits"].get<std::uint32_t>());
    auto enc = h.Encode();
    EXPECT_EQ(Bytes(enc.begin(), enc.end()), b);
    auto target = CompactToTarget(h.bits);
    ASSERT_TRUE(target);
    EXPECT_EQ(NumberToHash(*target), HashOf(v["target"]));
    std::ostringstream work;
    work << BlockWork(h.bits);
    EXPECT_EQ(work.str(), v["work"].get<std::string>());
    if (v.contains("network")) {
      const Params& p = GetParams(*NetworkFromName(v["network"].get<std::string>()));
      EXPECT_EQ(h, p.genesis.header);
      EXPECT_TRUE(CheckProofOfWork(h.Hash(), h.bits, p));
    }
  }
  ASSERT_FALSE(j["blocks"].empty());
  for (const auto& v : j["blocks"]) {
    SCOPED_TRACE(v["description"].get<std::string>());
    const Bytes b = HexOf(v);
    Block blk;
    ASSERT_EQ(DecodeBlock(b, blk), DecodeError::kOk);
    EXPECT_EQ(blk.Hash(), HashOf(v["hash"]));
    EXPECT_EQ(BlockMerkleRoot(blk), HashOf(v["merkle_root"]));
    EXPECT_EQ(blk.header.merkle_root, HashOf(v["merkle_root"]));
    ASSERT_EQ(blk.txs.size(), v["txids"].size());
    for (std::size_t i = 0; i < blk.txs.size(); ++i) {
      EXPECT_EQ(blk.txs[i]->txid(), HashOf(v["txids"][i]));
      EXPECT_EQ(blk.txs[i]->wtxid(), HashOf(v["wtxids"][i]));
    }
    EXPECT_EQ(EncodeBlock(blk), b);
    const Params& p = GetParams(*NetworkFromName(v["network"].get<std::string>()));
    ValidationState s;
    EXPECT_TRUE(CheckBlock(blk, p, s)) << s.ToString();
  }
  for (const auto& v : j["compact"]) {
    SCOPED_TRACE(v["bits"].get<std::string>());
    const auto bits = static_cast<std::uint32_t>(std::stoul(v["bits"].get<std::string>(), nullptr, 16));
    auto target = CompactToTarget(bits);
    if (v["target"].is_null()) {
      EXPECT_FALSE(target);
    } else {
      ASSERT_TRUE(target);
      EXPECT_EQ(NumberToHash(*target), HashOf(v["target"]));
      EXPECT_EQ(TargetToCompact(*target), std::stoul(v["canonical"].get<std::string>(), nullptr, 16));
    }
  }
  std::size_t n = 0;
  CheckInvalids(j["invalid"], n);
  EXPECT_GE(n, 8u);
}

TEST(Vectors, Merkle) {
  const Json j = Load("merkle.json");
  ASSERT_FALSE(j["vectors"].empty());
  std::set<Hash256> roots;
  for (const auto& v : j["vectors"]) {
    SCOPED_TRACE(v["description"].get<std::string>());
    std::vector<Hash256> leaves;
    for (const auto& l : v["leaves"]) leaves.push_back(HashOf(l));
    EXPECT_EQ(ComputeMerkleRoot(leaves), HashOf(v["root"]));
    EXPECT_TRUE(roots.insert(HashOf(v["root"])).second) << "two vectors share a root";
  }
}

// Every DecodeError other than kOk is pinned by at least one invalid vector.
TEST(Vectors, EveryDecodeErrorIsCovered) {
  std::set<std::string> seen;
  for (const char* file : {"conditions.json", "transactions.json", "headers.json"}) {
    const Json j = Load(file);
    for (const auto& v : j["invalid"]) seen.insert(v["error"].get<std::string>());
  }
  for (int e = 1; e <= 14; ++e) {
    const std::string name(DecodeErrorName(static_cast<DecodeError>(e)));
    EXPECT_TRUE(seen.count(name)) << name;
  }
}
