#include "meter/solver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "meter/model.h"
#include "meter/scenario_io.h"

using namespace wattline::meter;

namespace {

// Small random scenarios: mixed caps (some tight), windows anywhere in the day.
Scenario RandomScenario(std::uint64_t seed, int prosumers, int per, int slots, bool caps) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> U(0, 1);
  Scenario s;
  s.slots = slots;
  s.price = PriceModel{0.5 + U(rng), U(rng), U(rng)};
  for (int p = 0; p < prosumers; ++p) {
    std::vector<Appliance> apps;
    for (int k = 0; k < per; ++k) {
      Appliance a;
      a.first = static_cast<int>(U(rng) * slots);
      a.last = std::min(slots - 1, a.first + static_cast<int>(U(rng) * slots / 2));
      a.energy = 0.2 + 3 * U(rng);
      if (caps && U(rng) < 0.6) {
        const double minimum = a.energy / a.WindowLength();
        a.cap = minimum * (1.0 + 2 * U(rng));
        if (U(rng) < 0.2) a.cap = minimum;  // exactly full
      }
      apps.push_back(a);
    }
    s.AddProsumer(apps);
  }
  return s;
}

SolveResult MustSolve(const Scenario& s, Method m, SolveOptions o = {}) {
  auto r = Solve(s, m, o);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.value();
}

void ExpectFeasible(const Scenario& s, const SolveResult& r) {
  ASSERT_EQ(r.schedule.offset.size(), s.appliances.size() + 1);
  std::vector<double> sum(static_cast<std::size_t>(s.slots), 0.0);
  for (std::size_t j = 0; j < s.appliances.size(); ++j) {
    const Appliance& a = s.appliances[j];
    auto x = r.schedule.Of(j);
    ASSERT_EQ(x.size(), static_cast<std::size_t>(a.WindowLength()));
    double e = 0;
    for (std::size_t h = 0; h < x.size(); ++h) {
      EXPECT_GE(x[h], -1e-9 * (1 + a.energy)) << "appliance " << j;
      if (a.HasCap()) EXPECT_LE(x[h], a.cap * (1 + 1e-9)) << "appliance " << j;
      EXPECT_TRUE(std::isfinite(x[h]));
      e += x[h];
      sum[static_cast<std::size_t>(a.first) + h] += x[h];
    }
    EXPECT_NEAR(e, a.energy, 1e-9 * (1 + a.energy)) << "appliance " << j;
  }
  for (std::size_t h = 0; h < sum.size(); ++h) EXPECT_NEAR(sum[h], r.load[h], 1e-9 * (1 + r.load[h]));
}

double Rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(a), std::abs(b)); }

// An independent solve of the same convex problem: FISTA (accelerated projected gradient) on
// the dense per-appliance variables, with its own bisection projection. Shares no code with
// the library beyond the Scenario type.
double DenseProjectedGradient(const Scenario& s, int iterations) {
  const std::size_t T = static_cast<std::size_t>(s.slots);
  const std::size_t n = s.appliances.size();
  auto project = [&](const Appliance& a, std::vector<double>& v) {
    const double cap = a.HasCap() ? a.cap : 1e300;
    auto total = [&](double shift) {
      double t = 0;
      for (int h = a.first; h <= a.last; ++h) t += std::clamp(v[static_cast<std::size_t>(h)] - shift, 0.0, cap);
      return t;
    };
    double lo = -1e6;
    double hi = 1e6;
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      (total(mid) > a.energy ? lo : hi) = mid;
    }
    for (std::size_t h = 0; h < T; ++h) {
      const int hi_ = static_cast<int>(h);
      v[h] = (hi_ < a.first || hi_ > a.last) ? 0.0 : std::clamp(v[h] - 0.5 * (lo + hi), 0.0, cap);
    }
  };
  std::vector<std::vector<double>> x(n, std::vector<double>(T, 0.0));
  for (std::size_t j = 0; j < n; ++j) {
    for (int h = s.appliances[j].first; h <= s.appliances[j].last; ++h) {
      x[j][static_cast<std::size_t>(h)] = s.appliances[j].energy / s.appliances[j].WindowLength();
    }
  }
  double emax = 0;
  for (const auto& a : s.appliances) emax += a.energy;
  const double lip = static_cast<double>(n) * (6 * s.price.a * emax + 2 * s.price.b) + 1e-12;
  const double step = 1 / lip;
  auto yv = x;
  auto prev = x;
  double t = 1;
  std::vector<double> L(T);
  for (int it = 0; it < iterations; ++it) {
    std::fill(L.begin(), L.end(), 0.0);
    for (const auto& v : yv) {
      for (std::size_t h = 0; h < T; ++h) L[h] += v[h];
    }
    prev = x;
    for (std::size_t j = 0; j < n; ++j) {
      std::vector<double> v = yv[j];
      for (std::size_t h = 0; h < T; ++h) {
        v[h] -= step * ((3 * s.price.a * L[h] + 2 * s.price.b) * L[h] + s.price.c);
      }
      project(s.appliances[j], v);
      x[j] = v;
    }
    const double tn = 0.5 * (1 + std::sqrt(1 + 4 * t * t));
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t h = 0; h < T; ++h) yv[j][h] = x[j][h] + (t - 1) / tn * (x[j][h] - prev[j][h]);
    }
    t = tn;
  }
  std::fill(L.begin(), L.end(), 0.0);
  for (const auto& v : x) {
    for (std::size_t h = 0; h < T; ++h) L[h] += v[h];
  }
  double cost = 0;
  for (double l : L) cost += l * ((s.price.a * l + s.price.b) * l + s.price.c);
  return cost;
}

}  // namespace

TEST(Solver, SchedulesAreFeasibleAndCertified) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Scenario s = RandomScenario(seed, 6, 3, 12, true);
    SolveOptions o;
    o.want_schedules = true;
    for (Method m : {Method::kExact, Method::kDistributed, Method::kHourlyBill}) {
      SCOPED_TRACE(MethodName(m));
      const SolveResult r = MustSolve(s, m, o);
      ExpectFeasible(s, r);
      const Certificate c = Certify(s, r.load, r.schedule);
      if (m != Method::kHourlyBill) {
        EXPECT_LT(r.certificate.relative_gap, 1e-9);
        EXPECT_LT(r.certificate.kkt_residual, 1e-7);
        EXPECT_LT(c.relative_gap, 1e-9);
        EXPECT_LT(c.kkt_residual, 1e-7);
        EXPECT_LE(r.certificate.lower_bound, r.total_cost);
      } else {
        EXPECT_LT(r.equilibrium_residual, 1e-7);
      }
    }
  }
}

TEST(Solver, DistributedAndExactAgree) {
  for (std::uint64_t seed = 100; seed < 130; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Scenario s = RandomScenario(seed, 8, 4, 24, seed % 2 == 0);
    const SolveResult ex = MustSolve(s, Method::kExact);
    SolveOptions o;
    o.merge_identical = seed % 3 != 0;
    const SolveResult di = MustSolve(s, Method::kDistributed, o);
    EXPECT_LT(Rel(ex.total_cost, di.total_cost), 1e-9);
    EXPECT_TRUE(di.converged);
    double total_bills_ex = 0;
    for (std::size_t p = 0; p < ex.bills.size(); ++p) {
      EXPECT_LT(Rel(ex.bills[p], di.bills[p]), 1e-6) << "prosumer " << p;
      total_bills_ex += ex.bills[p];
    }
    // At the optimum, what the prosumers pay adds up to the total cost.
    EXPECT_LT(Rel(total_bills_ex, ex.total_cost), 1e-9);
    for (std::size_t h = 0; h < ex.load.size(); ++h) EXPECT_NEAR(ex.load[h], di.load[h], 1e-6 * (1 + ex.load[h]));
  }
}

TEST(Solver, MatchesIndependentDenseProjectedGradient) {
  for (std::uint64_t seed = 500; seed < 506; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Scenario s = RandomScenario(seed, 3, 2, 8, seed % 2 == 1);
    const SolveResult ex = MustSolve(s, Method::kExact);
    const double reference = DenseProjectedGradient(s, 20000);
    EXPECT_LT(Rel(ex.total_cost, reference), 1e-6) << ex.total_cost << " vs " << reference;
    EXPECT_LE(ex.total_cost, reference * (1 + 1e-12));  // never worse than any feasible point
  }
}

TEST(Solver, HourlyBillIsAnEquilibriumNoCheaperThanTheOptimum) {
  const Scenario s = GeneratePaperScenario({.prosumers = 10, .randomise = true, .seed = 9});
  const SolveResult opt = MustSolve(s, Method::kExact);
  const SolveResult hb = MustSolve(s, Method::kHourlyBill);
  EXPECT_TRUE(hb.converged);
  EXPECT_GE(hb.total_cost, opt.total_cost * (1 - 1e-12));
  EXPECT_LT(hb.equilibrium_residual, 1e-7);
  EXPECT_GT(hb.certificate.duality_gap, 0);
  // Few prosumers, each a big share: the gap is visible but small.
  EXPECT_LT(hb.total_cost / opt.total_cost - 1, 0.05);
}

TEST(Solver, DeterministicForSeedAndThreads) {
  const Scenario s = GeneratePaperScenario({.prosumers = 3000, .randomise = true, .seed = 4, .capped_every = 3, .names = false});
  for (Method m : {Method::kExact, Method::kDistributed}) {
    SolveOptions o;
    o.threads = 2;
    const SolveResult a = MustSolve(s, m, o);
    const SolveResult b = MustSolve(s, m, o);
    EXPECT_EQ(a.load, b.load);
    EXPECT_EQ(a.bills, b.bills);
    o.threads = 1;
    const SolveResult c = MustSolve(s, m, o);
    EXPECT_LT(Rel(a.total_cost, c.total_cost), 1e-12);
  }
}

TEST(Solver, PerApplianceDynamicsOnManyAgentsMatchesExact) {
  // The literal per-appliance dynamics on 120k agents (grouping and bills on two threads).
  const Scenario s = GeneratePaperScenario({.prosumers = 24000, .randomise = true, .seed = 8, .names = false});
  SolveOptions o;
  o.threads = 2;
  o.merge_identical = false;
  o.tolerance = 1e-12;
  const SolveResult di = MustSolve(s, Method::kDistributed, o);
  const SolveResult ex = MustSolve(s, Method::kExact, o);
  EXPECT_LT(Rel(ex.total_cost, di.total_cost), 1e-9);
}

TEST(Solver, PaperTableUnrandomised) {
  const Scenario s = GeneratePaperScenario({.prosumers = 100, .randomise = false});
  const SolveResult ex = MustSolve(s, Method::kExact);
  const SolveResult di = MustSolve(s, Method::kDistributed);
  EXPECT_LT(Rel(ex.total_cost, di.total_cost), 1e-9);
  // The scheduled profile is never peakier than either baseline, and costs less.
  const auto even = BaselineLoad(s, Baseline::kEven);
  const auto early = BaselineLoad(s, Baseline::kEarliest);
  EXPECT_LE(ex.par, PeakToAverage(even));
  EXPECT_LE(ex.par, PeakToAverage(early));
  EXPECT_LT(ex.total_cost, TotalCost(s.price, even));
  // Slots 0..5 and 21..23 are outside every window.
  for (int h : {0, 5, 21, 23}) EXPECT_EQ(ex.load[static_cast<std::size_t>(h)], 0);
  // Identical prosumers pay identical bills.
  for (double b : ex.bills) EXPECT_LT(Rel(b, ex.bills[0]), 1e-12);
}

TEST(Solver, OptimumIsTheSameForEveryStrictlyConvexPrice) {
  Scenario s = RandomScenario(77, 6, 3, 12, true);
  s.price = {1, 0, 0};
  const SolveResult a = MustSolve(s, Method::kExact);
  s.price = {0, 2, 5};
  const SolveResult b = MustSolve(s, Method::kDistributed);
  for (std::size_t h = 0; h < a.load.size(); ++h) EXPECT_NEAR(a.load[h], b.load[h], 1e-6 * (1 + a.load[h]));
}

TEST(Solver, BaselinesAndBills) {
  Scenario s;
  s.slots = 4;
  s.price = {1, 1, 1};
  s.AddProsumer(std::vector<Appliance>{{4, 0, 3, kNoCap}, {3, 1, 3, 2}});
  const auto even = BaselineLoad(s, Baseline::kEven);
  EXPECT_EQ(even, (std::vector<double>{1, 2, 2, 2}));
  const auto early = BaselineLoad(s, Baseline::kEarliest);
  EXPECT_EQ(early, (std::vector<double>{4, 2, 1, 0}));
  const auto bills = BaselineBills(s, Baseline::kEarliest, early);
  EXPECT_DOUBLE_EQ(bills[0], TotalCost(s.price, early));
  EXPECT_DOUBLE_EQ(PeakToAverage(early), 4 / (7.0 / 4));
  EXPECT_EQ(PeakToAverage(std::vector<double>{0, 0}), 1);
}

TEST(Solver, EmptyAndZeroEnergyScenarios) {
  Scenario s;
  for (Method m : {Method::kExact, Method::kDistributed, Method::kHourlyBill}) {
    const SolveResult r = MustSolve(s, m);
    EXPECT_EQ(r.par, 1);
    EXPECT_EQ(r.total_cost, 0);
  }
  s.AddProsumer(std::vector<Appliance>{{0, 3, 5, kNoCap}, {0, 0, 0, 1}});
  for (Method m : {Method::kExact, Method::kDistributed, Method::kHourlyBill}) {
    SolveOptions o;
    o.want_schedules = true;
    const SolveResult r = MustSolve(s, m, o);
    EXPECT_EQ(r.par, 1);
    for (double v : r.load) EXPECT_EQ(v, 0);
    for (double v : r.schedule.values) EXPECT_EQ(v, 0);
  }
}

TEST(Solver, CappedClassesMergeExactlyAndSplitBackFeasibly) {
  // Many appliances share (window, cap) classes with different energies: the distributed
  // method plays one best response per class, and both methods split classes back onto
  // appliances that each keep their energy, window and cap.
  const Scenario s = GeneratePaperScenario({.prosumers = 400, .randomise = true, .seed = 11, .capped_every = 2});
  SolveOptions o;
  o.want_schedules = true;
  const SolveResult ex = MustSolve(s, Method::kExact, o);
  const SolveResult di = MustSolve(s, Method::kDistributed, o);
  o.merge_identical = false;
  const SolveResult each = MustSolve(s, Method::kDistributed, o);
  EXPECT_LT(di.agents, s.appliances.size() / 3);
  EXPECT_EQ(each.agents, s.appliances.size());
  for (const SolveResult* r : {&ex, &di, &each}) {
    SCOPED_TRACE(MethodName(r->method));
    ExpectFeasible(s, *r);
    EXPECT_LT(r->certificate.relative_gap, 1e-9);
    EXPECT_LT(r->certificate.kkt_residual, 1e-7);
    EXPECT_LT(Rel(r->total_cost, ex.total_cost), 1e-9);
    for (std::size_t p = 0; p < s.ProsumerCount(); ++p) EXPECT_LT(Rel(r->bills[p], ex.bills[p]), 1e-6);
  }
}

TEST(Solver, ExtremeButValidInputsNeverGiveNaNOrHang) {
  // One slot, 96 slots, energies from 1e-6 to 1e6 kWh, zero energies, caps that fit exactly,
  // a = 0 or b = 0, a linear price (a = b = 0), negative c.
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> U(0, 1);
  for (int t = 0; t < 150; ++t) {
    SCOPED_TRACE("case " + std::to_string(t) + " seed 42");
    Scenario s;
    const int T = t % 7 == 0 ? 1 : t % 11 == 0 ? 96 : 1 + static_cast<int>(U(rng) * 30);
    s.slots = T;
    const double scale = std::pow(10.0, -6 + 12 * U(rng));
    s.price = {t % 3 == 0 ? 0.0 : U(rng), t % 4 == 0 ? 0.0 : U(rng) * 3, (U(rng) - 0.5) * 10};
    if (t % 13 == 0) s.price = {0, 0, 2};
    const int prosumers = t % 5 == 0 ? 1 : 1 + static_cast<int>(U(rng) * 6);
    for (int p = 0; p < prosumers; ++p) {
      std::vector<Appliance> apps;
      const int n = static_cast<int>(U(rng) * 4);
      for (int k = 0; k < n; ++k) {
        Appliance a;
        a.first = static_cast<int>(U(rng) * T);
        a.last = std::min(T - 1, a.first + static_cast<int>(U(rng) * T));
        a.energy = U(rng) < 0.15 ? 0.0 : scale * U(rng);
        if (U(rng) < 0.5) {
          const double m = a.energy / a.WindowLength();
          a.cap = m > 0 ? (U(rng) < 0.3 ? m : m * (1 + 3 * U(rng))) : 1.0;
        }
        apps.push_back(a);
      }
      s.AddProsumer(apps);
    }
    ASSERT_TRUE(ValidateScenario(s).empty());
    for (Method m : {Method::kExact, Method::kDistributed, Method::kHourlyBill}) {
      SCOPED_TRACE(MethodName(m));
      SolveOptions o;
      o.want_schedules = true;
      o.max_rounds = 5000;
      const SolveResult r = MustSolve(s, m, o);
      EXPECT_TRUE(r.converged);
      EXPECT_TRUE(std::isfinite(r.total_cost) && std::isfinite(r.par));
      EXPECT_TRUE(std::isfinite(r.certificate.duality_gap) && std::isfinite(r.certificate.kkt_residual));
      for (double v : r.load) ASSERT_TRUE(std::isfinite(v));
      for (double v : r.bills) ASSERT_TRUE(std::isfinite(v));
      ExpectFeasible(s, r);
      if (m != Method::kHourlyBill) {
        EXPECT_LT(r.certificate.relative_gap, 1e-8);
        EXPECT_LT(r.certificate.kkt_residual, 1e-6);
      }
    }
  }
}

TEST(Solver, HourlyBillEquilibriumOfIdenticalProsumersIsTheOptimum) {
  // Their marginal bill p(L) + (L/N) p'(L) is the same increasing function of L in every slot.
  const Scenario s = GeneratePaperScenario({.prosumers = 40, .randomise = false});
  const SolveResult opt = MustSolve(s, Method::kExact);
  const SolveResult hb = MustSolve(s, Method::kHourlyBill);
  EXPECT_LT(Rel(hb.total_cost, opt.total_cost), 1e-10);
  EXPECT_LT(hb.equilibrium_residual, 1e-9);
  // And with different prosumers the load-space phase keeps the work flat in the population.
  const Scenario r = GeneratePaperScenario({.prosumers = 400, .randomise = true, .seed = 5, .names = false});
  const SolveResult big = MustSolve(r, Method::kHourlyBill);
  EXPECT_TRUE(big.converged);
  EXPECT_LT(big.rounds, 200u);
  EXPECT_LT(big.equilibrium_residual, 1e-8);
}
