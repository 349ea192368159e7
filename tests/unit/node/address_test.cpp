// Bech32m against the BIP350 test vectors, and wattline addresses on top of it.
#include "node/address.h"

#include <gtest/gtest.h>

#include "node/bech32.h"
#include "tests/util/chain_builder.h"

using namespace wattline;
using consensus::Network;

namespace {

// BIP350, "Test vectors for Bech32m": valid strings.
const char* const kValidBech32m[] = {
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
};

// BIP350, "Test vectors for Bech32m": invalid strings, with the BIP's reason.
struct Invalid {
  std::string str;
  const char* reason;
};
const Invalid kInvalidBech32m[] = {
    {std::string{"\x20"} + "1xj0phk", "HRP character out of range"},
    {std::string{"\x7f"} + "1g6xzxy", "HRP character out of range"},
    {std::string{"\x80"} + "1vctc34", "HRP character out of range"},
    {"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
     "overall max length exceeded"},
    {"qyrz8wqd2c9m", "no separator character"},
    {"1qyrz8wqd2c9m", "empty HRP"},
    {"y1b0jsk6g", "invalid data character"},
    {"lt1igcx5c0", "invalid data character"},
    {"in1muywd", "too short checksum"},
    {"mm1crxm3i", "invalid character in checksum"},
    {"au1s5cgom", "invalid character in checksum"},
    {"M1VUXWEZ", "checksum calculated with uppercase form of HRP"},
    {"16plkw9", "empty HRP"},
    {"1p2gdwpf", "empty HRP"},
};

}  // namespace

TEST(Bech32mTest, Bip350ValidVectorsDecodeAndReencode) {
  for (const char* s : kValidBech32m) {
    std::string error;
    auto d = node::bech32::Decode(s, &error);
    ASSERT_TRUE(d) << s << ": " << error;
    std::string lower{s};
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(node::bech32::Encode(d->hrp, d->data), lower) << s;
  }
}

TEST(Bech32mTest, Bip350InvalidVectorsAreRefusedWithAReason) {
  for (const auto& v : kInvalidBech32m) {
    std::string error;
    EXPECT_FALSE(node::bech32::Decode(v.str, &error)) << v.str << " (" << v.reason << ")";
    EXPECT_FALSE(error.empty()) << v.str;
  }
}

TEST(Bech32mTest, OneChangedCharacterIsCaught) {
  const std::string good = "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx";
  for (std::size_t i = 7; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = bad[i] == 'q' ? 'p' : 'q';
    EXPECT_FALSE(node::bech32::Decode(bad)) << bad;
  }
}

TEST(Bech32mTest, MixedCaseAndOriginalBech32AreRefused) {
  std::string error;
  EXPECT_FALSE(node::bech32::Decode("a1LQFN3A", &error));
  EXPECT_NE(error.find("mixed"), std::string::npos) << error;
  // A valid BIP173 (original bech32) string: its checksum constant is 1, not bech32m's.
  EXPECT_FALSE(node::bech32::Decode("A12UEL5L", &error));
  EXPECT_NE(error.find("bech32m"), std::string::npos) << error;
}

TEST(Bech32mTest, ConvertBitsRoundTripAndPaddingRules) {
  std::vector<std::uint8_t> bytes{0x00, 0xff, 0x12, 0x34, 0x56};
  std::vector<std::uint8_t> five;
  ASSERT_TRUE(node::bech32::ConvertBits(bytes, 8, 5, true, five));
  EXPECT_EQ(five.size(), 8u);
  std::vector<std::uint8_t> back;
  ASSERT_TRUE(node::bech32::ConvertBits(five, 5, 8, false, back));
  EXPECT_EQ(back, bytes);
  std::vector<std::uint8_t> odd{0x01};  // 5 bits, all leftover: not a whole byte
  back.clear();
  EXPECT_FALSE(node::bech32::ConvertBits(odd, 5, 8, false, back));
  std::vector<std::uint8_t> nonzero_pad{0x1f, 0x1f};  // 10 bits: 8 used, 2 leftover set
  back.clear();
  EXPECT_FALSE(node::bech32::ConvertBits(nonzero_pad, 5, 8, false, back));
}

TEST(AddressTest, RoundTripOnEveryNetwork) {
  const auto key = test::TestKey(7).PubKey();
  for (Network n : {Network::kMain, Network::kTestnet, Network::kDevnet, Network::kRegtest}) {
    const std::string a = node::EncodeAddress(key, n);
    EXPECT_EQ(a.substr(0, node::AddressPrefix(n).size() + 2), std::string{node::AddressPrefix(n)} + "1q");
    EXPECT_EQ(a.size(), node::AddressPrefix(n).size() + 60);
    std::string error;
    auto back = node::DecodeAddress(a, n, &error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(*back, key);
    // Uppercase (e.g. for QR codes) is the same address.
    std::string upper = a;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(node::DecodeAddress(upper, n), key);
  }
}

TEST(AddressTest, OtherNetworkIsRefusedByName) {
  const auto key = test::TestKey(7).PubKey();
  std::string error;
  EXPECT_FALSE(node::DecodeAddress(node::EncodeAddress(key, Network::kMain), Network::kRegtest, &error));
  EXPECT_NE(error.find("main"), std::string::npos) << error;
  EXPECT_NE(error.find("regtest"), std::string::npos) << error;
  EXPECT_FALSE(node::DecodeAddress(node::EncodeAddress(key, Network::kRegtest), Network::kTestnet, &error));
  EXPECT_NE(error.find("prefix"), std::string::npos) << error;
}

TEST(AddressTest, DamagedOrWrongShapeIsRefused) {
  const auto key = test::TestKey(7).PubKey();
  const std::string a = node::EncodeAddress(key, Network::kRegtest);
  std::string error;
  std::string typo = a;
  typo[10] = typo[10] == 'q' ? 'p' : 'q';
  EXPECT_FALSE(node::DecodeAddress(typo, Network::kRegtest, &error));
  EXPECT_NE(error.find("checksum"), std::string::npos) << error;

  EXPECT_FALSE(node::DecodeAddress("", Network::kRegtest, &error));
  EXPECT_FALSE(node::DecodeAddress("rwl1", Network::kRegtest, &error));

  // Version 1 with a 32-byte key: a valid bech32m string, but not an address we know.
  std::vector<std::uint8_t> v1{1};
  ASSERT_TRUE(node::bech32::ConvertBits(key.bytes, 8, 5, true, v1));
  EXPECT_FALSE(node::DecodeAddress(node::bech32::Encode("rwl", v1), Network::kRegtest, &error));
  EXPECT_NE(error.find("version"), std::string::npos) << error;

  // Version 0 with 31 bytes.
  std::vector<std::uint8_t> short_key{0};
  ASSERT_TRUE(node::bech32::ConvertBits(std::span{key.bytes}.first(31), 8, 5, true, short_key));
  EXPECT_FALSE(node::DecodeAddress(node::bech32::Encode("rwl", short_key), Network::kRegtest, &error));
  EXPECT_NE(error.find("31 bytes"), std::string::npos) << error;

  // 32 bytes that are not the x coordinate of a curve point (above the field prime).
  crypto::XOnlyPubKey bad;
  bad.bytes.fill(0xff);
  EXPECT_FALSE(node::DecodeAddress(node::EncodeAddress(bad, Network::kRegtest), Network::kRegtest, &error));
  EXPECT_NE(error.find("not a valid public key"), std::string::npos) << error;
}
