// Settlement transactions of a channel, built the way consensus checks them
// (consensus/market_rules.cpp, ApplySettlement; docs/channels.md, "Settlement in consensus").
//
// Every builder takes the channel's id (its funding outpoint) and the channel as the chain holds it (consensus::ChannelState: the funding,
// the current output and its amount, what was posted) and returns the transaction with its
// kind-6 record and the outputs the path must pay; the input's ChannelPath satisfaction is
// left empty for SignClose (or, for a post and a settle, needs no signature at all). A
// builder that returns nullopt names why in `why`: the same amounts would be refused by
// validation (Cc above CwA, a fee the payers cannot cover, no shortfall in the evidence).
//
// The fee floor of a close depends on the incentive pool of the slot the block is in
// (consensus::PoolPayingAt); callers pass `min_fee` = FeeFloor(...) for the height they aim at
// and rebuild when a slot boundary passes before the close confirms.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "consensus/channel.h"
#include "consensus/market_state.h"
#include "consensus/params.h"
#include "consensus/transaction.h"

namespace wattline::channels {

using consensus::ChannelSettlement;
using consensus::ChannelState;
using consensus::MutableTransaction;

/** The condition of the channel's current output (Channel while open, ChannelClose once posted). */
consensus::Condition CurrentCondition(const consensus::ChannelId& id, const ChannelState& ch);
/** The coin the close spends: the current output's amount and condition. */
consensus::TxOut CurrentOutput(const consensus::ChannelId& id, const ChannelState& ch);

/** The least fee a close pays in a block at height (0 while the slot's pool pays). */
std::uint64_t FeeFloor(const consensus::MarketGlobals& g, std::uint32_t height, const consensus::Params& params,
                       std::uint64_t spent_amount);

/** Posts commitment c, signed by A (sig_a) and B (sig_b); the post pays c.fee. */
std::optional<MutableTransaction> BuildPost(const consensus::ChannelId& id, const ChannelState& ch, const consensus::Commitment& c,
                                            const consensus::Signature& sig_a, const consensus::Signature& sig_b,
                                            std::string& why);
/** Pays the posted state after the window; the fee is exactly min_fee. */
std::optional<MutableTransaction> BuildSettle(const consensus::ChannelId& id, const ChannelState& ch, std::uint64_t min_fee,
                                              std::uint64_t dust, std::string& why);
/** The cooperative close of state cc, paying fee (from A, then B); A and B sign it. */
std::optional<MutableTransaction> BuildCooperative(const consensus::ChannelId& id, const ChannelState& ch, std::uint64_t cc, std::uint64_t fee,
                                                   std::uint64_t dust, std::string& why);
/** The expiry close (state 0) signed by signer alone, who pays fee. */
std::optional<MutableTransaction> BuildExpiry(const consensus::ChannelId& id, const ChannelState& ch, consensus::Party signer, std::uint64_t fee,
                                              std::uint64_t dust, std::string& why);
/**
 * A penalty (U + A) or delivered (U + B) close with evidence: the counted readings of A's and
 * B's meter in the delivery interval, in the order the chain counted them (A's first or
 * interleaved; consensus checks each meter's order separately). The split is the one consensus
 * recomputes from the evidence totals.
 */
std::optional<MutableTransaction> BuildEvidenceClose(const consensus::ChannelId& id, const ChannelState& ch, consensus::SettlementPath path,
                                                     std::vector<consensus::Reading> evidence, std::uint64_t fee,
                                                     std::uint64_t dust, std::string& why);

/** The message each signer of the close signs (input 0 spending the channel's current output). */
consensus::Hash256 CloseSighash(const consensus::Params& params, const MutableTransaction& tx, const consensus::ChannelId& id,
                               const ChannelState& ch);

/**
 * Sets input 0's satisfaction to ChannelPath(signers, sigs), sigs in A, B, U order of the
 * signer bits. Call after every output and the record are final (the sighash covers them).
 */
void AttachSignatures(MutableTransaction& tx, std::uint8_t signers, std::vector<consensus::Signature> sigs);

}  // namespace wattline::channels
