// Context-free transaction checks: what can be decided from the transaction alone
// (docs/chain-rules.md, "Transactions").
#pragma once

#include "consensus/transaction.h"
#include "consensus/validation.h"

namespace wattline::consensus {

/**
 * Shape, ranges and the record slot. Duplicate inputs are rejected here
 * (CVE-2018-17144: Bitcoin once skipped this check in blocks, and a block spending one coin
 * twice could inflate the supply). Does not look at the UTXO set or signatures.
 */
bool CheckTransaction(const Transaction& tx, ValidationState& state);

/**
 * Semantic rules of one output condition: multisig 1 <= m <= n <= 16, distinct keys; nested
 * no deeper than kMaxConditionDepth (conditions built in memory can break the decoder's limits).
 */
bool CheckCondition(const Condition& c, std::string& why);

}  // namespace wattline::consensus
