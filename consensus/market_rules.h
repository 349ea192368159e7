// The market's consensus rules (docs/market.md, "Rules"): what makes a market record valid,
// and what it changes in the market state.
//
// A transaction carries at most one record. Context-free, CheckMarketShape decodes it and
// checks the transaction's shape (CheckTransaction calls it). Against the market state,
// ApplyMarketRecord checks the record at a height and block time, applies its effects to an
// overlay, and says how many units the transaction mints (grants, production rewards): the
// transaction's outputs may then exceed its inputs by exactly that much (CheckTxInputs).
//
// Shapes:
//   readings    no inputs (a meter has no coins; the readings pay no fee), outputs exactly the
//               production rewards: one output Key(owner) per owner whose meters earned a
//               non-zero reward, in the order the owners first appear in the batch
//   registration  inputs (the utility pays the fee); with a grant, output 0 pays exactly the
//               grant to Key(owner)
//   funding     inputs; output 0 is Channel(A, B, U, T, window) of exactly CwA + CwB + CwU
//   settlement  exactly one input, the channel's current output; a post has one output, its
//               closing output; other paths at most three, Key(A), Key(B), Key(U)
//   others      inputs
#pragma once

#include <cstdint>
#include <vector>

#include "consensus/market_state.h"
#include "consensus/params.h"
#include "consensus/transaction.h"
#include "consensus/tx_verify.h"
#include "consensus/validation.h"

namespace wattline::consensus {

/** Decodes a market record and checks the transaction's shape for it; true for other kinds. */
/**
 * True for the market rejections that depend on the market state a record meets (who is
 * registered, a meter's last reading and registers, the utility key in force, the grants so
 * far): in a block they make it invalid, but a transaction refused by the mempool for one of
 * them may be an honest race (a reading relayed just after it was mined, or before its
 * predecessor, a record signed just before a key rotation). A node never punishes a peer for
 * these, nor remembers the transaction as invalid.
 */
bool DependsOnMarketState(Reason reason);

bool CheckMarketShape(const Transaction& tx, ValidationState& state);

struct MarketContext {
  std::uint32_t height = 0;      //!< of the block holding the transaction (the next block for the mempool)
  std::uint64_t block_time = 0;  //!< its header time (the local clock for the mempool)
};

/**
 * Checks tx's market record (if any) against `state_view` and applies it there. On success
 * sets minted (zero without a market record) and, when given, pooled: the coins a penalty
 * close moves into the incentive pool, which pass to CheckTxInputs so they are not fee. Signature checks go to sink when given (the
 * caller must run them all before trusting the result), or are run here, through `cache` when
 * given (as CheckTxInputs does). On failure the overlay may hold partial writes: discard it.
 */
bool ApplyMarketRecord(const Transaction& tx, const MarketContext& ctx, const Params& params, MarketOverlay& state_view,
                       Amount& minted, ValidationState& state, std::vector<SigCheck>* sink = nullptr,
                       Amount* pooled = nullptr, crypto::SigCache* cache = nullptr);

/**
 * Starts a block at height, before its transactions: at a new slot the coins the pool accrued
 * in the slot before start paying. Returns the pool share the block's coinbase may claim on
 * top of subsidy and fees (docs/channels.md), and records it as paid in the overlay.
 */
Amount ConnectBlockPool(std::uint32_t height, const Params& params, MarketOverlay& ov);

/** What the pool pays in all during the slot of height, given the globals before that block. */
std::uint64_t PoolPayingAt(MarketGlobals g, std::uint32_t height, const Params& params);

/** The pool share a block at height may claim, from the state before it (for block builders). */
Amount PoolShareAt(const MarketStore& store, const Params& params, std::uint32_t height);

/** The reward outputs a readings transaction must have, given the state before it (for builders). */
bool ComputeReadingOutputs(const ReadingBatch& batch, const MarketStore& store, const Params& params,
                           std::vector<TxOut>& outputs, ValidationState& state);

}  // namespace wattline::consensus
