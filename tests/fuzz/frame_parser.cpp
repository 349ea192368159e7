// The frame parser over arbitrary streams: the same bytes give the same frames and the same
// error however they are split into chunks (whole, random splits, byte by byte); memory held
// never exceeds a header plus the largest payload allowed for the command being read; every
// frame re-encodes to exactly the bytes it was parsed from; an error is final.
//
// Input: the stream, then (from the end, FuzzedDataProvider) a seed choosing the chunk sizes.
#include <fuzzer/FuzzedDataProvider.h>

#include <random>

#include "consensus/params.h"
#include "fuzz_util.h"
#include "net/frame.h"

using namespace wattline;
using namespace wattline::net;

namespace {

struct Outcome {
  std::vector<Frame> frames;
  FrameError error = FrameError::kOk;
};

template <typename NextChunk>
Outcome Run(ByteSpan stream, NextChunk next_chunk) {
  FrameParser parser(consensus::GetParams(consensus::Network::kRegtest).magic);
  Outcome out;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t take = std::min(next_chunk(), stream.size() - pos);
    const FrameError e = parser.Feed(stream.subspan(pos, take), out.frames);
    pos += take;
    FUZZ_CHECK(e == parser.error());
    FUZZ_CHECK(parser.buffered() <= kFrameHeaderSize + MaxPayloadOfAnyCommand());
    if (e != FrameError::kOk) {
      out.error = e;
      FUZZ_CHECK(FrameErrorName(e) != "unknown-frame-error");
      // Final: more input changes nothing.
      const std::size_t before = out.frames.size();
      FUZZ_CHECK(parser.Feed(stream, out.frames) == e);
      FUZZ_CHECK(out.frames.size() == before);
      break;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  const std::uint64_t split_seed = fdp.ConsumeIntegral<std::uint64_t>();
  const std::vector<std::uint8_t> bytes = fdp.ConsumeRemainingBytes<std::uint8_t>();
  const ByteSpan stream(bytes);

  const Outcome whole = Run(stream, [] { return SIZE_MAX; });
  const Outcome single = Run(stream, [] { return std::size_t{1}; });
  std::mt19937_64 rng(split_seed);
  const Outcome split = Run(stream, [&rng] { return static_cast<std::size_t>(rng() % 64); });

  FUZZ_CHECK(whole.error == single.error && whole.error == split.error);
  FUZZ_CHECK(whole.frames == single.frames && whole.frames == split.frames);

  // The frames re-encode to a prefix of the stream, byte for byte.
  const auto& magic = consensus::GetParams(consensus::Network::kRegtest).magic;
  std::size_t pos = 0;
  for (const Frame& f : whole.frames) {
    FUZZ_CHECK(f.payload.size() <= GetCommandInfo(f.command).max_payload);
    const Bytes enc = EncodeFrame(magic, f.command, f.payload);
    FUZZ_CHECK(pos + enc.size() <= stream.size());
    FUZZ_CHECK(fuzz::SameBytes(enc, stream.subspan(pos, enc.size())));
    pos += enc.size();
  }
  // Without an error, what is left is an incomplete frame.
  if (whole.error == FrameError::kOk) FUZZ_CHECK(stream.size() - pos < kFrameHeaderSize + MaxPayloadOfAnyCommand());
  return 0;
}
