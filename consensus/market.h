// The energy market's records: what the utility, meters and channel parties put on chain
// (docs/market.md; encodings in docs/encoding.md, "Market records").
//
//   kind 2  MeterRegistration   utility binds a meter key to an owner and a role (+ a grant)
//   kind 3  ReadingBatch        signed interval readings of one or more meters
//   kind 4  PriceCoefficients   utility sets a, b, c of p = a*D^2 + b*D + c (from the next slot)
//   kind 5  ChannelFunding      the on-chain open of a channel (2-of-3 A, B, U output)
//   kind 7  UtilityKeyRotation  the current utility key names its successor (from the next block)
//   kind 8  MeterDeregistration utility retires a meter
//
// (Kind 6, channel settlement, is in consensus/channel.h.) Each payload has one canonical encoding:
// fixed-width little-endian integers, raw 32-byte keys and 64-byte signatures, and a varint
// count for a batch. The decoders accept nothing else (trailing bytes included).
//
// Utility records carry a BIP340 signature by the utility key over
//   TaggedHash("wattline/utility", magic || first input's outpoint || kind || version || body)
// where body is the payload without the signature. Binding the signature to an outpoint that
// the transaction spends makes every utility record single-use: it cannot be replayed in
// another transaction (for example to re-register a meter after its deregistration).
//
// A reading is signed by its meter's key over
//   TaggedHash("wattline/reading", magic || meter || start || length || import || export ||
//              import_register || export_register)
// so a reading of one network is invalid on every other.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <variant>
#include <vector>

#include "consensus/amount.h"
#include "consensus/record.h"
#include "consensus/serialize.h"
#include "crypto/schnorr.h"

namespace wattline::consensus {

struct Params;
struct OutPoint;

using crypto::Hash256;
using crypto::Signature;
using crypto::XOnlyPubKey;

/** A meter is named by its public key. */
using MeterId = XOnlyPubKey;

/** What a registered meter may do; stored, never renumbered. */
enum class MeterRole : std::uint8_t {
  kProducer = 1,  //!< exports; earns production rewards; the B side of a channel
  kConsumer = 2,  //!< imports; the A side of a channel
  kProsumer = 3,  //!< both
};
std::optional<MeterRole> MeterRoleFromByte(std::uint8_t b);
std::string_view MeterRoleName(MeterRole role);
bool RoleProduces(MeterRole role);
bool RoleConsumes(MeterRole role);

inline constexpr std::uint32_t kMarketRecordVersion = 1;
/** At most this many readings in one batch record (a batch of 100 is 14 kB, under kMaxRecordPayload). */
inline constexpr std::size_t kMaxReadingsPerBatch = 100;
inline constexpr std::size_t kReadingSize = 32 + 8 + 4 + 8 * 4 + 64;

struct MeterRegistration {
  MeterId meter;
  XOnlyPubKey owner;       //!< rewards and grants pay Key(owner); channel parties are owners
  MeterRole role = MeterRole::kProsumer;
  std::uint64_t grant = 0; //!< units minted to Key(owner) by output 0 of the transaction
  Signature utility_sig;
  friend bool operator==(const MeterRegistration&, const MeterRegistration&) = default;
};

struct MeterDeregistration {
  MeterId meter;
  Signature utility_sig;
  friend bool operator==(const MeterDeregistration&, const MeterDeregistration&) = default;
};

struct PriceCoefficients {
  std::uint64_t a = 0;  //!< units per kWh per kWh^2 of demand
  std::uint64_t b = 0;  //!< units per kWh per kWh of demand
  std::uint64_t c = 0;  //!< units per kWh
  Signature utility_sig;
  friend bool operator==(const PriceCoefficients&, const PriceCoefficients&) = default;
};

struct UtilityKeyRotation {
  XOnlyPubKey new_key;
  Signature utility_sig;  //!< by the current key
  friend bool operator==(const UtilityKeyRotation&, const UtilityKeyRotation&) = default;
};

/** One interval of one meter. Interval [start, start + length) in Unix seconds. */
struct Reading {
  MeterId meter;
  std::uint64_t start = 0;
  std::uint32_t length = 0;
  std::uint64_t import_wh = 0;        //!< energy taken from the grid in the interval
  std::uint64_t export_wh = 0;        //!< energy fed into the grid in the interval
  std::uint64_t import_register = 0;  //!< cumulative import at the interval's end
  std::uint64_t export_register = 0;  //!< cumulative export at the interval's end
  Signature sig;
  friend bool operator==(const Reading&, const Reading&) = default;
};

/** An IPFS CIDv1 in binary: 0x01 (version), 0x55 (raw codec), 0x12 0x20 (sha2-256, 32 bytes), digest. */
inline constexpr std::size_t kCidSize = 36;
using Cid = std::array<std::uint8_t, kCidSize>;
/** The CIDv1 (raw, sha2-256) of bytes. */
Cid ComputeCid(ByteSpan bytes);
/** Its text form: "b" + RFC 4648 base32, lower case, no padding (59 characters). */
std::string CidToString(const Cid& cid);
/** Parses the text form of a raw sha2-256 CIDv1; nullopt for anything else. */
std::optional<Cid> CidFromString(std::string_view text);
/** True when the bytes are a CIDv1 with raw codec and a sha2-256 multihash. */
bool IsRawSha256Cid(const Cid& cid);

struct ReadingBatch {
  std::vector<Reading> readings;  //!< 1..kMaxReadingsPerBatch
  /**
   * Optional: the CID of an off-chain blob with the batch's detail (e.g. per-minute samples).
   * Consensus checks only its form; nodes serve the blob by CID and check it against the hash.
   */
  std::optional<Cid> series;
  friend bool operator==(const ReadingBatch&, const ReadingBatch&) = default;
};

struct ChannelFunding {
  XOnlyPubKey consumer;        //!< A
  XOnlyPubKey producer;        //!< B
  XOnlyPubKey utility;         //!< U: the utility key at the funding height
  MeterId consumer_meter;      //!< a meter owned by A (consumer or prosumer)
  MeterId producer_meter;      //!< a meter owned by B (producer or prosumer)
  std::uint64_t energy_wh = 0; //!< energy asked; counts into the slot's demand
  std::uint32_t slot = 0;      //!< the slot of the block that holds the funding
  std::uint64_t price = 0;     //!< that slot's consensus price, units per kWh
  std::uint64_t cwa = 0;       //!< A's deposit, >= ceil(energy_wh * price / 1000)
  std::uint64_t cwb = 0;       //!< B's collateral
  std::uint64_t cwu = 0;       //!< U's deposit
  std::uint32_t expiry = 0;    //!< T: height after which any party forces settlement
  std::uint32_t contest_window = 0;  //!< blocks a unilateral close can be superseded in
  std::uint64_t delivery_start = 0;  //!< the delivery interval in Unix seconds, whose meter
  std::uint64_t delivery_end = 0;    //!< readings are the evidence of a penalty close
  friend bool operator==(const ChannelFunding&, const ChannelFunding&) = default;
};

using MarketRecord = std::variant<MeterRegistration, ReadingBatch, PriceCoefficients, ChannelFunding,
                                  UtilityKeyRotation, MeterDeregistration>;

/**
 * True for the records consensus checks against the market state: the kinds of this header
 * and channel settlement (kind 6, decoded by DecodeSettlementRecord in consensus/channel.h;
 * DecodeMarketRecord says kUnknownRecordKind for it).
 */
bool IsMarketKind(RecordKind kind);

/** Builds the record of a payload (kind and version set). */
Record MakeRecord(const MarketRecord& rec);
/** Decodes a market record's payload; kOk, or why not (kUnknownRecordKind for other kinds). */
DecodeError DecodeMarketRecord(const Record& rec, MarketRecord& out);

Bytes EncodeReading(const Reading& reading);
bool DecodeReading(Reader& r, Reading& out);

/** The message a meter signs for a reading. */
Hash256 ReadingSigHash(const Params& params, const Reading& reading);
/**
 * The message the utility signs for a utility record (registration, deregistration,
 * coefficients, rotation): over the record without its signature and the outpoint the
 * transaction spends first.
 */
Hash256 UtilitySigHash(const Params& params, const OutPoint& first_input, const MarketRecord& rec);

/** Sets the utility signature of a utility record in place; false for other records. */
bool SetUtilitySignature(MarketRecord& rec, const Signature& sig);

// --- Market arithmetic (all integer, exhaustively tested) -------------------------------------

/** Slot of a block height: height / slot_blocks. */
std::uint32_t SlotOfHeight(std::uint32_t height, const Params& params);

/** The price cap: a price saturates here (kMaxMoney units per kWh). */
inline constexpr std::uint64_t kMaxPrice = static_cast<std::uint64_t>(kMaxMoney.units);

/**
 * p = a*D^2 + b*D + c in units per kWh, D = demand_wh / 1000 (whole kWh, rounded down).
 * Computed in 128 bits; any term or sum beyond kMaxPrice saturates to kMaxPrice, so the price
 * is defined, and non-decreasing in demand, for every input.
 */
std::uint64_t SlotPrice(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t demand_wh);

/** ceil(energy_wh * price / 1000) units, or nullopt above kMaxMoney. */
std::optional<std::uint64_t> EnergyCost(std::uint64_t energy_wh, std::uint64_t price);

/** A production reward: units minted for exported Wh, with the sub-unit remainder carried. */
struct RewardResult {
  std::uint64_t units = 0;
  std::uint64_t carry = 0;  //!< in millionths of a unit, < 1'000'000
};
/**
 * (carry + export_wh * units_per_mwh) / 10^6 units; the remainder carries to the meter's next
 * reading, so that no watt-hour is lost or counted twice. nullopt when the reward exceeds
 * kMaxMoney.
 */
std::optional<RewardResult> ProductionReward(std::uint64_t export_wh, std::uint64_t carry, std::uint64_t units_per_mwh);

}  // namespace wattline::consensus
