// The market state that consensus keeps beside the UTXO set: the utility key and price
// coefficients, every meter, the demand of every slot, and the supply minted by the market.
//
// It is a key-value space of canonical encodings (docs/market.md, "State"):
//
//   'g'                   MarketGlobals (absent: the chain parameters' initial values)
//   'm' + meter (32)      MeterState
//   'd' + slot (u32 BE)   demand of the slot, Wh (u64 LE)
//   'o' + owner (32)      production rewards paid to Key(owner), units (u64 LE)
//   'c' + channel (36)    ChannelState of a channel not yet settled (txid || u32 index BE)
//   'w' + meter (32)      the channels whose evidence this meter's readings feed (WatchList)
//
// The ledger stores it in LevelDB next to the coins, flushed in the same atomic batch and
// undone with the same undo data; the mempool keeps an overlay of its pending records on top.
// Everything here is plain data: no I/O, no locks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "consensus/market.h"
#include "consensus/transaction.h"

namespace wattline::consensus {

struct MeterState {
  XOnlyPubKey owner;
  MeterRole role = MeterRole::kProsumer;
  bool registered = false;             //!< false: deregistered (kept: its registers go on)
  std::uint32_t registered_height = 0;  //!< height of the latest registration
  std::uint64_t granted = 0;           //!< units granted to this meter, all registrations
  bool has_reading = false;
  std::uint64_t last_start = 0;        //!< the last counted interval [last_start, last_end)
  std::uint64_t last_end = 0;
  std::uint64_t import_register = 0;   //!< registers at last_end
  std::uint64_t export_register = 0;
  std::uint64_t reward_carry = 0;      //!< millionths of a unit not yet paid
  std::uint64_t rewarded = 0;          //!< units paid for this meter's export
  std::uint64_t exported_wh = 0;       //!< counted export, Wh
  std::uint64_t imported_wh = 0;       //!< counted import, Wh
  std::uint64_t readings = 0;          //!< counted readings
  std::uint32_t channels = 0;          //!< channels not yet settled that watch this meter
  friend bool operator==(const MeterState&, const MeterState&) = default;
};

struct Coefficients {
  std::uint64_t a = 0, b = 0, c = 0;
  friend bool operator==(const Coefficients&, const Coefficients&) = default;
};

struct MarketGlobals {
  XOnlyPubKey utility_key;
  bool has_pending_key = false;
  XOnlyPubKey pending_key;                 //!< the utility key from pending_key_height on
  std::uint32_t pending_key_height = 0;
  Coefficients coefficients;
  bool has_pending_coefficients = false;
  Coefficients pending_coefficients;       //!< in force from pending_slot on
  std::uint32_t pending_slot = 0;
  std::uint64_t grants_total = 0;          //!< units minted by registrations
  std::uint64_t rewards_total = 0;         //!< units minted for production
  std::uint64_t meters_registered = 0;     //!< currently registered
  std::uint64_t readings_total = 0;
  std::uint64_t channels_funded = 0;
  std::uint64_t channels_settled = 0;
  // The incentive pool (docs/channels.md): penalty coins accrue during pool_slot and are paid
  // to the next slot's blocks in equal shares.
  std::uint32_t pool_slot = 0;
  std::uint64_t pool_accrued = 0;   //!< penalty coins of pool_slot, paid during pool_slot + 1
  std::uint64_t pool_paying = 0;    //!< coins accrued in pool_slot - 1, paid during pool_slot
  std::uint64_t pool_in_total = 0;  //!< penalty coins ever moved into the pool
  std::uint64_t pool_out_total = 0; //!< pool shares ever allowed to coinbases
  friend bool operator==(const MarketGlobals&, const MarketGlobals&) = default;

  /** The utility key in force at height (the rotation takes effect from the next block). */
  const XOnlyPubKey& UtilityKeyAt(std::uint32_t height) const;
  /** The coefficients in force in slot. */
  const Coefficients& CoefficientsAt(std::uint32_t slot) const;
  /** Penalty coins that no output holds yet: moved into the pool and not yet paid out. */
  std::uint64_t PoolOutstanding() const { return pool_in_total - pool_out_total; }
};

/** Where a channel's coins are: the funding output, or a closing output made by a post. */
enum class ChannelStatus : std::uint8_t { kOpen = 0, kClosing = 1 };

/**
 * A channel from its funding until it settles. `current` holds `amount` coins: the funding
 * output while open, the newest post's closing output while closing. The evidence
 * accumulators fold the first kMaxReadingsPerBatch readings of each meter that the chain
 * counted inside the delivery interval after the funding.
 */
struct ChannelState {
  ChannelFunding funding;
  ChannelStatus status = ChannelStatus::kOpen;
  OutPoint current;
  std::uint64_t amount = 0;
  std::uint32_t posted_height = 0;  //!< kClosing: height of the newest post
  std::uint64_t posted_state = 0;   //!< kClosing: its n
  std::uint64_t posted_cc = 0;      //!< kClosing: its Cc
  Hash256 evidence_a, evidence_b;   //!< accumulators of A's and B's meter
  std::uint32_t count_a = 0, count_b = 0;
  std::uint64_t import_a_wh = 0;    //!< A's meter's import in the folded readings
  std::uint64_t export_b_wh = 0;    //!< B's meter's export in the folded readings
  friend bool operator==(const ChannelState&, const ChannelState&) = default;

  std::uint64_t Funded() const { return funding.cwa + funding.cwb + funding.cwu; }
};

/** The channels a meter's readings feed, each with the side the meter is on. */
struct WatchEntry {
  OutPoint channel;
  bool producer = false;  //!< false: A's (consumer) meter; true: B's (producer) meter
  friend bool operator==(const WatchEntry&, const WatchEntry&) = default;
};
using WatchList = std::vector<WatchEntry>;

/** The state of a chain with no market record: the chain parameters' values. */
MarketGlobals InitialGlobals(const Params& params);

Bytes EncodeMeterState(const MeterState& s);
DecodeError DecodeMeterState(ByteSpan bytes, MeterState& s);
Bytes EncodeGlobals(const MarketGlobals& g);
DecodeError DecodeGlobals(ByteSpan bytes, MarketGlobals& g);
Bytes EncodeChannelState(const ChannelState& s);
DecodeError DecodeChannelState(ByteSpan bytes, ChannelState& s);
Bytes EncodeWatchList(const WatchList& w);
DecodeError DecodeWatchList(ByteSpan bytes, WatchList& w);

namespace market_keys {
inline constexpr char kGlobals = 'g';
inline constexpr char kMeter = 'm';
inline constexpr char kDemand = 'd';
inline constexpr char kOwnerRewards = 'o';
inline constexpr char kChannel = 'c';
inline constexpr char kWatch = 'w';
std::string Globals();
std::string Meter(const MeterId& meter);
std::string Demand(std::uint32_t slot);
std::string OwnerRewards(const XOnlyPubKey& owner);
std::string Channel(const OutPoint& channel);
std::string Watch(const MeterId& meter);
}  // namespace market_keys

/** Read access to a market state (bytes by key). */
class MarketStore {
 public:
  virtual ~MarketStore() = default;
  virtual std::optional<Bytes> Read(const std::string& key) const = 0;
};

/** An empty market state: every chain starts here. */
class EmptyMarketStore final : public MarketStore {
 public:
  std::optional<Bytes> Read(const std::string&) const override { return std::nullopt; }
};

/**
 * Changes on top of a base store: reads fall through to the base, writes stay here until the
 * owner takes them. `Undo` lists, for each key written, what the base held before.
 */
class MarketOverlay final : public MarketStore {
 public:
  explicit MarketOverlay(const MarketStore* base) : m_base(*base) {}
  std::optional<Bytes> Read(const std::string& key) const override;
  void Write(const std::string& key, std::optional<Bytes> value);

  /** key -> new value (nullopt: erased). */
  const std::map<std::string, std::optional<Bytes>>& Writes() const { return m_writes; }
  /** key -> the base's value before the first write here. */
  std::map<std::string, std::optional<Bytes>> Undo() const;
  void Clear() { m_writes.clear(); }

 private:
  const MarketStore& m_base;
  std::map<std::string, std::optional<Bytes>> m_writes;
};

/** Typed access over a store. Corrupt stored bytes throw std::runtime_error (storage failure). */
class MarketReader {
 public:
  MarketReader(const MarketStore& store, const Params& params) : m_store(store), m_params(params) {}
  std::optional<MeterState> Meter(const MeterId& meter) const;
  MarketGlobals Globals() const;
  std::uint64_t Demand(std::uint32_t slot) const;
  std::uint64_t OwnerRewards(const XOnlyPubKey& owner) const;
  std::optional<ChannelState> Channel(const OutPoint& channel) const;
  WatchList Watch(const MeterId& meter) const;
  /** The consensus price of a slot: coefficients in force then, demand of the slot before. */
  std::uint64_t PriceOfSlot(std::uint32_t slot) const;

 private:
  const MarketStore& m_store;
  const Params& m_params;
};

void WriteMeter(MarketOverlay& o, const MeterId& meter, const MeterState& s);
void WriteGlobals(MarketOverlay& o, const MarketGlobals& g);
void WriteDemand(MarketOverlay& o, std::uint32_t slot, std::uint64_t wh);
void WriteOwnerRewards(MarketOverlay& o, const XOnlyPubKey& owner, std::uint64_t units);
/** Writes the channel's state, or erases it (settled) when s is nullopt. */
void WriteChannel(MarketOverlay& o, const OutPoint& channel, const std::optional<ChannelState>& s);
/** Writes the watch list (erased when empty). */
void WriteWatch(MarketOverlay& o, const MeterId& meter, const WatchList& w);

}  // namespace wattline::consensus
