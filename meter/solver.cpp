#include "meter/solver.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "meter/parallel.h"
#include "meter/waterfill.h"

namespace wattline::meter {

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

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::vector<double> Marginals(const PriceModel& pm, std::span<const double> load) {
  std::vector<double> g(load.size());
  for (std::size_t h = 0; h < load.size(); ++h) g[h] = pm.MarginalCost(load[h]);
  return g;
}

// Load-weighted mean of w (the scale against which residuals are measured).
double MeanWeighted(std::span<const double> w, std::span<const double> load) {
  double num = 0;
  double den = 0;
  for (std::size_t h = 0; h < load.size(); ++h) {
    num += std::abs(w[h]) * load[h];
    den += load[h];
  }
  if (den > 0 && num > 0) return num / den;
  double m = 0;
  for (double v : w) m = std::max(m, std::abs(v));
  return m > 0 ? m : 1;
}

// ---------------------------------------------------------------------------------------
// Grouping appliances by a key, in parallel, deterministically: chunk-local tables merged in
// chunk order, so groups appear in order of first appearance and their sums are added in a
// fixed order for a given thread count.

struct GroupKey {
  int first;
  int last;
  std::uint64_t cap_bits;
  std::uint64_t energy_bits;
  bool operator==(const GroupKey&) const = default;
};

struct GroupKeyHash {
  std::size_t operator()(const GroupKey& k) const {
    std::uint64_t h = static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.first)) * 0x9E3779B97F4A7C15ull;
    h ^= static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.last)) + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
    h ^= k.cap_bits + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h ^= k.energy_bits + 0x85EBCA77C2B2AE63ull + (h << 6) + (h >> 2);
    return static_cast<std::size_t>(h ^ (h >> 31));
  }
};

template <class Group, class KeyOf, class Make, class Add, class Merge>
std::vector<Group> BuildGroups(const Scenario& s, unsigned threads, std::vector<std::uint32_t>& of, KeyOf key_of,
                               Make make, Add add, Merge merge) {
  const std::size_t n = s.appliances.size();
  of.assign(n, 0);
  const unsigned chunks = detail::ChunksFor(n, threads, 250'000);
  std::vector<std::vector<Group>> local(chunks);
  std::vector<std::vector<GroupKey>> local_keys(chunks);
  detail::ParallelChunks(n, chunks, [&](unsigned c, std::size_t b, std::size_t e) {
    std::unordered_map<GroupKey, std::uint32_t, GroupKeyHash> index;
    auto& groups = local[c];
    for (std::size_t j = b; j < e; ++j) {
      const Appliance& a = s.appliances[j];
      const GroupKey key = key_of(a);
      auto [it, inserted] = index.try_emplace(key, static_cast<std::uint32_t>(groups.size()));
      if (inserted) {
        groups.push_back(make(a));
        local_keys[c].push_back(key);
      }
      add(groups[it->second], a);
      of[j] = it->second;
    }
  });
  std::vector<Group> groups = std::move(local[0]);
  if (chunks > 1) {
    std::unordered_map<GroupKey, std::uint32_t, GroupKeyHash> index;
    for (std::uint32_t g = 0; g < groups.size(); ++g) index.emplace(local_keys[0][g], g);
    std::vector<std::vector<std::uint32_t>> remap(chunks);
    for (unsigned c = 1; c < chunks; ++c) {
      for (std::size_t g = 0; g < local[c].size(); ++g) {
        auto [it, inserted] = index.try_emplace(local_keys[c][g], static_cast<std::uint32_t>(groups.size()));
        if (inserted) {
          groups.push_back(std::move(local[c][g]));
        } else {
          merge(groups[it->second], local[c][g]);
        }
        remap[c].push_back(it->second);
      }
    }
    detail::ParallelChunks(n, chunks, [&](unsigned c, std::size_t b, std::size_t e) {
      if (c == 0) return;
      for (std::size_t j = b; j < e; ++j) of[j] = remap[c][of[j]];
    });
  }
  return groups;
}

// ---------------------------------------------------------------------------------------
// The exact method: Wolfe's minimum-norm point over the (window, cap) classes.

struct Class {
  int first{0};
  int last{0};
  double cap{kNoCap};
  double energy{0};
  double members{0};
  std::vector<double> count;  // capped: appliances with floor(E / cap) == k, k = 0..len
  std::vector<double> sum;    // capped: their energy
  std::vector<double> G;      // G(k) = sum_i min(cap k, E_i), k = 0..len
  std::size_t Len() const { return static_cast<std::size_t>(last - first + 1); }
  std::size_t Bucket(double e) const {
    const double k = std::floor(e / cap);
    return static_cast<std::size_t>(std::clamp(k, 0.0, static_cast<double>(Len())));
  }
};

std::vector<Class> BuildClasses(const Scenario& s, unsigned threads, std::vector<std::uint32_t>& of) {
  std::vector<Class> classes = BuildGroups<Class>(
      s, threads, of,
      [](const Appliance& a) {
        return GroupKey{a.first, a.last, a.HasCap() ? std::bit_cast<std::uint64_t>(a.cap) : 0, 0};
      },
      [](const Appliance& a) {
        Class c{a.first, a.last, a.cap, 0, 0, {}, {}, {}};
        if (a.HasCap()) {
          c.count.assign(c.Len() + 1, 0.0);
          c.sum.assign(c.Len() + 1, 0.0);
        }
        return c;
      },
      [](Class& c, const Appliance& a) {
        c.energy += a.energy;
        c.members += 1;
        if (c.cap != kNoCap) {
          const std::size_t k = c.Bucket(a.energy);
          c.count[k] += 1;
          c.sum[k] += a.energy;
        }
      },
      [](Class& into, const Class& from) {
        into.energy += from.energy;
        into.members += from.members;
        for (std::size_t k = 0; k < into.count.size(); ++k) {
          into.count[k] += from.count[k];
          into.sum[k] += from.sum[k];
        }
      });
  for (auto& c : classes) {
    const std::size_t len = c.Len();
    c.G.assign(len + 1, 0.0);
    if (c.cap == kNoCap) {
      for (std::size_t k = 1; k <= len; ++k) c.G[k] = c.energy;
      continue;
    }
    // G(k) = (energy of appliances with bucket < k) + cap k (number with bucket >= k).
    double below = 0;
    double at_or_above = c.members;
    for (std::size_t k = 0; k <= len; ++k) {
      if (k > 0) {
        below += c.sum[k - 1];
        at_or_above -= c.count[k - 1];
      }
      c.G[k] = below + c.cap * static_cast<double>(k) * at_or_above;
    }
    c.G[len] = c.energy;  // exact: every appliance fits in the whole window
  }
  return classes;
}

// min over the class's set of w . y, from its bucket histogram (w over the class window).
double ClassCheapest(const Class& c, std::span<const double> w, std::vector<double>& sorted) {
  sorted.assign(w.begin(), w.end());
  std::sort(sorted.begin(), sorted.end());
  if (c.cap == kNoCap) return c.energy * sorted.front();
  double total = 0;
  double prefix = 0;  // sum of the k cheapest
  for (std::size_t k = 0; k < c.count.size(); ++k) {
    if (c.count[k] > 0) {
      total += c.count[k] * c.cap * prefix;
      if (k < sorted.size()) total += (c.sum[k] - c.count[k] * static_cast<double>(k) * c.cap) * sorted[k];
    }
    if (k < sorted.size()) prefix += sorted[k];
  }
  return total;
}

// ---------------------------------------------------------------------------------------
// Helpers shared by the distributed and exact methods.

// The best response of a whole capped class (window W, cap u, energies E_i) to the others'
// load z over W: minimise sum_h F(z_h + y_h) over the sum of the members' sets, which is
// { y : the sum of any m entries of y is at most G(m), sum y = G(|W|) }. Fujishige's
// decomposition (the minimiser is the same for every strictly convex F): with z sorted
// ascending, the lowest level is min over m of (G(m) + sum of the m lowest z) / m, reached on
// the m lowest slots (largest such m); then the same on the rest with G shifted by m.
// O(k log k + k^2) for a window of k slots.
void ClassBestResponse(std::span<const double> z, const std::vector<double>& G, std::span<double> y,
                       std::vector<std::size_t>& order) {
  const std::size_t k = z.size();
  order.resize(k);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return z[a] < z[b] || (z[a] == z[b] && a < b); });
  std::size_t pos = 0;
  while (pos < k) {
    double best = std::numeric_limits<double>::infinity();
    std::size_t best_m = 1;
    double zsum = 0;
    for (std::size_t m = 1; pos + m <= k; ++m) {
      zsum += z[order[pos + m - 1]];
      const double level = (G[pos + m] - G[pos] + zsum) / static_cast<double>(m);
      if (level <= best + 1e-14 * std::abs(best)) {
        best = std::min(best, level);
        best_m = m;
      }
    }
    for (std::size_t t = pos; t < pos + best_m; ++t) y[order[t]] = std::max(0.0, best - z[order[t]]);
    pos += best_m;
  }
}

std::vector<std::size_t> WindowOffsets(const Scenario& s) {
  std::vector<std::size_t> offset(s.appliances.size() + 1);
  offset[0] = 0;
  for (std::size_t j = 0; j < s.appliances.size(); ++j) {
    offset[j + 1] = offset[j] + static_cast<std::size_t>(s.appliances[j].WindowLength());
  }
  return offset;
}

// Splits each class's share of the load onto its appliances: in proportion to energy for an
// uncapped class; for a capped class, largest energy first, each appliance draining the slots
// where most remains (at most `cap` from any slot), which keeps the remainder feasible for
// the appliances still to come.
Schedule SplitClasses(const Scenario& s, const std::vector<Class>& classes, const std::vector<std::uint32_t>& of,
                      const std::vector<std::vector<double>>& share) {
  Schedule sch;
  sch.offset = WindowOffsets(s);
  sch.values.assign(sch.offset.back(), 0.0);
  std::vector<std::vector<std::size_t>> members(classes.size());
  for (std::size_t j = 0; j < s.appliances.size(); ++j) members[of[j]].push_back(j);
  WaterFillScratch scratch;
  std::vector<double> negative;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    const Class& cl = classes[c];
    auto& mem = members[c];
    if (cl.cap == kNoCap) {
      if (!(cl.energy > 0)) continue;
      for (std::size_t j : mem) {
        const double f = s.appliances[j].energy / cl.energy;
        for (std::size_t h = 0; h < cl.Len(); ++h) sch.values[sch.offset[j] + h] = f * share[c][h];
      }
      continue;
    }
    std::stable_sort(mem.begin(), mem.end(),
                     [&](std::size_t u, std::size_t v) { return s.appliances[u].energy > s.appliances[v].energy; });
    std::vector<double> remaining = share[c];
    negative.resize(cl.Len());
    for (std::size_t j : mem) {
      for (std::size_t h = 0; h < cl.Len(); ++h) negative[h] = -remaining[h];
      std::span<double> xj{sch.values.data() + sch.offset[j], cl.Len()};
      CappedWaterFill(negative, cl.cap, s.appliances[j].energy, xj, scratch);
      for (std::size_t h = 0; h < cl.Len(); ++h) remaining[h] -= xj[h];
    }
  }
  return sch;
}

// Bills at an optimal load: every appliance uses only the cheapest slots of its window (ties
// have equal prices), so its bill is the cheapest fill of its energy at the final prices.
std::vector<double> BillsAtOptimum(const Scenario& s, const std::vector<Class>& classes,
                                   const std::vector<std::uint32_t>& of, std::span<const double> load,
                                   unsigned threads) {
  struct ClassPrices {
    std::vector<double> sorted;  // window prices, ascending
    std::vector<double> prefix;  // prefix[k] = sum of the k cheapest
  };
  std::vector<ClassPrices> prices(classes.size());
  for (std::size_t c = 0; c < classes.size(); ++c) {
    auto& cp = prices[c];
    for (int h = classes[c].first; h <= classes[c].last; ++h) cp.sorted.push_back(s.price.Price(load[static_cast<std::size_t>(h)]));
    std::sort(cp.sorted.begin(), cp.sorted.end());
    cp.prefix.assign(cp.sorted.size() + 1, 0.0);
    for (std::size_t k = 0; k < cp.sorted.size(); ++k) cp.prefix[k + 1] = cp.prefix[k] + cp.sorted[k];
  }
  std::vector<double> bills(s.ProsumerCount(), 0.0);
  detail::ParallelChunks(s.ProsumerCount(), detail::ChunksFor(s.ProsumerCount(), threads, 100'000),
                         [&](unsigned, std::size_t b, std::size_t e) {
                           for (std::size_t p = b; p < e; ++p) {
                             double bill = 0;
                             for (std::size_t j = s.prosumer_begin[p]; j < s.prosumer_begin[p + 1]; ++j) {
                               const Appliance& a = s.appliances[j];
                               const Class& cl = classes[of[j]];
                               const ClassPrices& cp = prices[of[j]];
                               if (!(a.energy > 0)) continue;
                               if (!a.HasCap()) {
                                 bill += a.energy * cp.sorted.front();
                               } else {
                                 const std::size_t k = cl.Bucket(a.energy);
                                 bill += a.cap * cp.prefix[k];
                                 const double rest = a.energy - static_cast<double>(k) * a.cap;
                                 if (k < cp.sorted.size() && rest > 0) bill += rest * cp.sorted[k];
                               }
                             }
                             bills[p] = bill;
                           }
                         });
  return bills;
}

struct GroupCheck {
  double gap{0};  // sum of (w . y - min over the group's set of w . q)
  double kkt{0};  // max relative violation
};

// Checks one group whose feasible set is { sum y = E, 0 <= y <= cap } (one appliance, or
// interchangeable ones merged).
void CheckBox(std::span<const double> g, std::span<const double> y, double cap, double energy, double gbar,
              GroupCheck& out) {
  double dot = 0;
  double sum = 0;
  double low = 0;
  double high = 0;
  for (std::size_t h = 0; h < y.size(); ++h) {
    dot += g[h] * y[h];
    sum += y[h];
    low = std::min(low, y[h]);
    if (cap != kNoCap) high = std::max(high, y[h] - cap);
  }
  const double best = CheapestFill(g, cap, energy);
  out.gap += dot - best;
  const double scale = energy > 0 ? energy : 1;
  double kkt = std::abs(sum - energy) / scale;
  kkt = std::max(kkt, -low / scale * static_cast<double>(y.size()));
  if (cap != kNoCap) kkt = std::max(kkt, high / cap);
  if (energy > 0) kkt = std::max(kkt, (dot - best) / (energy * gbar));
  out.kkt = std::max(out.kkt, kkt);
}

// Checks a whole class's share (its set: sums of any m entries <= G(m), total G(|W|)).
void CheckClass(const Class& cl, std::span<const double> g, std::span<const double> y, double gbar,
                std::vector<double>& sorted, GroupCheck& out) {
  const double best = ClassCheapest(cl, g, sorted);
  double dot = 0;
  double sum = 0;
  double low = 0;
  for (std::size_t h = 0; h < y.size(); ++h) {
    dot += g[h] * y[h];
    sum += y[h];
    low = std::min(low, y[h]);
  }
  // The m largest entries must not exceed G(m).
  sorted.assign(y.begin(), y.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  double top = 0;
  double over = 0;
  for (std::size_t m = 1; m <= sorted.size(); ++m) {
    top += sorted[m - 1];
    over = std::max(over, top - cl.G[m]);
  }
  out.gap += dot - best;
  const double e = cl.energy > 0 ? cl.energy : 1;
  double kkt = std::max({std::abs(sum - cl.energy) / e, -low / e * static_cast<double>(y.size()), over / e});
  if (cl.energy > 0) kkt = std::max(kkt, (dot - best) / (cl.energy * gbar));
  out.kkt = std::max(out.kkt, kkt);
}

void ReportProgress(const SolveOptions& o, double change, double tol) {
  if (!o.progress) return;
  double f = 0;
  if (change <= tol) {
    f = 1;
  } else if (change > 0 && change < 1) {
    f = std::clamp(std::log(change) / std::log(std::max(tol, 1e-300)), 0.0, 0.999);
  }
  o.progress(f);
}

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

// ---------------------------------------------------------------------------------------
// The hourly-bill equilibrium.

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

}  // namespace

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
  const auto start = Clock::now();
  const auto errors = ValidateScenario(scenario);
  if (!errors.empty()) return Result<SolveResult>::Error(FormatErrors(errors));
  if (!(options.tolerance >= 0) || !std::isfinite(options.tolerance)) {
    return Result<SolveResult>::Error("tolerance must be a finite number >= 0");
  }
  const unsigned threads = ResolveThreads(options.threads);
  Result<SolveResult> r = Result<SolveResult>::Error("unknown method");
  switch (method) {
    case Method::kDistributed: r = SolveDistributed(scenario, options, threads); break;
    case Method::kExact: r = SolveExact(scenario, options, threads); break;
    case Method::kHourlyBill: r = SolveHourly(scenario, options); break;
  }
  if (r.ok()) {
    if (options.want_schedules && method != Method::kExact && method != Method::kHourlyBill) {
      const Certificate per_appliance = Certify(scenario, r.value().load, r.value().schedule);
      r.value().certificate.kkt_residual = std::max(r.value().certificate.kkt_residual, per_appliance.kkt_residual);
    }
    r.value().seconds = Seconds(start);
  }
  return r;
}

}  // namespace wattline::meter
