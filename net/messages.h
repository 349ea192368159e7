// Typed P2P messages and their payload codec (docs/p2p.md, "Messages").
//
// A payload is the protobuf message of proto/wattline/p2p/v1/p2p.proto that the frame's
// command names. DecodeMessage parses it and then validates every field (counts within the
// limits of net/protocol.h, hashes of 32 bytes, headers of exactly 88 bytes, addresses of 4 or
// 16 bytes, enums in range, canonical blocks and transactions); each failure is one
// MessageError, which net/misbehavior.h turns into a penalty. Canonical objects travel as
// their canonical bytes and are decoded with consensus/ (never re-encoded by protobuf).
//
// Encoding the result of a successful decode and decoding that again gives an equal message.
// All functions are thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "consensus/block.h"
#include "consensus/transaction.h"
#include "net/frame.h"
#include "net/netaddr.h"

namespace wattline::net {

struct VersionMsg {
  std::uint32_t protocol_version = 0;
  Magic network_magic{};
  std::uint32_t best_height = 0;
  std::uint64_t services = 0;
  std::uint64_t nonce = 0;
  std::string user_agent;        //!< printable ASCII, at most kMaxUserAgent bytes
  std::int64_t timestamp = 0;    //!< seconds since the Unix epoch, >= 0
  std::uint16_t listen_port = 0; //!< 0: not listening
  friend bool operator==(const VersionMsg&, const VersionMsg&) = default;
};
struct VerackMsg {
  friend bool operator==(const VerackMsg&, const VerackMsg&) = default;
};
struct PingMsg {
  std::uint64_t nonce = 0;
  friend bool operator==(const PingMsg&, const PingMsg&) = default;
};
struct PongMsg {
  std::uint64_t nonce = 0;
  friend bool operator==(const PongMsg&, const PongMsg&) = default;
};
struct GetAddrMsg {
  friend bool operator==(const GetAddrMsg&, const GetAddrMsg&) = default;
};

struct AddrEntry {
  Service service;             //!< port 1..65535
  std::uint64_t services = 0;
  std::int64_t last_seen = 0;  //!< seconds since the Unix epoch, >= 0
  friend bool operator==(const AddrEntry&, const AddrEntry&) = default;
};
struct AddrMsg {
  std::vector<AddrEntry> entries;  //!< at most kMaxAddrEntries
  friend bool operator==(const AddrMsg&, const AddrMsg&) = default;
};

/** Values are the wire values of p2p.proto's InvType. */
enum class InvType : std::uint8_t { kTx = 1, kBlock = 2 };
struct InvItem {
  InvType type = InvType::kTx;
  consensus::Hash256 hash;
  friend bool operator==(const InvItem&, const InvItem&) = default;
};
struct InvMsg {
  std::vector<InvItem> items;  //!< at most kMaxInvItems
  friend bool operator==(const InvMsg&, const InvMsg&) = default;
};
struct GetDataMsg {
  std::vector<InvItem> items;
  friend bool operator==(const GetDataMsg&, const GetDataMsg&) = default;
};
struct NotFoundMsg {
  std::vector<InvItem> items;
  friend bool operator==(const NotFoundMsg&, const NotFoundMsg&) = default;
};

struct GetHeadersMsg {
  std::vector<consensus::Hash256> locator;  //!< 1..kMaxLocatorHashes
  consensus::Hash256 stop_hash;             //!< zero: no stop
  friend bool operator==(const GetHeadersMsg&, const GetHeadersMsg&) = default;
};
struct HeadersMsg {
  std::vector<consensus::BlockHeader> headers;  //!< at most kMaxHeaders
  friend bool operator==(const HeadersMsg&, const HeadersMsg&) = default;
};
/** A block, decoded from its canonical bytes (at most kMaxBlockSize of them). */
struct BlockMsg {
  consensus::Block block;
  /** Same header and the same transactions (by wtxid, which covers every byte). */
  friend bool operator==(const BlockMsg& a, const BlockMsg& b);
};
/** A transaction, decoded from its canonical bytes (at most kMaxTxSize of them). */
struct TxMsg {
  consensus::TransactionRef tx;  //!< never null after a successful decode
  /** Same wtxid (or both null). */
  friend bool operator==(const TxMsg& a, const TxMsg& b);
};

/** A channel message's canonical bytes (1..kMaxChannelBody); channels/ decodes them. */
struct ChannelFrameMsg {
  consensus::Bytes body;
  friend bool operator==(const ChannelFrameMsg&, const ChannelFrameMsg&) = default;
};

/** Values are the wire values of p2p.proto's RejectCode. */
enum class RejectCode : std::uint8_t {
  kMalformed = 1,
  kInvalid = 2,
  kObsolete = 3,
  kDuplicate = 4,
  kNonstandard = 5,
  kInsufficientFee = 6,
};
struct RejectMsg {
  RejectCode code = RejectCode::kInvalid;
  std::string reason;         //!< printable ASCII, at most kMaxRejectReason bytes
  std::optional<consensus::Hash256> hash;
  friend bool operator==(const RejectMsg&, const RejectMsg&) = default;
};

/** One alternative per Command, in Command's order (index() == the command's value). */
using Message = std::variant<VersionMsg, VerackMsg, PingMsg, PongMsg, GetAddrMsg, AddrMsg, InvMsg, GetDataMsg,
                             NotFoundMsg, GetHeadersMsg, HeadersMsg, BlockMsg, TxMsg, RejectMsg, ChannelFrameMsg>;
static_assert(std::variant_size_v<Message> == kCommandCount);

/** Why a payload is not a valid message. Values are stable; append only. */
enum class MessageError : std::uint8_t {
  kOk = 0,
  kBadProtobuf = 1,        //!< the payload does not parse as the command's protobuf message
  kPayloadNotEmpty = 2,    //!< verack or getaddr with a payload
  kBadMagic = 3,           //!< version: network magic not 4 bytes
  kBadUserAgent = 4,       //!< version: user agent too long or not printable ASCII
  kBadTimestamp = 5,       //!< version: negative timestamp; addr: negative last_seen
  kBadPort = 6,            //!< version: listen port above 65535; addr: port 0 or above 65535
  kTooManyEntries = 7,     //!< addr above 1000, inv/getdata/notfound above 50,000, headers above 2000
  kBadAddress = 8,         //!< addr: ip not 4 or 16 bytes, or unspecified
  kBadInvType = 9,         //!< inv/getdata/notfound: type not TX or BLOCK
  kBadHashLength = 10,     //!< a hash field not exactly 32 bytes
  kBadLocator = 11,        //!< getheaders: no locator hash, or more than 101
  kBadHeaderLength = 12,   //!< headers: an entry not exactly 88 bytes
  kBadBlockEncoding = 13,  //!< block: not the canonical encoding of a block
  kBadTxEncoding = 14,     //!< tx: not the canonical encoding of a transaction
  kBadRejectCode = 15,     //!< reject: code out of range
  kBadRejectReason = 16,   //!< reject: reason too long or not printable ASCII
  kEmptyObject = 17,       //!< block, tx or channel message with no bytes
  kChannelTooLarge = 18,   //!< channel: a body above kMaxChannelBody
};

/** The stable text of a message error, e.g. "msg-bad-hash-length". */
std::string_view MessageErrorName(MessageError e);

struct DecodeResult {
  MessageError error = MessageError::kOk;
  std::string detail;  //!< for logs: which entry, which value
  bool ok() const { return error == MessageError::kOk; }
};

/** Parses and validates payload as the message of command; out is set only on success. */
DecodeResult DecodeMessage(Command command, consensus::ByteSpan payload, Message& out);

/** The command of a message (its variant index). */
Command CommandOf(const Message& msg);

/**
 * The protobuf payload of msg. Precondition: msg satisfies the limits above (a message we
 * built ourselves; checked by assertions in debug builds).
 */
consensus::Bytes EncodePayload(const Message& msg);

/** EncodeFrame(magic, CommandOf(msg), EncodePayload(msg)). */
consensus::Bytes EncodeMessage(const Magic& magic, const Message& msg);

}  // namespace wattline::net
