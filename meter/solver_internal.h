// Internal to meter/: the pieces the three solvers share (solver_*.cpp). Not part of the API;
// include only from meter/*.cpp.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "meter/model.h"
#include "meter/solver.h"

namespace wattline::meter::detail {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since);
/** g_h = C'(L_h) = 3aL^2 + 2bL + c. */
std::vector<double> Marginals(const PriceModel& pm, std::span<const double> load);
/** Load-weighted mean of |w| (the scale against which residuals are measured). */
double MeanWeighted(std::span<const double> w, std::span<const double> load);

/** A (window, cap) class: every appliance with this window and cap. Its feasible set (the sum
 *  of its members' sets) is { y : any m entries sum to at most G(m), all sum to G(len) }. */
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

/** Groups the appliances into classes (both cores; deterministic per thread count).
 *  of[j] receives appliance j's class. */
std::vector<Class> BuildClasses(const Scenario& s, unsigned threads, std::vector<std::uint32_t>& of);
/** min over the class's set of w . y (w over the class window), from its histogram. */
double ClassCheapest(const Class& c, std::span<const double> w, std::vector<double>& sorted);
/** The exact best response of a whole capped class to the others' load z over its window. */
void ClassBestResponse(std::span<const double> z, const std::vector<double>& G, std::span<double> y,
                       std::vector<std::size_t>& order);
/** Offsets of each appliance's window in a flat Schedule. */
std::vector<std::size_t> WindowOffsets(const Scenario& s);
/** Splits each class's share of the load onto its appliances. */
Schedule SplitClasses(const Scenario& s, const std::vector<Class>& classes, const std::vector<std::uint32_t>& of,
                      const std::vector<std::vector<double>>& share);
/** Each prosumer's bill at an optimal load (cheapest fill of each appliance at the final prices). */
std::vector<double> BillsAtOptimum(const Scenario& s, const std::vector<Class>& classes,
                                   const std::vector<std::uint32_t>& of, std::span<const double> load,
                                   unsigned threads);

struct GroupCheck {
  double gap{0};  // sum of (w . y - min over the group's set of w . q)
  double kkt{0};  // max relative violation
};

/** Adds the gap and KKT violation of a group whose set is { sum y = E, 0 <= y <= cap }. */
void CheckBox(std::span<const double> g, std::span<const double> y, double cap, double energy, double gbar,
              GroupCheck& out);
/** The same for a whole class's share. */
void CheckClass(const Class& cl, std::span<const double> g, std::span<const double> y, double gbar,
                std::vector<double>& sorted, GroupCheck& out);
/** Maps a round's relative change to a progress fraction (log scale towards the tolerance). */
void ReportProgress(const SolveOptions& o, double change, double tol);

Result<SolveResult> SolveDistributed(const Scenario& s, const SolveOptions& o, unsigned threads);
Result<SolveResult> SolveExact(const Scenario& s, const SolveOptions& o, unsigned threads);
Result<SolveResult> SolveHourly(const Scenario& s, const SolveOptions& o);

}  // namespace wattline::meter::detail
