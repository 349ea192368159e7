#include "channels/engine.h"

#include <algorithm>

#include "channels/arbiter.h"
#include "channels/builder.h"
#include "consensus/tx_verify.h"
#include "crypto/hex.h"
#include "crypto/random.h"

namespace wattline::channels {

using namespace consensus;
using Code = EngineResult::Code;

namespace {

EngineResult Err(Code c, std::string m) { return {c, std::move(m)}; }

__extension__ typedef unsigned __int128 u128;  // GCC and Clang

// Sums in 128 bits: a peer's claimed amounts are each below 2^63, but 32 of them are not.
u128 SumCoins(const std::vector<FundingInput>& in) {
  u128 s = 0;
  for (const auto& i : in) s += static_cast<std::uint64_t>(i.coin.amount.units);
  return s;
}
/**
 * Blocks past the end of the funding's slot before A and B give a funding up: a reorganisation
 * deeper than this into the slot could still confirm it (and then the channel comes back).
 */
constexpr std::uint32_t kFundingFailDepth = 6;
std::uint32_t FundingDeadline(const ChannelFunding& f, const Params& params) {
  return (f.slot + 1) * params.slot_blocks + kFundingFailDepth;
}

bool InMoneyRange(std::uint64_t v) { return v <= static_cast<std::uint64_t>(consensus::kMaxMoney.units); }
/** Proposals a producer holds open (coins reserved) for one peer at a time. */
constexpr std::size_t kMaxOpenProposalsPerPeer = 4;
std::uint64_t ChangeOf(const std::optional<TxOut>& c) { return c ? static_cast<std::uint64_t>(c->amount.units) : 0; }

}  // namespace

ChannelEngine::ChannelEngine(ChannelHost& host, ChannelStore& store, EngineOptions options)
    : m_host(host), m_store(store), m_options(std::move(options)), m_records(store.All()) {}

ChannelRecord* ChannelEngine::Find(const Hash256& id) {
  if (auto it = m_records.find(id); it != m_records.end()) return &it->second;
  for (auto& [_, r] : m_records)
    if (r.HasChannelId() && r.channel.txid == id) return &r;
  return nullptr;
}
const ChannelRecord* ChannelEngine::Find(const Hash256& id) const { return const_cast<ChannelEngine*>(this)->Find(id); }

void ChannelEngine::Flush(Outbox& out) {
  for (auto& [peer, msg] : out) m_host.Send(peer, msg);
  out.clear();
}

void ChannelEngine::Fail(Outbox& out, const std::string& peer, const Hash256& id, ErrorCode code,
                         const std::string& text) {
  out.emplace_back(peer, ErrorMsg{id, code, text.substr(0, kMaxErrorText)});
}

bool ChannelEngine::HoldsStateZero(const ChannelRecord& r) const {
  if (r.state != 0 || r.cc != 0) return true;  // a later state was co-signed: so was state 0
  const Commitment zero{r.channel, 0, 0, r.commit_fee};
  return VerifyCommitment(r, zero, r.sig_a, true) && VerifyCommitment(r, zero, r.sig_b, false);
}

bool ChannelEngine::VerifyCommitment(const ChannelRecord& r, const Commitment& c, const Signature& sig,
                                     bool of_a) const {
  return crypto::Verify(of_a ? r.funding.consumer : r.funding.producer, CommitmentSigHash(m_host.params(), c), sig);
}

void ChannelEngine::SendTower(Outbox& out, const ChannelRecord& r) {
  if (m_options.tower.empty()) return;
  out.emplace_back(m_options.tower, TowerUpdateMsg{r.Newest(), r.sig_a, r.sig_b});
}

// --- Operator calls --------------------------------------------------------------------------

EngineResult ChannelEngine::Open(const OpenRequest& req, Hash256& temp_id) {
  Outbox out;
  EngineResult result;
  {
    std::lock_guard lock(m_mutex);
    const ChannelFunding& f = req.funding;
    if (req.peer.empty()) return Err(Code::kInvalidArgument, "no peer to open the channel with");
    if (f.consumer != m_host.Key()) return Err(Code::kInvalidArgument, "the consumer key must be this node's channel key");
    if (f.cwu != 0) return Err(Code::kInvalidArgument, "the utility deposits nothing into channels opened here (CwU = 0)");
    if (f.cwa == 0 || f.cwb == 0) return Err(Code::kInvalidArgument, "CwA and CwB must be positive");
    if (f.cwa + f.cwb < 4 * req.commit_fee)
      return Err(Code::kInvalidArgument, "CwA + CwB must cover four posts' fees (" + std::to_string(req.commit_fee) + " each)");
    ChannelRecord r;
    crypto::GetRandomBytes(r.temp_id.bytes);
    r.role = Role::kConsumer;
    r.phase = Phase::kProposed;
    r.funding = f;
    r.commit_fee = req.commit_fee;
    r.peer = req.peer;
    std::string why;
    if (!m_host.SelectFunding(f.cwa + req.funding_fee, r.a_inputs, r.a_change, why))
      return Err(Code::kFailedPrecondition, "cannot fund CwA " + std::to_string(f.cwa) + ": " + why);
    Persist(r);
    m_records[r.temp_id] = r;
    temp_id = r.temp_id;
    out.emplace_back(r.peer, OpenMsg{r.temp_id, r.funding, r.commit_fee, r.a_inputs, r.a_change});
  }
  Flush(out);
  return result;
}

EngineResult ChannelEngine::Pay(const Hash256& id, std::uint64_t cc) {
  Outbox out;
  {
    std::lock_guard lock(m_mutex);
    ChannelRecord* r = Find(id);
    if (!r) return Err(Code::kNotFound, "no channel " + crypto::HexEncode(id.span()));
    if (r->role != Role::kConsumer) return Err(Code::kFailedPrecondition, "only the consumer (A) pays in a channel");
    if (r->phase != Phase::kOpen) return Err(Code::kFailedPrecondition, std::string("the channel is ") + std::string(PhaseName(r->phase)));
    if (r->pending)
      return Err(Code::kFailedPrecondition, "state " + std::to_string(r->state + 1) + " waits for B's signature");
    if (cc <= r->cc) return Err(Code::kInvalidArgument, "Cc only grows: the newest is " + std::to_string(r->cc));
    if (cc > r->funding.cwa) return Err(Code::kInvalidArgument, "Cc above CwA " + std::to_string(r->funding.cwa));
    if (EngineResult e = Propose(out, *r, cc); !e.ok()) return e;
  }
  Flush(out);
  return {};
}

EngineResult ChannelEngine::Propose(Outbox& out, ChannelRecord& r, std::uint64_t cc) {
  const Commitment next{r.channel, r.state + 1, cc, r.commit_fee};
  auto sig = m_host.Sign(CommitmentSigHash(m_host.params(), next));
  if (!sig) return Err(Code::kFailedPrecondition, "cannot sign: the wallet is locked");
  r.pending = true;
  r.pending_cc = cc;
  r.pending_sig_a = *sig;
  Persist(r);  // before the signature leaves the node
  out.emplace_back(r.peer, UpdateMsg{r.channel, next.state, cc, *sig});
  return {};
}

EngineResult ChannelEngine::Close(const Hash256& id, std::uint64_t fee) {
  Outbox out;
  {
    std::lock_guard lock(m_mutex);
    ChannelRecord* r = Find(id);
    if (!r) return Err(Code::kNotFound, "no channel " + crypto::HexEncode(id.span()));
    if (r->phase != Phase::kOpen) return Err(Code::kFailedPrecondition, std::string("the channel is ") + std::string(PhaseName(r->phase)));
    if (r->pending) return Err(Code::kFailedPrecondition, "an update waits for B's signature: close after it");
    auto onchain = m_host.OnChain(r->channel);
    if (!onchain) return Err(Code::kFailedPrecondition, "the funding is not on chain");
    if (fee == 0) fee = m_options.close_fee;
    fee = std::max(fee, FeeFloor(m_host.Globals(), m_host.TipHeight() + 1, m_host.params(), onchain->amount));
    std::string why;
    auto tx = BuildCooperative(r->channel, *onchain, r->cc, fee, static_cast<std::uint64_t>(m_host.params().channel_dust.units), why);
    if (!tx) return Err(Code::kInvalidArgument, why);
    auto sig = m_host.Sign(CloseSighash(m_host.params(), *tx, r->channel, *onchain));
    if (!sig) return Err(Code::kFailedPrecondition, "cannot sign: the wallet is locked");
    r->close_cc = r->cc;
    r->close_fee = fee;
    (r->role == Role::kConsumer ? r->close_sig_a : r->close_sig_b) = *sig;
    r->phase = Phase::kClosing;
    Persist(*r);
    out.emplace_back(r->peer, CloseMsg{r->channel, r->cc, fee, *sig});
  }
  Flush(out);
  return {};
}

EngineResult ChannelEngine::ForceClose(const Hash256& id, Hash256& txid) {
  std::lock_guard lock(m_mutex);
  ChannelRecord* r = Find(id);
  if (!r) return Err(Code::kNotFound, "no channel " + crypto::HexEncode(id.span()));
  if (r->phase < Phase::kFunding || r->phase == Phase::kClosed || r->phase == Phase::kFailed)
    return Err(Code::kFailedPrecondition, std::string("the channel is ") + std::string(PhaseName(r->phase)));
  auto onchain = m_host.OnChain(r->channel);
  if (!onchain) return Err(Code::kFailedPrecondition, "the funding is not on chain");
  r->phase = Phase::kClosing;
  Persist(*r);
  std::string why;
  if (onchain->status == ChannelStatus::kClosing && onchain->posted_state >= r->state) {
    txid = onchain->current.txid;
    return {};  // posted already (by us or by the other side): the newest we hold is not newer
  }
  auto tx = BuildPost(r->channel, *onchain, r->Newest(), r->sig_a, r->sig_b, why);
  if (!tx) return Err(Code::kInternal, why);
  if (!m_host.Broadcast(*tx, why)) return Err(Code::kFailedPrecondition, "the post was refused: " + why);
  txid = tx->ComputeTxid();
  return {};
}

EngineResult ChannelEngine::Cancel(const Hash256& id) {
  Outbox out;
  {
    std::lock_guard lock(m_mutex);
    ChannelRecord* r = Find(id);
    if (!r) return Err(Code::kNotFound, "no channel " + crypto::HexEncode(id.span()));
    if (r->phase == Phase::kFunding)
      return Err(Code::kFailedPrecondition,
                 "state 0 is co-signed and the funding is out: it confirms, or fails by itself at height " +
                     std::to_string(FundingDeadline(r->funding, m_host.params())) + " if it has not");
    if (r->phase != Phase::kProposed && r->phase != Phase::kAccepted)
      return Err(Code::kFailedPrecondition, std::string("the channel is ") + std::string(PhaseName(r->phase)) +
                                                ": only a proposal can be cancelled");
    FailProposal(*r);
    Fail(out, r->peer, r->temp_id, ErrorCode::kRefused, "the proposal was cancelled");
  }
  Flush(out);
  return {};
}

EngineResult ChannelEngine::RequestArbitration(const Hash256& id, std::uint64_t fee, Hash256& txid) {
  Outbox out;
  {
    std::lock_guard lock(m_mutex);
    ChannelRecord* r = Find(id);
    if (!r) return Err(Code::kNotFound, "no channel " + crypto::HexEncode(id.span()));
    if (r->phase < Phase::kOpen || r->phase >= Phase::kClosed)
      return Err(Code::kFailedPrecondition, std::string("the channel is ") + std::string(PhaseName(r->phase)));
    if (m_options.tower.empty())
      return Err(Code::kFailedPrecondition, "no utility node to co-sign: start the node with --channeltower HOST:PORT");
    auto onchain = m_host.OnChain(r->channel);
    if (!onchain) return Err(Code::kFailedPrecondition, "the funding is not on chain");
    const SettlementPath path = r->role == Role::kConsumer ? SettlementPath::kPenalty : SettlementPath::kDelivered;
    if (fee == 0) fee = m_options.close_fee;
    fee = std::max(fee, FeeFloor(m_host.Globals(), m_host.TipHeight() + 1, m_host.params(), onchain->amount));
    std::string why;
    auto tx = BuildArbitratedClose(m_host, r->channel, *onchain, path, fee, why);
    if (!tx) return Err(Code::kFailedPrecondition, why);
    const Hash256 sighash = CloseSighash(m_host.params(), *tx, r->channel, *onchain);
    auto sig = m_host.Sign(sighash);
    if (!sig) return Err(Code::kFailedPrecondition, "cannot sign: the wallet is locked");
    txid = tx->ComputeTxid();
    m_arbitrations[r->channel] = PendingArbitration{{Arbitration::Status::kWaiting, txid, {}}, *tx, sighash,
                                                    Requester(path), *sig, onchain->funding.utility};
    out.emplace_back(m_options.tower, ArbitrateMsg{r->channel, path, fee, *sig});
    NotifyArbitration(r->channel, m_arbitrations[r->channel].state);
  }
  Flush(out);
  return {};
}

std::optional<ChannelEngine::Arbitration> ChannelEngine::ArbitrationOf(const Hash256& id) const {
  std::lock_guard lock(m_mutex);
  const ChannelRecord* r = Find(id);
  const ChannelId channel = r ? r->channel : ChannelId{id, 0};
  auto it = m_arbitrations.find(channel);
  if (it == m_arbitrations.end()) return std::nullopt;
  return it->second.state;
}

void ChannelEngine::HandleArbitrateAck(const std::string& peer, const ArbitrateAckMsg& m) {
  auto it = m_arbitrations.find(m.channel);
  if (peer != m_options.tower || it == m_arbitrations.end()) return;
  PendingArbitration& p = it->second;
  if (p.state.status != Arbitration::Status::kWaiting) return;
  if (!crypto::Verify(p.utility, p.sighash, m.sig_u)) {
    p.state.status = Arbitration::Status::kRefused;
    p.state.text = "the utility's signature is not valid for the close";
    return NotifyArbitration(m.channel, p.state);
  }
  AttachSignatures(p.tx, SignerBit(p.requester) | SignerBit(Party::kU), {p.sig, m.sig_u});
  std::string why;
  // The utility broadcast it already; this copy only covers a relay that did not reach us.
  if (m_host.Broadcast(p.tx, why) || m_host.OnChain(m.channel) == std::nullopt) {
    p.state.status = Arbitration::Status::kBroadcast;
  } else {
    p.state.status = Arbitration::Status::kRefused;
    p.state.text = "the co-signed close was refused: " + why;
  }
  NotifyArbitration(m.channel, p.state);
}

EngineResult ChannelEngine::ExpiryClose(const ChannelId& id, std::uint64_t fee, Hash256& txid) {
  std::lock_guard lock(m_mutex);
  auto onchain = m_host.OnChain(id);
  if (!onchain) return Err(Code::kNotFound, "no channel " + id.txid.ToHex() + ":" + std::to_string(id.index) + " on chain");
  const ChannelFunding& f = onchain->funding;
  const XOnlyPubKey me = m_host.Key();
  std::optional<Party> signer;
  if (me == f.consumer) signer = Party::kA;
  else if (me == f.producer) signer = Party::kB;
  else if (me == f.utility || m_host.UtilityKey() == f.utility) signer = Party::kU;
  if (!signer) return Err(Code::kFailedPrecondition, "this node's key is none of the channel's A, B and U");
  // U signs with the node's utility key (--utility-key), which need not be its wallet key.
  const bool as_utility = *signer == Party::kU && me != f.utility;
  const std::uint32_t next_height = m_host.TipHeight() + 1;
  if (next_height < f.expiry)
    return Err(Code::kFailedPrecondition, "the channel expires at height " + std::to_string(f.expiry) +
                                              "; the next block is " + std::to_string(next_height));
  if (fee == 0) fee = m_options.close_fee;
  fee = std::max(fee, FeeFloor(m_host.Globals(), next_height, m_host.params(), onchain->amount));
  std::string why;
  auto tx = BuildExpiry(id, *onchain, *signer, fee, static_cast<std::uint64_t>(m_host.params().channel_dust.units), why);
  if (!tx) return Err(Code::kFailedPrecondition, why);
  const Hash256 sighash = CloseSighash(m_host.params(), *tx, id, *onchain);
  auto sig = as_utility ? m_host.SignAsUtility(sighash) : m_host.Sign(sighash);
  if (!sig) return Err(Code::kFailedPrecondition, as_utility ? "cannot sign with the utility key" : "cannot sign: the wallet is locked");
  AttachSignatures(*tx, SignerBit(*signer), {*sig});
  if (!m_host.Broadcast(*tx, why)) return Err(Code::kFailedPrecondition, "the expiry close was refused: " + why);
  txid = tx->ComputeTxid();
  if (ChannelRecord* r = Find(id.txid); r && r->channel == id && r->phase < Phase::kClosing) {
    r->phase = Phase::kClosing;
    Persist(*r);
  }
  return {};
}

// --- Messages --------------------------------------------------------------------------------

std::uint64_t ChannelEngine::Subscribe(std::function<void(const Event&)> listener) {
  std::lock_guard lock(m_listeners_mutex);
  m_listeners.emplace(m_next_listener, std::move(listener));
  return m_next_listener++;
}

void ChannelEngine::Unsubscribe(std::uint64_t id) {
  std::lock_guard lock(m_listeners_mutex);
  m_listeners.erase(id);
}

void ChannelEngine::Notify(const ChannelRecord& r, const std::optional<Arbitration>& arbitration) {
  std::lock_guard lock(m_listeners_mutex);
  if (m_listeners.empty()) return;
  const Event e{r, arbitration};
  for (auto& [_, fn] : m_listeners) fn(e);
}

void ChannelEngine::NotifyArbitration(const ChannelId& channel, const Arbitration& a) {
  for (const auto& [_, r] : m_records)
    if (r.HasChannelId() && r.channel == channel) return Notify(r, a);
}

void ChannelEngine::FailProposal(ChannelRecord& r) {
  r.phase = Phase::kFailed;
  Persist(r);
  m_host.ReleaseFunding(r.role == Role::kConsumer ? r.a_inputs : r.b_inputs);
}

void ChannelEngine::Persist(ChannelRecord& r, bool sync) {
  if (!m_grouping) {
    m_store.Put(r, sync);
    return Notify(r);
  }
  m_group.push_back(r.temp_id);
  m_group_sync = m_group_sync || sync;
}

void ChannelEngine::CommitGroup() {
  std::vector<const ChannelRecord*> records;
  std::sort(m_group.begin(), m_group.end());
  m_group.erase(std::unique(m_group.begin(), m_group.end()), m_group.end());
  for (const Hash256& id : m_group) records.push_back(&m_records.at(id));
  if (!records.empty()) m_store.PutAll(records, m_group_sync);
  for (const ChannelRecord* r : records) Notify(*r);
  m_group.clear();
  m_grouping = m_group_sync = false;
}

void ChannelEngine::Dispatch(Outbox& out, const std::string& peer, const ChannelMessage& msg) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, OpenMsg>) HandleOpen(out, peer, m);
        else if constexpr (std::is_same_v<T, AcceptMsg>) HandleAccept(out, peer, m);
        else if constexpr (std::is_same_v<T, FundingCreatedMsg>) HandleFundingCreated(out, peer, m);
        else if constexpr (std::is_same_v<T, FundingSignedMsg>) HandleFundingSigned(out, peer, m);
        else if constexpr (std::is_same_v<T, UpdateMsg>) HandleUpdate(out, peer, m);
        else if constexpr (std::is_same_v<T, UpdateAckMsg>) HandleUpdateAck(out, peer, m);
        else if constexpr (std::is_same_v<T, CloseMsg>) HandleClose(out, peer, m);
        else if constexpr (std::is_same_v<T, CloseAckMsg>) HandleCloseAck(out, peer, m);
        else if constexpr (std::is_same_v<T, ReestablishMsg>) HandleReestablish(out, peer, m);
        else if constexpr (std::is_same_v<T, StateMsg>) HandleState(out, peer, m);
        else if constexpr (std::is_same_v<T, ArbitrateAckMsg>) HandleArbitrateAck(peer, m);
        else if constexpr (std::is_same_v<T, ErrorMsg>) {
          if (peer == m_options.tower) {
            // The utility refused an arbitration (it names the channel by its txid).
            for (auto& [channel, p] : m_arbitrations)
              if (channel.txid == m.id && p.state.status == Arbitration::Status::kWaiting) {
                p.state.status = Arbitration::Status::kRefused;
                p.state.text = m.text;
                NotifyArbitration(channel, p.state);
              }
          }
          // A refusal before funding ends the proposal; after it, the chain decides.
          if (ChannelRecord* r = Find(m.id); r && r->peer == peer && r->phase < Phase::kFunding) {
            FailProposal(*r);
          }
        }
        // tower_update and arbitrate are for the utility's node (channels/tower.h, channels/arbiter.h).
      },
      msg);
}

void ChannelEngine::OnMessage(const std::string& peer, const ChannelMessage& msg) { OnMessages(peer, {msg}); }

void ChannelEngine::OnMessages(const std::string& peer, const std::vector<ChannelMessage>& msgs) {
  Outbox out;
  {
    std::lock_guard lock(m_mutex);
    for (const ChannelMessage& msg : msgs) {
      // Only updates and acks reply through the outbox alone; the rest may broadcast, so
      // they see every earlier state on disk first.
      const bool groupable = std::holds_alternative<UpdateMsg>(msg) || std::holds_alternative<UpdateAckMsg>(msg);
      if (!groupable && m_grouping) CommitGroup();
      m_grouping = groupable;
      Dispatch(out, peer, msg);
    }
    if (m_grouping) CommitGroup();
  }
  Flush(out);
}

EngineResult ChannelEngine::PayBatch(const std::vector<std::pair<Hash256, std::uint64_t>>& payments) {
  Outbox out;
  EngineResult result;
  {
    std::lock_guard lock(m_mutex);
    m_grouping = true;
    for (const auto& [id, cc] : payments) {
      ChannelRecord* r = Find(id);
      if (!r || r->role != Role::kConsumer || r->phase != Phase::kOpen || r->pending || cc <= r->cc ||
          cc > r->funding.cwa) {
        result = Err(Code::kFailedPrecondition, "channel " + crypto::HexEncode(id.span()) + " cannot take Cc " +
                                                    std::to_string(cc) + " now");
        continue;
      }
      if (EngineResult e = Propose(out, *r, cc); !e.ok()) result = e;
    }
    CommitGroup();
  }
  Flush(out);
  return result;
}

void ChannelEngine::HandleOpen(Outbox& out, const std::string& peer, const OpenMsg& m) {
  if (ChannelRecord* known = Find(m.temp_id)) {
    // A repeated open (A restarted before our accept reached it): answer the same way again.
    if (known->role == Role::kProducer && known->peer == peer && known->phase == Phase::kAccepted)
      out.emplace_back(peer, AcceptMsg{known->temp_id, known->b_inputs, known->b_change});
    return;
  }
  const ChannelFunding& f = m.funding;
  auto refuse = [&](const std::string& why) { Fail(out, peer, m.temp_id, ErrorCode::kRefused, why); };
  if (f.producer != m_host.Key()) return refuse("the producer key is not this node's channel key");
  if (f.utility != m_host.Globals().utility_key) return refuse("U is not the utility key");
  if (f.cwu != 0) return refuse("CwU must be 0");
  if (!InMoneyRange(f.cwa) || !InMoneyRange(f.cwb)) return refuse("CwA and CwB must be at most all money");
  if (f.cwb == 0 || f.cwb > m_options.max_collateral)
    return refuse("collateral must be 1 to " + std::to_string(m_options.max_collateral));
  if (m.commit_fee > (f.cwa + f.cwb) / 4) return refuse("the commit fee is too large for the deposits");
  if (m.inputs.empty()) return refuse("A brings no inputs");
  if (SumCoins(m.inputs) < static_cast<u128>(f.cwa) + ChangeOf(m.change))
    return refuse("A's inputs do not cover CwA and A's change");
  std::size_t open_with_peer = 0;
  for (const auto& [_, other] : m_records)
    if (other.peer == peer && other.role == Role::kProducer && other.phase == Phase::kAccepted) ++open_with_peer;
  if (open_with_peer >= kMaxOpenProposalsPerPeer)
    return refuse("too many proposals from this node wait for their funding (at most " +
                  std::to_string(kMaxOpenProposalsPerPeer) + ")");
  ChannelRecord r;
  r.temp_id = m.temp_id;
  r.role = Role::kProducer;
  r.phase = Phase::kAccepted;
  r.funding = f;
  r.commit_fee = m.commit_fee;
  r.a_inputs = m.inputs;
  r.a_change = m.change;
  r.peer = peer;
  std::string why;
  if (!m_host.SelectFunding(f.cwb, r.b_inputs, r.b_change, why)) return refuse("B cannot fund the collateral: " + why);
  // B pays no fee: its inputs less its change are exactly CwB.
  if (SumCoins(r.b_inputs) != static_cast<u128>(f.cwb) + ChangeOf(r.b_change))
    return refuse("B's coins do not add up");
  Persist(r);
  m_records[r.temp_id] = r;
  out.emplace_back(peer, AcceptMsg{r.temp_id, r.b_inputs, r.b_change});
}

void ChannelEngine::HandleAccept(Outbox& out, const std::string& peer, const AcceptMsg& m) {
  ChannelRecord* r = Find(m.temp_id);
  if (!r || r->role != Role::kConsumer || r->peer != peer) return Fail(out, peer, m.temp_id, ErrorCode::kUnknownChannel, "no proposal");
  if (r->phase == Phase::kFunding || r->phase == Phase::kOpen) {
    if (r->b_inputs == m.inputs && r->b_change == m.change)  // repeated: resend our signature of state 0
      if (auto sig = m_host.Sign(CommitmentSigHash(m_host.params(), Commitment{r->channel, 0, 0, r->commit_fee})))
        out.emplace_back(peer, FundingCreatedMsg{r->temp_id, *sig});
    return;
  }
  if (r->phase != Phase::kProposed) return;
  if (m.inputs.empty() || SumCoins(m.inputs) != static_cast<u128>(r->funding.cwb) + ChangeOf(m.change))
    return Fail(out, peer, m.temp_id, ErrorCode::kRefused, "B's inputs less its change must be exactly CwB");
  r->b_inputs = m.inputs;
  r->b_change = m.change;
  r->channel = ChannelId{FundingTransaction(*r).ComputeTxid(), 0};
  const Commitment zero{r->channel, 0, 0, r->commit_fee};
  auto sig = m_host.Sign(CommitmentSigHash(m_host.params(), zero));
  if (!sig) return Fail(out, peer, m.temp_id, ErrorCode::kInternal, "A's wallet is locked");
  r->sig_a = *sig;
  r->phase = Phase::kAccepted;
  Persist(*r);
  out.emplace_back(peer, FundingCreatedMsg{r->temp_id, *sig});
}

void ChannelEngine::HandleFundingCreated(Outbox& out, const std::string& peer, const FundingCreatedMsg& m) {
  ChannelRecord* r = Find(m.temp_id);
  if (!r || r->role != Role::kProducer || r->peer != peer)
    return Fail(out, peer, m.temp_id, ErrorCode::kUnknownChannel, "no accepted proposal");
  const MutableTransaction funding = FundingTransaction(*r);
  const ChannelId channel{funding.ComputeTxid(), 0};
  const Commitment zero{channel, 0, 0, r->commit_fee};
  if (!crypto::Verify(r->funding.consumer, CommitmentSigHash(m_host.params(), zero), m.sig_a))
    return Fail(out, peer, m.temp_id, ErrorCode::kBadSignature, "A's signature of state 0 does not verify");
  if (r->phase == Phase::kAccepted) {
    auto sig_b = m_host.Sign(CommitmentSigHash(m_host.params(), zero));
    if (!sig_b) return Fail(out, peer, m.temp_id, ErrorCode::kInternal, "B's wallet is locked");
    r->channel = channel;
    r->sig_a = m.sig_a;
    r->sig_b = *sig_b;
    r->phase = Phase::kFunding;
    Persist(*r);  // state 0 co-signed before B's funding signatures leave
  } else if (r->phase != Phase::kFunding) {
    return;
  }
  std::vector<Signature> input_sigs;
  std::string why;
  if (!m_host.SignInputs(funding, r->a_inputs.size(), r->b_inputs.size(), input_sigs, why))
    return Fail(out, peer, m.temp_id, ErrorCode::kInternal, "B cannot sign its inputs: " + why);
  out.emplace_back(peer, FundingSignedMsg{r->temp_id, r->sig_b, std::move(input_sigs)});
}

void ChannelEngine::HandleFundingSigned(Outbox& out, const std::string& peer, const FundingSignedMsg& m) {
  ChannelRecord* r = Find(m.temp_id);
  if (!r || r->role != Role::kConsumer || r->peer != peer)
    return Fail(out, peer, m.temp_id, ErrorCode::kUnknownChannel, "no proposal");
  if (r->phase != Phase::kAccepted) return;  // repeated: the funding is out already
  const Commitment zero{r->channel, 0, 0, r->commit_fee};
  if (!VerifyCommitment(*r, zero, m.sig_b, false))
    return Fail(out, peer, m.temp_id, ErrorCode::kBadSignature, "B's signature of state 0 does not verify");
  MutableTransaction funding = FundingTransaction(*r);
  const std::size_t na = r->a_inputs.size();
  if (m.input_sigs.size() != r->b_inputs.size())
    return Fail(out, peer, m.temp_id, ErrorCode::kBadSignature, "one signature per B input");
  const Hash256 txid = funding.ComputeTxid();
  for (std::size_t i = 0; i < m.input_sigs.size(); ++i) {
    const FundingInput& in = r->b_inputs[i];
    if (in.coin.condition.type != ConditionType::kKey ||
        !crypto::Verify(in.coin.condition.keys.at(0), SignatureHash(m_host.params(), txid, static_cast<std::uint32_t>(na + i), in.coin),
                        m.input_sigs[i]))
      return Fail(out, peer, m.temp_id, ErrorCode::kBadSignature, "B's input signature " + std::to_string(i) + " does not verify");
    funding.inputs[na + i].satisfaction = Satisfaction::Sig(m.input_sigs[i]);
  }
  r->sig_b = m.sig_b;
  r->phase = Phase::kFunding;
  Persist(*r);  // state 0 co-signed before A's own funding signatures exist
  std::vector<Signature> own;
  std::string why;
  if (!m_host.SignInputs(funding, 0, na, own, why))
    return Fail(out, peer, m.temp_id, ErrorCode::kInternal, "A cannot sign its inputs: " + why);
  for (std::size_t i = 0; i < na; ++i) funding.inputs[i].satisfaction = Satisfaction::Sig(own[i]);
  r->funding_tx = EncodeTransaction(Transaction(funding));
  Persist(*r);
  if (!BroadcastFunding(*r, why)) Fail(out, peer, m.temp_id, ErrorCode::kInternal, "the funding was refused: " + why);
}

bool ChannelEngine::BroadcastFunding(ChannelRecord& r, std::string& why) {
  TransactionRef tx;
  if (r.funding_tx.empty() || DecodeTransaction(r.funding_tx, tx) != DecodeError::kOk) return why = "no funding transaction", false;
  return m_host.Broadcast(tx->data(), why);
}

void ChannelEngine::HandleUpdate(Outbox& out, const std::string& peer, const UpdateMsg& m) {
  ChannelRecord* r = Find(m.channel.txid);
  if (!r || r->role != Role::kProducer || r->peer != peer || r->channel != m.channel)
    return Fail(out, peer, m.channel.txid, ErrorCode::kUnknownChannel, "no such channel with this node");
  // kFunding too: A may see the funding confirm a block before B does; a co-signed state of a
  // channel not yet on chain costs B nothing.
  if (r->phase != Phase::kOpen && r->phase != Phase::kFunding)
    return Fail(out, peer, m.channel.txid, ErrorCode::kBadState, "the channel is not open");
  if (m.state == r->state && m.cc == r->cc && r->state > 0) {
    out.emplace_back(peer, UpdateAckMsg{r->channel, r->state, r->sig_b});  // repeated: A lost our ack
    return;
  }
  if (m.state != r->state + 1 || m.cc <= r->cc || m.cc > r->funding.cwa)
    return Fail(out, peer, m.channel.txid, ErrorCode::kBadState,
                "state " + std::to_string(m.state) + " does not follow " + std::to_string(r->state) +
                    " with a larger Cc up to CwA");
  const Commitment next{r->channel, m.state, m.cc, r->commit_fee};
  if (!VerifyCommitment(*r, next, m.sig_a, true))
    return Fail(out, peer, m.channel.txid, ErrorCode::kBadSignature, "A's signature does not verify");
  auto sig = m_host.Sign(CommitmentSigHash(m_host.params(), next));
  if (!sig) return Fail(out, peer, m.channel.txid, ErrorCode::kInternal, "B's wallet is locked");
  r->state = m.state;
  r->cc = m.cc;
  r->sig_a = m.sig_a;
  r->sig_b = *sig;
  Persist(*r);  // before B's signature leaves
  out.emplace_back(peer, UpdateAckMsg{r->channel, r->state, *sig});
  SendTower(out, *r);
}

void ChannelEngine::HandleUpdateAck(Outbox& out, const std::string& peer, const UpdateAckMsg& m) {
  ChannelRecord* r = Find(m.channel.txid);
  if (!r || r->role != Role::kConsumer || r->peer != peer || r->channel != m.channel) return;
  if (!r->pending || m.state != r->state + 1) return;  // repeated or stale
  const Commitment next{r->channel, m.state, r->pending_cc, r->commit_fee};
  if (!VerifyCommitment(*r, next, m.sig_b, false))
    return Fail(out, peer, m.channel.txid, ErrorCode::kBadSignature, "B's signature does not verify");
  r->state = m.state;
  r->cc = r->pending_cc;
  r->sig_a = r->pending_sig_a;
  r->sig_b = m.sig_b;
  r->pending = false;
  // Not synced: lost in a crash, it comes back from B (A resends its pending update, B its
  // ack), and A's own older state only ever favours A, so A risks nothing meanwhile.
  Persist(*r, /*sync=*/false);
  SendTower(out, *r);
}

void ChannelEngine::HandleClose(Outbox& out, const std::string& peer, const CloseMsg& m) {
  ChannelRecord* r = Find(m.channel.txid);
  if (!r || r->peer != peer || r->channel != m.channel)
    return Fail(out, peer, m.channel.txid, ErrorCode::kUnknownChannel, "no such channel with this node");
  if (r->phase == Phase::kClosing && r->close_signed) {
    const Signature& mine = r->role == Role::kConsumer ? r->close_sig_a : r->close_sig_b;
    out.emplace_back(peer, CloseAckMsg{r->channel, mine});  // repeated
    return;
  }
  if (r->phase != Phase::kOpen && r->phase != Phase::kClosing)
    return Fail(out, peer, m.channel.txid, ErrorCode::kBadState, "the channel is not open");
  if (m.cc != r->cc || r->pending)
    return Fail(out, peer, m.channel.txid, ErrorCode::kBadState,
                "the close must pay the newest state, Cc " + std::to_string(r->cc));
  auto onchain = m_host.OnChain(r->channel);
  std::string why;
  auto tx = onchain ? BuildCooperative(r->channel, *onchain, m.cc, m.fee,
                                       static_cast<std::uint64_t>(m_host.params().channel_dust.units), why)
                    : std::nullopt;
  if (!tx) return Fail(out, peer, m.channel.txid, ErrorCode::kBadState, onchain ? why : "the funding is not on chain");
  const Hash256 msg = CloseSighash(m_host.params(), *tx, r->channel, *onchain);
  const bool we_are_a = r->role == Role::kConsumer;
  if (!crypto::Verify(we_are_a ? r->funding.producer : r->funding.consumer, msg, m.sig))
    return Fail(out, peer, m.channel.txid, ErrorCode::kBadSignature, "the close signature does not verify");
  auto sig = m_host.Sign(msg);
  if (!sig) return Fail(out, peer, m.channel.txid, ErrorCode::kInternal, "the wallet is locked");
  r->close_cc = m.cc;
  r->close_fee = m.fee;
  r->close_sig_a = we_are_a ? *sig : m.sig;
  r->close_sig_b = we_are_a ? m.sig : *sig;
  r->close_signed = true;
  r->phase = Phase::kClosing;
  Persist(*r);
  out.emplace_back(peer, CloseAckMsg{r->channel, *sig});
  BroadcastCooperative(*r, why);
}

void ChannelEngine::HandleCloseAck(Outbox& out, const std::string& peer, const CloseAckMsg& m) {
  ChannelRecord* r = Find(m.channel.txid);
  if (!r || r->peer != peer || r->channel != m.channel || r->phase != Phase::kClosing || r->close_signed) return;
  auto onchain = m_host.OnChain(r->channel);
  std::string why;
  auto tx = onchain ? BuildCooperative(r->channel, *onchain, r->close_cc, r->close_fee,
                                       static_cast<std::uint64_t>(m_host.params().channel_dust.units), why)
                    : std::nullopt;
  if (!tx) return;
  const bool we_are_a = r->role == Role::kConsumer;
  if (!crypto::Verify(we_are_a ? r->funding.producer : r->funding.consumer,
                      CloseSighash(m_host.params(), *tx, r->channel, *onchain), m.sig))
    return Fail(out, peer, m.channel.txid, ErrorCode::kBadSignature, "the close signature does not verify");
  (we_are_a ? r->close_sig_b : r->close_sig_a) = m.sig;
  r->close_signed = true;
  Persist(*r);
  BroadcastCooperative(*r, why);
}

bool ChannelEngine::BroadcastCooperative(ChannelRecord& r, std::string& why) {
  auto onchain = m_host.OnChain(r.channel);
  if (!onchain) return why = "the channel is not on chain", false;
  auto tx = BuildCooperative(r.channel, *onchain, r.close_cc, r.close_fee,
                             static_cast<std::uint64_t>(m_host.params().channel_dust.units), why);
  if (!tx) return false;
  AttachSignatures(*tx, SignerBit(Party::kA) | SignerBit(Party::kB), {r.close_sig_a, r.close_sig_b});
  return m_host.Broadcast(*tx, why);
}

void ChannelEngine::HandleReestablish(Outbox& out, const std::string& peer, const ReestablishMsg& m) {
  ChannelRecord* r = Find(m.channel.txid);
  if (!r || r->peer != peer || r->channel != m.channel) return;
  if (r->role == Role::kProducer && m.state + 1 == r->state && r->state > 0)
    out.emplace_back(peer, UpdateAckMsg{r->channel, r->state, r->sig_b});
  // The peer is behind (restored from an old backup, or it lost an unsynced acknowledgement):
  // it gets the newest co-signed state, so that it never posts or pays from a stale one.
  if (m.state < r->state) out.emplace_back(peer, StateMsg{r->Newest(), r->sig_a, r->sig_b});
  // The peer is ahead: tell it where this side stands, so that it answers with its state (the
  // peer's reestablish may have been sent before this side's own, or this side's was lost).
  if (m.state > r->state + (r->pending ? 1 : 0)) out.emplace_back(peer, ReestablishMsg{r->channel, r->state});
  if (r->role == Role::kConsumer && r->pending && m.state <= r->state + 1)
    out.emplace_back(peer, UpdateMsg{r->channel, r->state + 1, r->pending_cc, r->pending_sig_a});
  if (r->phase == Phase::kClosing && !r->close_signed && r->close_fee > 0) {
    const Signature& mine = r->role == Role::kConsumer ? r->close_sig_a : r->close_sig_b;
    out.emplace_back(peer, CloseMsg{r->channel, r->close_cc, r->close_fee, mine});
  }
}

void ChannelEngine::HandleState(Outbox& out, const std::string& peer, const StateMsg& m) {
  const Commitment& c = m.commitment;
  ChannelRecord* r = Find(c.channel.txid);
  if (!r || r->peer != peer || r->channel != c.channel) return;
  if (r->phase < Phase::kFunding || r->phase >= Phase::kClosed || c.state <= r->state) return;  // not newer
  if (c.fee != r->commit_fee || c.cc < r->cc || c.cc > r->funding.cwa)
    return Fail(out, peer, c.channel.txid, ErrorCode::kBadState,
                "state " + std::to_string(c.state) + " does not fit the channel (fee, or Cc below " +
                    std::to_string(r->cc) + " or above CwA)");
  if (!VerifyCommitment(*r, c, m.sig_a, true) || !VerifyCommitment(*r, c, m.sig_b, false))
    return Fail(out, peer, c.channel.txid, ErrorCode::kBadSignature, "a signature of the state does not verify");
  // Both signatures verify, this side's own included: it agreed to this state once, and a newer
  // state supersedes any pending one (A's pending state was at most this one).
  r->state = c.state;
  r->cc = c.cc;
  r->sig_a = m.sig_a;
  r->sig_b = m.sig_b;
  r->pending = false;
  Persist(*r);
  SendTower(out, *r);
}

void ChannelEngine::OnPeerConnected(const std::string& peer) {
  Outbox out;
  {
    std::lock_guard lock(m_mutex);
    for (auto& [_, r] : m_records) {
      if (r.peer != peer) continue;
      if (r.phase == Phase::kProposed && r.role == Role::kConsumer)
        out.emplace_back(peer, OpenMsg{r.temp_id, r.funding, r.commit_fee, r.a_inputs, r.a_change});
      else if (r.phase == Phase::kAccepted && r.role == Role::kConsumer)
        out.emplace_back(peer, FundingCreatedMsg{r.temp_id, r.sig_a});
      else if (r.phase == Phase::kOpen || r.phase == Phase::kClosing)
        out.emplace_back(peer, ReestablishMsg{r.channel, r.state});
    }
  }
  Flush(out);
}

// --- Blocks ----------------------------------------------------------------------------------

bool ChannelEngine::PostNewest(ChannelRecord& r, const ChannelState& onchain, std::string& why) {
  auto tx = BuildPost(r.channel, onchain, r.Newest(), r.sig_a, r.sig_b, why);
  return tx && m_host.Broadcast(*tx, why);
}

void ChannelEngine::OnBlock() {
  Outbox out;
  {
    std::lock_guard lock(m_mutex);
    OnBlockLocked(out);
  }
  Flush(out);
}

void ChannelEngine::OnBlockLocked(Outbox& out) {
  const std::uint32_t next_height = m_host.TipHeight() + 1;
  const Params& params = m_host.params();
  const std::uint32_t next_slot = SlotOfHeight(next_height, params);
  for (auto& [_, r] : m_records) {
    if (r.phase == Phase::kFailed) {
      // A funding that confirmed after all (a reorganisation back into its slot) brings the
      // channel back; looked for only while such a reorganisation is plausible.
      if (r.HasChannelId() && next_height < FundingDeadline(r.funding, params) + 100 && m_host.OnChain(r.channel) &&
          HoldsStateZero(r)) {
        r.phase = Phase::kOpen;
        Persist(r);
      }
      continue;
    }
    if (r.phase < Phase::kFunding) {
      // The funding record names its slot: once that slot is over, the proposal cannot fund.
      if (next_slot > r.funding.slot) FailProposal(r);
      continue;
    }
    if (r.phase >= Phase::kClosed) continue;
    auto onchain = m_host.OnChain(r.channel);
    std::string why;
    if (r.phase == Phase::kFunding) {
      if (onchain) {
        r.phase = Phase::kOpen;
        Persist(r);
      } else if (next_height >= FundingDeadline(r.funding, params)) {
        // Its slot ended kFundingFailDepth blocks ago without it: it never will confirm, and
        // no coin is locked (every input is still the owner's).
        FailProposal(r);
      } else if (r.role == Role::kConsumer) {
        BroadcastFunding(r, why);  // every block until it confirms
      }
      continue;
    }
    if (!onchain) {
      // Funded once (kOpen or later) and gone from the market state: settled.
      r.phase = Phase::kClosed;
      Persist(r);
      continue;
    }
    if (onchain->status == ChannelStatus::kClosing) {
      if (r.phase != Phase::kClosing) {
        r.phase = Phase::kClosing;
        Persist(r);
      }
      if (onchain->posted_state < r.state) {
        PostNewest(r, *onchain, why);  // supersede the stale post
      } else if (next_height >= onchain->posted_height + r.funding.contest_window) {
        const std::uint64_t floor = FeeFloor(m_host.Globals(), next_height, params, onchain->amount);
        if (auto tx = BuildSettle(r.channel, *onchain, floor, static_cast<std::uint64_t>(params.channel_dust.units), why))
          m_host.Broadcast(*tx, why);
      }
      continue;
    }
    if (r.phase == Phase::kClosing) {
      if (r.close_signed) BroadcastCooperative(r, why);  // rebroadcast until it confirms
      continue;
    }
    if (r.role == Role::kConsumer && r.phase == Phase::kOpen && r.pending) {
      // Still unsigned: resend it (lost, or refused while B had not seen the funding yet).
      out.emplace_back(r.peer, UpdateMsg{r.channel, r.state + 1, r.pending_cc, r.pending_sig_a});
      continue;
    }
    if (m_options.pay_as_metered && r.role == Role::kConsumer && r.phase == Phase::kOpen && !r.pending) {
      // What A's meter received in the interval, as counted on chain, up to the energy asked.
      const std::uint64_t wh = std::min(onchain->import_a_wh, r.funding.energy_wh);
      const std::uint64_t due = std::min(EnergyCost(wh, r.funding.price).value_or(r.funding.cwa), r.funding.cwa);
      if (due > r.cc) Propose(out, r, due);
    }
  }
}

std::optional<ChannelRecord> ChannelEngine::Get(const Hash256& id) const {
  std::lock_guard lock(m_mutex);
  const ChannelRecord* r = Find(id);
  return r ? std::optional(*r) : std::nullopt;
}

std::vector<ChannelRecord> ChannelEngine::List() const {
  std::lock_guard lock(m_mutex);
  std::vector<ChannelRecord> out;
  for (const auto& [_, r] : m_records) out.push_back(r);
  return out;
}

}  // namespace wattline::channels
