// The block index: one entry per block header the node knows, linked to its parent, with the
// total work of the chain ending there and what is known of the block's validity.
#pragma once

#include <cstdint>
#include <string>

#include "consensus/block.h"
#include "consensus/pow.h"

namespace wattline::ledger {

using consensus::uint256;

/** Status bits, stored on disk: never renumbered. */
enum BlockStatus : std::uint32_t {
  kHaveData = 1u << 0,     //!< the full block is stored
  kConnected = 1u << 1,    //!< it has been connected at least once (its undo data is stored)
  kFailed = 1u << 2,       //!< it breaks a consensus rule
  kFailedChild = 1u << 3,  //!< an ancestor breaks a consensus rule
};

struct BlockIndex {
  crypto::Hash256 hash;
  consensus::BlockHeader header;
  std::uint32_t height = 0;
  std::uint32_t status = 0;
  std::uint32_t tx_count = 0;
  std::uint64_t sequence = 0;  //!< arrival order: among equal work, the first seen wins
  uint256 chain_work = 0;      //!< total work of the chain ending here (not stored: recomputed)
  BlockIndex* prev = nullptr;
  bool chain_has_data = false; //!< this block and every ancestor are stored (not stored: derived)

  bool IsFailed() const { return (status & (kFailed | kFailedChild)) != 0; }
  bool HaveData() const { return (status & kHaveData) != 0; }
  const BlockIndex* Ancestor(std::uint32_t h) const;
};

/** The stored form: header (88 bytes), height, status, tx count, sequence. */
consensus::Bytes EncodeBlockIndex(const BlockIndex& index);
bool DecodeBlockIndex(consensus::ByteSpan bytes, BlockIndex& index);

/** The last common ancestor of a and b (both non-null, in one tree). */
const BlockIndex* FindFork(const BlockIndex* a, const BlockIndex* b);

}  // namespace wattline::ledger
