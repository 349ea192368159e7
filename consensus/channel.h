// Channel settlement: the encodings and the arithmetic of the paths that spend a channel's
// funding output (issue 11; the design is docs/channels.md, "Settlement in consensus").
//
// This header is the pure part of settlement: the numbered commitment A and B sign, the
// settlement record's canonical encoding (record kind 6; consensus/market_rules.cpp enforces
// the paths), and the integer rules that turn a channel's deposits and a state into payouts:
//
//   state shares     CA = CwA - Cc, CB = CwB + Cc, CU = CwU (Cc <= CwA)
//   fee              deducted from the paying parties' shares in the order given
//   dust             a share left below the dust bound is not paid out: it joins the fee
//   penalty (U + A)  A pays for what its meter received, B is paid for what its meter
//                    delivered of that, U for the rest it supplied; CwB goes to the pool
//   delivered (U+B)  A pays B for what B's meter delivered, up to the energy asked
//   evidence         the readings of the channel's meters that the chain counted in the
//                    delivery interval, folded into one accumulator per meter
//   pool share       a slot's pool is paid in equal shares to the next slot's blocks, the
//                    remainder to its last block
//
// Nothing here reads state or decides a transaction's validity on its own; every function is
// total over its input range (no overflow, no exception).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "consensus/market.h"
#include "consensus/record.h"
#include "consensus/serialize.h"
#include "consensus/transaction.h"

namespace wattline::consensus {

enum class Party : std::uint8_t { kA = 0, kB = 1, kU = 2 };

/** A channel is named by its funding output. */
using ChannelId = OutPoint;

/** State n of a channel: Cc coins moved from A to B so far, and the fee its on-chain post pays. */
struct Commitment {
  ChannelId channel;
  std::uint64_t state = 0;  //!< n; state 0 (Cc = 0) refunds everyone
  std::uint64_t cc = 0;     //!< coins moved to B, <= CwA
  std::uint64_t fee = 0;    //!< the fee of the transaction that posts this state
  friend bool operator==(const Commitment&, const Commitment&) = default;
};

/**
 * What A and B sign for a commitment:
 * TaggedHash("wattline/commitment", magic || channel txid || u32 index || u64 n || u64 Cc || u64 fee).
 * It does not cover a transaction, so anyone holding the two signatures (the utility as
 * watchtower) can post the state.
 */
Hash256 CommitmentSigHash(const Params& params, const Commitment& c);

/** The settlement paths; stored on the wire, never renumbered. */
enum class SettlementPath : std::uint8_t {
  kCooperative = 1,  //!< A + B sign the transaction: the final split of state Cc
  kPost = 2,         //!< a commitment signed by A and B moves the coins to a closing output
  kSettle = 3,       //!< after the contest window, the closing output pays the posted state
  kExpiry = 4,       //!< after T, one of A, B, U forces state 0 (nothing posted)
  kPenalty = 5,      //!< U + A with meter evidence of B's shortfall
  kDelivered = 6,    //!< U + B with meter evidence of delivery, A having vanished
};

/** Evidence of one penalty or delivered close: up to 100 readings of each of the two meters. */
inline constexpr std::size_t kMaxEvidenceReadings = 2 * kMaxReadingsPerBatch;

struct ChannelSettlement {
  SettlementPath path = SettlementPath::kCooperative;
  ChannelId channel;
  std::uint64_t state = 0;  //!< kPost: n
  std::uint64_t cc = 0;     //!< kCooperative, kPost
  std::uint64_t fee = 0;    //!< every path but kSettle (whose fee consensus fixes)
  Signature sig_a;          //!< kPost: A's and B's signatures of the commitment
  Signature sig_b;
  std::vector<Reading> evidence;  //!< kPenalty, kDelivered: 1..kMaxEvidenceReadings
  friend bool operator==(const ChannelSettlement&, const ChannelSettlement&) = default;

  /** The commitment a kPost settlement posts. */
  Commitment AsCommitment() const { return {channel, state, cc, fee}; }
};

/**
 * Canonical encoding: u8 path || channel txid || u32 index || body, where the body is
 *   kCooperative  u64 Cc || u64 fee
 *   kPost         u64 n || u64 Cc || u64 fee || sig_a || sig_b
 *   kSettle       (empty)
 *   kExpiry       u64 fee
 *   kPenalty, kDelivered  u64 fee || varint count || count readings (as in a batch)
 * Fields a path does not carry are zero (empty) in memory.
 */
Bytes EncodeSettlement(const ChannelSettlement& s);
/** Decodes exactly one settlement filling all of bytes; kBadFieldValue for an unknown path or no evidence. */
DecodeError DecodeSettlement(ByteSpan bytes, ChannelSettlement& out);

inline constexpr std::uint32_t kSettlementRecordVersion = 1;
/** The kind-6 record of a settlement. */
Record MakeSettlementRecord(const ChannelSettlement& s);
/** Decodes a kind-6 record (kUnknownRecordKind for other kinds, kBadFieldValue for another version). */
DecodeError DecodeSettlementRecord(const Record& rec, ChannelSettlement& out);

/** The signer bitmap bit of a party in a ChannelPath satisfaction (A = 1, B = 2, U = 4). */
constexpr std::uint8_t SignerBit(Party p) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(p)); }


/** Units per party, indexed by Party. */
using Shares = std::array<std::uint64_t, 3>;

/** CA = CwA - Cc, CB = CwB + Cc, CU = CwU; nullopt when Cc > CwA or a share passes kMaxMoney. */
std::optional<Shares> StateShares(std::uint64_t cwa, std::uint64_t cwb, std::uint64_t cwu, std::uint64_t cc);

struct Payout {
  Shares shares{};         //!< what each party is paid (0: no output)
  std::uint64_t fee = 0;   //!< the fee asked plus the dust that joined it
};
/**
 * Deducts fee from the payers' shares in the order given (each pays what it can before the
 * next), then moves every share below dust into the fee. nullopt when the payers' shares do
 * not cover the fee.
 */
std::optional<Payout> ApplyFee(Shares shares, std::uint64_t fee, const std::vector<Party>& payers, std::uint64_t dust);

/** A penalty close: the shares and what goes to the incentive pool. */
struct PenaltySplit {
  Shares shares{};
  std::uint64_t pool = 0;
  std::uint64_t received_wh = 0;   //!< A's metered import, up to the energy asked
  std::uint64_t delivered_wh = 0;  //!< B's metered export, up to what A received
};
/**
 * U + A settle because B delivered less than asked. received = min(A's import, energy),
 * delivered = min(B's export, received); A pays cost(received), of which B gets
 * cost(delivered) and U the rest (it supplied the shortfall); CwB goes to the pool. nullopt
 * when B's export covers the energy asked (no shortfall) or an amount passes kMaxMoney.
 */
std::optional<PenaltySplit> PenaltyShares(std::uint64_t cwa, std::uint64_t cwb, std::uint64_t cwu,
                                          std::uint64_t energy_wh, std::uint64_t price, std::uint64_t a_import_wh,
                                          std::uint64_t b_export_wh);
/**
 * U + B settle after A vanished: A pays B cost(min(B's export, energy)). nullopt when the cost
 * passes CwA or a share passes kMaxMoney.
 */
std::optional<Shares> DeliveredShares(std::uint64_t cwa, std::uint64_t cwb, std::uint64_t cwu, std::uint64_t energy_wh,
                                      std::uint64_t price, std::uint64_t b_export_wh);

/**
 * The settlement fee of a close in a slot whose pool pays nothing: floor(settled * percent /
 * 100), computed in 128 bits (percent above 100 counts as 100).
 */
std::uint64_t SettlementFee(std::uint64_t settled, std::uint32_t percent);

/**
 * The pool share of the block at height: pool / slot_blocks, plus pool % slot_blocks in the
 * slot's last block, so that the slot's blocks together pay exactly pool.
 */
std::uint64_t PoolShare(std::uint64_t pool, std::uint32_t slot_blocks, std::uint32_t height);

/** The evidence accumulator after one more counted reading: TaggedHash("wattline/evidence", acc || reading). */
Hash256 AccumulateEvidence(const Hash256& acc, const Reading& reading);

/** True when the reading lies in the delivery interval [start, end). */
bool InDeliveryInterval(const Reading& reading, std::uint64_t start, std::uint64_t end);

}  // namespace wattline::consensus
