// The chainstate's key space in its LevelDB database (docs/chain-rules.md, "Storage").
//
//   'V'                      magic of the network the datadir belongs to (4 bytes)
//   'b' + block hash         block index record (ledger/block_index.h)
//   'B' + block hash         block, canonical encoding
//   'u' + block hash         undo data: the coins the block spent (ledger/undo.h)
//   'c' + txid + index (BE)  an unspent coin (ledger/coins.h)
//   'T'                      hash of the active tip: the last block reported as connected
//   'C'                      hash of the block the coin set ('c') is consistent with
//   'M' + market key         the market state (consensus/market_state.h), flushed with the coins:
//                            it is consistent with 'C' too
#pragma once

#include <cstdint>
#include <string>

#include "consensus/transaction.h"

namespace wattline::ledger::keys {

inline constexpr char kNetwork = 'V';
inline constexpr char kBlockIndex = 'b';
inline constexpr char kBlock = 'B';
inline constexpr char kUndo = 'u';
inline constexpr char kCoin = 'c';
inline constexpr char kTip = 'T';
inline constexpr char kCoinsTip = 'C';
inline constexpr char kMarket = 'M';

inline std::string WithHash(char prefix, const crypto::Hash256& h) {
  std::string k(1, prefix);
  k.append(reinterpret_cast<const char*>(h.data()), h.size());
  return k;
}

inline std::string Coin(const consensus::OutPoint& op) {
  std::string k = WithHash(kCoin, op.txid);
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>((op.index >> shift) & 0xff));
  return k;
}

inline std::string Single(char prefix) { return std::string(1, prefix); }

}  // namespace wattline::ledger::keys
