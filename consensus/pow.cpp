#include "consensus/pow.h"

#include "consensus/params.h"

namespace wattline::consensus {

using uint512 = boost::multiprecision::uint512_t;

uint256 HashToNumber(const crypto::Hash256& h) {
  uint256 n = 0;
  for (auto b : h.bytes) n = (n << 8) | b;
  return n;
}

crypto::Hash256 NumberToHash(const uint256& n) {
  crypto::Hash256 h;
  uint256 v = n;
  for (int i = 31; i >= 0; --i) {
    h.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return h;
}

std::optional<uint256> CompactToTarget(std::uint32_t bits) {
  const std::uint32_t exponent = bits >> 24;
  const std::uint32_t mantissa = bits & 0x007fffff;
  if (bits & 0x00800000) return std::nullopt;  // sign bit: negative
  if (mantissa == 0) return std::nullopt;
  uint512 value = mantissa;
  if (exponent <= 3) {
    value >>= 8 * (3 - exponent);
  } else {
    if (exponent > 35) return std::nullopt;
    value <<= 8 * (exponent - 3);
  }
  if (value == 0 || value > uint512(std::numeric_limits<uint256>::max())) return std::nullopt;
  return static_cast<uint256>(value);
}

std::uint32_t TargetToCompact(const uint256& target) {
  std::uint32_t size = 0;
  for (uint256 t = target; t != 0; t >>= 8) ++size;
  std::uint32_t mantissa;
  if (size <= 3) {
    mantissa = static_cast<std::uint32_t>(target << (8 * (3 - size)));
  } else {
    mantissa = static_cast<std::uint32_t>(target >> (8 * (size - 3)));
  }
  // The top mantissa bit is the sign: move one byte up instead.
  if (mantissa & 0x00800000) {
    mantissa >>= 8;
    ++size;
  }
  return (size << 24) | mantissa;
}

bool CheckProofOfWork(const crypto::Hash256& hash, std::uint32_t bits, const Params& params) {
  auto target = CompactToTarget(bits);
  if (!target || *target > params.pow_limit) return false;
  return HashToNumber(hash) <= *target;
}

uint256 BlockWork(std::uint32_t bits) {
  auto target = CompactToTarget(bits);
  if (!target) return 0;
  // 2^256 / (target + 1) without a 257-bit number: (~target / (target + 1)) + 1.
  return (~*target / (*target + 1)) + 1;
}

bool IsRetargetHeight(const Params& params, std::uint32_t height) {
  return params.retargeting && height > 0 && height % params.retarget_interval == 0;
}

std::uint32_t RetargetWindowStart(const Params& params, std::uint32_t height) {
  return height > params.retarget_interval ? height - 1 - params.retarget_interval : 0;
}

std::uint32_t NextBits(const Params& params, std::uint32_t height, std::uint32_t prev_bits,
                       std::uint64_t window_start_time, std::uint64_t window_end_time) {
  if (!IsRetargetHeight(params, height)) return prev_bits;
  const std::int64_t blocks = static_cast<std::int64_t>(height - 1 - RetargetWindowStart(params, height));
  const std::int64_t expected = blocks * params.target_spacing;
  std::int64_t actual = window_end_time >= window_start_time
                            ? static_cast<std::int64_t>(std::min<std::uint64_t>(window_end_time - window_start_time,
                                                                                INT64_MAX / 2))
                            : 0;
  actual = std::clamp(actual, expected / 4, expected * 4);
  auto prev = CompactToTarget(prev_bits);
  uint512 next = prev ? uint512(*prev) : uint512(params.pow_limit);
  next = next * static_cast<std::uint64_t>(actual) / static_cast<std::uint64_t>(expected);
  if (next > uint512(params.pow_limit)) next = params.pow_limit;
  if (next == 0) next = 1;
  return TargetToCompact(static_cast<uint256>(next));
}

}  // namespace wattline::consensus
