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

}  // namespace

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
// The exact method: Wolfe's minimum-norm point over the (window, cap) classes.


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

}  // namespace wattline::meter::detail
