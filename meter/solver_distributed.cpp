// The distributed method: best-response rounds (see solver.h).
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

// ---------------------------------------------------------------------------------------
// The distributed method.

struct Agent {
  int first{0};
  int last{0};
  double cap{kNoCap};   // per-member cap
  double energy{0};     // sum of the members' energies
  double members{0};
  std::size_t offset{0};        // into the flat y array
  const Class* cls{nullptr};    // merged capped class with several members (else a box)
  std::size_t Len() const { return static_cast<std::size_t>(last - first + 1); }
  bool IsBox() const { return cls == nullptr; }
};

}  // namespace

Result<SolveResult> SolveDistributed(const Scenario& s, const SolveOptions& o, unsigned threads) {
  SolveResult r;
  r.method = Method::kDistributed;
  const auto T = static_cast<std::size_t>(s.slots);
  std::vector<std::uint32_t> of;
  std::vector<Class> classes;
  std::vector<Agent> agents;
  if (o.merge_identical) {
    // One agent per (window, cap) class: interchangeable in the total load.
    classes = BuildClasses(s, threads, of);
    agents.reserve(classes.size());
    for (const Class& c : classes) {
      agents.push_back(Agent{c.first, c.last, c.cap, c.energy, c.members, 0,
                             (c.cap != kNoCap && c.members > 1) ? &c : nullptr});
    }
  } else {
    of.resize(s.appliances.size());
    agents.resize(s.appliances.size());
    for (std::size_t j = 0; j < agents.size(); ++j) {
      const Appliance& a = s.appliances[j];
      agents[j] = Agent{a.first, a.last, a.cap, a.energy, 1, 0, nullptr};
      of[j] = static_cast<std::uint32_t>(j);
    }
  }
  r.agents = agents.size();
  std::size_t total = 0;
  for (auto& a : agents) {
    a.offset = total;
    total += a.Len();
  }
  // Start from the even spread over each window.
  std::vector<double> y(total);
  for (const auto& a : agents) {
    const double v = a.energy / static_cast<double>(a.Len());
    std::fill(y.begin() + static_cast<std::ptrdiff_t>(a.offset),
              y.begin() + static_cast<std::ptrdiff_t>(a.offset + a.Len()), v);
  }
  auto recompute_load = [&] {
    std::vector<double> load(T, 0.0);
    for (const auto& a : agents) {
      for (std::size_t h = 0; h < a.Len(); ++h) load[static_cast<std::size_t>(a.first) + h] += y[a.offset + h];
    }
    return load;
  };
  std::vector<double> load = recompute_load();

  // A Gauss-Seidel sweep over agents [b, e) against `l` (updated in place); the new
  // values go to `out` (which may be y itself).
  auto sweep = [&](std::size_t b, std::size_t e, std::vector<double>& l, double* out) {
    WaterFillScratch scratch;
    std::vector<std::size_t> order;
    std::vector<double> z(T);
    std::vector<double> x(T);
    for (std::size_t i = b; i < e; ++i) {
      const Agent& a = agents[i];
      const std::size_t len = a.Len();
      const std::size_t f = static_cast<std::size_t>(a.first);
      const double* cur = y.data() + a.offset;
      for (std::size_t h = 0; h < len; ++h) z[h] = l[f + h] - cur[h];
      if (a.IsBox()) {
        CappedWaterFill({z.data(), len}, a.cap, a.energy, {x.data(), len}, scratch);
      } else {
        ClassBestResponse({z.data(), len}, a.cls->G, {x.data(), len}, order);
      }
      for (std::size_t h = 0; h < len; ++h) {
        l[f + h] = z[h] + x[h];
        out[a.offset + h] = x[h];
      }
    }
  };
  // The rounds are sequential Gauss-Seidel on purpose: every agent answers the load as its
  // predecessors left it, which is what makes the dynamics settle in a handful of rounds.
  // (Measured: two threads playing simultaneously need their moves averaged to avoid
  // oscillation, and then converge only by half per round: 43 rounds instead of 3 for the
  // per-appliance dynamics of 1M prosumers, 15x slower overall.) Both cores are used for the
  // grouping, the certificate and the bills.
  std::vector<double> previous(T);
  r.converged = false;
  for (r.rounds = 0; r.rounds < o.max_rounds;) {
    previous = load;
    sweep(0, agents.size(), load, y.data());
    ++r.rounds;
    double peak = 0;
    double change = 0;
    for (std::size_t h = 0; h < T; ++h) {
      peak = std::max(peak, load[h]);
      change = std::max(change, std::abs(load[h] - previous[h]));
    }
    r.last_change = peak > 0 ? change / peak : 0;
    if (r.rounds % 8 == 0) ReportProgress(o, r.last_change, o.tolerance);
    if (r.last_change <= o.tolerance) {
      r.converged = true;
      break;
    }
  }
  load = recompute_load();
  r.load = load;
  r.total_cost = TotalCost(s.price, load);
  r.par = PeakToAverage(load);

  // Certificate on the agents (their sets add up exactly to the set of feasible profiles).
  const std::vector<double> g = Marginals(s.price, load);
  const double gbar = MeanWeighted(g, load);
  GroupCheck check;
  std::vector<double> sorted;
  for (const auto& a : agents) {
    std::span<const double> gw{g.data() + a.first, a.Len()};
    std::span<const double> ya{y.data() + a.offset, a.Len()};
    if (a.IsBox()) {
      CheckBox(gw, ya, a.cap == kNoCap ? kNoCap : a.cap * a.members, a.energy, gbar, check);
    } else {
      CheckClass(*a.cls, gw, ya, gbar, sorted, check);
    }
  }
  r.certificate.duality_gap = std::max(0.0, check.gap);
  r.certificate.relative_gap = r.total_cost != 0 ? r.certificate.duality_gap / std::abs(r.total_cost) : 0;
  r.certificate.lower_bound = r.total_cost - r.certificate.duality_gap;
  r.certificate.kkt_residual = check.kkt;

  if (o.merge_identical) {
    r.bills = BillsAtOptimum(s, classes, of, load, threads);
    if (o.want_schedules) {
      std::vector<std::vector<double>> share(classes.size());
      for (std::size_t c = 0; c < classes.size(); ++c) {
        share[c].assign(y.begin() + static_cast<std::ptrdiff_t>(agents[c].offset),
                        y.begin() + static_cast<std::ptrdiff_t>(agents[c].offset + agents[c].Len()));
      }
      r.schedule = SplitClasses(s, classes, of, share);
    }
  } else {
    // Every appliance is its own agent: its bill is read off its schedule.
    r.bills.assign(s.ProsumerCount(), 0.0);
    std::vector<double> price(T);
    for (std::size_t h = 0; h < T; ++h) price[h] = s.price.Price(load[h]);
    for (std::size_t p = 0; p < s.ProsumerCount(); ++p) {
      double bill = 0;
      for (std::size_t j = s.prosumer_begin[p]; j < s.prosumer_begin[p + 1]; ++j) {
        const Agent& a = agents[j];
        for (std::size_t h = 0; h < a.Len(); ++h) bill += y[a.offset + h] * price[static_cast<std::size_t>(a.first) + h];
      }
      r.bills[p] = bill;
    }
    if (o.want_schedules) {
      r.schedule.offset = WindowOffsets(s);
      r.schedule.values = std::move(y);  // agents are the appliances, in order
    }
  }
  return r;
}

}  // namespace wattline::meter::detail
