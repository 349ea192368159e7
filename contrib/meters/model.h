// The simulated meters of wattline-meters: keys and an energy model, deterministic from a seed.
//
// Keys. Meter i's secret is SHA-256("wattline-meters" || seed || i), the owner's secret
// SHA-256("wattline-meters/owner" || seed || i), with seed as 8 bytes and i as 4 bytes, both
// little-endian; while a digest is not a valid secret key (zero, or not below the curve order)
// it is hashed again (SHA-256 of the 32 bytes). Roles cycle producer, consumer, prosumer
// (meter 0 is a producer, 1 a consumer, 2 a prosumer, 3 a producer, ...).
//
// Energy, in whole Wh, integer arithmetic only (so every machine computes the same readings):
//   solar(t)  = peak * sin(pi * (t - 06:00) / 12 h) between 06:00 and 18:00 UTC, 0 otherwise
//               (Bhaskara's approximation of the sine), times a cloud factor per interval:
//               the day's sky (30-100 %, the same for every meter of a seed) times a
//               per-meter, per-interval factor (70-100 %)
//   load(t)   = base + a morning bump (07:00-09:00) + an evening bump (18:00-22:00), half-sine
//               shaped, times a per-meter, per-interval factor (85-115 %)
// Per meter and seed: peak 2-6 kW, base 0.2-0.6 kW, morning peak 0.3-1.2 kW, evening peak
// 0.8-2.5 kW, standby 10-40 W. The power is integrated over the interval in steps of at most
// 60 s. Producer: export = solar, import = standby; consumer: import = load, export = 0;
// prosumer: the net of solar and load over the interval (export the surplus, import the deficit).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "consensus/market.h"
#include "crypto/schnorr.h"

namespace wattline::meters {

struct Profile {
  std::uint32_t peak_w = 0;     //!< solar peak on a clear day
  std::uint32_t base_w = 0;     //!< household base load
  std::uint32_t morning_w = 0;  //!< extra load at the top of the morning bump
  std::uint32_t evening_w = 0;  //!< extra load at the top of the evening bump
  std::uint32_t standby_w = 0;  //!< a producer's own consumption
};

struct SimMeter {
  std::uint32_t index = 0;
  crypto::SecretKey secret;
  crypto::XOnlyPubKey key;
  crypto::XOnlyPubKey owner;  //!< the derived owner key (used unless --owner is given)
  consensus::MeterRole role = consensus::MeterRole::kProducer;
  Profile profile;
};

/** A valid secret key from SHA-256(tag || u64le(seed) || u32le(index)), re-hashed until valid. */
crypto::SecretKey DeriveKey(std::string_view tag, std::uint64_t seed, std::uint32_t index);

/** Meter `index` of `seed`: its keys, role and profile. */
SimMeter MakeMeter(std::uint64_t seed, std::uint32_t index);

struct IntervalEnergy {
  std::uint64_t import_wh = 0;
  std::uint64_t export_wh = 0;
};

/** The energy of meter m in [start, start + length) (length >= 1). */
IntervalEnergy ComputeInterval(const SimMeter& m, std::uint64_t seed, std::uint64_t start, std::uint32_t length);

/** The solar and load energy of [start, start + length) before netting, in Wh (for tests). */
std::uint64_t SolarWh(const SimMeter& m, std::uint64_t seed, std::uint64_t start, std::uint32_t length);
std::uint64_t LoadWh(const SimMeter& m, std::uint64_t seed, std::uint64_t start, std::uint32_t length);

}  // namespace wattline::meters
