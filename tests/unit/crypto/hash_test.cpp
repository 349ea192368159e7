#include "crypto/hash.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/hex.h"

using namespace wattline::crypto;

namespace {
ByteSpan Str(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }
}  // namespace

TEST(Sha256, KnownAnswers) {
  // FIPS 180-2 examples.
  EXPECT_EQ(Sha256Of(Str("")).ToHex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Of(Str("abc")).ToHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Of(Str("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).ToHex(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string msg(1000, 'x');
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>(i * 7);
  Sha256 h;
  for (std::size_t i = 0; i < msg.size(); i += 37) h.Write(msg.data() + i, std::min<std::size_t>(37, msg.size() - i));
  EXPECT_EQ(h.Finalize(), Sha256Of(Str(msg)));
}

TEST(Sha256d, KnownAnswer) {
  // SHA256(SHA256("abc"))
  EXPECT_EQ(Sha256d(Str("abc")).ToHex(), "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358");
}

TEST(TaggedHash, MatchesDefinitionAndMidstate) {
  const std::string tag = "BIP0340/challenge";
  const std::string msg = "hello";
  Hash256 t = Sha256Of(Str(tag));
  Hash256 expected = Sha256().Write(t.span()).Write(t.span()).Write(Str(msg)).Finalize();
  EXPECT_EQ(TaggedHash(tag, Str(msg)), expected);
  TaggedHasher hasher(tag);
  EXPECT_EQ(hasher.Hash(Str(msg)), expected);
  EXPECT_EQ(hasher.Hash(Str(msg)), expected);  // the midstate is not consumed
  EXPECT_NE(TaggedHash("other", Str(msg)), expected);
}

TEST(Hex, RoundTripAndRejects) {
  auto h = Hash256::FromHex("00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->ToHex(), "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  EXPECT_FALSE(Hash256::FromHex("00"));
  EXPECT_FALSE(Hash256::FromHex(std::string(63, '0') + "g"));
  EXPECT_FALSE(HexDecode("abc"));
  EXPECT_FALSE(HexDecode("zz"));
  EXPECT_EQ(HexDecode("")->size(), 0u);
  EXPECT_TRUE(Hash256{}.IsZero());
  EXPECT_FALSE(h->IsZero());
}
