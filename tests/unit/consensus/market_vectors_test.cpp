// Checks the committed market vectors, tests/vectors/market.json (made by
// contrib/make_vectors.cpp, never regenerated here): every record payload decodes and re-encodes
// to the same bytes, signature hashes and signatures are as stated, the documented utility keys
// and the arithmetic samples match, and every invalid payload fails with the stated error.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "consensus/market.h"
#include "consensus/market_rules.h"
#include "consensus/tx_check.h"
#include "test_util.h"

using namespace wattline;
using namespace wattline::consensus;
using namespace wattline::consensus::test;
using Json = nlohmann::json;

namespace {

Json LoadMarket() {
  const std::string path = std::string(WATTLINE_TEST_VECTORS_DIR) + "/market.json";
  std::ifstream f(path);
  EXPECT_TRUE(f) << "cannot open " << path;
  if (!f) return Json::object();
  return Json::parse(f);
}

Bytes HexField(const Json& j) {
  auto b = crypto::HexDecode(j.get<std::string>());
  EXPECT_TRUE(b) << j;
  return b ? *b : Bytes{};
}

Hash256 HashField(const Json& j) {
  auto h = Hash256::FromHex(j.get<std::string>());
  EXPECT_TRUE(h) << j;
  return h ? *h : Hash256{};
}

std::uint64_t U64(const Json& j) { return std::stoull(j.get<std::string>()); }

std::optional<std::uint64_t> OptU64(const Json& j) {
  if (j.is_null()) return std::nullopt;
  return U64(j);
}

XOnlyPubKey KeyField(const Json& j) {
  XOnlyPubKey k;
  const Bytes b = HexField(j);
  EXPECT_EQ(b.size(), 32u);
  std::copy_n(b.begin(), std::min<std::size_t>(32, b.size()), k.bytes.begin());
  return k;
}

}  // namespace

TEST(MarketVectors, Records) {
  const Json j = LoadMarket();
  ASSERT_EQ(j["network"], "regtest");
  const Params& params = GetParams(*NetworkFromName(j["network"].get<std::string>()));
  const OutPoint first_input{HashField(j["first_input"]["txid"]), j["first_input"]["index"].get<std::uint32_t>()};
  ASSERT_GE(j["records"].size(), 6u);
  std::set<std::uint32_t> kinds;
  for (const auto& v : j["records"]) {
    SCOPED_TRACE(v["description"].get<std::string>());
    Record rec;
    rec.kind = static_cast<RecordKind>(v["kind"].get<std::uint32_t>());
    rec.version = v["version"].get<std::uint32_t>();
    rec.payload = HexField(v["payload"]);
    kinds.insert(v["kind"].get<std::uint32_t>());
    MarketRecord m;
    ASSERT_EQ(DecodeMarketRecord(rec, m), DecodeError::kOk);
    const Record again = MakeRecord(m);
    EXPECT_EQ(again.kind, rec.kind);
    EXPECT_EQ(again.version, rec.version);
    EXPECT_EQ(again.payload, rec.payload);
    // The whole record as a transaction carries it.
    Bytes enc;
    Writer w(enc);
    EncodeRecord(w, rec);
    EXPECT_EQ(enc, HexField(v["record"]));
    Reader r(enc);
    Record decoded;
    ASSERT_TRUE(DecodeRecord(r, decoded) && r.ExpectEnd());
    EXPECT_EQ(decoded.payload, rec.payload);
    // Utility records: the stated signature hash, signed by the regtest utility key.
    if (v["utility_sighash"].is_null()) {
      EXPECT_TRUE(std::holds_alternative<ReadingBatch>(m) || std::holds_alternative<ChannelFunding>(m));
    } else {
      const Hash256 h = UtilitySigHash(params, first_input, m);
      EXPECT_EQ(h, HashField(v["utility_sighash"]));
      Signature sig;
      std::copy(rec.payload.end() - 64, rec.payload.end(), sig.bytes.begin());
      EXPECT_TRUE(crypto::Verify(params.utility_key, h, sig));
    }
    if (const auto* batch = std::get_if<ReadingBatch>(&m))
      for (const Reading& x : batch->readings) EXPECT_TRUE(crypto::Verify(x.meter, ReadingSigHash(params, x), x.sig));
  }
  // One of each kind: 2, 3, 4, 5, 7, 8.
  EXPECT_EQ(kinds, (std::set<std::uint32_t>{2, 3, 4, 5, 7, 8}));
}

TEST(MarketVectors, ReadingSigHashes) {
  const Json j = LoadMarket();
  ASSERT_FALSE(j["readings"].empty());
  for (const auto& v : j["readings"]) {
    Reading x;
    x.meter = KeyField(v["meter"]);
    x.start = U64(v["start"]);
    x.length = v["length"].get<std::uint32_t>();
    x.import_wh = U64(v["import_wh"]);
    x.export_wh = U64(v["export_wh"]);
    x.import_register = U64(v["import_register"]);
    x.export_register = U64(v["export_register"]);
    const Bytes enc = HexField(v["encoding"]);
    ASSERT_EQ(enc.size(), kReadingSize);
    std::copy(enc.end() - 64, enc.end(), x.sig.bytes.begin());
    EXPECT_EQ(EncodeReading(x), enc);
    EXPECT_EQ(ReadingSigHash(Regtest(), x), HashField(v["sighash"]));
    EXPECT_EQ(ReadingSigHash(GetParams(Network::kDevnet), x), HashField(v["devnet_sighash"]));
    EXPECT_TRUE(crypto::Verify(x.meter, ReadingSigHash(Regtest(), x), x.sig));
  }
}

TEST(MarketVectors, ChannelCondition) {
  const Json j = LoadMarket();
  const Bytes b = HexField(j["channel_condition"]["hex"]);
  Condition c;
  ASSERT_EQ(DecodeCondition(b, c), DecodeError::kOk);
  EXPECT_EQ(c.type, ConditionType::kChannel);
  EXPECT_EQ(c, Condition::Channel(TestPub(1), TestPub(2), Regtest().utility_key, 200, 6));
  EXPECT_EQ(EncodeCondition(c), b);
  std::string why;
  EXPECT_TRUE(CheckCondition(c, why)) << why;
}

TEST(MarketVectors, DocumentedUtilityKeys) {
  const Json j = LoadMarket();
  ASSERT_EQ(j["utility_keys"].size(), 4u);
  for (const auto& v : j["utility_keys"]) {
    SCOPED_TRACE(v["network"].get<std::string>());
    const auto net = NetworkFromName(v["network"].get<std::string>());
    ASSERT_TRUE(net);
    EXPECT_EQ(DocumentedUtilitySecret(*net), HashField(v["secret"]));
    EXPECT_EQ(GetParams(*net).utility_key, KeyField(v["pubkey"]));
    const Bytes secret = HexField(v["secret"]);
    EXPECT_EQ(crypto::SecretKey::FromBytes(secret)->PubKey(), KeyField(v["pubkey"]));
  }
}

TEST(MarketVectors, Arithmetic) {
  const Json j = LoadMarket();
  ASSERT_FALSE(j["slot_price"].empty());
  for (const auto& v : j["slot_price"])
    EXPECT_EQ(SlotPrice(U64(v["a"]), U64(v["b"]), U64(v["c"]), U64(v["demand_wh"])), U64(v["price"])) << v;
  ASSERT_FALSE(j["production_reward"].empty());
  for (const auto& v : j["production_reward"]) {
    const auto r = ProductionReward(U64(v["export_wh"]), U64(v["carry"]), U64(v["units_per_mwh"]));
    const auto units = OptU64(v["units"]);
    ASSERT_EQ(r.has_value(), units.has_value()) << v;
    if (r) {
      EXPECT_EQ(r->units, *units) << v;
      EXPECT_EQ(r->carry, U64(v["carry_out"])) << v;
    }
  }
  ASSERT_FALSE(j["energy_cost"].empty());
  for (const auto& v : j["energy_cost"]) EXPECT_EQ(EnergyCost(U64(v["energy_wh"]), U64(v["price"])), OptU64(v["cost"])) << v;
}

TEST(MarketVectors, InvalidPayloads) {
  const Json j = LoadMarket();
  ASSERT_GE(j["invalid"].size(), 8u);
  std::set<std::string> errors;
  for (const auto& v : j["invalid"]) {
    SCOPED_TRACE(v["description"].get<std::string>());
    Record rec;
    rec.kind = static_cast<RecordKind>(v["kind"].get<std::uint32_t>());
    rec.version = v["version"].get<std::uint32_t>();
    rec.payload = HexField(v["payload"]);
    MarketRecord m;
    EXPECT_EQ(DecodeErrorName(DecodeMarketRecord(rec, m)), v["error"].get<std::string>());
    errors.insert(v["error"].get<std::string>());
  }
  for (const char* e : {"truncated", "trailing-bytes", "bad-field-value", "count-too-large", "unknown-record-kind"})
    EXPECT_TRUE(errors.count(e)) << e;
}
