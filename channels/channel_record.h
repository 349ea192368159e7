// What a channel node keeps of one channel (docs/channels.md, "The engine's state"): one
// record per channel in the node's channel database, written and synced before any signature
// of a new state leaves the node, so that after a crash the node holds every state it ever
// signed for (and never signs two different states with one number).
//
// Canonical encoding, version 1:
//   u8 version || temp id || u8 role || u8 phase || funding record payload (varbytes) ||
//   u64 commit fee || A's inputs and change || B's inputs and change (as in messages.h) ||
//   channel txid || u32 index || u64 n || u64 Cc || sig A || sig B ||
//   u8 pending || [u64 Cc || sig A] || u64 close Cc || u64 close fee || u8 closing signed ||
//   [sig A || sig B] || varbytes funding tx (empty until known) || varbytes peer
#pragma once

#include <optional>
#include <string>

#include "channels/messages.h"

namespace wattline::channels {

/** Which side of the channel this node is. */
enum class Role : std::uint8_t { kConsumer = 1, kProducer = 2 };

/** Values are stored; never renumbered. */
enum class Phase : std::uint8_t {
  kProposed = 1,       //!< A sent open
  kAccepted = 2,       //!< B sent accept
  kFunding = 3,        //!< state 0 holds both signatures; the funding transaction is out or coming
  kOpen = 4,           //!< the funding is on chain (or in the mempool): updates flow
  kClosing = 5,        //!< a close (cooperative or unilateral) was signed or posted
  kClosed = 6,         //!< the channel's state left the chain's market state
  kFailed = 7,         //!< refused before any coin moved
};
std::string_view PhaseName(Phase p);

struct ChannelRecord {
  Hash256 temp_id;
  Role role = Role::kConsumer;
  Phase phase = Phase::kProposed;
  consensus::ChannelFunding funding;
  std::uint64_t commit_fee = 0;
  std::vector<FundingInput> a_inputs, b_inputs;
  std::optional<consensus::TxOut> a_change, b_change;
  ChannelId channel;  //!< zero txid until both sides' inputs are known
  /** The newest state both A and B signed (state 0 from kFunding on). */
  std::uint64_t state = 0;
  std::uint64_t cc = 0;
  Signature sig_a, sig_b;
  /** A only: state + 1 with Cc = pending_cc, signed by A and sent, not yet signed by B. */
  bool pending = false;
  std::uint64_t pending_cc = 0;
  Signature pending_sig_a;
  /** The cooperative close this node signed (close_fee > 0 or close_signed). */
  std::uint64_t close_cc = 0;
  std::uint64_t close_fee = 0;
  bool close_signed = false;  //!< both signatures below are set
  Signature close_sig_a, close_sig_b;
  Bytes funding_tx;  //!< the full funding transaction once signed (A), for rebroadcast
  std::string peer;  //!< the other side's node, host:port
  friend bool operator==(const ChannelRecord&, const ChannelRecord&) = default;

  bool HasChannelId() const { return !channel.txid.IsZero(); }
  consensus::Commitment Newest() const { return {channel, state, cc, commit_fee}; }
};

inline constexpr std::uint8_t kChannelRecordVersion = 1;

Bytes EncodeChannelRecord(const ChannelRecord& r);
/** Decodes exactly one record (kBadFieldValue for an unknown version, role or phase). */
consensus::DecodeError DecodeChannelRecord(ByteSpan bytes, ChannelRecord& out);

/**
 * The funding transaction both sides build from the record, without signatures: A's inputs
 * then B's, output 0 the channel output (CwA + CwB + CwU), then A's change and B's change when
 * present, and the funding record.
 */
consensus::MutableTransaction FundingTransaction(const ChannelRecord& r);

}  // namespace wattline::channels
