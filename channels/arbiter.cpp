#include "channels/arbiter.h"

#include "channels/builder.h"
#include "consensus/channel.h"
#include "consensus/condition.h"
#include "crypto/schnorr.h"

namespace wattline::channels {

using namespace consensus;

namespace {

/** How many readings of one meter the host is asked for: far more than an interval holds in practice. */
constexpr std::size_t kMaxCandidates = 20'000;

// The chain folded the first `count` readings it counted after the funding; readings counted
// in the interval before the funding come first in interval order, so the folded ones are the
// contiguous run whose accumulator matches.
bool FindRun(const std::vector<Reading>& counted, const ChannelFunding& f, std::uint32_t count, const Hash256& acc,
             std::vector<Reading>& out) {
  std::vector<Reading> in;
  for (const Reading& r : counted)
    if (InDeliveryInterval(r, f.delivery_start, f.delivery_end)) in.push_back(r);
  if (count == 0) return true;
  for (std::size_t k = 0; k + count <= in.size(); ++k) {
    Hash256 a;
    for (std::size_t i = k; i < k + count; ++i) a = AccumulateEvidence(a, in[i]);
    if (a == acc) {
      out.insert(out.end(), in.begin() + static_cast<std::ptrdiff_t>(k), in.begin() + static_cast<std::ptrdiff_t>(k + count));
      return true;
    }
  }
  return false;
}

ErrorMsg Refuse(const ChannelId& id, ErrorCode code, std::string text) {
  return ErrorMsg{id.txid, code, text.substr(0, kMaxErrorText)};
}

}  // namespace

Party Requester(SettlementPath path) { return path == SettlementPath::kDelivered ? Party::kB : Party::kA; }

std::optional<std::vector<Reading>> CollectEvidence(const ChannelState& ch, const std::vector<Reading>& a_counted,
                                                    const std::vector<Reading>& b_counted, std::string& why) {
  if (ch.count_a == 0 && ch.count_b == 0)
    return why = "the chain counted no reading of either meter in the delivery interval: there is no evidence", std::nullopt;
  std::vector<Reading> out;
  if (!FindRun(a_counted, ch.funding, ch.count_a, ch.evidence_a, out))
    return why = "the reading index does not hold the " + std::to_string(ch.count_a) +
                 " readings of A's meter the chain counted (is it behind the chain?)",
           std::nullopt;
  if (!FindRun(b_counted, ch.funding, ch.count_b, ch.evidence_b, out))
    return why = "the reading index does not hold the " + std::to_string(ch.count_b) +
                 " readings of B's meter the chain counted (is it behind the chain?)",
           std::nullopt;
  return out;
}

std::optional<MutableTransaction> BuildArbitratedClose(const ChannelHost& host, const ChannelId& id, const ChannelState& ch,
                                                       SettlementPath path, std::uint64_t fee, std::string& why) {
  if (path != SettlementPath::kPenalty && path != SettlementPath::kDelivered)
    return why = "only a penalty or a delivered close is arbitrated", std::nullopt;
  const ChannelFunding& f = ch.funding;
  if (host.TipTime() < f.delivery_end)
    return why = "the delivery interval ends at " + std::to_string(f.delivery_end) + "; the chain's tip is at " +
                 std::to_string(host.TipTime()),
           std::nullopt;
  const auto a = host.CountedReadings(f.consumer_meter, f.delivery_start, kMaxCandidates);
  const auto b = host.CountedReadings(f.producer_meter, f.delivery_start, kMaxCandidates);
  auto evidence = CollectEvidence(ch, a, b, why);
  if (!evidence) return std::nullopt;
  return BuildEvidenceClose(id, ch, path, std::move(*evidence), fee,
                            static_cast<std::uint64_t>(host.params().channel_dust.units), why);
}

ChannelMessage Arbiter::Handle(const ArbitrateMsg& m) {
  const auto ch = m_host.OnChain(m.channel);
  if (!ch) return Refuse(m.channel, ErrorCode::kUnknownChannel, "the channel is not on this node's chain (settled, or never funded)");
  if (const auto u = m_host.UtilityKey(); !u || ch->funding.utility != *u)
    return Refuse(m.channel, ErrorCode::kRefused, "this node does not hold the channel's utility key");
  std::string why;
  auto tx = BuildArbitratedClose(m_host, m.channel, *ch, m.path, m.fee, why);
  if (!tx) return Refuse(m.channel, ErrorCode::kRefused, why);
  const Hash256 sighash = CloseSighash(m_host.params(), *tx, m.channel, *ch);
  const Party requester = Requester(m.path);
  const XOnlyPubKey& key = requester == Party::kA ? ch->funding.consumer : ch->funding.producer;
  if (!crypto::Verify(key, sighash, m.sig))
    return Refuse(m.channel, ErrorCode::kBadSignature,
                  std::string("the signature is not ") + (requester == Party::kA ? "A" : "B") +
                      "'s of the close this node builds at height " + std::to_string(m_host.TipHeight()) + " (" +
                      std::to_string(ch->count_a) + " readings of A's meter, " + std::to_string(ch->count_b) +
                      " of B's): are both nodes at the same tip?");
  auto sig_u = m_host.SignAsUtility(sighash);
  if (!sig_u) return Refuse(m.channel, ErrorCode::kInternal, "this node cannot sign with the utility key");
  AttachSignatures(*tx, SignerBit(requester) | SignerBit(Party::kU), {m.sig, *sig_u});
  if (!m_host.Broadcast(*tx, why)) return Refuse(m.channel, ErrorCode::kRefused, "the close was refused: " + why);
  return ArbitrateAckMsg{m.channel, *sig_u};
}

}  // namespace wattline::channels
