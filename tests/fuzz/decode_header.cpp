// Block headers: decode -> encode -> decode round trip (a fixed 88 bytes), and the hash is the
// double SHA-256 of exactly those bytes.
#include "consensus/block.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan in = fuzz::Input(data, size);
  BlockHeader h;
  const bool ok = fuzz::CheckRoundTrip(
      in, h, [](ByteSpan b, BlockHeader& x) { return DecodeHeader(b, x); },
      [](const BlockHeader& x) {
        auto a = x.Encode();
        return Bytes(a.begin(), a.end());
      },
      std::equal_to<>{});
  FUZZ_CHECK(ok == (size == kHeaderSize));
  if (!ok) FUZZ_CHECK(DecodeHeader(in, h) == (size < kHeaderSize ? DecodeError::kTruncated : DecodeError::kTrailingBytes));
  fuzz::CheckStreamAgrees(in, ok ? DecodeError::kOk : DecodeHeader(in, h), [](Reader& r) {
    BlockHeader x;
    return DecodeHeader(r, x);
  });
  if (ok) {
    Bytes w;
    Writer writer(w);
    EncodeHeader(writer, h);
    FUZZ_CHECK(fuzz::SameBytes(w, in));
    FUZZ_CHECK(h.Hash() == crypto::Sha256d(in));
  }
  return 0;
}
