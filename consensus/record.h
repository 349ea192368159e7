// The typed, versioned record slot of a transaction (docs/encoding.md, "Records").
//
// A plain payment carries no record (kind kNone, encoded as a single zero byte). Other kinds
// attach typed data that consensus interprets: the coinbase's block height today; meter
// registrations, signed readings, price coefficients and channel funding/settlement in later
// versions, each under its own kind number, so adding a kind never changes the encoding of
// what exists. A kind this version does not know is a decode error.
#pragma once

#include <cstdint>

#include "consensus/serialize.h"

namespace wattline::consensus {

/**
 * Record kinds on the wire; never renumbered. The market kinds' payloads are in
 * consensus/market.h, channel settlement's (6) in consensus/channel.h.
 */
enum class RecordKind : std::uint32_t {
  kNone = 0,
  kCoinbase = 1,  //!< payload: block height (u32 LE) then at most 96 free bytes
  kMeterRegistration = 2,
  kReadings = 3,
  kPriceCoefficients = 4,
  kChannelFunding = 5,
  kChannelSettlement = 6,  //!< payload: consensus/channel.h (EncodeSettlement)
  kUtilityKeyRotation = 7,
  kMeterDeregistration = 8,
};

inline constexpr std::size_t kMaxRecordPayload = 16 * 1024;
inline constexpr std::uint32_t kCoinbaseRecordVersion = 1;
inline constexpr std::size_t kMaxCoinbaseExtra = 96;

struct Record {
  RecordKind kind = RecordKind::kNone;
  std::uint32_t version = 0;  //!< 0 when kind is kNone
  Bytes payload;              //!< empty when kind is kNone

  bool IsNone() const { return kind == RecordKind::kNone; }
  static Record Coinbase(std::uint32_t height, ByteSpan extra = {});
  friend bool operator==(const Record&, const Record&) = default;
};

void EncodeRecord(Writer& w, const Record& rec);
bool DecodeRecord(Reader& r, Record& rec);

/** The height a coinbase record states, if the record is a well-formed coinbase record. */
std::optional<std::uint32_t> CoinbaseHeight(const Record& rec);

}  // namespace wattline::consensus
