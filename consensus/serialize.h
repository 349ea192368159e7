// The primitives of wattline's canonical encoding (docs/encoding.md, section "Primitives"):
// little-endian fixed-width integers, minimal unsigned LEB128 varints, length-prefixed bytes.
//
// Writer appends to a byte vector. Reader moves a cursor over a span and stops at the first
// error, which it remembers; every Read* returns false from then on. Decoders built on Reader
// check `reader.ok()` once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "crypto/hash.h"

namespace wattline::consensus {

using crypto::ByteSpan;
using Bytes = std::vector<std::uint8_t>;

/** Why bytes are not the canonical encoding of an object. Values are never renumbered. */
enum class DecodeError : std::uint8_t {
  kOk = 0,
  kTruncated = 1,             //!< input ends inside an object
  kTrailingBytes = 2,         //!< bytes left after the object
  kNonMinimalVarInt = 3,      //!< a varint with a redundant trailing zero group
  kVarIntOverflow = 4,        //!< a varint above the field's maximum (or above 2^64-1)
  kCountTooLarge = 5,         //!< an element count above its limit or above what the input can hold
  kUnknownConditionType = 6,  //!< condition tag outside the closed set
  kUnknownSatisfactionType = 7,
  kUnknownRecordKind = 8,
  kBadBranch = 9,             //!< an "or" branch selector other than 0 or 1
  kTooDeep = 10,              //!< conditions or satisfactions nested beyond kMaxConditionDepth
  kPayloadTooLarge = 11,      //!< a byte string above its limit
  kObjectTooLarge = 12,       //!< a transaction or block above its size limit
  kAmountOutOfRange = 13,     //!< an amount >= 2^63 (not representable)
  kEmptyMultisigSigners = 14, //!< a multisig satisfaction with no signer
  kBadFieldValue = 15,        //!< an enumerated field outside its set, or an empty batch
};

/** The stable text of a decode error, e.g. "non-minimal-varint". */
std::string_view DecodeErrorName(DecodeError e);

class Writer {
 public:
  explicit Writer(Bytes& out) : m_out(out) {}
  void U8(std::uint8_t v) { m_out.push_back(v); }
  void U16(std::uint16_t v);
  void U32(std::uint32_t v);
  void U64(std::uint64_t v);
  void VarInt(std::uint64_t v);
  void Raw(ByteSpan bytes) { m_out.insert(m_out.end(), bytes.begin(), bytes.end()); }
  void Hash(const crypto::Hash256& h) { Raw(h.span()); }
  void VarBytes(ByteSpan bytes) {
    VarInt(bytes.size());
    Raw(bytes);
  }
  std::size_t size() const { return m_out.size(); }

 private:
  Bytes& m_out;
};

class Reader {
 public:
  explicit Reader(ByteSpan in) : m_in(in) {}

  bool U8(std::uint8_t& v);
  bool U16(std::uint16_t& v);
  bool U32(std::uint32_t& v);
  bool U64(std::uint64_t& v);
  /** A minimal LEB128 varint no greater than max. */
  bool VarInt(std::uint64_t& v, std::uint64_t max = UINT64_MAX);
  /**
   * An element count: a varint no greater than max, and no greater than what the remaining
   * input could hold if every element took at least min_element_size bytes.
   */
  bool Count(std::size_t& n, std::size_t max, std::size_t min_element_size);
  bool Raw(std::span<std::uint8_t> out);
  bool Hash(crypto::Hash256& h) { return Raw(h.bytes); }
  bool VarBytes(Bytes& out, std::size_t max);

  /** Records e unless an error is already recorded; always returns false. */
  bool Fail(DecodeError e);
  /** Fails with kTrailingBytes unless the whole input was read. */
  bool ExpectEnd();

  bool ok() const { return m_error == DecodeError::kOk; }
  DecodeError error() const { return m_error; }
  std::size_t offset() const { return m_pos; }
  std::size_t remaining() const { return m_in.size() - m_pos; }
  ByteSpan consumed_since(std::size_t start) const { return m_in.subspan(start, m_pos - start); }

 private:
  ByteSpan m_in;
  std::size_t m_pos = 0;
  DecodeError m_error = DecodeError::kOk;
};

}  // namespace wattline::consensus
