// Block checks (docs/chain-rules.md, "Blocks").
//
// CheckBlockHeader and CheckBlock need nothing but the block; ContextualCheckHeader needs
// the previous block's data, given as a HeaderContext that the ledger fills from its index.
// Transaction spends are checked when the ledger connects the block (tx_verify.h).
#pragma once

#include <cstdint>
#include <vector>

#include "consensus/block.h"
#include "consensus/params.h"
#include "consensus/validation.h"

namespace wattline::consensus {

/** What the rules need to know about the chain a header extends. */
struct HeaderContext {
  std::uint32_t height = 0;             //!< height of the new block
  std::uint32_t expected_bits = 0;      //!< NextBits(...) for that height
  std::uint64_t median_time_past = 0;   //!< median time of the previous median_time_span blocks
  std::int64_t now = 0;                 //!< the validating node's clock (Unix seconds)
};

/** Version and proof of work. */
bool CheckBlockHeader(const BlockHeader& header, const Params& params, ValidationState& state);

/**
 * Header checks against its parent: bits as retargeting requires, time after the median time
 * past, and not more than max_future_block_time ahead of now (time-too-new is Premature: the
 * block may become acceptable later, so it is not remembered as invalid).
 */
bool ContextualCheckHeader(const BlockHeader& header, const HeaderContext& ctx, const Params& params,
                           ValidationState& state);

/**
 * Everything about a block that needs neither the chain nor the UTXO set: the header, the
 * merkle root (a mismatch is Malformed: the transactions were tampered with, the header may
 * be fine), exactly one coinbase and first, no repeated transaction, every transaction's
 * context-free checks. check_pow = false skips the proof of work (for block templates).
 */
bool CheckBlock(const Block& block, const Params& params, ValidationState& state, bool check_pow = true);

/** The coinbase states the block's height. */
bool CheckCoinbaseHeight(const Block& block, std::uint32_t height, ValidationState& state);

/** The median of the given block times (empty: 0). */
std::uint64_t MedianTime(std::vector<std::uint64_t> times);

}  // namespace wattline::consensus
