// The exact method: Wolfe's minimum-norm point over the (window, cap) classes (see solver.h).
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

class Polytope {
 public:
  Polytope(const std::vector<Class>& classes, std::size_t slots, double scale)
      : m_classes(classes), m_slot_classes(slots), m_scale(scale), m_k(classes.size()) {
    for (std::uint32_t c = 0; c < classes.size(); ++c) {
      for (int h = classes[c].first; h <= classes[c].last; ++h) m_slot_classes[static_cast<std::size_t>(h)].push_back(c);
    }
  }
  std::size_t Dim() const { return m_slot_classes.size(); }

  /** The vertex minimising w . q (greedy in ascending w, ties by slot), scaled by 1/scale.
   *  order receives the slot order used. */
  void Greedy(std::span<const double> w, std::span<double> q, std::vector<int>& order) {
    order.resize(Dim());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int x, int y) {
      return w[static_cast<std::size_t>(x)] < w[static_cast<std::size_t>(y)] ||
             (w[static_cast<std::size_t>(x)] == w[static_cast<std::size_t>(y)] && x < y);
    });
    Replay(order, q, nullptr, 0);
  }

  /** Replays a greedy order; if y is given, also adds weight * (class marginals, unscaled)
   *  to each class's window share y[c]. */
  void Replay(std::span<const int> order, std::span<double> q, std::vector<std::vector<double>>* y, double weight) {
    std::fill(m_k.begin(), m_k.end(), 0);
    const double inv = 1.0 / m_scale;
    for (int h : order) {
      const auto hs = static_cast<std::size_t>(h);
      double v = 0;
      for (std::uint32_t c : m_slot_classes[hs]) {
        const Class& cl = m_classes[c];
        const std::size_t k = m_k[c]++;
        const double d = cl.G[k + 1] - cl.G[k];
        v += d;
        if (y) (*y)[c][hs - static_cast<std::size_t>(cl.first)] += weight * d;
      }
      q[hs] = v * inv;
    }
  }

 private:
  const std::vector<Class>& m_classes;
  std::vector<std::vector<std::uint32_t>> m_slot_classes;
  double m_scale;
  std::vector<std::size_t> m_k;
};

double Dot(std::span<const double> a, std::span<const double> b) {
  long double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<long double>(a[i]) * b[i];
  return static_cast<double>(s);
}

// argmin || sum_i alpha_i p_i ||^2 subject to sum alpha = 1 (affine hull of the corral).
// Solves the KKT system [M 1; 1' 0] with M the Gram matrix, in long double with pivoting.
bool AffineMinimizer(const std::vector<std::vector<double>>& pts, std::vector<double>& alpha) {
  const std::size_t k = pts.size();
  const std::size_t n = k + 1;
  std::vector<long double> A(n * (n + 1), 0.0L);
  auto at = [&](std::size_t i, std::size_t j) -> long double& { return A[i * (n + 1) + j]; };
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = i; j < k; ++j) {
      long double d = 0;
      for (std::size_t h = 0; h < pts[i].size(); ++h) d += static_cast<long double>(pts[i][h]) * pts[j][h];
      at(i, j) = d;
      at(j, i) = d;
    }
    at(i, k) = 1;
    at(k, i) = 1;
  }
  at(k, n) = 1;  // right-hand side
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t piv = col;
    for (std::size_t r = col + 1; r < n; ++r) {
      if (std::abs(at(r, col)) > std::abs(at(piv, col))) piv = r;
    }
    if (std::abs(at(piv, col)) < 1e-300L) return false;
    if (piv != col) {
      for (std::size_t j = 0; j <= n; ++j) std::swap(at(piv, j), at(col, j));
    }
    for (std::size_t r = 0; r < n; ++r) {
      if (r == col) continue;
      const long double f = at(r, col) / at(col, col);
      if (f == 0) continue;
      for (std::size_t j = col; j <= n; ++j) at(r, j) -= f * at(col, j);
    }
  }
  alpha.resize(k);
  long double total = 0;
  for (std::size_t i = 0; i < k; ++i) {
    alpha[i] = static_cast<double>(at(i, n) / at(i, i));
    total += alpha[i];
  }
  if (!(std::abs(total - 1) < 1e-6L)) return false;
  for (auto& a : alpha) a = static_cast<double>(a / total);
  return true;
}

}  // namespace

Result<SolveResult> SolveExact(const Scenario& s, const SolveOptions& o, unsigned threads) {
  SolveResult r;
  r.method = Method::kExact;
  const auto T = static_cast<std::size_t>(s.slots);
  std::vector<std::uint32_t> of;
  std::vector<Class> classes = BuildClasses(s, threads, of);
  r.agents = classes.size();
  double total_energy = 0;
  for (const auto& c : classes) total_energy += c.energy;
  const double scale = total_energy > 0 ? total_energy / static_cast<double>(T) : 1.0;
  Polytope poly(classes, T, scale);

  // Wolfe's algorithm (1976) for the minimum-norm point of the polytope, in units of `scale`.
  struct Corral {
    std::vector<std::vector<double>> pts;
    std::vector<std::vector<int>> orders;
    std::vector<double> lambda;
  } corral;
  std::vector<double> x(T, 0.0);
  std::vector<double> q(T);
  std::vector<int> order;
  poly.Greedy(x, q, order);
  corral.pts.push_back(q);
  corral.orders.push_back(order);
  corral.lambda.push_back(1);
  x = q;
  std::vector<double> alpha;
  std::vector<double> yv(T);
  const double eps = 1e-12;  // relative; the certificate below reports the true gap
  double best_xx = std::numeric_limits<double>::infinity();
  std::size_t since_best = 0;
  bool stalled = false;
  r.converged = false;
  std::size_t major = 0;
  for (; major < std::max<std::size_t>(o.max_rounds, 1); ++major) {
    poly.Greedy(x, q, order);
    const double xx = Dot(x, x);
    const double xq = Dot(x, q);

    if (xx - xq <= eps * std::max(xx, 1e-300)) {
      r.converged = true;
      break;
    }
    // In high dimension (hundreds of slots) rounding can stop the norm from decreasing
    // before the test above passes: stop when it has not improved for a while.
    if (xx < best_xx * (1 - 1e-15)) {
      best_xx = xx;
      since_best = 0;
    } else if (++since_best > 2 * T + 10) {
      r.converged = true;
      break;
    }
    bool repeated = false;
    for (const auto& p : corral.pts) repeated = repeated || p == q;
    if (repeated) {
      r.converged = true;  // no further progress is possible in floating point
      break;
    }
    corral.pts.push_back(q);
    corral.orders.push_back(order);
    corral.lambda.push_back(0);
    for (int minor = 0; minor < 1000; ++minor) {
      if (!AffineMinimizer(corral.pts, alpha)) {
        // Numerically dependent corral: drop the newest point; no further progress is
        // possible in floating point (the certificate below says how close we are).
        corral.pts.pop_back();
        corral.orders.pop_back();
        corral.lambda.pop_back();
        stalled = true;
        break;
      }
      std::fill(yv.begin(), yv.end(), 0.0);
      for (std::size_t i = 0; i < alpha.size(); ++i) {
        for (std::size_t h = 0; h < T; ++h) yv[h] += alpha[i] * corral.pts[i][h];
      }
      bool interior = true;
      for (double a : alpha) interior = interior && a > 1e-13;
      if (interior) {
        x = yv;
        corral.lambda = alpha;
        break;
      }
      double theta = 1;
      for (std::size_t i = 0; i < alpha.size(); ++i) {
        if (alpha[i] <= 1e-13) {
          const double denom = corral.lambda[i] - alpha[i];
          if (denom > 0) theta = std::min(theta, corral.lambda[i] / denom);
        }
      }
      theta = std::clamp(theta, 0.0, 1.0);
      std::size_t worst = 0;
      double worst_value = std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < alpha.size(); ++i) {
        corral.lambda[i] = theta * alpha[i] + (1 - theta) * corral.lambda[i];
        if (corral.lambda[i] < worst_value) {
          worst_value = corral.lambda[i];
          worst = i;
        }
      }
      corral.lambda[worst] = 0;  // at least one point leaves
      double sum = 0;
      std::size_t keep = 0;
      for (std::size_t i = 0; i < corral.lambda.size(); ++i) {
        if (corral.lambda[i] > 1e-15) {
          if (keep != i) {
            corral.pts[keep] = std::move(corral.pts[i]);
            corral.orders[keep] = std::move(corral.orders[i]);
          }
          corral.lambda[keep] = corral.lambda[i];
          sum += corral.lambda[keep];
          ++keep;
        }
      }
      corral.pts.resize(keep);
      corral.orders.resize(keep);
      corral.lambda.resize(keep);
      std::fill(x.begin(), x.end(), 0.0);
      for (std::size_t i = 0; i < keep; ++i) {
        corral.lambda[i] /= sum;
        for (std::size_t h = 0; h < T; ++h) x[h] += corral.lambda[i] * corral.pts[i][h];
      }
    }
    if (stalled) {
      r.converged = true;
      break;
    }
    if (o.progress && major % 8 == 0) o.progress(std::min(0.99, static_cast<double>(major) / static_cast<double>(2 * T + 8)));
  }
  r.rounds = major;

  // The total profile and each class's share of it, from the final convex combination.
  std::vector<std::vector<double>> share(classes.size());
  for (std::size_t c = 0; c < classes.size(); ++c) share[c].assign(classes[c].Len(), 0.0);
  for (std::size_t i = 0; i < corral.pts.size(); ++i) poly.Replay(corral.orders[i], q, &share, corral.lambda[i]);
  std::vector<double> load(T, 0.0);
  for (std::size_t c = 0; c < classes.size(); ++c) {
    for (std::size_t h = 0; h < classes[c].Len(); ++h) load[static_cast<std::size_t>(classes[c].first) + h] += share[c][h];
  }
  r.load = load;
  r.total_cost = TotalCost(s.price, load);
  r.par = PeakToAverage(load);

  // Certificate: the duality gap from one more greedy pass on the true marginal costs, and
  // the KKT residual of every class.
  const std::vector<double> g = Marginals(s.price, load);
  const double gbar = MeanWeighted(g, load);
  std::vector<double> sorted;
  GroupCheck check;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    const Class& cl = classes[c];
    CheckClass(cl, {g.data() + cl.first, cl.Len()}, share[c], gbar, sorted, check);
  }
  r.certificate.duality_gap = std::max(0.0, check.gap);
  r.certificate.relative_gap = r.total_cost != 0 ? r.certificate.duality_gap / std::abs(r.total_cost) : 0;
  r.certificate.lower_bound = r.total_cost - r.certificate.duality_gap;
  r.certificate.kkt_residual = check.kkt;

  r.bills = BillsAtOptimum(s, classes, of, load, threads);
  if (o.want_schedules) {
    r.schedule = SplitClasses(s, classes, of, share);
    const Schedule& sch = r.schedule;
    const Certificate per_appliance = Certify(s, load, sch);
    r.certificate.kkt_residual = std::max(r.certificate.kkt_residual, per_appliance.kkt_residual);
  }
  if (o.progress) o.progress(1);
  return r;
}

}  // namespace wattline::meter::detail
