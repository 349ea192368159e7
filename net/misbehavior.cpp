// The one table of penalties. Scores: 100 is "cannot be honest" (a ban at once); 10-50 is
// "odd, but a buggy or slow honest peer could do it a few times"; 0 with a disconnect is "not
// hostile, but we cannot go on with this connection".
#include "net/misbehavior.h"

namespace wattline::net {

Penalty PenaltyFor(FrameError e) {
  switch (e) {
    case FrameError::kOk: return {0, false, "ok"};
    case FrameError::kBadMagic: return {0, true, "frame-bad-magic"};  // another network, or noise
    case FrameError::kMalformedCommand: return {100, true, "frame-malformed-command"};
    case FrameError::kUnknownCommand: return {20, true, "frame-unknown-command"};  // newer software?
    case FrameError::kOversize: return {100, true, "frame-oversize"};
    case FrameError::kBadChecksum: return {50, true, "frame-bad-checksum"};
  }
  return {100, true, "unknown-frame-error"};
}

Penalty PenaltyFor(MessageError e) {
  switch (e) {
    case MessageError::kOk: return {0, false, "ok"};
    case MessageError::kBadProtobuf: return {100, true, "msg-bad-protobuf"};
    case MessageError::kPayloadNotEmpty: return {100, true, "msg-payload-not-empty"};
    case MessageError::kBadMagic: return {100, true, "msg-bad-magic"};
    case MessageError::kBadUserAgent: return {20, false, "msg-bad-user-agent"};
    case MessageError::kBadTimestamp: return {20, false, "msg-bad-timestamp"};
    case MessageError::kBadPort: return {20, false, "msg-bad-port"};
    case MessageError::kTooManyEntries: return {100, true, "msg-too-many-entries"};
    case MessageError::kBadAddress: return {20, false, "msg-bad-address"};
    case MessageError::kBadInvType: return {20, false, "msg-bad-inv-type"};
    case MessageError::kBadHashLength: return {100, true, "msg-bad-hash-length"};
    case MessageError::kBadLocator: return {100, true, "msg-bad-locator"};
    case MessageError::kBadHeaderLength: return {100, true, "msg-bad-header-length"};
    case MessageError::kBadBlockEncoding: return {100, true, "msg-bad-block-encoding"};
    case MessageError::kBadTxEncoding: return {100, true, "msg-bad-tx-encoding"};
    case MessageError::kBadRejectCode: return {10, false, "msg-bad-reject-code"};
    case MessageError::kBadRejectReason: return {10, false, "msg-bad-reject-reason"};
    case MessageError::kEmptyObject: return {100, true, "msg-empty-object"};
    case MessageError::kChannelTooLarge: return {100, true, "msg-channel-too-large"};
  }
  return {100, true, "unknown-message-error"};
}

Penalty PenaltyFor(Offense o) {
  switch (o) {
    case Offense::kUnrequestedBlock: return {20, false, "unrequested-block"};
    case Offense::kUnrequestedTx: return {10, false, "unrequested-tx"};
    case Offense::kUnrequestedHeaders: return {20, false, "unrequested-headers"};
    case Offense::kInvFlood: return {20, false, "inv-flood"};
    case Offense::kAddrFlood: return {20, false, "addr-flood"};
    case Offense::kGetDataFlood: return {20, false, "getdata-flood"};
    case Offense::kPingFlood: return {10, false, "ping-flood"};
    case Offense::kDuplicateVersion: return {10, false, "duplicate-version"};
    case Offense::kBeforeHandshake: return {10, false, "before-handshake"};
    case Offense::kLowWorkHeaders: return {50, true, "low-work-headers"};
    case Offense::kNonConnectingHeaders: return {20, false, "non-connecting-headers"};
    case Offense::kSelfConnection: return {0, true, "self-connection"};
    case Offense::kWrongNetwork: return {0, true, "wrong-network"};
    case Offense::kObsoleteVersion: return {0, true, "obsolete-version"};
    case Offense::kHeadersNotChained: return {100, true, "headers-not-chained"};
    case Offense::kBadChannelMessage: return {50, false, "bad-channel-message"};
  }
  return {100, true, "unknown-offense"};
}

Penalty PenaltyForBlock(consensus::Category c) {
  switch (c) {
    case consensus::Category::kValid: return {0, false, "valid"};
    case consensus::Category::kMalformed: return {100, true, "block-malformed"};
    case consensus::Category::kInvalid: return {100, true, "block-invalid"};
    // A block can only miss inputs if a transaction spends what the chain does not have:
    // that is invalid for a block (the chain is its context), unlike a loose transaction.
    case consensus::Category::kMissingInputs: return {100, true, "block-missing-inputs"};
    case consensus::Category::kPremature: return {0, false, "block-premature"};  // our clock may lag
    case consensus::Category::kMissingPrev: return {10, false, "block-missing-prev"};
    case consensus::Category::kKnownInvalid: return {100, true, "block-known-invalid"};
  }
  return {100, true, "unknown-category"};
}

Penalty PenaltyForTx(consensus::Category c) {
  switch (c) {
    case consensus::Category::kValid: return {0, false, "valid"};
    case consensus::Category::kMalformed: return {100, true, "tx-malformed"};
    case consensus::Category::kInvalid: return {100, true, "tx-invalid"};
    case consensus::Category::kMissingInputs: return {0, false, "tx-missing-inputs"};  // orphan or race
    case consensus::Category::kPremature: return {0, false, "tx-premature"};
    case consensus::Category::kMissingPrev: return {0, false, "tx-missing-prev"};  // not used for txs
    case consensus::Category::kKnownInvalid: return {0, false, "tx-known-invalid"};  // seen before: no double penalty
  }
  return {100, true, "unknown-category"};
}

}  // namespace wattline::net
