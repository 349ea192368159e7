// The simulator's energy model (contrib/meters/model.h): deterministic from the seed, solar only
// in daylight, roles cycling, a prosumer's readings the net of its solar and its load, and the
// keys valid, distinct and stable.
#include "contrib/meters/model.h"

#include <gtest/gtest.h>

#include <set>

using namespace wattline;
using meters::ComputeInterval;
using meters::MakeMeter;

namespace {
constexpr std::uint64_t kDay = 86'400;
constexpr std::uint64_t kDayStart = 20'000 * kDay;  // some UTC midnight
}  // namespace

TEST(MetersModel, SameSeedSameMetersAndEnergy) {
  for (std::uint32_t i = 0; i < 6; ++i) {
    const auto a = MakeMeter(7, i);
    const auto b = MakeMeter(7, i);
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.owner, b.owner);
    EXPECT_EQ(a.profile.peak_w, b.profile.peak_w);
    for (std::uint64_t t = kDayStart; t < kDayStart + kDay; t += 900) {
      const auto ea = ComputeInterval(a, 7, t, 900);
      const auto eb = ComputeInterval(b, 7, t, 900);
      EXPECT_EQ(ea.import_wh, eb.import_wh);
      EXPECT_EQ(ea.export_wh, eb.export_wh);
    }
  }
  // Another seed gives other keys.
  EXPECT_NE(MakeMeter(7, 0).key, MakeMeter(8, 0).key);
}

TEST(MetersModel, KeysAreValidAndDistinctAndRolesCycle) {
  std::set<crypto::XOnlyPubKey> keys;
  for (std::uint32_t i = 0; i < 60; ++i) {
    const auto m = MakeMeter(1, i);
    EXPECT_TRUE(m.key.IsValid());
    EXPECT_TRUE(m.owner.IsValid());
    EXPECT_NE(m.key, m.owner);
    EXPECT_TRUE(keys.insert(m.key).second) << i;
    EXPECT_TRUE(keys.insert(m.owner).second) << i;
    static constexpr consensus::MeterRole kRoles[] = {consensus::MeterRole::kProducer,
                                                       consensus::MeterRole::kConsumer,
                                                       consensus::MeterRole::kProsumer};
    EXPECT_EQ(m.role, kRoles[i % 3]) << i;
    EXPECT_GE(m.profile.peak_w, 2000u);
    EXPECT_LE(m.profile.peak_w, 6000u);
  }
}

TEST(MetersModel, ProducersExportOnlyInDaylightAndConsumersNever) {
  const auto producer = MakeMeter(3, 0);
  const auto consumer = MakeMeter(3, 1);
  std::uint64_t day_export = 0;
  for (std::uint64_t t = kDayStart; t < kDayStart + kDay; t += 900) {
    const std::uint64_t second = t - kDayStart;
    const auto p = ComputeInterval(producer, 3, t, 900);
    const auto c = ComputeInterval(consumer, 3, t, 900);
    if (second < 6 * 3600 || second >= 18 * 3600) EXPECT_EQ(p.export_wh, 0u) << second;
    day_export += p.export_wh;
    EXPECT_EQ(c.export_wh, 0u);
    EXPECT_GT(c.import_wh, 0u) << second;  // a household's base load never stops
    // A producer's own consumption is its standby, at most 40 W: 10 Wh in 15 minutes.
    EXPECT_LE(p.import_wh, 10u);
  }
  // A 2-6 kW peak on a sky of at least 21 % gives some kWh over a day, never above 6 kW * 12 h.
  EXPECT_GT(day_export, 1'000u);
  EXPECT_LT(day_export, 6'000u * 12);
}

TEST(MetersModel, ProsumerReadsTheNetOfSolarAndLoad) {
  const auto prosumer = MakeMeter(5, 2);
  ASSERT_EQ(prosumer.role, consensus::MeterRole::kProsumer);
  bool exported = false, imported = false;
  for (std::uint64_t t = kDayStart; t < kDayStart + kDay; t += 900) {
    const auto e = ComputeInterval(prosumer, 5, t, 900);
    const std::uint64_t solar = meters::SolarWh(prosumer, 5, t, 900);
    const std::uint64_t load = meters::LoadWh(prosumer, 5, t, 900);
    EXPECT_TRUE(e.import_wh == 0 || e.export_wh == 0);  // a net: one direction per interval
    EXPECT_EQ(static_cast<std::int64_t>(e.export_wh) - static_cast<std::int64_t>(e.import_wh),
              static_cast<std::int64_t>(solar) - static_cast<std::int64_t>(load));
    exported |= e.export_wh > 0;
    imported |= e.import_wh > 0;
  }
  EXPECT_TRUE(exported);
  EXPECT_TRUE(imported);
}

TEST(MetersModel, IntervalsAddUpAcrossLengths) {
  // Integration in steps of at most 60 s: two 30-minute intervals hold what one hour holds,
  // up to the rounding down to whole Wh and the per-interval factors.
  const auto producer = MakeMeter(9, 0);
  const std::uint64_t noon = kDayStart + 12 * 3600;
  const std::uint64_t solar_hour = meters::SolarWh(producer, 9, noon, 3600);
  EXPECT_GT(solar_hour, 0u);
  EXPECT_LE(solar_hour, producer.profile.peak_w);  // never above the peak for an hour
  EXPECT_EQ(ComputeInterval(producer, 9, noon, 1).export_wh, 0u);  // a second is below 1 Wh
}
