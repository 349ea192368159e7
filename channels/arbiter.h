// Penalty and delivered closes (docs/channels.md, "Arbitrated closes"): the two settlement
// paths the utility co-signs, backed by the meter readings the chain counted.
//
//   A (penalty) or B (delivered)                         U (the utility's node)
//   builds the close from its chain's counted readings
//   signs it ───────────── arbitrate(channel, path, fee, sig) ──▶ builds the same close from
//                                                                 its own chain; the sender's
//                                                                 signature must be valid for
//                                                                 exactly that transaction;
//                                                                 signs, broadcasts
//        ◀──────────────────────────── arbitrate_ack(U's signature)
//   attaches both signatures, broadcasts too
//
// The message carries no transaction and no readings: U trusts nothing of the sender but its
// signature, so a close with forged, uncounted or missing evidence is never co-signed (and
// consensus would refuse it anyway, market_rules.cpp CheckEvidence). Both nodes must be at the
// same tip; a refusal says which evidence U found so the sender can tell.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "channels/engine.h"
#include "channels/messages.h"
#include "consensus/transaction.h"

namespace wattline::channels {

/**
 * The evidence of a penalty or delivered close: the readings of A's meter, then of B's, that
 * the chain folded into the channel's accumulators (ChannelState evidence_a / evidence_b), found
 * among each meter's counted readings in the delivery interval. nullopt with why when they are
 * not all there (a reading index behind the chain) or when nothing was counted.
 */
std::optional<std::vector<consensus::Reading>> CollectEvidence(const consensus::ChannelState& ch,
                                                               const std::vector<consensus::Reading>& a_counted,
                                                               const std::vector<consensus::Reading>& b_counted,
                                                               std::string& why);

/**
 * The penalty or delivered close of channel id as the host's chain shows it: the evidence from
 * the host's counted readings, paying fee. Refused (nullopt, why) before delivery_end, without
 * a shortfall (penalty), or when the shares cannot pay the fee.
 */
std::optional<consensus::MutableTransaction> BuildArbitratedClose(const ChannelHost& host, const ChannelId& id,
                                                                  const consensus::ChannelState& ch,
                                                                  consensus::SettlementPath path, std::uint64_t fee,
                                                                  std::string& why);

/** The party that asks for a path: A for a penalty, B for delivered. */
consensus::Party Requester(consensus::SettlementPath path);

/**
 * The utility's side: answers an arbitrate message with arbitrate_ack (after broadcasting the
 * close) or with an error naming the refusal. Stateless; thread-safe as the host is.
 */
class Arbiter {
 public:
  explicit Arbiter(ChannelHost& host) : m_host(host) {}
  ChannelMessage Handle(const ArbitrateMsg& m);

 private:
  ChannelHost& m_host;
};

}  // namespace wattline::channels
