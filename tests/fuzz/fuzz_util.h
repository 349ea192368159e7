// Shared helpers for the libFuzzer targets in tests/fuzz/.
//
// FUZZ_CHECK aborts with the failed condition and its line; libFuzzer then saves the input as
// a crash. CheckRoundTrip is the decoder property every decode_* target states: bytes that
// decode are the one canonical encoding of what they decode to (encoding gives the same
// bytes back, and decoding those gives an equal object); bytes that do not decode say why.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "consensus/serialize.h"

#define FUZZ_CHECK(cond)                                                             \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

namespace wattline::fuzz {

using consensus::ByteSpan;
using consensus::Bytes;
using consensus::DecodeError;

inline ByteSpan Input(const std::uint8_t* data, std::size_t size) { return {data, size}; }

inline bool SameBytes(ByteSpan a, ByteSpan b) { return std::ranges::equal(a, b); }

/** A decode error is one of the named values, and never kOk. */
inline void CheckFailure(DecodeError e) {
  FUZZ_CHECK(e != DecodeError::kOk);
  FUZZ_CHECK(consensus::DecodeErrorName(e) != "unknown-decode-error");
}

/**
 * decode(bytes, T&) -> DecodeError; encode(const T&) -> Bytes; same(a, b) -> bool.
 * Returns true (and fills obj) when the input decoded.
 */
template <typename T, typename Decode, typename Encode, typename Same>
bool CheckRoundTrip(ByteSpan in, T& obj, Decode decode, Encode encode, Same same) {
  const DecodeError e = decode(in, obj);
  if (e != DecodeError::kOk) {
    CheckFailure(e);
    return false;
  }
  const Bytes out = encode(obj);
  FUZZ_CHECK(SameBytes(out, in));  // canonical: exactly one encoding
  T again{};
  FUZZ_CHECK(decode(ByteSpan(out), again) == DecodeError::kOk);
  FUZZ_CHECK(same(obj, again));
  return true;
}

/**
 * The streaming form (Reader) and the whole-input form agree: the whole input decodes iff
 * the stream decodes and consumes everything; a stream that stops early leaves trailing bytes.
 */
template <typename StreamOk>
void CheckStreamAgrees(ByteSpan in, DecodeError whole, StreamOk stream_decode) {
  consensus::Reader r(in);
  const bool ok = stream_decode(r);
  FUZZ_CHECK(ok == r.ok());
  if (!ok) {
    FUZZ_CHECK(r.error() == whole);
  } else if (r.remaining() == 0) {
    FUZZ_CHECK(whole == DecodeError::kOk);
  } else {
    FUZZ_CHECK(whole == DecodeError::kTrailingBytes);
  }
}

}  // namespace wattline::fuzz
