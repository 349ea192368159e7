// Framing: the header layout, every frame error, limits checked from the header alone, and a
// stream fed in every possible way (whole, byte by byte, random splits).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>

#include "crypto/hash.h"
#include "crypto/hex.h"
#include "net/frame.h"
#include "net/protocol.h"
#include "tests/unit/net/net_test_util.h"

namespace wattline::net {
namespace {

using test::RegtestMagic;

Bytes Payload(std::size_t n, std::uint8_t seed = 1) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

/** A frame header with arbitrary fields (for malformed ones). */
Bytes RawHeader(const Magic& magic, std::string_view command_bytes, std::uint32_t length,
                std::array<std::uint8_t, 4> checksum) {
  Bytes out(magic.begin(), magic.end());
  std::array<std::uint8_t, kCommandSize> cmd{};
  std::memcpy(cmd.data(), command_bytes.data(), std::min(command_bytes.size(), kCommandSize));
  out.insert(out.end(), cmd.begin(), cmd.end());
  consensus::Writer w(out);
  w.U32(length);
  out.insert(out.end(), checksum.begin(), checksum.end());
  return out;
}

FrameError FeedAll(FrameParser& p, ByteSpan data, std::vector<Frame>& frames) { return p.Feed(data, frames); }

TEST(FrameTest, HeaderLayoutByteByByte) {
  const Bytes payload = {0x08, 0x01};
  const Bytes f = EncodeFrame(RegtestMagic(), Command::kGetHeaders, payload);
  ASSERT_EQ(f.size(), kFrameHeaderSize + 2);
  EXPECT_TRUE(std::equal(RegtestMagic().begin(), RegtestMagic().end(), f.begin()));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.data() + 4), 10), "getheaders");
  EXPECT_EQ(f[14], 0);
  EXPECT_EQ(f[15], 0);
  EXPECT_EQ(f[16], 2);  // length, little-endian
  EXPECT_EQ(f[17], 0);
  EXPECT_EQ(f[18], 0);
  EXPECT_EQ(f[19], 0);
  const auto sum = crypto::Sha256d(payload);
  EXPECT_TRUE(std::equal(f.begin() + 20, f.begin() + 24, sum.bytes.begin()));
  // The checksum of an empty payload is the first 4 bytes of SHA256d("") = 5df6e0e2.
  const Bytes empty = EncodeFrame(RegtestMagic(), Command::kVerack, {});
  EXPECT_EQ(empty[20], 0x5d);
  EXPECT_EQ(empty[21], 0xf6);
  EXPECT_EQ(empty[22], 0xe0);
  EXPECT_EQ(empty[23], 0xe2);
}

TEST(FrameTest, VerackExampleOfTheSpecification) {
  EXPECT_EQ(crypto::HexEncode(EncodeFrame(RegtestMagic(), Command::kVerack, {})),
            "e70a7704" "76657261636b000000000000" "00000000" "5df6e0e2");
}

TEST(FrameTest, CommandTableIsCompleteAndNamesAreCanonical) {
  ASSERT_EQ(CommandTable().size(), kCommandCount);
  for (std::size_t i = 0; i < kCommandCount; ++i) {
    const auto& info = CommandTable()[i];
    EXPECT_EQ(static_cast<std::size_t>(info.command), i);
    EXPECT_LE(info.name.size(), kCommandSize);
    for (char c : info.name) EXPECT_TRUE(c >= 'a' && c <= 'z') << info.name;
    EXPECT_EQ(CommandFromName(info.name), info.command);
  }
  EXPECT_EQ(GetCommandInfo(Command::kBlock).max_payload, 1'000'100u);
  EXPECT_EQ(GetCommandInfo(Command::kVerack).max_payload, 0u);
  EXPECT_EQ(GetCommandInfo(Command::kPing).max_payload, 16u);
  EXPECT_EQ(MaxPayloadOfAnyCommand(), GetCommandInfo(Command::kInv).max_payload);
  EXPECT_FALSE(CommandFromName("blocks").has_value());
}

// The limits as docs/p2p.md ("Commands") states them.
TEST(FrameTest, LimitsMatchTheSpecification) {
  const std::vector<std::pair<std::string_view, std::uint32_t>> spec = {
      {"version", 1024},        {"verack", 0},          {"ping", 16},           {"pong", 16},
      {"getaddr", 0},           {"addr", 46'064},       {"inv", 1'900'064},     {"getdata", 1'900'064},
      {"notfound", 1'900'064},  {"getheaders", 3'532},  {"headers", 180'064},   {"block", 1'000'100},
      {"tx", 100'100},          {"reject", 256},        {"channel", 65'540}};
  ASSERT_EQ(spec.size(), kCommandCount);
  for (std::size_t i = 0; i < spec.size(); ++i) {
    EXPECT_EQ(CommandTable()[i].name, spec[i].first);
    EXPECT_EQ(CommandTable()[i].max_payload, spec[i].second) << spec[i].first;
  }
}

TEST(FrameTest, RoundTripEveryCommandAtItsLimit) {
  for (const auto& info : CommandTable()) {
    const Bytes payload = Payload(info.max_payload, static_cast<std::uint8_t>(info.command));
    const Bytes f = EncodeFrame(RegtestMagic(), info.command, payload);
    FrameParser p(RegtestMagic());
    std::vector<Frame> frames;
    ASSERT_EQ(p.Feed(f, frames), FrameError::kOk) << info.name;
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].command, info.command);
    EXPECT_EQ(frames[0].payload, payload);
    EXPECT_EQ(p.buffered(), 0u);
  }
}

TEST(FrameTest, BadMagic) {
  FrameParser p(RegtestMagic());
  std::vector<Frame> frames;
  const Bytes f = EncodeFrame(test::MainMagic(), Command::kVerack, {});
  EXPECT_EQ(p.Feed(f, frames), FrameError::kBadMagic);
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(FrameErrorName(p.error()), "frame-bad-magic");
}

TEST(FrameTest, MalformedCommands) {
  const auto sum = FrameChecksum({});
  for (std::string_view cmd : {std::string_view("", 0), std::string_view("Verack"), std::string_view("ver4ck"),
                               std::string_view("verack\0x", 8), std::string_view("ver ack"),
                               std::string_view("\0verack", 7), std::string_view("verack\xff", 7)}) {
    FrameParser p(RegtestMagic());
    std::vector<Frame> frames;
    EXPECT_EQ(p.Feed(RawHeader(RegtestMagic(), cmd, 0, sum), frames), FrameError::kMalformedCommand)
        << std::string(cmd);
  }
  // Twelve letters, no NUL at all, is well formed (and unknown).
  FrameParser p(RegtestMagic());
  std::vector<Frame> frames;
  EXPECT_EQ(p.Feed(RawHeader(RegtestMagic(), "abcdefghijkl", 0, sum), frames), FrameError::kUnknownCommand);
}

TEST(FrameTest, UnknownCommand) {
  FrameParser p(RegtestMagic());
  std::vector<Frame> frames;
  EXPECT_EQ(p.Feed(RawHeader(RegtestMagic(), "mempool", 0, FrameChecksum({})), frames), FrameError::kUnknownCommand);
  EXPECT_NE(p.error_detail().find("mempool"), std::string::npos);
}

TEST(FrameTest, OversizeIsRefusedFromTheHeaderAloneForEveryCommand) {
  for (const auto& info : CommandTable()) {
    FrameParser p(RegtestMagic());
    std::vector<Frame> frames;
    const Bytes header = RawHeader(RegtestMagic(), info.name, info.max_payload + 1, {});
    // All but the last header byte: nothing decided yet.
    EXPECT_EQ(p.Feed(ByteSpan(header).first(kFrameHeaderSize - 1), frames), FrameError::kOk);
    // The last header byte, and not one payload byte: refused.
    EXPECT_EQ(p.Feed(ByteSpan(header).last(1), frames), FrameError::kOversize) << info.name;
    EXPECT_TRUE(frames.empty());
    // Payload bytes that arrive later are not buffered.
    const Bytes more(4096, 0xab);
    EXPECT_EQ(p.Feed(more, frames), FrameError::kOversize);
    EXPECT_EQ(p.buffered(), kFrameHeaderSize);
  }
  // A 4 GiB announcement is refused just the same.
  FrameParser p(RegtestMagic());
  std::vector<Frame> frames;
  EXPECT_EQ(p.Feed(RawHeader(RegtestMagic(), "block", UINT32_MAX, {}), frames), FrameError::kOversize);
}

TEST(FrameTest, BadChecksum) {
  Bytes f = EncodeFrame(RegtestMagic(), Command::kPing, Payload(9));
  f.back() ^= 1;
  FrameParser p(RegtestMagic());
  std::vector<Frame> frames;
  EXPECT_EQ(p.Feed(f, frames), FrameError::kBadChecksum);
  EXPECT_TRUE(frames.empty());
  Bytes g = EncodeFrame(RegtestMagic(), Command::kPing, Payload(9));
  g[21] ^= 0x80;  // the checksum itself
  FrameParser q(RegtestMagic());
  EXPECT_EQ(q.Feed(g, frames), FrameError::kBadChecksum);
}

TEST(FrameTest, ErrorsAreFinalAndFramesBeforeThemAreKept) {
  Bytes stream = EncodeFrame(RegtestMagic(), Command::kVerack, {});
  const Bytes bad = RawHeader(RegtestMagic(), "Bad", 0, {});
  stream.insert(stream.end(), bad.begin(), bad.end());
  const Bytes later = EncodeFrame(RegtestMagic(), Command::kGetAddr, {});
  stream.insert(stream.end(), later.begin(), later.end());
  FrameParser p(RegtestMagic());
  std::vector<Frame> frames;
  EXPECT_EQ(p.Feed(stream, frames), FrameError::kMalformedCommand);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].command, Command::kVerack);
  EXPECT_EQ(p.Feed(later, frames), FrameError::kMalformedCommand);
  EXPECT_EQ(frames.size(), 1u);
}

/** A stream of frames of every command with assorted payload sizes. */
std::vector<Frame> SampleFrames(std::mt19937_64& rng) {
  std::vector<Frame> frames;
  for (int round = 0; round < 3; ++round) {
    for (const auto& info : CommandTable()) {
      const std::size_t cap = std::min<std::size_t>(info.max_payload, 3000);
      const std::size_t n = cap == 0 ? 0 : rng() % (cap + 1);
      frames.push_back(Frame{info.command, Payload(n, static_cast<std::uint8_t>(rng()))});
    }
  }
  return frames;
}

Bytes Concat(const std::vector<Frame>& frames) {
  Bytes out;
  for (const auto& f : frames) {
    const Bytes e = EncodeFrame(RegtestMagic(), f.command, f.payload);
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

TEST(FrameTest, ByteByByte) {
  std::mt19937_64 rng(test::TestSeed());
  const auto expected = SampleFrames(rng);
  const Bytes stream = Concat(expected);
  FrameParser p(RegtestMagic());
  std::vector<Frame> frames;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    ASSERT_EQ(p.Feed(ByteSpan(stream).subspan(i, 1), frames), FrameError::kOk) << "at byte " << i;
    ASSERT_LE(p.buffered(), kFrameHeaderSize + 3000);
  }
  EXPECT_EQ(frames, expected);
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(FrameTest, RandomSplits) {
  std::mt19937_64 rng(test::TestSeed());
  for (int trial = 0; trial < 50; ++trial) {
    const auto expected = SampleFrames(rng);
    const Bytes stream = Concat(expected);
    FrameParser p(RegtestMagic());
    std::vector<Frame> frames;
    std::size_t pos = 0;
    while (pos < stream.size()) {
      // Mostly small chunks, sometimes empty ones, sometimes large ones spanning frames.
      const std::size_t kind = rng() % 10;
      const std::size_t len = kind == 0 ? 0 : kind < 7 ? rng() % 40 : rng() % 8000;
      const std::size_t take = std::min(len, stream.size() - pos);
      ASSERT_EQ(FeedAll(p, ByteSpan(stream).subspan(pos, take), frames), FrameError::kOk);
      pos += take;
    }
    ASSERT_EQ(frames, expected) << "trial " << trial;
  }
}

TEST(FrameTest, ErrorFoundWhateverTheSplit) {
  std::mt19937_64 rng(test::TestSeed());
  Bytes stream = Concat(SampleFrames(rng));
  const std::size_t good = stream.size();
  Bytes bad = EncodeFrame(RegtestMagic(), Command::kTx, Payload(100));
  bad[kFrameHeaderSize + 50] ^= 0x10;
  stream.insert(stream.end(), bad.begin(), bad.end());
  for (int trial = 0; trial < 20; ++trial) {
    FrameParser p(RegtestMagic());
    std::vector<Frame> frames;
    std::size_t pos = 0;
    FrameError e = FrameError::kOk;
    while (pos < stream.size() && e == FrameError::kOk) {
      const std::size_t take = std::min<std::size_t>(1 + rng() % 500, stream.size() - pos);
      e = p.Feed(ByteSpan(stream).subspan(pos, take), frames);
      pos += take;
    }
    EXPECT_EQ(e, FrameError::kBadChecksum);
    EXPECT_EQ(frames.size(), 3 * kCommandCount);
    (void)good;
  }
}

TEST(FrameTest, ErrorNamesAreDistinct) {
  std::set<std::string_view> names;
  for (int v = 0; v <= static_cast<int>(FrameError::kBadChecksum); ++v) {
    EXPECT_TRUE(names.insert(FrameErrorName(static_cast<FrameError>(v))).second);
  }
}

}  // namespace
}  // namespace wattline::net
