#include "meter/solver.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "meter/solver_internal.h"

namespace wattline::meter {

using detail::CheckBox;
using detail::GroupCheck;
using detail::Marginals;
using detail::MeanWeighted;

const char* MethodName(Method method) {
  switch (method) {
    case Method::kDistributed: return "distributed";
    case Method::kExact: return "exact";
    case Method::kHourlyBill: return "hourly-bill";
  }
  return "unknown";
}

double CheapestFill(std::span<const double> w, double cap, double energy) {
  if (!(energy > 0) || w.empty()) return 0;
  std::vector<double> sorted(w.begin(), w.end());
  std::sort(sorted.begin(), sorted.end());
  if (cap == kNoCap) return energy * sorted.front();
  double left = energy;
  double cost = 0;
  for (double v : sorted) {
    const double take = std::min(cap, left);
    cost += take * v;
    left -= take;
    if (left <= 0) break;
  }
  return cost;
}

Certificate Certify(const Scenario& s, std::span<const double> load, const Schedule& schedule) {
  Certificate cert;
  const std::vector<double> g = Marginals(s.price, load);
  const double gbar = MeanWeighted(g, load);
  GroupCheck check;
  for (std::size_t j = 0; j < s.appliances.size(); ++j) {
    const Appliance& a = s.appliances[j];
    CheckBox({g.data() + a.first, static_cast<std::size_t>(a.WindowLength())}, schedule.Of(j), a.cap, a.energy, gbar,
             check);
  }
  // The schedules must also add up to the load that is being certified.
  std::vector<double> sum(load.size(), 0.0);
  for (std::size_t j = 0; j < s.appliances.size(); ++j) {
    auto x = schedule.Of(j);
    for (std::size_t h = 0; h < x.size(); ++h) sum[static_cast<std::size_t>(s.appliances[j].first) + h] += x[h];
  }
  double peak = 0;
  double mismatch = 0;
  for (std::size_t h = 0; h < load.size(); ++h) {
    peak = std::max(peak, load[h]);
    mismatch = std::max(mismatch, std::abs(sum[h] - load[h]));
  }
  const double cost = TotalCost(s.price, load);
  cert.duality_gap = std::max(0.0, check.gap);
  cert.relative_gap = cost != 0 ? cert.duality_gap / std::abs(cost) : 0;
  cert.lower_bound = cost - cert.duality_gap;
  cert.kkt_residual = std::max(check.kkt, peak > 0 ? mismatch / peak : mismatch);
  return cert;
}

Result<SolveResult> Solve(const Scenario& scenario, Method method, const SolveOptions& options) {
  const auto start = detail::Clock::now();
  const auto errors = ValidateScenario(scenario);
  if (!errors.empty()) return Result<SolveResult>::Error(FormatErrors(errors));
  if (!(options.tolerance >= 0) || !std::isfinite(options.tolerance)) {
    return Result<SolveResult>::Error("tolerance must be a finite number >= 0");
  }
  const unsigned threads = ResolveThreads(options.threads);
  Result<SolveResult> r = Result<SolveResult>::Error("unknown method");
  switch (method) {
    case Method::kDistributed: r = detail::SolveDistributed(scenario, options, threads); break;
    case Method::kExact: r = detail::SolveExact(scenario, options, threads); break;
    case Method::kHourlyBill: r = detail::SolveHourly(scenario, options); break;
  }
  if (r.ok()) {
    if (options.want_schedules && method != Method::kExact && method != Method::kHourlyBill) {
      const Certificate per_appliance = Certify(scenario, r.value().load, r.value().schedule);
      r.value().certificate.kkt_residual = std::max(r.value().certificate.kkt_residual, per_appliance.kkt_residual);
    }
    r.value().seconds = detail::Seconds(start);
  }
  return r;
}

}  // namespace wattline::meter
