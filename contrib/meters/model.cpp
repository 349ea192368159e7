#include "contrib/meters/model.h"

#include <algorithm>
#include <array>

#include "crypto/hash.h"

namespace wattline::meters {

namespace {

constexpr std::uint64_t kDay = 86'400;
constexpr std::uint64_t kHour = 3'600;

void PutLe(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

crypto::Hash256 HashOf(std::string_view tag, std::uint64_t seed, std::uint32_t index) {
  std::string msg(tag);
  PutLe(msg, seed, 8);
  PutLe(msg, index, 4);
  return crypto::Sha256Of({reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()});
}

/** A 64-bit number from a tagged hash of (seed, a, b): the model's randomness. */
std::uint64_t Draw(std::string_view tag, std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0) {
  std::string msg(tag);
  PutLe(msg, seed, 8);
  PutLe(msg, a, 8);
  PutLe(msg, b, 8);
  const crypto::Hash256 h = crypto::Sha256Of({reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()});
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{h.bytes[static_cast<std::size_t>(i)]} << (8 * i);
  return v;
}

/** lo + (a number in [0, hi - lo]). */
std::uint32_t InRange(std::uint64_t r, std::uint32_t lo, std::uint32_t hi) {
  return lo + static_cast<std::uint32_t>(r % (std::uint64_t{hi} - lo + 1));
}

/**
 * amplitude * sin(pi * u / span) for u in [0, span], by Bhaskara's approximation
 * 16 x (pi - x) / (5 pi^2 - 4 x (pi - x)) with x = pi u / span: in integers,
 * 16 u (span - u) / (5 span^2 - 4 u (span - u)). Its error is below 0.2 % of the amplitude.
 */
std::uint64_t HalfSine(std::uint64_t amplitude, std::uint64_t u, std::uint64_t span) {
  if (u >= span) return 0;
  const std::uint64_t p = u * (span - u);
  return amplitude * 16 * p / (5 * span * span - 4 * p);
}

/** Power in W at second-of-day s, before the per-interval factors. */
std::uint64_t SolarPower(const Profile& p, std::uint64_t s) {
  if (s < 6 * kHour || s >= 18 * kHour) return 0;
  return HalfSine(p.peak_w, s - 6 * kHour, 12 * kHour);
}

std::uint64_t LoadPower(const Profile& p, std::uint64_t s) {
  std::uint64_t w = p.base_w;
  if (s >= 7 * kHour && s < 9 * kHour) w += HalfSine(p.morning_w, s - 7 * kHour, 2 * kHour);
  if (s >= 18 * kHour && s < 22 * kHour) w += HalfSine(p.evening_w, s - 18 * kHour, 4 * kHour);
  return w;
}

/** Integral of power over [start, start + length) in W*s, midpoint rule in steps of <= 60 s. */
template <typename Fn>
std::uint64_t Integrate(std::uint64_t start, std::uint32_t length, Fn&& power) {
  std::uint64_t ws = 0;
  for (std::uint64_t t = start; t < start + length;) {
    const std::uint64_t step = std::min<std::uint64_t>(60, start + length - t);
    ws += power((t + step / 2) % kDay) * step;
    t += step;
  }
  return ws;
}

/** Permille: the day's sky (shared by the meters of a seed) times this meter's interval. */
std::uint64_t CloudPermille(const SimMeter& m, std::uint64_t seed, std::uint64_t start) {
  const std::uint64_t sky = InRange(Draw("wattline-meters/sky", seed, start / kDay), 300, 1000);
  const std::uint64_t local = InRange(Draw("wattline-meters/cloud", seed, m.index, start), 700, 1000);
  return sky * local / 1000;
}

std::uint64_t LoadPermille(const SimMeter& m, std::uint64_t seed, std::uint64_t start) {
  return InRange(Draw("wattline-meters/load", seed, m.index, start), 850, 1150);
}

}  // namespace

crypto::SecretKey DeriveKey(std::string_view tag, std::uint64_t seed, std::uint32_t index) {
  crypto::Hash256 h = HashOf(tag, seed, index);
  for (;;) {
    if (auto key = crypto::SecretKey::FromBytes(h.span())) return *key;
    h = crypto::Sha256Of(h.span());
  }
}

SimMeter MakeMeter(std::uint64_t seed, std::uint32_t index) {
  SimMeter m{index, DeriveKey("wattline-meters", seed, index), {}, {}, consensus::MeterRole::kProducer, {}};
  m.key = m.secret.PubKey();
  m.owner = DeriveKey("wattline-meters/owner", seed, index).PubKey();
  static constexpr std::array<consensus::MeterRole, 3> kRoles = {
      consensus::MeterRole::kProducer, consensus::MeterRole::kConsumer, consensus::MeterRole::kProsumer};
  m.role = kRoles[index % 3];
  Profile& p = m.profile;
  p.peak_w = InRange(Draw("wattline-meters/profile", seed, index, 0), 2000, 6000);
  p.base_w = InRange(Draw("wattline-meters/profile", seed, index, 1), 200, 600);
  p.morning_w = InRange(Draw("wattline-meters/profile", seed, index, 2), 300, 1200);
  p.evening_w = InRange(Draw("wattline-meters/profile", seed, index, 3), 800, 2500);
  p.standby_w = InRange(Draw("wattline-meters/profile", seed, index, 4), 10, 40);
  return m;
}

std::uint64_t SolarWh(const SimMeter& m, std::uint64_t seed, std::uint64_t start, std::uint32_t length) {
  const std::uint64_t ws = Integrate(start, length, [&](std::uint64_t s) { return SolarPower(m.profile, s); });
  return ws * CloudPermille(m, seed, start) / 1000 / kHour;
}

std::uint64_t LoadWh(const SimMeter& m, std::uint64_t seed, std::uint64_t start, std::uint32_t length) {
  const std::uint64_t ws = Integrate(start, length, [&](std::uint64_t s) { return LoadPower(m.profile, s); });
  return ws * LoadPermille(m, seed, start) / 1000 / kHour;
}

IntervalEnergy ComputeInterval(const SimMeter& m, std::uint64_t seed, std::uint64_t start, std::uint32_t length) {
  IntervalEnergy e;
  switch (m.role) {
    case consensus::MeterRole::kProducer:
      e.export_wh = SolarWh(m, seed, start, length);
      e.import_wh = std::uint64_t{m.profile.standby_w} * length / kHour;
      break;
    case consensus::MeterRole::kConsumer:
      e.import_wh = LoadWh(m, seed, start, length);
      break;
    case consensus::MeterRole::kProsumer: {
      const std::uint64_t solar = SolarWh(m, seed, start, length);
      const std::uint64_t load = LoadWh(m, seed, start, length);
      if (solar >= load) {
        e.export_wh = solar - load;
      } else {
        e.import_wh = load - solar;
      }
      break;
    }
  }
  return e;
}

}  // namespace wattline::meters
