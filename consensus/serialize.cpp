#include "consensus/serialize.h"

namespace wattline::consensus {

std::string_view DecodeErrorName(DecodeError e) {
  switch (e) {
    case DecodeError::kOk: return "ok";
    case DecodeError::kTruncated: return "truncated";
    case DecodeError::kTrailingBytes: return "trailing-bytes";
    case DecodeError::kNonMinimalVarInt: return "non-minimal-varint";
    case DecodeError::kVarIntOverflow: return "varint-overflow";
    case DecodeError::kCountTooLarge: return "count-too-large";
    case DecodeError::kUnknownConditionType: return "unknown-condition-type";
    case DecodeError::kUnknownSatisfactionType: return "unknown-satisfaction-type";
    case DecodeError::kUnknownRecordKind: return "unknown-record-kind";
    case DecodeError::kBadBranch: return "bad-branch";
    case DecodeError::kTooDeep: return "too-deep";
    case DecodeError::kPayloadTooLarge: return "payload-too-large";
    case DecodeError::kObjectTooLarge: return "object-too-large";
    case DecodeError::kAmountOutOfRange: return "amount-out-of-range";
    case DecodeError::kEmptyMultisigSigners: return "empty-multisig-signers";
    case DecodeError::kBadFieldValue: return "bad-field-value";
  }
  return "unknown-decode-error";
}

void Writer::U16(std::uint16_t v) {
  for (int i = 0; i < 2; ++i) m_out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void Writer::U32(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) m_out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void Writer::U64(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) m_out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void Writer::VarInt(std::uint64_t v) {
  while (v >= 0x80) {
    m_out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  m_out.push_back(static_cast<std::uint8_t>(v));
}

bool Reader::Fail(DecodeError e) {
  if (m_error == DecodeError::kOk) m_error = e;
  return false;
}

bool Reader::U8(std::uint8_t& v) {
  if (!ok()) return false;
  if (remaining() < 1) return Fail(DecodeError::kTruncated);
  v = m_in[m_pos++];
  return true;
}

namespace {
template <typename T>
bool ReadLe(Reader& r, ByteSpan in, std::size_t& pos, T& v) {
  if (in.size() - pos < sizeof(T)) return r.Fail(DecodeError::kTruncated);
  T x = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) x = static_cast<T>(x | (static_cast<T>(in[pos + i]) << (8 * i)));
  v = x;
  pos += sizeof(T);
  return true;
}
}  // namespace

bool Reader::U16(std::uint16_t& v) { return ok() && ReadLe(*this, m_in, m_pos, v); }
bool Reader::U32(std::uint32_t& v) { return ok() && ReadLe(*this, m_in, m_pos, v); }
bool Reader::U64(std::uint64_t& v) { return ok() && ReadLe(*this, m_in, m_pos, v); }

bool Reader::VarInt(std::uint64_t& v, std::uint64_t max) {
  if (!ok()) return false;
  std::uint64_t value = 0;
  for (int shift = 0;; shift += 7) {
    if (remaining() < 1) return Fail(DecodeError::kTruncated);
    std::uint8_t byte = m_in[m_pos++];
    std::uint64_t group = byte & 0x7f;
    // The 10th group may only carry the 64th bit.
    if (shift == 63 && group > 1) return Fail(DecodeError::kVarIntOverflow);
    value |= group << shift;
    if ((byte & 0x80) == 0) {
      // A last group of zero is redundant unless it is the only group.
      if (byte == 0 && shift > 0) return Fail(DecodeError::kNonMinimalVarInt);
      break;
    }
    if (shift == 63) return Fail(DecodeError::kVarIntOverflow);
  }
  if (value > max) return Fail(DecodeError::kVarIntOverflow);
  v = value;
  return true;
}

bool Reader::Count(std::size_t& n, std::size_t max, std::size_t min_element_size) {
  std::uint64_t v;
  if (!VarInt(v)) return false;
  if (v > max || (min_element_size > 0 && v > remaining() / min_element_size))
    return Fail(DecodeError::kCountTooLarge);
  n = static_cast<std::size_t>(v);
  return true;
}

bool Reader::Raw(std::span<std::uint8_t> out) {
  if (!ok()) return false;
  if (remaining() < out.size()) return Fail(DecodeError::kTruncated);
  std::copy_n(m_in.begin() + static_cast<std::ptrdiff_t>(m_pos), out.size(), out.begin());
  m_pos += out.size();
  return true;
}

bool Reader::VarBytes(Bytes& out, std::size_t max) {
  std::uint64_t len;
  if (!VarInt(len)) return false;
  if (len > max) return Fail(DecodeError::kPayloadTooLarge);
  if (len > remaining()) return Fail(DecodeError::kTruncated);
  out.assign(m_in.begin() + static_cast<std::ptrdiff_t>(m_pos),
             m_in.begin() + static_cast<std::ptrdiff_t>(m_pos + len));
  m_pos += static_cast<std::size_t>(len);
  return true;
}

bool Reader::ExpectEnd() {
  if (!ok()) return false;
  if (remaining() != 0) return Fail(DecodeError::kTrailingBytes);
  return true;
}

}  // namespace wattline::consensus
