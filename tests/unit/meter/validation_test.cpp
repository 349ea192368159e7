#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "meter/model.h"
#include "meter/scenario_io.h"
#include "meter/serve.h"
#include "meter/solver.h"

using namespace wattline::meter;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Two good prosumers, then prosumer 'carol' whose second appliance 'oven' is `bad`.
Scenario WithBadAppliance(const Appliance& bad) {
  Scenario s;
  s.AddProsumer(std::vector<Appliance>{{5, 2, 6, kNoCap}}, "alice", std::vector<std::string>{"fridge"});
  s.AddProsumer(std::vector<Appliance>{{5, 2, 6, 2}}, "bob", std::vector<std::string>{"heater"});
  s.AddProsumer(std::vector<Appliance>{{1, 0, 3, kNoCap}, bad}, "carol", std::vector<std::string>{"kettle", "oven"});
  return s;
}

void ExpectOneError(const Scenario& s, ErrorCode code, const std::string& fragment) {
  const auto errors = ValidateScenario(s);
  ASSERT_FALSE(errors.empty()) << "expected " << ErrorCodeName(code);
  bool found = false;
  for (const auto& e : errors) {
    if (e.code != code) continue;
    found = true;
    EXPECT_NE(e.message.find(fragment), std::string::npos) << e.message;
  }
  EXPECT_TRUE(found) << FormatErrors(errors);
  // Every solver refuses it with the same message, and nothing crashes or returns NaN.
  for (Method m : {Method::kExact, Method::kDistributed, Method::kHourlyBill}) {
    auto r = Solve(s, m);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find(ErrorCodeName(code)), std::string::npos) << r.error();
  }
}

void ExpectApplianceError(const Appliance& bad, ErrorCode code, const std::string& fragment) {
  const Scenario s = WithBadAppliance(bad);
  ExpectOneError(s, code, fragment);
  const auto errors = ValidateScenario(s);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].prosumer, std::optional<std::size_t>(2));
  EXPECT_EQ(errors[0].appliance, std::optional<std::size_t>(1));
  EXPECT_NE(errors[0].message.find("prosumer 'carol'"), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[0].message.find("appliance 'oven'"), std::string::npos) << errors[0].message;
}

}  // namespace

TEST(Validation, GoodScenarioHasNoErrors) {
  EXPECT_TRUE(ValidateScenario(WithBadAppliance({3, 1, 4, 1})).empty());
  EXPECT_TRUE(ValidateScenario(GeneratePaperScenario({})).empty());
}

TEST(Validation, NegativeEnergy) { ExpectApplianceError({-1, 0, 3, kNoCap}, ErrorCode::kBadEnergy, "negative"); }
TEST(Validation, NaNEnergy) { ExpectApplianceError({kNaN, 0, 3, kNoCap}, ErrorCode::kBadEnergy, "not a finite"); }
TEST(Validation, InfiniteEnergy) { ExpectApplianceError({kInf, 0, 3, kNoCap}, ErrorCode::kBadEnergy, "not a finite"); }
TEST(Validation, InvertedWindow) { ExpectApplianceError({1, 5, 3, kNoCap}, ErrorCode::kInvertedWindow, "empty"); }
TEST(Validation, WindowBeforeTheDay) { ExpectApplianceError({1, -1, 3, kNoCap}, ErrorCode::kWindowOutsideDay, "outside the day"); }
TEST(Validation, WindowAfterTheDay) { ExpectApplianceError({1, 20, 24, kNoCap}, ErrorCode::kWindowOutsideDay, "0..23"); }
TEST(Validation, EnergyCannotFitUnderCaps) {
  ExpectApplianceError({10, 0, 3, 2}, ErrorCode::kEnergyExceedsCaps, "cannot fit");
}
TEST(Validation, BadCaps) {
  ExpectApplianceError({1, 0, 3, 0}, ErrorCode::kBadCap, "positive");
  ExpectApplianceError({1, 0, 3, -2}, ErrorCode::kBadCap, "positive");
  ExpectApplianceError({1, 0, 3, kNaN}, ErrorCode::kBadCap, "positive");
  ExpectApplianceError({1, 0, 3, -kInf}, ErrorCode::kBadCap, "positive");
}
TEST(Validation, NonConvexPrice) {
  Scenario s = WithBadAppliance({1, 0, 3, kNoCap});
  s.price.a = -1;
  ExpectOneError(s, ErrorCode::kNonConvexPrice, "a=-1");
  s.price.a = 1;
  s.price.b = -0.5;
  ExpectOneError(s, ErrorCode::kNonConvexPrice, "b=-0.5");
  s.price.b = kNaN;
  ExpectOneError(s, ErrorCode::kBadPrice, "finite");
}
TEST(Validation, BadSlots) {
  Scenario s = WithBadAppliance({1, 0, 3, kNoCap});
  s.slots = 0;
  ExpectOneError(s, ErrorCode::kBadSlots, "between 1");
}
TEST(Validation, TooLarge) {
  ExpectApplianceError({1e120, 0, 3, kNoCap}, ErrorCode::kTooLarge, "overflow");
}
TEST(Validation, ReportsEveryErrorInOrder) {
  Scenario s;
  s.AddProsumer(std::vector<Appliance>{{-1, 0, 3, kNoCap}, {1, 4, 2, kNoCap}});
  s.AddProsumer(std::vector<Appliance>{{1, 0, 30, kNoCap}});
  const auto errors = ValidateScenario(s);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].code, ErrorCode::kBadEnergy);
  EXPECT_EQ(errors[1].code, ErrorCode::kInvertedWindow);
  EXPECT_EQ(errors[2].code, ErrorCode::kWindowOutsideDay);
  EXPECT_NE(errors[2].message.find("prosumer #1, appliance #0"), std::string::npos) << errors[2].message;
}

TEST(ScenarioIo, JsonRoundTripAndErrors) {
  const Scenario s = GeneratePaperScenario({.prosumers = 4, .randomise = true, .seed = 3, .capped_every = 2});
  auto back = ParseScenarioJson(ScenarioToJson(s));
  ASSERT_TRUE(back.ok()) << back.error();
  ASSERT_EQ(back.value().appliances.size(), s.appliances.size());
  for (std::size_t j = 0; j < s.appliances.size(); ++j) {
    EXPECT_EQ(back.value().appliances[j].energy, s.appliances[j].energy);
    EXPECT_EQ(back.value().appliances[j].first, s.appliances[j].first);
    EXPECT_EQ(back.value().appliances[j].cap, s.appliances[j].cap);
  }
  EXPECT_EQ(back.value().prosumer_names, s.prosumer_names);
  auto csv = ParseScenarioCsv(ScenarioToCsv(s));
  ASSERT_TRUE(csv.ok()) << csv.error();
  EXPECT_EQ(csv.value().ProsumerCount(), s.ProsumerCount());
  EXPECT_EQ(csv.value().appliances[3].energy, s.appliances[3].energy);

  EXPECT_FALSE(ParseScenarioJson("{").ok());
  EXPECT_FALSE(ParseScenarioJson("[]").ok());
  auto missing = ParseScenarioJson(R"({"prosumers":[{"appliances":[{"energy":1,"first":0}]}]})");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("prosumers[0].appliances[0].last is missing"), std::string::npos) << missing.error();
  auto wrong = ParseScenarioJson(R"({"prosumers":[{"appliances":[{"energy":"x","first":0,"last":2}]}]})");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("energy must be a number"), std::string::npos);
  auto frac = ParseScenarioJson(R"({"prosumers":[{"appliances":[{"energy":1,"first":0.5,"last":2}]}]})");
  EXPECT_FALSE(frac.ok());
  // Values that parse but are invalid reach ValidateScenario.
  auto neg = ParseScenarioJson(R"({"price":{"a":-1},"prosumers":[{"name":"x","appliances":[{"energy":-3,"first":5,"last":2}]}]})");
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(ValidateScenario(neg.value()).size(), 3u);
  auto bad_csv = ParseScenarioCsv("prosumer,appliance,energy,first,last,cap\np,a,zz,0,3,\n");
  ASSERT_FALSE(bad_csv.ok());
  EXPECT_NE(bad_csv.error().find("line 2"), std::string::npos) << bad_csv.error();
  EXPECT_FALSE(ParseScenarioCsv("").ok());
  EXPECT_FALSE(LoadScenarioFile("/nonexistent/scenario.json").ok());
}

TEST(ScenarioIo, PaperGeneratorFollowsItsRule) {
  const Scenario fixed = GeneratePaperScenario({.prosumers = 2, .randomise = false});
  ASSERT_EQ(fixed.appliances.size(), 10u);
  for (int n = 0; n < 5; ++n) {
    EXPECT_EQ(fixed.appliances[static_cast<std::size_t>(n)].energy, kPaperTable[n].energy);
    EXPECT_EQ(fixed.appliances[static_cast<std::size_t>(n + 5)].first, kPaperTable[n].first);
  }
  const Scenario r = GeneratePaperScenario({.prosumers = 500, .randomise = true, .seed = 2021});
  for (std::size_t j = 0; j < r.appliances.size(); ++j) {
    const auto& a = r.appliances[j];
    const auto& t = kPaperTable[j % 5];
    EXPECT_GE(a.energy, 0.5 * t.energy);
    EXPECT_LT(a.energy, 1.5 * t.energy);
    EXPECT_LE(std::abs(std::min(a.first, a.last) - t.first), 14);
    EXPECT_GE(a.first, 0);
    EXPECT_LE(a.last, 23);
    EXPECT_LE(a.first, a.last);
  }
  // Same seed, same scenario; another seed, another one.
  const Scenario again = GeneratePaperScenario({.prosumers = 500, .randomise = true, .seed = 2021});
  EXPECT_EQ(again.appliances[123].energy, r.appliances[123].energy);
  const Scenario other = GeneratePaperScenario({.prosumers = 500, .randomise = true, .seed = 2022});
  EXPECT_NE(other.appliances[123].energy, r.appliances[123].energy);
}

TEST(Serve, FixedPricesFillCheapestSlots) {
  MeterRequest req;
  req.slots = 6;
  req.prices = {5, 1, 1, 3, 2, 9};
  std::vector<Appliance> apps{{4, 0, 5, 1.5}, {1, 3, 5, kNoCap}};
  auto r = ScheduleHousehold(apps, req);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().appliances[0], (std::vector<double>{0, 1.5, 1.5, 0, 1, 0}));
  EXPECT_EQ(r.value().appliances[1], (std::vector<double>{0, 0, 0, 0, 1, 0}));
  EXPECT_DOUBLE_EQ(r.value().expected_bill, 1.5 + 1.5 + 2 + 2);
}

TEST(Serve, BestResponseToOthersLoad) {
  MeterRequest req;
  req.slots = 4;
  req.others_load = {10, 2, 4, 8};
  req.objective = MeterRequest::Objective::kShareOfCost;
  std::vector<Appliance> apps{{6, 0, 3, kNoCap}};
  auto r = ScheduleHousehold(apps, req);
  ASSERT_TRUE(r.ok()) << r.error();
  // Water-filling to level 6: 0, 4, 2, 0.
  EXPECT_NEAR(r.value().household[1], 4, 1e-12);
  EXPECT_NEAR(r.value().household[2], 2, 1e-12);
  req.objective = MeterRequest::Objective::kOwnBill;
  auto own = ScheduleHousehold(apps, req);
  ASSERT_TRUE(own.ok());
  double sum = 0;
  for (double v : own.value().household) sum += v;
  EXPECT_NEAR(sum, 6, 1e-12);
  // Its own load raises its own price, so it spreads a little more than the share model.
  EXPECT_LT(own.value().household[1], 4);
  // Bad inputs are errors, not crashes.
  req.others_load = {1, 2};
  EXPECT_FALSE(ScheduleHousehold(apps, req).ok());
  req.others_load = {1, kNaN, 1, 1};
  EXPECT_FALSE(ScheduleHousehold(apps, req).ok());
  std::vector<Appliance> bad{{5, 0, 3, 1}};
  req.others_load = {1, 1, 1, 1};
  auto e = ScheduleHousehold(bad, req);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().find("cannot fit"), std::string::npos);
}
