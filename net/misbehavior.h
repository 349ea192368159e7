// Misbehaviour: what a peer did wrong, what it costs, and the per-peer score.
//
// Every offence, from any layer, becomes a Penalty here and nowhere else: frame errors
// (net/frame.h), message errors (net/messages.h), rejected blocks and transactions (by their
// consensus::Category) and the protocol offences the peer manager detects (Offense). The
// switches have no default: a new error or category does not build until it has a row here.
// docs/p2p.md, "Misbehaviour", shows the same table.
//
// A peer whose score reaches kBanThreshold is disconnected and banned (net/banlist.h) for the
// configured time. Some offences disconnect without a score (an honest peer of another
// network, a stream we cannot resynchronise).
#pragma once

#include <cstdint>
#include <string_view>

#include "consensus/validation.h"
#include "net/frame.h"
#include "net/messages.h"

namespace wattline::net {

inline constexpr int kBanThreshold = 100;

struct Penalty {
  int score = 0;            //!< added to the peer's score
  bool disconnect = false;  //!< drop the connection now, whatever the score
  std::string_view why;     //!< stable text for logs and the peer list
};

/** Offences the peer manager detects (not decode errors). Values are stable; append only. */
enum class Offense : std::uint8_t {
  kUnrequestedBlock = 0,   //!< a block we did not ask for and that is not a new tip announcement
  kUnrequestedTx = 1,      //!< a transaction we did not ask for
  kUnrequestedHeaders = 2, //!< headers we did not ask for that do not connect
  kInvFlood = 3,           //!< more inv items per interval than the rate limit
  kAddrFlood = 4,          //!< more addresses per interval than the rate limit
  kGetDataFlood = 5,       //!< more getdata items outstanding than allowed
  kPingFlood = 6,          //!< pings faster than the rate limit
  kDuplicateVersion = 7,   //!< a second version message
  kBeforeHandshake = 8,    //!< a message other than version/verack before the handshake ends
  kLowWorkHeaders = 9,     //!< a header chain whose work stays below our tip's (refused unstored)
  kNonConnectingHeaders = 10, //!< headers that do not connect, repeatedly
  kSelfConnection = 11,    //!< our own version nonce came back
  kWrongNetwork = 12,      //!< version with another network's magic
  kObsoleteVersion = 13,   //!< protocol version below kMinProtocolVersion
  kHeadersNotChained = 14, //!< a headers message whose headers are not each the parent of the next
  kBadChannelMessage = 15, //!< a channel frame whose body is not a channel message (channels/messages.h)
};

Penalty PenaltyFor(FrameError e);
Penalty PenaltyFor(MessageError e);
Penalty PenaltyFor(Offense o);
/** A block rejected with this category (consensus::ValidationState::category()). */
Penalty PenaltyForBlock(consensus::Category c);
/** A transaction rejected with this category. */
Penalty PenaltyForTx(consensus::Category c);

/**
 * A peer's accumulated score. Not thread-safe: owned by the peer's state, under its lock.
 */
class MisbehaviorScore {
 public:
  /** Adds the penalty; true when this call takes the score to kBanThreshold or above. */
  bool Add(const Penalty& p) {
    const bool was_below = m_score < kBanThreshold;
    m_score += p.score;
    if (m_score > kMaxScore) m_score = kMaxScore;  // no overflow, whatever a peer does
    return was_below && m_score >= kBanThreshold;
  }
  int score() const { return m_score; }
  bool ShouldBan() const { return m_score >= kBanThreshold; }

 private:
  static constexpr int kMaxScore = 1'000'000;
  int m_score = 0;
};

}  // namespace wattline::net
