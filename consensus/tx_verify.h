// Transaction checks against the coins it spends: existence (by the caller), maturity,
// amounts, time locks, and signatures (docs/chain-rules.md, "Spending").
//
// Signature checks are collected as SigCheck items so that a block's checks can run in
// parallel (ledger/check_queue.h); pass no sink to run them inline. Inline checks (the
// mempool's) may go through a crypto::SigCache, which remembers the signatures that verified
// so that the block holding them does not verify them again (crypto/sig_cache.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "consensus/params.h"
#include "consensus/transaction.h"
#include "consensus/validation.h"
#include "crypto/sig_cache.h"

namespace wattline::consensus {

/** An unspent output as the chain holds it. */
struct Coin {
  TxOut out;
  std::uint32_t height = 0;  //!< height of the block that created it
  bool coinbase = false;
  friend bool operator==(const Coin&, const Coin&) = default;
};

/**
 * One BIP340 verification, owned by value so it can run on any thread. `parsed`, when set, is
 * `key` already parsed (a meter's key, once for all the readings of its batch).
 */
struct SigCheck {
  XOnlyPubKey key;
  Hash256 msg;
  Signature sig;
  std::optional<crypto::ParsedPubKey> parsed = std::nullopt;
  bool Verify() const { return parsed ? parsed->Verify(msg, sig) : crypto::Verify(key, msg, sig); }
  /** The same result as Verify(), through `cache` when given (skipped when the triple is stored there). */
  bool Verify(crypto::SigCache* cache, crypto::SigCache::Mode mode) const {
    return cache ? cache->Verify(key, msg, sig, mode, parsed ? &*parsed : nullptr) : Verify();
  }
};

/**
 * The message input `index` of tx signs:
 * TaggedHash("wattline/sighash", magic || txid || u32 index || u64 amount || condition).
 * It covers every input and output (through the txid), the amount and condition of the coin
 * being spent, and the network magic, so a signature does not replay on another network.
 */
Hash256 SignatureHash(const Params& params, const Hash256& txid, std::uint32_t index, const TxOut& spent);

/**
 * Checks a transaction that passed CheckTransaction, spending `coins` (coins[i] is the coin of
 * input i, found by the caller), in a block at `spend_height`. On success sets fee. Signature
 * checks go to `sink` when given (the caller must then run them all), or are run here.
 * `minted` is what the transaction's market record mints (consensus/market_rules.h): the
 * outputs may exceed the inputs by that much. `pooled` is what it moves into the incentive pool
 * (a penalty close): that much of the inputs is neither output nor fee. Without a sink,
 * signatures run through `cache` when given: one stored there is not verified again, and one
 * that verifies is stored (SigCache::Mode::kRemember); the result is the same either way.
 */
bool CheckTxInputs(const Transaction& tx, std::span<const Coin* const> coins, std::uint32_t spend_height,
                   const Params& params, Amount& fee, ValidationState& state,
                   std::vector<SigCheck>* sink = nullptr, Amount minted = Amount{0}, Amount pooled = Amount{0},
                   crypto::SigCache* cache = nullptr);

}  // namespace wattline::consensus
