// The channel engine (docs/channels.md, "The engine"): both sides of a channel's life off
// chain, driven by three kinds of events (an operator call, a message from the other node,
// a new block) and persisting every state before any signature of it leaves the node.
//
//   A (consumer)                              B (producer)
//   Open ─ persist kProposed ── open ───────▶ checks; funds CwB; persist kAccepted
//        ◀──────────────────────────────── accept
//   builds the funding tx (txid known, unsigned)
//   signs commitment 0 ─ funding_created ──▶ verifies; signs state 0 and its inputs;
//                                             persist kFunding (state 0 co-signed)
//        ◀────────────────────────── funding_signed
//   verifies; persist kFunding; signs its inputs, broadcasts the funding
//   ... the funding confirms: both kOpen ...
//   Pay(Cc') ─ persist pending n+1 ── update ▶ verifies; signs; persist n+1
//        ◀──────────────────────────────── update_ack (and tower_update to U)
//   persist n+1 (and tower_update to U)
//   Close(fee) ─ persist close ─── close ───▶ same state? signs; persist; broadcasts
//        ◀──────────────────────────────── close_ack: broadcasts too
//
// A crash anywhere leaves each side with the newest state it holds with both signatures, and
// A with at most one pending state it signed; on reconnect `reestablish` makes the side that
// is behind catch up (A resends its pending update, B its last ack). Unilaterally, either
// side posts its newest co-signed state (ForceClose); on every block the engine supersedes a
// stale post of the other side, settles after the window, and notices the end of a channel.
//
// Updates come from A only (A pays; Cc only grows), so there is never a race between two
// proposals. The engine is thread-safe: one mutex guards the records, and messages are sent
// after it is released (a host may deliver a reply synchronously).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "channels/channel_record.h"
#include "channels/store.h"
#include "consensus/market_state.h"
#include "consensus/params.h"

namespace wattline::channels {

/** What the engine needs of its node: the chain, the wallet's keys and coins, and the P2P transport. */
class ChannelHost {
 public:
  virtual ~ChannelHost() = default;
  virtual const consensus::Params& params() const = 0;
  virtual std::uint32_t TipHeight() const = 0;
  /** The tip block's timestamp (Unix seconds): a penalty or delivered close waits for delivery_end. */
  virtual std::uint64_t TipTime() const = 0;
  /**
   * The readings of meter the active chain counted with start >= from_start, in interval order
   * (which is chain order: a meter's intervals only move forward), at most limit: the evidence
   * of penalty and delivered closes (channels/arbiter.h).
   */
  virtual std::vector<consensus::Reading> CountedReadings(const consensus::MeterId& meter, std::uint64_t from_start,
                                                          std::size_t limit) const = 0;
  virtual consensus::MarketGlobals Globals() const = 0;
  /** The channel as the chain's market state holds it at the tip; nullopt once settled (or never funded). */
  virtual std::optional<consensus::ChannelState> OnChain(const ChannelId& id) const = 0;
  /** Submits to the mempool and relays; false with why when refused. */
  virtual bool Broadcast(const consensus::MutableTransaction& tx, std::string& why) = 0;
  /** Sends to the node at peer (host:port); fire and forget (reestablish covers losses). */
  virtual void Send(const std::string& peer, const ChannelMessage& msg) = 0;

  /** This node's channel key: the key that owns its meter. */
  virtual crypto::XOnlyPubKey Key() const = 0;
  /** Signs msg with the channel key; nullopt when it cannot (wallet locked). */
  virtual std::optional<Signature> Sign(const Hash256& msg) = 0;
  /**
   * The utility key this node holds (`--utility-key`): the watchtower watches, and the arbiter
   * co-signs for, channels whose U it is. nullopt on a node that is not the utility's.
   */
  virtual std::optional<crypto::XOnlyPubKey> UtilityKey() const { return std::nullopt; }
  /** Signs msg with the utility key; nullopt without one. */
  virtual std::optional<Signature> SignAsUtility(const Hash256& /*msg*/) { return std::nullopt; }
  /** Selects and reserves coins worth at least amount; the change returns to the wallet. */
  virtual bool SelectFunding(std::uint64_t amount, std::vector<FundingInput>& inputs,
                             std::optional<consensus::TxOut>& change, std::string& why) = 0;
  /** Gives back coins SelectFunding reserved, when their proposal failed. */
  virtual void ReleaseFunding(const std::vector<FundingInput>& /*inputs*/) {}
  /** Signs inputs [first, first + count) of tx (the wallet's own coins); false when it cannot. */
  virtual bool SignInputs(const consensus::MutableTransaction& tx, std::size_t first, std::size_t count,
                          std::vector<Signature>& sigs, std::string& why) = 0;
};

struct EngineOptions {
  /** The utility's watchtower node (host:port) that receives every co-signed state; empty: none. */
  std::string tower;
  /** The most collateral B puts into one channel. */
  std::uint64_t max_collateral = 1'000'000'000;
  /** The fee of the cooperative close each side proposes when none is given. */
  std::uint64_t close_fee = 2'000;
  /**
   * Pay as metered (A): on every block, Cc follows the energy A's meter received in the
   * delivery interval as the chain counted it (up to the energy asked) at the channel's price,
   * so each counted meter interval produces an update without an operator call.
   */
  bool pay_as_metered = true;
};

/** What a call did: ok, or why not (for a gRPC status: a state error or an argument error). */
struct EngineResult {
  enum class Code { kOk, kInvalidArgument, kNotFound, kFailedPrecondition, kInternal };
  Code code = Code::kOk;
  std::string message;
  bool ok() const { return code == Code::kOk; }
};

/** A channel A proposes: the funding fields A fills (B's key and meter as B published them). */
struct OpenRequest {
  std::string peer;
  consensus::ChannelFunding funding;  //!< consumer must be this node's key; cwu must be 0
  std::uint64_t commit_fee = 2'000;   //!< what a post of any state pays
  std::uint64_t funding_fee = 2'000;  //!< what the funding transaction pays (from A)
};

class ChannelEngine {
 public:
  ChannelEngine(ChannelHost& host, ChannelStore& store, EngineOptions options = {});

  /** A: proposes a channel; temp_id names it until funded. */
  EngineResult Open(const OpenRequest& request, Hash256& temp_id);
  /** A: moves Cc to cc (> the newest Cc, <= CwA) in the next state. */
  EngineResult Pay(const Hash256& id, std::uint64_t cc);
  /** Either side: proposes the cooperative close of the newest state (fee 0: the default). */
  EngineResult Close(const Hash256& id, std::uint64_t fee);
  /** Either side: posts the newest co-signed state; the engine settles after the window. */
  EngineResult ForceClose(const Hash256& id, Hash256& txid);

  /**
   * Either side: withdraws a proposal before state 0 is co-signed (proposed or accepted); its
   * reserved coins are released and the other side is told. A proposal also fails by itself
   * when the slot its funding record names ends, and a funding that is out but unconfirmed six
   * blocks after that slot fails too (it comes back if a reorganisation confirms it after all).
   */
  EngineResult Cancel(const Hash256& id);
  /**
   * A arbitrated close (channels/arbiter.h): A asks for the penalty close, B for the delivered
   * close, of the channel's counted meter evidence; the utility's node (EngineOptions::tower)
   * co-signs and broadcasts it. txid is the close's; ArbitrationOf follows the answer.
   */
  EngineResult RequestArbitration(const Hash256& id, std::uint64_t fee, Hash256& txid);
  struct Arbitration {
    enum class Status { kWaiting, kBroadcast, kRefused };
    Status status = Status::kWaiting;
    Hash256 txid;
    std::string text;  //!< kRefused: the utility's reason (or why the co-signed close was refused)
  };
  /** The last arbitration requested for a channel since start (kept in memory: a lost one is asked again). */
  std::optional<Arbitration> ArbitrationOf(const Hash256& id) const;
  /**
   * The expiry close (state 0) of an open channel once the next block reaches T, signed by this
   * node's key alone as A, B or U: built from the chain's state, so it needs no record (the
   * utility's node can close a channel it only co-holds).
   */
  EngineResult ExpiryClose(const ChannelId& id, std::uint64_t fee, Hash256& txid);

  /** A message from peer (already decoded). Bad input is answered with an error message. */
  void OnMessage(const std::string& peer, const ChannelMessage& msg);
  /**
   * Group commit: several messages of one peer, handled in order with the states they make
   * persisted by one synced write before any reply leaves (updates and acks; other messages
   * are handled one by one as OnMessage does).
   */
  void OnMessages(const std::string& peer, const std::vector<ChannelMessage>& msgs);
  /** Group commit for A: the next state of several channels, persisted by one synced write before the updates leave. */
  EngineResult PayBatch(const std::vector<std::pair<Hash256, std::uint64_t>>& payments);
  /** The transport connected to peer: resume every live channel with it. */
  void OnPeerConnected(const std::string& peer);
  /** A block connected (or the tip changed): phases follow the chain; posts, supersedes, settles; A pays as metered. */
  void OnBlock();

  /** A change: a channel's record once it is durable, with the arbitration's answer when that changed. */
  struct Event {
    ChannelRecord record;
    std::optional<Arbitration> arbitration;
  };
  /**
   * Listeners run on the thread that made the change, under the engine's lock: they must only
   * hand the event on (a bounded queue), never call back into the engine.
   */
  std::uint64_t Subscribe(std::function<void(const Event&)> listener);
  void Unsubscribe(std::uint64_t id);

  /** A channel by temporary id or by channel txid. */
  std::optional<ChannelRecord> Get(const Hash256& id) const;
  std::vector<ChannelRecord> List() const;

  ChannelHost& Host() { return m_host; }

 private:
  using Outbox = std::vector<std::pair<std::string, ChannelMessage>>;
  ChannelRecord* Find(const Hash256& id);
  const ChannelRecord* Find(const Hash256& id) const;
  void Flush(Outbox& out);
  /** Writes r now (synced unless !sync), or into the open group commit. */
  void Persist(ChannelRecord& r, bool sync = true);
  /** Ends a channel that never funded: marks it failed, persists it and frees our reserved inputs. */
  void FailProposal(ChannelRecord& r);
  /** Ends a group commit: one write of every record it touched (synced if any asked for it). */
  void CommitGroup();
  void Dispatch(Outbox& out, const std::string& peer, const ChannelMessage& msg);
  void Fail(Outbox& out, const std::string& peer, const Hash256& id, ErrorCode code, const std::string& text);
  EngineResult Propose(Outbox& out, ChannelRecord& r, std::uint64_t cc);

  void HandleOpen(Outbox& out, const std::string& peer, const OpenMsg& m);
  void HandleAccept(Outbox& out, const std::string& peer, const AcceptMsg& m);
  void HandleFundingCreated(Outbox& out, const std::string& peer, const FundingCreatedMsg& m);
  void HandleFundingSigned(Outbox& out, const std::string& peer, const FundingSignedMsg& m);
  void HandleUpdate(Outbox& out, const std::string& peer, const UpdateMsg& m);
  void HandleUpdateAck(Outbox& out, const std::string& peer, const UpdateAckMsg& m);
  void HandleClose(Outbox& out, const std::string& peer, const CloseMsg& m);
  void HandleCloseAck(Outbox& out, const std::string& peer, const CloseAckMsg& m);
  void HandleReestablish(Outbox& out, const std::string& peer, const ReestablishMsg& m);
  void HandleState(Outbox& out, const std::string& peer, const StateMsg& m);
  void HandleArbitrateAck(const std::string& peer, const ArbitrateAckMsg& m);
  void Notify(const ChannelRecord& r, const std::optional<Arbitration>& arbitration = std::nullopt);
  void NotifyArbitration(const ChannelId& channel, const Arbitration& a);

  /** Both signatures of state 0 are held (the funding is safe to see confirm). */
  bool HoldsStateZero(const ChannelRecord& r) const;
  bool VerifyCommitment(const ChannelRecord& r, const consensus::Commitment& c, const Signature& sig,
                        bool of_a) const;
  void SendTower(Outbox& out, const ChannelRecord& r);
  bool BroadcastFunding(ChannelRecord& r, std::string& why);
  bool BroadcastCooperative(ChannelRecord& r, std::string& why);
  bool PostNewest(ChannelRecord& r, const consensus::ChannelState& onchain, std::string& why);
  void OnBlockLocked(Outbox& out);

  ChannelHost& m_host;
  ChannelStore& m_store;
  EngineOptions m_options;
  mutable std::mutex m_mutex;
  std::map<Hash256, ChannelRecord> m_records;  //!< by temp id; a copy of the store's
  struct PendingArbitration {
    Arbitration state;
    consensus::MutableTransaction tx;
    Hash256 sighash;
    consensus::Party requester = consensus::Party::kA;
    Signature sig;
    crypto::XOnlyPubKey utility;
  };
  std::map<ChannelId, PendingArbitration> m_arbitrations;
  std::mutex m_listeners_mutex;
  std::map<std::uint64_t, std::function<void(const Event&)>> m_listeners;
  std::uint64_t m_next_listener = 1;
  bool m_grouping = false;
  bool m_group_sync = false;
  std::vector<Hash256> m_group;
};

}  // namespace wattline::channels
