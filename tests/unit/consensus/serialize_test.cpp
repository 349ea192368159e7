#include "consensus/serialize.h"

#include <gtest/gtest.h>

#include <bit>
#include <set>

#include "test_util.h"

using namespace wattline::consensus;
using namespace wattline::consensus::test;

namespace {

DecodeError ReadVarInt(std::string_view hex, std::uint64_t& v, std::uint64_t max = UINT64_MAX) {
  Bytes b = FromHex(hex);
  Reader r(b);
  r.VarInt(v, max) && r.ExpectEnd();
  return r.error();
}

Bytes WriteVarInt(std::uint64_t v) {
  Bytes out;
  Writer w(out);
  w.VarInt(v);
  return out;
}

}  // namespace

TEST(Serialize, FixedIntsAreLittleEndian) {
  Bytes out;
  Writer w(out);
  w.U8(0x01);
  w.U16(0x0302);
  w.U32(0x07060504);
  w.U64(0x0f0e0d0c0b0a0908);
  EXPECT_EQ(ToHex(out), "0102030405060708090a0b0c0d0e0f");
  Reader r(out);
  std::uint8_t a;
  std::uint16_t b;
  std::uint32_t c;
  std::uint64_t d;
  ASSERT_TRUE(r.U8(a) && r.U16(b) && r.U32(c) && r.U64(d) && r.ExpectEnd());
  EXPECT_EQ(a, 0x01);
  EXPECT_EQ(b, 0x0302);
  EXPECT_EQ(c, 0x07060504u);
  EXPECT_EQ(d, 0x0f0e0d0c0b0a0908u);
}

TEST(Serialize, VarIntKnownEncodings) {
  EXPECT_EQ(ToHex(WriteVarInt(0)), "00");
  EXPECT_EQ(ToHex(WriteVarInt(1)), "01");
  EXPECT_EQ(ToHex(WriteVarInt(127)), "7f");
  EXPECT_EQ(ToHex(WriteVarInt(128)), "8001");
  EXPECT_EQ(ToHex(WriteVarInt(300)), "ac02");
  EXPECT_EQ(ToHex(WriteVarInt(16383)), "ff7f");
  EXPECT_EQ(ToHex(WriteVarInt(16384)), "808001");
  EXPECT_EQ(ToHex(WriteVarInt(UINT32_MAX)), "ffffffff0f");
  EXPECT_EQ(ToHex(WriteVarInt(UINT64_MAX)), "ffffffffffffffffff01");
}

TEST(Serialize, VarIntRoundTripsAtEveryGroupBoundary) {
  std::vector<std::uint64_t> values = {0, UINT64_MAX, UINT64_MAX - 1};
  for (int bits = 1; bits < 64; ++bits) {
    const std::uint64_t p = std::uint64_t{1} << bits;
    values.insert(values.end(), {p - 1, p, p + 1});
  }
  for (std::uint64_t v : values) {
    Bytes enc = WriteVarInt(v);
    std::uint64_t got = 0;
    ASSERT_EQ(ReadVarInt(ToHex(enc), got), DecodeError::kOk) << v;
    EXPECT_EQ(got, v);
    // Minimal: the last byte is non-zero unless it is the only byte; the length is ceil(bits/7).
    if (enc.size() > 1) EXPECT_NE(enc.back(), 0);
    const int width = v == 0 ? 1 : 64 - std::countl_zero(v);
    EXPECT_EQ(enc.size(), static_cast<std::size_t>((width + 6) / 7)) << v;
  }
}

TEST(Serialize, VarIntRejectsNonMinimal) {
  std::uint64_t v;
  EXPECT_EQ(ReadVarInt("8000", v), DecodeError::kNonMinimalVarInt);    // 0 in two bytes
  EXPECT_EQ(ReadVarInt("8100", v), DecodeError::kNonMinimalVarInt);    // 1 in two bytes
  EXPECT_EQ(ReadVarInt("ff8000", v), DecodeError::kNonMinimalVarInt);  // 127 in three bytes
  EXPECT_EQ(ReadVarInt("ffffffffffffffffff00", v), DecodeError::kNonMinimalVarInt);
  EXPECT_EQ(ReadVarInt("00", v), DecodeError::kOk);                    // a lone zero is minimal
}

TEST(Serialize, VarIntRejectsOverflow) {
  std::uint64_t v;
  EXPECT_EQ(ReadVarInt("ffffffffffffffffff02", v), DecodeError::kVarIntOverflow);  // 2^64
  EXPECT_EQ(ReadVarInt("ffffffffffffffffff7f", v), DecodeError::kVarIntOverflow);
  EXPECT_EQ(ReadVarInt("ffffffffffffffffff8100", v), DecodeError::kVarIntOverflow);  // an 11th group
  EXPECT_EQ(ReadVarInt("80808080808080808080", v), DecodeError::kVarIntOverflow);
  EXPECT_EQ(ReadVarInt("ffffffffffffffffff01", v), DecodeError::kOk);
  EXPECT_EQ(v, UINT64_MAX);
  // Above a field's maximum.
  EXPECT_EQ(ReadVarInt("ffffffff0f", v, UINT32_MAX), DecodeError::kOk);
  EXPECT_EQ(ReadVarInt("8080808010", v, UINT32_MAX), DecodeError::kVarIntOverflow);
}

TEST(Serialize, Truncation) {
  std::uint64_t v;
  EXPECT_EQ(ReadVarInt("", v), DecodeError::kTruncated);
  EXPECT_EQ(ReadVarInt("80", v), DecodeError::kTruncated);
  EXPECT_EQ(ReadVarInt("ffff", v), DecodeError::kTruncated);
  Bytes three = FromHex("010203");
  {
    Reader r(three);
    std::uint32_t x;
    EXPECT_FALSE(r.U32(x));
    EXPECT_EQ(r.error(), DecodeError::kTruncated);
  }
  {
    Reader r(three);
    std::uint64_t x;
    EXPECT_FALSE(r.U64(x));
    EXPECT_EQ(r.error(), DecodeError::kTruncated);
  }
  {
    Reader r(three);
    std::uint16_t x;
    EXPECT_TRUE(r.U16(x));
    EXPECT_FALSE(r.U16(x));
    EXPECT_EQ(r.error(), DecodeError::kTruncated);
    EXPECT_EQ(r.offset(), 2u);  // the cursor does not move on failure
  }
  {
    Reader r(three);
    Hash256 h;
    EXPECT_FALSE(r.Hash(h));
    EXPECT_EQ(r.error(), DecodeError::kTruncated);
  }
}

TEST(Serialize, TrailingBytes) {
  std::uint64_t v;
  EXPECT_EQ(ReadVarInt("0100", v), DecodeError::kTrailingBytes);
  Bytes b = FromHex("01");
  Reader r(b);
  EXPECT_FALSE(r.ExpectEnd());
  EXPECT_EQ(r.error(), DecodeError::kTrailingBytes);
}

TEST(Serialize, FirstErrorSticks) {
  Bytes b = FromHex("8000ff");
  Reader r(b);
  std::uint64_t v;
  std::uint8_t x;
  EXPECT_FALSE(r.VarInt(v));
  EXPECT_FALSE(r.U8(x));  // no reads after an error
  EXPECT_FALSE(r.ExpectEnd());
  r.Fail(DecodeError::kTooDeep);
  EXPECT_EQ(r.error(), DecodeError::kNonMinimalVarInt);
}

TEST(Serialize, CountLimits) {
  {
    Bytes b = FromHex("03aabbcc");
    Reader r(b);
    std::size_t n;
    EXPECT_TRUE(r.Count(n, 3, 1));
    EXPECT_EQ(n, 3u);
  }
  {
    Bytes b = FromHex("04aabbcc");  // above the limit
    Reader r(b);
    std::size_t n;
    EXPECT_FALSE(r.Count(n, 3, 0));
    EXPECT_EQ(r.error(), DecodeError::kCountTooLarge);
  }
  {
    Bytes b = FromHex("02aabbcc");  // 2 elements of >= 2 bytes cannot fit in 3 bytes
    Reader r(b);
    std::size_t n;
    EXPECT_FALSE(r.Count(n, 100, 2));
    EXPECT_EQ(r.error(), DecodeError::kCountTooLarge);
  }
  {
    Bytes b = FromHex("ffffffffffffffffff01");  // a huge count never allocates
    Reader r(b);
    std::size_t n;
    EXPECT_FALSE(r.Count(n, SIZE_MAX, 1));
    EXPECT_EQ(r.error(), DecodeError::kCountTooLarge);
  }
}

TEST(Serialize, VarBytes) {
  Bytes in = FromHex("03aabbcc");
  Reader r(in);
  Bytes out;
  ASSERT_TRUE(r.VarBytes(out, 3) && r.ExpectEnd());
  EXPECT_EQ(ToHex(out), "aabbcc");

  Reader r2(in);
  EXPECT_FALSE(r2.VarBytes(out, 2));
  EXPECT_EQ(r2.error(), DecodeError::kPayloadTooLarge);

  Bytes short_in = FromHex("04aabbcc");
  Reader r3(short_in);
  EXPECT_FALSE(r3.VarBytes(out, 10));
  EXPECT_EQ(r3.error(), DecodeError::kTruncated);
}

TEST(Serialize, DecodeErrorNamesAreDistinctAndStable) {
  std::set<std::string_view> names;
  for (int i = 0; i <= 15; ++i) {
    auto name = DecodeErrorName(static_cast<DecodeError>(i));
    EXPECT_NE(name, "unknown-decode-error") << i;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(DecodeErrorName(static_cast<DecodeError>(16)), "unknown-decode-error");
  EXPECT_EQ(DecodeErrorName(DecodeError::kNonMinimalVarInt), "non-minimal-varint");
  EXPECT_EQ(DecodeErrorName(DecodeError::kEmptyMultisigSigners), "empty-multisig-signers");
}
