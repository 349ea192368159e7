// mempool.dat: the mempool saved at shutdown, re-accepted at start (docs/node.md).
//
//   "WLMEMPL1" (8 bytes), then per transaction: u64 LE entry time (Unix seconds), varbytes of
//   the transaction's canonical encoding (at most kMaxTxSize).
//
// A damaged file is never fatal: decoding keeps the records before the damage and says why it
// stopped; the transactions still go through full mempool acceptance.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consensus/transaction.h"

namespace wattline::node {

struct SavedTransaction {
  std::int64_t time = 0;
  consensus::TransactionRef tx;
};

consensus::Bytes EncodeMempoolFile(const std::vector<SavedTransaction>& entries);
/** The records before the first damaged one; *error says what was wrong (empty: whole file read). */
std::vector<SavedTransaction> DecodeMempoolFile(consensus::ByteSpan bytes, std::string* error);

}  // namespace wattline::node
