#include "meter/waterfill.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "meter/model.h"

namespace wattline::meter {

namespace {

// Spreads the rounding residual E - sum x over the slots strictly inside (0, cap), so that the
// energy of the appliance is exact to the last bit or two.
void FixSum(std::span<double> x, double cap, double energy) {
  double sum = 0;
  for (double v : x) sum += v;
  double residual = energy - sum;
  if (residual == 0) return;
  std::size_t free = 0;
  for (double v : x) free += (v > 0 && v < cap) ? 1 : 0;
  if (free == 0) return;
  const double add = residual / static_cast<double>(free);
  for (double& v : x) {
    if (v > 0 && v < cap) v = std::clamp(v + add, 0.0, cap);
  }
}

}  // namespace

double CappedWaterFill(std::span<const double> z, double cap, double energy, std::span<double> x,
                       WaterFillScratch& scratch) {
  const std::size_t k = z.size();
  if (k == 0) return 0;
  if (!(energy > 0)) {
    std::fill(x.begin(), x.end(), 0.0);
    return *std::min_element(z.begin(), z.end());
  }
  const bool capped = cap != kNoCap;
  if (capped && energy >= cap * static_cast<double>(k)) {
    std::fill(x.begin(), x.end(), cap);
    return *std::max_element(z.begin(), z.end()) + cap;
  }
  auto& ev = scratch.events;
  ev.clear();
  for (std::size_t h = 0; h < k; ++h) {
    ev.emplace_back(z[h], +1);
    if (capped) ev.emplace_back(z[h] + cap, -1);
  }
  std::sort(ev.begin(), ev.end());
  // S(lambda) = sum_h clamp(lambda - z_h, 0, cap) is piecewise linear with slope = the number
  // of slots strictly between their two breakpoints. Walk the breakpoints until S reaches E.
  double level = ev[0].first;
  double filled = 0;
  int slope = 0;
  bool found = false;
  for (const auto& [point, delta] : ev) {
    const double next = filled + slope * (point - level);
    if (next >= energy) {
      level += (energy - filled) / slope;  // slope > 0: filled < energy <= next
      found = true;
      break;
    }
    filled = next;
    level = point;
    slope += delta;
  }
  if (!found) {
    // Uncapped: past the last breakpoint every slot is active (slope == k). Capped: only
    // reachable through rounding when E is within an ulp of k * cap.
    level = slope > 0 ? level + (energy - filled) / slope : level;
  }
  for (std::size_t h = 0; h < k; ++h) x[h] = std::clamp(level - z[h], 0.0, capped ? cap : kNoCap);
  FixSum(x, cap, energy);
  return level;
}

double QuadraticMarginal::Inverse(double tau) const {
  const double d = tau - qc;
  if (!(d > 0)) return 0;
  if (qa == 0) return qb > 0 ? d / qb : kNoCap;
  return 2 * d / (qb + std::sqrt(qb * qb + 4 * qa * d));
}

double MonotoneWaterFill(std::span<const QuadraticMarginal> phi, double cap, double energy, std::span<double> x,
                         WaterFillScratch& scratch) {
  const std::size_t k = phi.size();
  if (k == 0) return 0;
  if (!(energy > 0)) {
    std::fill(x.begin(), x.end(), 0.0);
    return 0;
  }
  const bool capped = cap != kNoCap;
  if (capped && energy >= cap * static_cast<double>(k)) {
    std::fill(x.begin(), x.end(), cap);
    return 0;
  }
  const double top = capped ? std::min(cap, energy) : energy;  // no slot ever takes more
  bool all_constant = true;
  for (const auto& f : phi) all_constant = all_constant && f.qa == 0 && f.qb == 0;
  if (all_constant) {
    // A constant price: fill the cheapest slots first, ties evenly (a linear program).
    std::fill(x.begin(), x.end(), 0.0);
    auto& pts = scratch.points;
    pts.clear();
    for (const auto& f : phi) pts.push_back(f.qc);
    std::sort(pts.begin(), pts.end());
    pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
    double left = energy;
    for (double price : pts) {
      std::size_t ties = 0;
      for (const auto& f : phi) ties += f.qc == price ? 1 : 0;
      const double each = std::min(top, left / static_cast<double>(ties));
      for (std::size_t h = 0; h < k; ++h) {
        if (phi[h].qc == price) x[h] = each;
      }
      left -= each * static_cast<double>(ties);
      if (left <= 0) break;
    }
    return pts.empty() ? 0 : pts.front();
  }
  auto fill = [&](double tau, double* derivative) {
    double sum = 0;
    double d = 0;
    for (std::size_t h = 0; h < k; ++h) {
      const double v = phi[h].Inverse(tau);
      if (v >= top) {
        sum += top;
      } else {
        sum += v;
        if (v > 0 || tau > phi[h].qc) d += 1 / (2 * phi[h].qa * v + phi[h].qb);
      }
    }
    if (derivative) *derivative = d;
    return sum;
  };
  // Breakpoints where a slot starts or stops taking energy; S(tau) is smooth between them.
  auto& pts = scratch.points;
  pts.clear();
  for (const auto& f : phi) {
    pts.push_back(f.At(0));
    pts.push_back(f.At(top));
  }
  std::sort(pts.begin(), pts.end());
  std::size_t lo = 0;
  std::size_t hi = pts.size() - 1;  // S(pts[hi]) >= energy since every slot is at `top`
  while (hi - lo > 1) {
    const std::size_t mid = (lo + hi) / 2;
    if (fill(pts[mid], nullptr) >= energy) hi = mid; else lo = mid;
  }
  double a = pts[lo];
  double b = pts[hi];
  double tau = 0.5 * (a + b);
  for (int it = 0; it < 200; ++it) {
    double deriv = 0;
    const double s = fill(tau, &deriv);
    const double err = s - energy;
    if (std::abs(err) <= 1e-15 * energy) break;
    if (err > 0) b = tau; else a = tau;
    double next = deriv > 0 ? tau - err / deriv : 0.5 * (a + b);
    if (!(next > a && next < b)) next = 0.5 * (a + b);
    if (next == tau || b - a <= 4 * std::numeric_limits<double>::epsilon() * std::max(std::abs(a), std::abs(b))) break;
    tau = next;
  }
  for (std::size_t h = 0; h < k; ++h) x[h] = std::min(top, phi[h].Inverse(tau));
  FixSum(x, capped ? cap : kNoCap, energy);
  return tau;
}

}  // namespace wattline::meter
