// The channel protocol's messages (docs/channels.md, "Messages"): what two channel nodes, and
// a channel node and the utility's watchtower, send each other. They travel inside the P2P
// transport's `channel` frame as canonical bytes:
//
//   u8 type || body          (every integer little-endian, counts as varints)
//
// and every message names the channel it is about: the proposal's temporary id until the
// funding transaction's txid is known, then the channel id (the funding outpoint).
//
//   type  name             from → to  body
//      1  open             A → B      temp id, funding record payload, commit fee, A's inputs, A's change
//      2  accept           B → A      temp id, B's inputs, B's change
//      3  funding_created  A → B      temp id, A's signature of commitment 0
//      4  funding_signed   B → A      temp id, B's signature of commitment 0, B's input signatures
//      5  update           A → B      channel, n, Cc, A's signature of commitment n
//      6  update_ack       B → A      channel, n, B's signature of commitment n
//      7  close            A ↔ B      channel, Cc, fee, the sender's signature of the cooperative close
//      8  close_ack        A ↔ B      channel, the other signature (the close is then broadcast)
//      9  reestablish      A ↔ B      channel, the newest state the sender holds co-signed
//     10  tower_update     A/B → U    channel, n, Cc, fee, A's and B's signatures of commitment n
//     11  error            any        id, code, printable ASCII text (at most 200 bytes)
//     12  arbitrate        A/B → U    channel, path (5 penalty, 6 delivered), fee, the sender's
//                                     signature of the evidence close
//     13  arbitrate_ack    U → A/B    channel, U's signature of that close (U broadcasts it too)
//     14  state            A ↔ B      channel, n, Cc, fee, A's and B's signatures of commitment n:
//                                     the newest co-signed state, sent to a peer whose reestablish
//                                     shows it behind (restored from an old backup)
//
// DecodeChannelMessage accepts exactly the canonical encoding (EncodeChannelMessage of the
// result gives the same bytes) and checks only the form; whether a message fits the channel's
// state is the engine's question (channels/engine.h). Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "consensus/channel.h"
#include "consensus/market.h"
#include "consensus/serialize.h"
#include "consensus/transaction.h"
#include "net/protocol.h"

namespace wattline::channels {

using consensus::Bytes;
using consensus::ByteSpan;
using consensus::ChannelId;
using consensus::Hash256;
using consensus::Signature;

/** Inputs a party brings to a funding transaction: at most this many. */
inline constexpr std::size_t kMaxFundingInputs = 32;
inline constexpr std::size_t kMaxErrorText = 200;
/** The largest encoded message (an open with every input at its largest condition is far below). */
inline constexpr std::size_t kMaxChannelMessage = 64 * 1024;
static_assert(kMaxChannelMessage == net::kMaxChannelBody, "the P2P `channel` frame carries exactly one message");

/** A coin a party puts into the funding transaction, with the output it spends (so the other side can check the amount). */
struct FundingInput {
  consensus::OutPoint prevout;
  consensus::TxOut coin;
  friend bool operator==(const FundingInput&, const FundingInput&) = default;
};

struct OpenMsg {
  Hash256 temp_id;
  consensus::ChannelFunding funding;
  std::uint64_t commit_fee = 0;  //!< the fee every commitment's post pays
  std::vector<FundingInput> inputs;
  std::optional<consensus::TxOut> change;
  friend bool operator==(const OpenMsg&, const OpenMsg&) = default;
};
struct AcceptMsg {
  Hash256 temp_id;
  std::vector<FundingInput> inputs;
  std::optional<consensus::TxOut> change;
  friend bool operator==(const AcceptMsg&, const AcceptMsg&) = default;
};
struct FundingCreatedMsg {
  Hash256 temp_id;
  Signature sig_a;  //!< of commitment 0
  friend bool operator==(const FundingCreatedMsg&, const FundingCreatedMsg&) = default;
};
struct FundingSignedMsg {
  Hash256 temp_id;
  Signature sig_b;  //!< of commitment 0
  std::vector<Signature> input_sigs;  //!< one per B input, in order
  friend bool operator==(const FundingSignedMsg&, const FundingSignedMsg&) = default;
};
struct UpdateMsg {
  ChannelId channel;
  std::uint64_t state = 0;
  std::uint64_t cc = 0;
  Signature sig_a;
  friend bool operator==(const UpdateMsg&, const UpdateMsg&) = default;
};
struct UpdateAckMsg {
  ChannelId channel;
  std::uint64_t state = 0;
  Signature sig_b;
  friend bool operator==(const UpdateAckMsg&, const UpdateAckMsg&) = default;
};
struct CloseMsg {
  ChannelId channel;
  std::uint64_t cc = 0;
  std::uint64_t fee = 0;
  Signature sig;
  friend bool operator==(const CloseMsg&, const CloseMsg&) = default;
};
struct CloseAckMsg {
  ChannelId channel;
  Signature sig;
  friend bool operator==(const CloseAckMsg&, const CloseAckMsg&) = default;
};
struct ReestablishMsg {
  ChannelId channel;
  std::uint64_t state = 0;  //!< the newest state the sender holds with both signatures
  friend bool operator==(const ReestablishMsg&, const ReestablishMsg&) = default;
};
struct TowerUpdateMsg {
  consensus::Commitment commitment;
  Signature sig_a, sig_b;
  friend bool operator==(const TowerUpdateMsg&, const TowerUpdateMsg&) = default;
};
/** Same body as tower_update, between the channel's sides: the receiver verifies both signatures
 *  and adopts the state if it is newer than its own (each side signed it once, so it is safe). */
struct StateMsg {
  consensus::Commitment commitment;
  Signature sig_a, sig_b;
  friend bool operator==(const StateMsg&, const StateMsg&) = default;
};

/**
 * A channel side asks the utility to co-sign a penalty (A) or delivered (B) close. The message
 * carries no transaction: U builds the close itself from its own chain (the counted readings
 * of both meters, BuildArbitratedClose) and co-signs only if the sender's signature is valid
 * for exactly that transaction.
 */
struct ArbitrateMsg {
  ChannelId channel;
  consensus::SettlementPath path = consensus::SettlementPath::kPenalty;  //!< kPenalty or kDelivered
  std::uint64_t fee = 0;
  Signature sig;  //!< the sender's (A for a penalty, B for delivered)
  friend bool operator==(const ArbitrateMsg&, const ArbitrateMsg&) = default;
};
struct ArbitrateAckMsg {
  ChannelId channel;
  Signature sig_u;
  friend bool operator==(const ArbitrateAckMsg&, const ArbitrateAckMsg&) = default;
};
/** Values are stable (sent on the wire); append only. */
enum class ErrorCode : std::uint8_t {
  kRefused = 1,       //!< the proposal is refused (keys, meters, amounts, policy)
  kUnknownChannel = 2,
  kBadSignature = 3,
  kBadState = 4,      //!< a state that does not follow the newest one
  kInternal = 5,      //!< the sender could not persist or sign
};
struct ErrorMsg {
  Hash256 id;  //!< temp id or channel txid
  ErrorCode code = ErrorCode::kRefused;
  std::string text;
  friend bool operator==(const ErrorMsg&, const ErrorMsg&) = default;
};

/** One alternative per type, in type order (index() + 1 == the type byte). */
using ChannelMessage = std::variant<OpenMsg, AcceptMsg, FundingCreatedMsg, FundingSignedMsg, UpdateMsg, UpdateAckMsg,
                                    CloseMsg, CloseAckMsg, ReestablishMsg, TowerUpdateMsg, ErrorMsg, ArbitrateMsg,
                                    ArbitrateAckMsg, StateMsg>;

std::string_view MessageName(const ChannelMessage& m);

Bytes EncodeChannelMessage(const ChannelMessage& m);

/**
 * Decodes exactly one message filling all of bytes. Errors: consensus' DecodeError
 * (kTruncated, kTrailingBytes, kCountTooLarge, ...) and kBadFieldValue for an unknown type,
 * an unknown error code, an arbitration path other than penalty or delivered, a change output of 0, a funding payload that is not a funding record,
 * or error text that is not printable ASCII.
 */
consensus::DecodeError DecodeChannelMessage(ByteSpan bytes, ChannelMessage& out);

}  // namespace wattline::channels
