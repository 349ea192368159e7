// Proof of work: compact targets, work, and difficulty retargeting (docs/chain-rules.md,
// "Proof of work").
//
// A target is a 256-bit unsigned integer; a block hash, read big-endian, must not exceed its
// header's target. Targets travel as Bitcoin-style compact "bits" (exponent byte, 23-bit
// mantissa); the sign bit, a zero target and values above 2^256-1 are invalid.
//
// Retargeting happens every `retarget_interval` blocks. The period measured for the block at a
// retarget height h is from the *last* block of the previous period (height h-1-interval; the
// genesis block for the first retarget) to block h-1. Overlapping the windows by one block is
// what defeats the time-warp attack: Bitcoin measures from the first block of the period, so
// the gap between one period's last block and the next period's first block is never
// measured, and a majority can keep timestamps low and push only the last one high. Here the
// high timestamp also starts the next measured period, which then looks short, so the
// difficulty returns. Each step is clamped to a factor of 4.
#pragma once

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdint>
#include <optional>

#include "crypto/hash.h"

namespace wattline::consensus {

using uint256 = boost::multiprecision::uint256_t;

struct Params;

/** The 256-bit number a hash encodes, reading bytes[0] as the most significant byte. */
uint256 HashToNumber(const crypto::Hash256& h);
crypto::Hash256 NumberToHash(const uint256& n);

/** The target that bits encode; nullopt when negative, zero or overflowing. */
std::optional<uint256> CompactToTarget(std::uint32_t bits);
/** The canonical compact form of a target (rounds the target down to 23 mantissa bits). */
std::uint32_t TargetToCompact(const uint256& target);

/** True when bits encode a valid target no easier than the network's limit, and hash meets it. */
bool CheckProofOfWork(const crypto::Hash256& hash, std::uint32_t bits, const Params& params);

/** Expected number of hashes to find a block at bits: 2^256 / (target + 1). 0 if bits is invalid. */
uint256 BlockWork(std::uint32_t bits);

/** True when a block at this height gets a new target. */
bool IsRetargetHeight(const Params& params, std::uint32_t height);
/** The height of the block whose time starts the window measured at retarget height h. */
std::uint32_t RetargetWindowStart(const Params& params, std::uint32_t height);

/**
 * The bits required of the block at `height`, given the previous block's bits and, at a
 * retarget height, the times of the blocks at RetargetWindowStart(height) and height - 1.
 */
std::uint32_t NextBits(const Params& params, std::uint32_t height, std::uint32_t prev_bits,
                       std::uint64_t window_start_time, std::uint64_t window_end_time);

}  // namespace wattline::consensus
