// Reader primitives: a fuzz-chosen sequence of reads over fuzz bytes. Every successful read
// consumed exactly the canonical encoding of what it returned (Writer gives the same bytes),
// within its bounds; the first failure is remembered and every later read fails with it.
#include <fuzzer/FuzzedDataProvider.h>

#include "consensus/serialize.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  // The operations come from the end of the input, the bytes they read from the front.
  const std::size_t n_ops = fdp.ConsumeIntegralInRange<std::size_t>(1, 32);
  std::vector<std::uint64_t> limits;
  std::vector<std::uint8_t> ops;
  for (std::size_t i = 0; i < n_ops; ++i) {
    ops.push_back(fdp.ConsumeIntegralInRange<std::uint8_t>(0, 7));
    // Limits from small to the full range, so that both sides of each bound are reached.
    limits.push_back(fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange<std::uint64_t>(0, 300)
                                       : fdp.ConsumeIntegral<std::uint64_t>());
  }
  const Bytes bytes = fdp.ConsumeRemainingBytes<std::uint8_t>();
  Reader r(bytes);

  DecodeError first_error = DecodeError::kOk;
  for (std::size_t i = 0; i < n_ops; ++i) {
    const std::size_t start = r.offset();
    const std::size_t left = r.remaining();
    const std::uint64_t limit = limits[i];
    Bytes expect;
    Writer w(expect);
    bool ok = false;
    switch (ops[i]) {
      case 0: {
        std::uint8_t v;
        if ((ok = r.U8(v))) w.U8(v);
        break;
      }
      case 1: {
        std::uint16_t v;
        if ((ok = r.U16(v))) w.U16(v);
        break;
      }
      case 2: {
        std::uint32_t v;
        if ((ok = r.U32(v))) w.U32(v);
        break;
      }
      case 3: {
        std::uint64_t v;
        if ((ok = r.U64(v))) w.U64(v);
        break;
      }
      case 4: {
        std::uint64_t v;
        if ((ok = r.VarInt(v, limit))) {
          FUZZ_CHECK(v <= limit);
          w.VarInt(v);
        }
        if (!ok && first_error == DecodeError::kOk) {
          FUZZ_CHECK(r.error() == DecodeError::kTruncated || r.error() == DecodeError::kNonMinimalVarInt ||
                     r.error() == DecodeError::kVarIntOverflow);
        }
        break;
      }
      case 5: {
        std::size_t n;
        const std::size_t min_size = static_cast<std::size_t>(limit % 50);
        if ((ok = r.Count(n, static_cast<std::size_t>(limit), min_size))) {
          FUZZ_CHECK(n <= limit);
          if (min_size > 0) FUZZ_CHECK(n <= r.remaining() / min_size);
          w.VarInt(n);
        }
        break;
      }
      case 6: {
        Bytes v;
        if ((ok = r.VarBytes(v, static_cast<std::size_t>(limit)))) {
          FUZZ_CHECK(v.size() <= limit);
          w.VarBytes(v);
        }
        break;
      }
      case 7: {
        ok = r.ExpectEnd();
        if (ok) FUZZ_CHECK(left == 0);
        if (!ok && first_error == DecodeError::kOk) FUZZ_CHECK(r.error() == DecodeError::kTrailingBytes);
        break;
      }
    }
    FUZZ_CHECK(ok == r.ok());
    if (ok) {
      FUZZ_CHECK(first_error == DecodeError::kOk);
      FUZZ_CHECK(fuzz::SameBytes(expect, r.consumed_since(start)));
      FUZZ_CHECK(r.remaining() + (r.offset() - start) == left);
    } else {
      fuzz::CheckFailure(r.error());
      if (first_error != DecodeError::kOk) FUZZ_CHECK(r.error() == first_error);  // sticky
      first_error = r.error();
      FUZZ_CHECK(r.offset() <= bytes.size());
    }
  }
  return 0;
}
