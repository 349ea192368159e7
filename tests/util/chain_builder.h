// Test helpers: deterministic keys, transactions and regtest blocks with valid proof of work,
// and an independent rebuild of the UTXO set from the active chain.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "consensus/block.h"
#include "consensus/params.h"
#include "crypto/schnorr.h"
#include "ledger/chainstate.h"

namespace wattline::test {

using consensus::Amount;
using consensus::Block;
using consensus::Coin;
using consensus::OutPoint;
using consensus::TransactionRef;

/** The secret key with the given small index (1, 2, ...): stable across runs. */
crypto::SecretKey TestKey(std::uint32_t n);

/** A coinbase paying `amount` to Key(payee) at height, with `extra` to make it unique. */
TransactionRef MakeCoinbase(std::uint32_t height, Amount amount, const crypto::XOnlyPubKey& payee,
                            std::uint64_t extra = 0);

/** A signed transaction spending coins locked by Key(key) into the given outputs. */
struct Spend {
  OutPoint prevout;
  consensus::TxOut spent;  //!< the coin's output, needed for the signature hash
};
TransactionRef MakeSpend(const consensus::Params& params, const std::vector<Spend>& inputs,
                         const crypto::SecretKey& key, std::vector<consensus::TxOut> outputs);

/**
 * A block on top of `prev` with the given transactions after a coinbase paying subsidy + fees
 * (minus `unclaimed`) to payee; the header time is prev's time + spacing and the nonce is
 * searched until the proof of work holds (regtest: a few tries).
 */
Block MakeBlock(const ledger::Chainstate& cs, const ledger::BlockIndex& prev, std::vector<TransactionRef> txs,
                Amount fees, const crypto::XOnlyPubKey& payee, std::uint64_t extra = 0, Amount unclaimed = Amount{0});

/** Re-solves the proof of work after the header or transactions were changed. */
void Solve(Block& block, const consensus::Params& params);

/** The UTXO set rebuilt from scratch by replaying the active chain's stored blocks. */
std::map<OutPoint, Coin> RebuildUtxo(const ledger::Chainstate& cs);
/** The UTXO set the chainstate holds (flushes it first). */
std::map<OutPoint, Coin> ChainstateUtxo(ledger::Chainstate& cs);
Amount TotalValue(const std::map<OutPoint, Coin>& utxo);
/** Sum of BlockSubsidy over heights 1..tip. */
Amount IssuedSubsidy(const ledger::Chainstate& cs);

}  // namespace wattline::test
