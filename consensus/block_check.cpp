#include "consensus/block_check.h"

#include <algorithm>
#include <unordered_set>

#include "consensus/tx_check.h"

namespace wattline::consensus {

bool CheckBlockHeader(const BlockHeader& header, const Params& params, ValidationState& state) {
  if (header.version != kBlockVersion)
    return state.Invalid(Reason::kBlockBadVersion, "version " + std::to_string(header.version));
  if (!CheckProofOfWork(header.Hash(), header.bits, params)) return state.Invalid(Reason::kBlockHighHash);
  return true;
}

bool ContextualCheckHeader(const BlockHeader& header, const HeaderContext& ctx, const Params& params,
                           ValidationState& state) {
  if (header.bits != ctx.expected_bits)
    return state.Invalid(Reason::kBlockBadBits, "expected " + std::to_string(ctx.expected_bits));
  if (header.time <= ctx.median_time_past)
    return state.Invalid(Reason::kBlockTimeTooOld, "not after median time past " + std::to_string(ctx.median_time_past));
  // Compared as a difference: now + max_future_block_time overflows int64 (undefined) near its top.
  if (ctx.now >= 0 && header.time > static_cast<std::uint64_t>(ctx.now) &&
      header.time - static_cast<std::uint64_t>(ctx.now) > static_cast<std::uint64_t>(params.max_future_block_time))
    return state.Invalid(Reason::kBlockTimeTooNew, "more than " + std::to_string(params.max_future_block_time) +
                                                       " s ahead of local time");
  return true;
}

bool CheckBlock(const Block& block, const Params& params, ValidationState& state, bool check_pow) {
  if (check_pow && !CheckBlockHeader(block.header, params, state)) return false;
  if (!check_pow && block.header.version != kBlockVersion)
    return state.Invalid(Reason::kBlockBadVersion, "version " + std::to_string(block.header.version));
  if (BlockMerkleRoot(block) != block.header.merkle_root) return state.Invalid(Reason::kBlockBadMerkleRoot);
  if (block.txs.empty() || !block.txs[0]->IsCoinbase()) return state.Invalid(Reason::kBlockNoCoinbase);
  // The size of the block's encoding: header, the varint transaction count, the transactions.
  // (Counting 9 bytes for the varint, as this once did, rejected blocks of up to 8 bytes under
  // the limit that DecodeBlock accepts.)
  Bytes count;
  Writer w(count);
  w.VarInt(block.txs.size());
  std::size_t size = kHeaderSize + count.size();
  std::unordered_set<Hash256> txids;
  txids.reserve(block.txs.size());
  for (std::size_t i = 0; i < block.txs.size(); ++i) {
    const Transaction& tx = *block.txs[i];
    if (i > 0 && tx.IsCoinbase()) return state.Invalid(Reason::kBlockMultipleCoinbase, "tx " + std::to_string(i));
    size += tx.size();
    if (!txids.insert(tx.txid()).second) return state.Invalid(Reason::kBlockDuplicateTx, tx.txid().ToHex());
    ValidationState tx_state;
    if (!CheckTransaction(tx, tx_state))
      return state.Invalid(Reason::kBlockInvalidTx, tx_state.ToString() + " in tx " + tx.txid().ToHex());
  }
  if (size > kMaxBlockSize) return state.Invalid(Reason::kBlockOversize);
  return true;
}

bool CheckCoinbaseHeight(const Block& block, std::uint32_t height, ValidationState& state) {
  auto stated = CoinbaseHeight(block.txs.at(0)->record());
  if (!stated || *stated != height)
    return state.Invalid(Reason::kBlockCoinbaseHeight, "expected height " + std::to_string(height));
  return true;
}

std::uint64_t MedianTime(std::vector<std::uint64_t> times) {
  if (times.empty()) return 0;
  auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), mid, times.end());
  return *mid;
}

}  // namespace wattline::consensus
