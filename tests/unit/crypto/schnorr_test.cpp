#include "crypto/schnorr.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/hex.h"

using namespace wattline::crypto;

namespace {

struct Bip340Row {
  int index;
  std::string secret_key, public_key, aux_rand, message, signature;
  bool result;
};

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string field;
  while (std::getline(ss, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

std::vector<Bip340Row> LoadVectors() {
  std::ifstream in(std::string(WATTLINE_TEST_VECTORS_DIR) + "/bip340-test-vectors.csv");
  EXPECT_TRUE(in.good()) << "missing tests/vectors/bip340-test-vectors.csv";
  std::vector<Bip340Row> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto f = SplitCsv(line);
    EXPECT_GE(f.size(), 7u) << line;
    rows.push_back({std::stoi(f[0]), f[1], f[2], f[3], f[4], f[5], f[6] == "TRUE"});
  }
  return rows;
}

std::vector<std::uint8_t> Hex(const std::string& s) {
  auto v = HexDecode(s);
  EXPECT_TRUE(v) << s;
  return v.value_or(std::vector<std::uint8_t>{});
}

}  // namespace

TEST(Bip340, AllOfficialVectorsVerifyAsStated) {
  auto rows = LoadVectors();
  ASSERT_EQ(rows.size(), 19u);
  for (const auto& row : rows) {
    XOnlyPubKey key;
    auto kb = Hex(row.public_key);
    ASSERT_EQ(kb.size(), 32u);
    std::copy(kb.begin(), kb.end(), key.bytes.begin());
    Signature sig;
    auto sb = Hex(row.signature);
    ASSERT_EQ(sb.size(), 64u);
    std::copy(sb.begin(), sb.end(), sig.bytes.begin());
    auto msg = Hex(row.message);
    EXPECT_EQ(Verify(key, msg, sig), row.result) << "vector " << row.index;
  }
}

TEST(Bip340, EverySignatureIsReproduced) {
  int signed_rows = 0;
  for (const auto& row : LoadVectors()) {
    if (row.secret_key.empty()) continue;
    auto sk = SecretKey::FromBytes(Hex(row.secret_key));
    ASSERT_TRUE(sk) << "vector " << row.index;
    EXPECT_EQ(HexEncode(sk->PubKey().span()), HexEncode(Hex(row.public_key))) << "vector " << row.index;
    auto aux = Hash256::FromHex(row.aux_rand);
    ASSERT_TRUE(aux);
    Signature sig = sk->SignMessage(Hex(row.message), *aux);
    EXPECT_EQ(HexEncode(sig.span()), HexEncode(Hex(row.signature))) << "vector " << row.index;
    ++signed_rows;
  }
  EXPECT_EQ(signed_rows, 8);
}

TEST(Schnorr, SignVerifyRoundTripAndTamper) {
  SecretKey sk = SecretKey::Generate();
  XOnlyPubKey pk = sk.PubKey();
  EXPECT_TRUE(pk.IsValid());
  Hash256 msg = Sha256Of(pk.span());
  Signature sig = sk.Sign(msg);
  EXPECT_TRUE(Verify(pk, msg, sig));
  Signature bad = sig;
  bad.bytes[10] ^= 1;
  EXPECT_FALSE(Verify(pk, msg, bad));
  Hash256 other = msg;
  other.bytes[0] ^= 1;
  EXPECT_FALSE(Verify(pk, other, sig));
  EXPECT_FALSE(Verify(SecretKey::Generate().PubKey(), msg, sig));
}

TEST(Schnorr, RejectsInvalidKeys) {
  std::array<std::uint8_t, 32> zero{};
  EXPECT_FALSE(SecretKey::FromBytes(zero));
  std::array<std::uint8_t, 32> order_or_more;
  order_or_more.fill(0xff);
  EXPECT_FALSE(SecretKey::FromBytes(order_or_more));
  EXPECT_FALSE(SecretKey::FromBytes(std::vector<std::uint8_t>(31, 1)));
  XOnlyPubKey not_on_curve;
  not_on_curve.bytes.fill(0xff);  // >= field size
  EXPECT_FALSE(not_on_curve.IsValid());
  EXPECT_FALSE(Verify(not_on_curve, Hash256{}, Signature{}));
}

// A key parsed once verifies exactly as the bytes do, on every official vector with a 32-byte
// message (the parsed form verifies 32-byte messages, the only length consensus signs).
TEST(Schnorr, ParsedKeyVerifiesAsTheBytes) {
  for (const auto& row : LoadVectors()) {
    XOnlyPubKey key;
    auto kb = Hex(row.public_key);
    std::copy(kb.begin(), kb.end(), key.bytes.begin());
    auto msg = Hex(row.message);
    if (msg.size() != 32) continue;
    Signature sig;
    auto sb = Hex(row.signature);
    std::copy(sb.begin(), sb.end(), sig.bytes.begin());
    Hash256 m;
    std::copy(msg.begin(), msg.end(), m.bytes.begin());
    auto parsed = ParsedPubKey::Parse(key);
    EXPECT_EQ(parsed.has_value(), key.IsValid()) << "vector " << row.index;
    EXPECT_EQ(parsed && parsed->Verify(m, sig), Verify(key, m, sig)) << "vector " << row.index;
  }
  SecretKey sk = SecretKey::Generate();
  const Hash256 msg = Sha256Of(std::vector<std::uint8_t>{1, 2, 3});
  const Signature sig = sk.Sign(msg);
  auto parsed = ParsedPubKey::Parse(sk.PubKey());
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->Verify(msg, sig));
  EXPECT_FALSE(parsed->Verify(Sha256Of(std::vector<std::uint8_t>{1, 2, 4}), sig));
  XOnlyPubKey not_on_curve;
  not_on_curve.bytes.fill(0xff);
  EXPECT_FALSE(ParsedPubKey::Parse(not_on_curve));
}
