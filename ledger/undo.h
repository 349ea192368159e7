// Undo data: the coins a block spent, in the order it spent them (transaction order, then
// input order), so that disconnecting the block can put them back.
#pragma once

#include <vector>

#include "ledger/coins.h"

namespace wattline::ledger {

struct BlockUndo {
  std::vector<Coin> spent;
};

consensus::Bytes EncodeUndo(const BlockUndo& undo);
consensus::DecodeError DecodeUndo(consensus::ByteSpan bytes, BlockUndo& undo);

}  // namespace wattline::ledger
