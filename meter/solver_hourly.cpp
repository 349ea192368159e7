// The hourly-bill equilibrium (see solver.h).
#include "meter/solver_internal.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "meter/parallel.h"
#include "meter/waterfill.h"

namespace wattline::meter::detail {

namespace {

// Passes over a prosumer's own appliances per turn. More passes make each turn an exact
// best response but, measured on the paper's runs, do not reduce the number of rounds (the
// slow modes are exchanges between prosumers), so one pass it is.
constexpr int kInnerPasses = 1;


// min over gamma of || rhs - sum_i gamma_i cols[i] || (a few columns): normal equations with a
// light ridge, Cholesky in long double. Returns false when the system is numerically singular.
bool SmallLeastSquares(const std::vector<std::vector<double>>& cols, std::span<const double> rhs,
                       std::vector<double>& gamma) {
  const std::size_t m = cols.size();
  std::vector<long double> A(m * m, 0.0L);
  std::vector<long double> b(m, 0.0L);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t k = 0; k < rhs.size(); ++k) b[i] += static_cast<long double>(cols[i][k]) * rhs[k];
    for (std::size_t j = 0; j <= i; ++j) {
      long double d = 0;
      for (std::size_t k = 0; k < rhs.size(); ++k) d += static_cast<long double>(cols[i][k]) * cols[j][k];
      A[i * m + j] = d;
    }
  }
  long double trace = 0;
  for (std::size_t i = 0; i < m; ++i) trace += A[i * m + i];
  for (std::size_t i = 0; i < m; ++i) A[i * m + i] += 1e-12L * trace + 1e-300L;
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      long double v = A[i * m + j];
      for (std::size_t k = 0; k < j; ++k) v -= A[i * m + k] * A[j * m + k];
      if (i == j) {
        if (!(v > 0)) return false;
        A[i * m + i] = std::sqrt(v);
      } else {
        A[i * m + j] = v / A[j * m + j];
      }
    }
  }
  std::vector<long double> y(m);
  for (std::size_t i = 0; i < m; ++i) {
    long double v = b[i];
    for (std::size_t k = 0; k < i; ++k) v -= A[i * m + k] * y[k];
    y[i] = v / A[i * m + i];
  }
  gamma.assign(m, 0.0);
  for (std::size_t i = m; i-- > 0;) {
    long double v = y[i];
    for (std::size_t k = i + 1; k < m; ++k) v -= A[k * m + i] * static_cast<long double>(gamma[k]);
    gamma[i] = static_cast<double>(v / A[i * m + i]);
  }
  return true;
}

}  // namespace

Result<SolveResult> SolveHourly(const Scenario& s, const SolveOptions& o) {
  SolveResult r;
  r.method = Method::kHourlyBill;
  r.agents = s.ProsumerCount();
  const auto T = static_cast<std::size_t>(s.slots);
  const PriceModel& pm = s.price;
  Schedule sch;
  sch.offset.resize(s.appliances.size() + 1);
  sch.offset[0] = 0;
  for (std::size_t j = 0; j < s.appliances.size(); ++j) {
    sch.offset[j + 1] = sch.offset[j] + static_cast<std::size_t>(s.appliances[j].WindowLength());
  }
  sch.values.assign(sch.offset.back(), 0.0);
  std::vector<double> load(T, 0.0);
  for (std::size_t j = 0; j < s.appliances.size(); ++j) {
    const Appliance& a = s.appliances[j];
    const double v = a.energy / a.WindowLength();
    for (int h = 0; h < a.WindowLength(); ++h) {
      sch.values[sch.offset[j] + static_cast<std::size_t>(h)] = v;
      load[static_cast<std::size_t>(a.first + h)] += v;
    }
  }
  std::vector<double> own(T);
  std::vector<QuadraticMarginal> phi(T);
  std::vector<double> x(T);
  WaterFillScratch scratch;
  // The marginal bill of appliance j of a prosumer whose other load is X' and with the rest
  // of the grid's load L0 (which includes X'): d/dx [(X'+x) p(L0+x)].
  auto build_phi = [&](const Appliance& a, std::span<const double> cur) {
    for (int h = 0; h < a.WindowLength(); ++h) {
      const auto hs = static_cast<std::size_t>(h);
      const auto slot = static_cast<std::size_t>(a.first + h);
      const double l0 = load[slot] - cur[hs];
      const double xo = own[slot] - cur[hs];
      phi[hs] = QuadraticMarginal{3 * pm.a, 4 * pm.a * l0 + 2 * pm.a * xo + 2 * pm.b, pm.Price(l0) + xo * pm.PriceSlope(l0)};
    }
  };
  auto recompute_load = [&] {
    std::fill(load.begin(), load.end(), 0.0);
    for (std::size_t j = 0; j < s.appliances.size(); ++j) {
      const Appliance& a = s.appliances[j];
      for (int h = 0; h < a.WindowLength(); ++h) {
        load[static_cast<std::size_t>(a.first + h)] += sch.values[sch.offset[j] + static_cast<std::size_t>(h)];
      }
    }
  };
  // One round of best responses, prosumer by prosumer (Gauss-Seidel), in place.
  auto round = [&](double previous_peak) {
    for (std::size_t p = 0; p < s.ProsumerCount(); ++p) {
      std::fill(own.begin(), own.end(), 0.0);
      for (std::size_t j = s.prosumer_begin[p]; j < s.prosumer_begin[p + 1]; ++j) {
        const Appliance& a = s.appliances[j];
        for (int h = 0; h < a.WindowLength(); ++h) {
          own[static_cast<std::size_t>(a.first + h)] += sch.values[sch.offset[j] + static_cast<std::size_t>(h)];
        }
      }
      // The prosumer's (approximate) best response: its appliances in turn.
      const double inner_tol = o.tolerance * previous_peak;
      for (int pass = 0; pass < kInnerPasses; ++pass) {
        double moved = 0;
        for (std::size_t j = s.prosumer_begin[p]; j < s.prosumer_begin[p + 1]; ++j) {
          const Appliance& a = s.appliances[j];
          const auto len = static_cast<std::size_t>(a.WindowLength());
          std::span<double> cur{sch.values.data() + sch.offset[j], len};
          build_phi(a, cur);
          MonotoneWaterFill({phi.data(), len}, a.cap, a.energy, {x.data(), len}, scratch);
          for (std::size_t h = 0; h < len; ++h) {
            const auto slot = static_cast<std::size_t>(a.first) + h;
            const double d = x[h] - cur[h];
            moved = std::max(moved, std::abs(d));
            load[slot] += d;
            own[slot] += d;
            cur[h] = x[h];
          }
        }
        if (moved <= inner_tol || s.prosumer_begin[p + 1] - s.prosumer_begin[p] <= 1) break;
      }
    }
  };
  // Phase 1, in load space. At an equilibrium, prosumer i's schedule minimises
  // sum_h [p(L_h) X_ih + p'(L_h) X_ih^2 / 2] with p and p' frozen at the equilibrium load L
  // (same KKT conditions), so the equilibrium is a fixed point L = R(L) of the T-dimensional
  // map "every prosumer's best response to frozen prices". R is steeply decreasing, so the
  // fixed point is found with Anderson acceleration in T dimensions (full memory), whose
  // iterations do not grow with the number of prosumers; the rounds below then only polish.
  std::size_t phase1 = 0;
  if (pm.a > 0 || pm.b > 0) {
    std::vector<double> frozen_price(T);
    std::vector<double> frozen_slope(T);
    auto respond = [&](const std::vector<double>& at, std::vector<double>& out) {
      for (std::size_t h = 0; h < T; ++h) {
        const double l = std::max(0.0, at[h]);
        frozen_price[h] = pm.Price(l);
        frozen_slope[h] = pm.PriceSlope(l);
      }
      std::fill(out.begin(), out.end(), 0.0);
      for (std::size_t p = 0; p < s.ProsumerCount(); ++p) {
        std::fill(own.begin(), own.end(), 0.0);
        double energy = 0;
        for (std::size_t j = s.prosumer_begin[p]; j < s.prosumer_begin[p + 1]; ++j) {
          const Appliance& a = s.appliances[j];
          energy += a.energy;
          for (int h = 0; h < a.WindowLength(); ++h) {
            own[static_cast<std::size_t>(a.first + h)] += sch.values[sch.offset[j] + static_cast<std::size_t>(h)];
          }
        }
        for (int pass = 0; pass < 200; ++pass) {
          double moved = 0;
          for (std::size_t j = s.prosumer_begin[p]; j < s.prosumer_begin[p + 1]; ++j) {
            const Appliance& a = s.appliances[j];
            const auto len = static_cast<std::size_t>(a.WindowLength());
            std::span<double> cur{sch.values.data() + sch.offset[j], len};
            for (std::size_t h = 0; h < len; ++h) {
              const auto slot = static_cast<std::size_t>(a.first) + h;
              phi[h] = QuadraticMarginal{0, frozen_slope[slot], frozen_price[slot] + frozen_slope[slot] * (own[slot] - cur[h])};
            }
            MonotoneWaterFill({phi.data(), len}, a.cap, a.energy, {x.data(), len}, scratch);
            for (std::size_t h = 0; h < len; ++h) {
              const auto slot = static_cast<std::size_t>(a.first) + h;
              moved = std::max(moved, std::abs(x[h] - cur[h]));
              own[slot] += x[h] - cur[h];
              cur[h] = x[h];
            }
          }
          if (moved <= 1e-14 * energy || s.prosumer_begin[p + 1] - s.prosumer_begin[p] <= 1) break;
        }
        for (std::size_t h = 0; h < T; ++h) out[h] += own[h];
      }
    };
    const std::size_t memory = std::min<std::size_t>(T, 20);
    // Start from the social optimum, which is close (the two coincide for identical prosumers).
    std::vector<double> at = load;
    {
      SolveOptions quiet;
      quiet.threads = 1;
      auto opt = SolveExact(s, quiet, 1);
      if (opt.ok()) at = opt.value().load;
    }
    std::vector<double> response(T);
    std::vector<double> residual(T);
    std::vector<std::vector<double>> dg;  // differences of successive R(L)
    std::vector<std::vector<double>> df;  // differences of successive residuals
    std::vector<double> last_g;
    std::vector<double> last_f;
    std::vector<double> gamma;
    const double beta = 1.0 / (1.0 + static_cast<double>(s.ProsumerCount()));
    double best_residual = std::numeric_limits<double>::infinity();
    int since_best = 0;
    for (int it = 0; it < 300; ++it) {
      respond(at, response);
      double peak = 0;
      double worst = 0;
      for (std::size_t h = 0; h < T; ++h) {
        residual[h] = response[h] - at[h];
        peak = std::max(peak, response[h]);
        worst = std::max(worst, std::abs(residual[h]));
      }
      if (o.progress && it % 4 == 0) o.progress(std::min(0.5, 0.02 * it));
      ++phase1;
      if (!(peak > 0) || worst <= 1e-13 * peak) break;
      // The inner solves are exact to ~1e-14 per prosumer, so with many prosumers the
      // residual bottoms out a little higher: stop once it has not halved in 8 steps.
      if (worst < 0.5 * best_residual) {
        best_residual = worst;
        since_best = 0;
      } else if (++since_best >= 8) {
        break;
      }
      if (!last_g.empty()) {
        std::vector<double> g_diff(T);
        std::vector<double> f_diff(T);
        for (std::size_t h = 0; h < T; ++h) {
          g_diff[h] = response[h] - last_g[h];
          f_diff[h] = residual[h] - last_f[h];
        }
        dg.push_back(std::move(g_diff));
        df.push_back(std::move(f_diff));
        if (dg.size() > memory) {
          dg.erase(dg.begin());
          df.erase(df.begin());
        }
      }
      last_g = response;
      last_f = residual;
      // Type-II Anderson step with mixing beta: L + beta f - sum gamma (dL + beta df), where
      // dL = dg - df.
      std::vector<double> next(T);
      for (std::size_t h = 0; h < T; ++h) next[h] = at[h] + beta * residual[h];
      if (!df.empty() && SmallLeastSquares(df, residual, gamma)) {
        for (std::size_t i = 0; i < df.size(); ++i) {
          for (std::size_t h = 0; h < T; ++h) {
            const double dl = dg[i][h] - df[i][h];
            next[h] -= gamma[i] * (dl + beta * df[i][h]);
          }
        }
      }
      for (std::size_t h = 0; h < T; ++h) at[h] = std::max(0.0, next[h]);
    }
    recompute_load();
  }
  // Phase 2. The rounds alone converge slowly (exchanges of load between prosumers are weakly
  // restoring: thousands of rounds for 100 prosumers from an even start), so they too are
  // accelerated with Anderson
  // mixing (type II, memory kAnderson) of the schedules: the next point is the affine
  // combination of the last rounds' outputs that best cancels their residuals. An affine
  // combination keeps every appliance's energy and window; if it breaks a bound (x < 0 or
  // x > cap) it is dropped for the plain round's output and the memory restarts.
  constexpr std::size_t kAnderson = 15;
  std::vector<std::vector<double>> hist_g;
  std::vector<std::vector<double>> hist_f;
  std::vector<double> start_point;
  std::vector<double> previous_load;
  r.converged = false;
  for (r.rounds = 0; r.rounds < o.max_rounds;) {
    start_point = sch.values;
    previous_load = load;
    round(*std::max_element(load.begin(), load.end()));
    ++r.rounds;
    double peak = 0;
    double change = 0;
    for (std::size_t h = 0; h < T; ++h) {
      peak = std::max(peak, load[h]);
      change = std::max(change, std::abs(load[h] - previous_load[h]));
    }
    r.last_change = peak > 0 ? change / peak : 0;
    if (r.rounds % 4 == 0) ReportProgress(o, r.last_change, o.tolerance);
    if (r.last_change <= o.tolerance) {
      r.converged = true;
      break;
    }
    const std::size_t n = sch.values.size();
    std::vector<double> f(n);
    for (std::size_t k = 0; k < n; ++k) f[k] = sch.values[k] - start_point[k];
    hist_g.push_back(sch.values);
    hist_f.push_back(std::move(f));
    if (hist_g.size() > kAnderson + 1) {
      hist_g.erase(hist_g.begin());
      hist_f.erase(hist_f.begin());
    }
    const std::size_t m = hist_g.size() - 1;
    if (m == 0) continue;
    // min || f_last - sum_i gamma_i (f_{i+1} - f_i) ||: normal equations (m <= 6), lightly
    // regularised.
    std::vector<long double> A(m * m, 0.0L);
    std::vector<long double> rhs(m, 0.0L);
    const auto& fl = hist_f.back();
    for (std::size_t k = 0; k < n; ++k) {
      long double d[kAnderson];  // m <= kAnderson
      for (std::size_t i = 0; i < m; ++i) d[i] = static_cast<long double>(hist_f[i + 1][k]) - hist_f[i][k];
      for (std::size_t i = 0; i < m; ++i) {
        rhs[i] += d[i] * fl[k];
        for (std::size_t j = 0; j <= i; ++j) A[i * m + j] += d[i] * d[j];
      }
    }
    long double trace = 0;
    for (std::size_t i = 0; i < m; ++i) trace += A[i * m + i];
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < i; ++j) A[j * m + i] = A[i * m + j];
      A[i * m + i] += 1e-12L * trace + 1e-300L;
    }
    // Cholesky solve.
    bool ok = true;
    for (std::size_t i = 0; i < m && ok; ++i) {
      for (std::size_t j = 0; j <= i; ++j) {
        long double v = A[i * m + j];
        for (std::size_t k = 0; k < j; ++k) v -= A[i * m + k] * A[j * m + k];
        if (i == j) {
          if (!(v > 0)) {
            ok = false;
            break;
          }
          A[i * m + i] = std::sqrt(v);
        } else {
          A[i * m + j] = v / A[j * m + j];
        }
      }
    }
    if (!ok) {
      hist_g.erase(hist_g.begin(), hist_g.end() - 1);
      hist_f.erase(hist_f.begin(), hist_f.end() - 1);
      continue;
    }
    std::vector<long double> gamma(m);
    for (std::size_t i = 0; i < m; ++i) {
      long double v = rhs[i];
      for (std::size_t k = 0; k < i; ++k) v -= A[i * m + k] * gamma[k];
      gamma[i] = v / A[i * m + i];
    }
    for (std::size_t i = m; i-- > 0;) {
      long double v = gamma[i];
      for (std::size_t k = i + 1; k < m; ++k) v -= A[k * m + i] * gamma[k];
      gamma[i] = v / A[i * m + i];
    }
    std::vector<double> mixed = hist_g.back();
    for (std::size_t i = 0; i < m; ++i) {
      const auto gi = static_cast<double>(gamma[i]);
      for (std::size_t k = 0; k < n; ++k) mixed[k] -= gi * (hist_g[i + 1][k] - hist_g[i][k]);
    }
    bool feasible = true;
    for (std::size_t j = 0; j < s.appliances.size() && feasible; ++j) {
      const Appliance& a = s.appliances[j];
      const double slack = 1e-12 * a.energy;
      for (std::size_t k = sch.offset[j]; k < sch.offset[j + 1]; ++k) {
        if (mixed[k] < -slack || (a.HasCap() && mixed[k] > a.cap + slack)) {
          feasible = false;
          break;
        }
        mixed[k] = std::clamp(mixed[k], 0.0, a.cap);
      }
    }
    if (!feasible) {
      hist_g.erase(hist_g.begin(), hist_g.end() - 1);
      hist_f.erase(hist_f.begin(), hist_f.end() - 1);
      continue;
    }
    sch.values = std::move(mixed);
    recompute_load();
  }
  r.rounds += phase1;  // iterations in load space plus polishing rounds
  // Recompute the load from the schedules to drop accumulated rounding.
  std::fill(load.begin(), load.end(), 0.0);
  for (std::size_t j = 0; j < s.appliances.size(); ++j) {
    const Appliance& a = s.appliances[j];
    for (int h = 0; h < a.WindowLength(); ++h) load[static_cast<std::size_t>(a.first + h)] += sch.values[sch.offset[j] + static_cast<std::size_t>(h)];
  }
  r.load = load;
  r.total_cost = TotalCost(pm, load);
  r.par = PeakToAverage(load);
  r.certificate = Certify(s, load, sch);  // how far this point is from the social optimum
  // Bills and the equilibrium residual (each appliance against its owner's marginal bill).
  r.bills.assign(s.ProsumerCount(), 0.0);
  std::vector<double> price(T);
  for (std::size_t h = 0; h < T; ++h) price[h] = pm.Price(load[h]);
  const double pbar = MeanWeighted(price, load);
  std::vector<double> w(T);
  for (std::size_t p = 0; p < s.ProsumerCount(); ++p) {
    std::fill(own.begin(), own.end(), 0.0);
    double bill = 0;
    for (std::size_t j = s.prosumer_begin[p]; j < s.prosumer_begin[p + 1]; ++j) {
      const Appliance& a = s.appliances[j];
      for (int h = 0; h < a.WindowLength(); ++h) {
        const double v = sch.values[sch.offset[j] + static_cast<std::size_t>(h)];
        own[static_cast<std::size_t>(a.first + h)] += v;
        bill += v * price[static_cast<std::size_t>(a.first + h)];
      }
    }
    r.bills[p] = bill;
    for (std::size_t j = s.prosumer_begin[p]; j < s.prosumer_begin[p + 1]; ++j) {
      const Appliance& a = s.appliances[j];
      if (!(a.energy > 0)) continue;
      const auto len = static_cast<std::size_t>(a.WindowLength());
      double dot = 0;
      for (std::size_t h = 0; h < len; ++h) {
        const auto slot = static_cast<std::size_t>(a.first) + h;
        w[h] = price[slot] + own[slot] * pm.PriceSlope(load[slot]);
        dot += w[h] * sch.values[sch.offset[j] + h];
      }
      const double best = CheapestFill({w.data(), len}, a.cap, a.energy);
      r.equilibrium_residual = std::max(r.equilibrium_residual, (dot - best) / (a.energy * pbar));
    }
  }
  if (o.want_schedules) r.schedule = std::move(sch);
  if (o.progress) o.progress(1);
  return r;
}

}  // namespace wattline::meter::detail
