// Undo data: the coins a block spent, in the order it spent them (transaction order, then
// input order), so that disconnecting the block can put them back; and the market state
// entries the block changed, with the values they had before it.
//
// Encoding: varint count, coins; then, only when the block changed the market state, varint
// count, and per entry in strictly increasing key order bytes(key), u8 present, [bytes(value)].
// Undo data written before the market existed ends after the coins and decodes with no market entries.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/coins.h"

namespace wattline::ledger {

struct BlockUndo {
  std::vector<Coin> spent;
  /** market key -> its value before the block (nullopt: absent). */
  std::map<std::string, std::optional<consensus::Bytes>> market;
};

consensus::Bytes EncodeUndo(const BlockUndo& undo);
consensus::DecodeError DecodeUndo(consensus::ByteSpan bytes, BlockUndo& undo);

}  // namespace wattline::ledger
