#include "meter/waterfill.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <vector>

#include "meter/model.h"

using namespace wattline::meter;

namespace {

// Brute force over every assignment of each slot to {at 0, free, at cap}: the unique
// projection is the assignment whose level satisfies all KKT conditions.
std::optional<std::vector<double>> BruteForce(const std::vector<double>& z, double cap, double energy) {
  const std::size_t k = z.size();
  const bool capped = cap != kNoCap;
  const int states = capped ? 3 : 2;
  std::size_t total = 1;
  for (std::size_t i = 0; i < k; ++i) total *= static_cast<std::size_t>(states);
  for (std::size_t code = 0; code < total; ++code) {
    std::vector<int> st(k);
    std::size_t c = code;
    for (std::size_t i = 0; i < k; ++i) {
      st[i] = static_cast<int>(c % static_cast<std::size_t>(states));
      c /= static_cast<std::size_t>(states);
    }
    double at_cap = 0;
    double free_z = 0;
    int nfree = 0;
    for (std::size_t i = 0; i < k; ++i) {
      if (st[i] == 2) at_cap += cap;
      if (st[i] == 1) {
        free_z += z[i];
        ++nfree;
      }
    }
    if (nfree == 0) continue;  // a level is then not pinned down; such cases have another valid code
    const double level = (energy - at_cap + free_z) / nfree;
    bool ok = true;
    std::vector<double> x(k);
    for (std::size_t i = 0; i < k && ok; ++i) {
      const double tol = 1e-9 * (1 + std::abs(level));
      if (st[i] == 0) {
        ok = z[i] >= level - tol;
        x[i] = 0;
      } else if (st[i] == 2) {
        ok = z[i] + cap <= level + tol;
        x[i] = cap;
      } else {
        x[i] = level - z[i];
        ok = x[i] >= -tol && (!capped || x[i] <= cap + tol);
      }
    }
    if (ok) return x;
  }
  return std::nullopt;
}

}  // namespace

TEST(CappedWaterFill, MatchesBruteForceOnSmallCases) {
  std::mt19937_64 rng(12345);  // seed printed on failure via SCOPED_TRACE
  std::uniform_real_distribution<double> U(0, 10);
  WaterFillScratch scratch;
  int checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial) + " seed 12345");
    const std::size_t k = 1 + static_cast<std::size_t>(trial % 6);
    std::vector<double> z(k);
    for (auto& v : z) v = trial % 5 == 0 ? std::floor(U(rng)) : U(rng);  // ties too
    const bool capped = trial % 3 != 0;
    const double cap = capped ? 0.5 + U(rng) : kNoCap;
    double energy = U(rng) * (capped ? std::min(1.0, cap * static_cast<double>(k) / 10) : 1.0) * 10;
    if (capped) energy = std::min(energy, cap * static_cast<double>(k) * 0.999);
    auto expected = BruteForce(z, cap, energy);
    ASSERT_TRUE(expected.has_value());
    std::vector<double> x(k);
    CappedWaterFill(z, cap, energy, x, scratch);
    double sum = 0;
    for (std::size_t i = 0; i < k; ++i) {
      EXPECT_NEAR(x[i], (*expected)[i], 1e-9 * (1 + energy));
      EXPECT_GE(x[i], 0);
      if (capped) EXPECT_LE(x[i], cap);
      sum += x[i];
    }
    EXPECT_NEAR(sum, energy, 1e-12 * (1 + energy));
    ++checked;
  }
  EXPECT_EQ(checked, 3000);
}

TEST(CappedWaterFill, EdgeCases) {
  WaterFillScratch scratch;
  std::vector<double> z{3, 1, 2};
  std::vector<double> x(3);
  CappedWaterFill(z, kNoCap, 0, x, scratch);
  EXPECT_EQ(x, (std::vector<double>{0, 0, 0}));
  CappedWaterFill(z, 2, 6, x, scratch);  // exactly full
  EXPECT_EQ(x, (std::vector<double>{2, 2, 2}));
  CappedWaterFill(z, kNoCap, 1, x, scratch);  // all into the lowest slot
  EXPECT_DOUBLE_EQ(x[1], 1);
  EXPECT_DOUBLE_EQ(x[0] + x[2], 0);
  CappedWaterFill(z, kNoCap, 6, x, scratch);  // level 4: 1, 3, 2
  EXPECT_NEAR(x[0], 1, 1e-12);
  EXPECT_NEAR(x[1], 3, 1e-12);
  EXPECT_NEAR(x[2], 2, 1e-12);
  std::vector<double> one{5};
  std::vector<double> y(1);
  CappedWaterFill(one, kNoCap, 7, y, scratch);
  EXPECT_DOUBLE_EQ(y[0], 7);
}

TEST(MonotoneWaterFill, AgreesWithBisectionAndCapped) {
  std::mt19937_64 rng(777);
  std::uniform_real_distribution<double> U(0, 5);
  WaterFillScratch scratch;
  for (int trial = 0; trial < 500; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial) + " seed 777");
    const std::size_t k = 1 + static_cast<std::size_t>(trial % 9);
    std::vector<QuadraticMarginal> phi(k);
    for (auto& f : phi) f = QuadraticMarginal{U(rng), U(rng), U(rng) * 10};
    const bool capped = trial % 2 == 0;
    const double cap = capped ? 0.3 + U(rng) : kNoCap;
    double energy = U(rng) * 3;
    if (capped) energy = std::min(energy, cap * static_cast<double>(k) * 0.99);
    std::vector<double> x(k);
    MonotoneWaterFill(phi, cap, energy, x, scratch);
    // Independent: bisection on tau with 200 halvings.
    auto fill = [&](double tau) {
      double s = 0;
      for (const auto& f : phi) s += std::min(capped ? cap : energy, f.Inverse(tau));
      return s;
    };
    double lo = 0;
    double hi = 1;
    while (fill(hi) < energy) hi *= 2;
    for (int i = 0; i < 200; ++i) {
      const double mid = 0.5 * (lo + hi);
      (fill(mid) < energy ? lo : hi) = mid;
    }
    double sum = 0;
    for (std::size_t h = 0; h < k; ++h) {
      const double expected = std::min(capped ? cap : energy, phi[h].Inverse(hi));
      EXPECT_NEAR(x[h], expected, 1e-8 * (1 + energy));
      sum += x[h];
    }
    EXPECT_NEAR(sum, energy, 1e-12 * (1 + energy));
  }
  // With phi_h(x) = x + z_h (the same marginal in every slot) it is the capped water-filling.
  std::vector<double> z{0.5, 2, 1, 4};
  std::vector<QuadraticMarginal> phi;
  for (double v : z) phi.push_back({0, 1, v});
  std::vector<double> a(4);
  std::vector<double> b(4);
  MonotoneWaterFill(phi, 1.2, 3, a, scratch);
  CappedWaterFill(z, 1.2, 3, b, scratch);
  for (int h = 0; h < 4; ++h) EXPECT_NEAR(a[h], b[h], 1e-12);
}

TEST(MonotoneWaterFill, ConstantPricesFillCheapestEvenly) {
  WaterFillScratch scratch;
  std::vector<QuadraticMarginal> phi{{0, 0, 3}, {0, 0, 1}, {0, 0, 1}, {0, 0, 2}};
  std::vector<double> x(4);
  MonotoneWaterFill(phi, 2, 5, x, scratch);
  EXPECT_DOUBLE_EQ(x[1], 2);
  EXPECT_DOUBLE_EQ(x[2], 2);
  EXPECT_DOUBLE_EQ(x[3], 1);
  EXPECT_DOUBLE_EQ(x[0], 0);
}
