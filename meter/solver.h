// Solving the day-ahead scheduling problem of model.h, three ways.
//
// THE PROBLEM. Minimise the total cost C(L) = sum_h L_h p(L_h) over all schedules x that put
// each appliance's energy E_n inside its window under its cap, L = sum of all x. C is strictly
// convex in L (a >= 0, b >= 0, not both 0), so the optimal TOTAL profile L* is unique; it is
// moreover the same for every strictly convex increasing price (it is the minimum-norm point
// of the set of feasible total profiles, a base polytope; Fujishige 1980), hence it also has
// the smallest peak (and PAR) that the windows and caps allow. Individual schedules are not
// unique; bills at L* are (an appliance only ever uses the cheapest slots of its window).
//
// Method::kDistributed (the paper's, after Mohsenian-Rad et al. 2010): agents take turns to
// play their best response to everyone else's load (a water-filling, waterfill.h) until the
// total load changes by less than `tolerance` in a round. With merge_identical (default) the
// agents are the (window, cap) classes: all appliances with the same window and cap act as
// one agent, whose best response is the exact minimiser over the sum of its members' sets (for
// uncapped classes a plain water-filling of their total energy; for capped ones Fujishige's
// decomposition, O(k^2) per window). This is exact, and makes the work per round depend on the
// number of classes, not on the number of prosumers. With merge_identical = false every
// appliance is its own agent (the literal per-prosumer dynamics); its rounds do not grow with
// the population either (3 rounds for 100k and for 1M prosumers on the paper's scenario), but
// each round touches every appliance. The rounds are sequential Gauss-Seidel: simultaneous
// moves need damping and converge far slower (see solver_distributed.cpp); the grouping, certificate and
// bills use every thread.
//
// Method::kExact: Wolfe's minimum-norm-point algorithm (finite, exact up to rounding) on the
// set of feasible total profiles, which depends on the appliances only through their
// (window, cap) classes: for a class, G(k) = sum_i min(cap k, E_i) (E_i for no cap) is all
// that matters. A linear minimisation over that set is a greedy pass over the T slots, so one
// iteration costs O(T * classes), independent of the number of prosumers. The optimum is then
// certified (Certificate) and each class's share is split back onto its appliances
// (proportionally for uncapped classes; largest energy first, each draining the highest
// remaining slots, for capped ones).
//
// Method::kHourlyBill: the equilibrium of the paper's billing, where each prosumer minimises
// its OWN bill sum_h X_ih p(L_h) (not its share of C). It is a different point from the
// optimum, slightly less efficient; it tends to the optimum as each prosumer's share of the
// load shrinks, and equals it when all prosumers are identical. Found in two phases: (1) in
// load space: at an equilibrium each prosumer's schedule minimises
// sum_h [p(L_h) X_ih + p'(L_h) X_ih^2 / 2] with p, p' frozen at the equilibrium L, so L is a
// fixed point of the T-dimensional map "everyone's best response to frozen prices", solved
// from the social optimum with Anderson acceleration (about 30 steps, not growing with the
// population); (2) polishing rounds of per-appliance best responses under the true marginal
// bill p(L_h) + X_ih p'(L_h) (MonotoneWaterFill), themselves Anderson-accelerated. rounds =
// steps of (1) + rounds of (2). Single-threaded; each step costs O(prosumers * appliances * T).
//
// Determinism: for a given scenario, options and thread count the output is bit-identical.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "meter/model.h"

namespace wattline::meter {

/** A value or an error message. */
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_value(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  static Result Error(std::string message) {
    Result r;
    r.m_error = std::move(message);
    return r;
  }
  bool ok() const { return m_value.has_value(); }
  const T& value() const { return *m_value; }
  T& value() { return *m_value; }
  const std::string& error() const { return m_error; }

 private:
  Result() = default;
  std::optional<T> m_value;
  std::string m_error;
};

enum class Method { kDistributed, kExact, kHourlyBill };
const char* MethodName(Method method);  //!< "distributed", "exact", "hourly-bill"

struct SolveOptions {
  unsigned threads{0};  //!< 0 = hardware concurrency
  /** Iterative methods stop when a round moves no slot's total load by more than
   *  tolerance * (peak load). */
  double tolerance{1e-13};
  std::size_t max_rounds{20'000};
  bool merge_identical{true};  //!< distributed: merge interchangeable appliances (exact)
  bool want_schedules{false};  //!< fill SolveResult::schedule (memory: one double per window slot)
  /** Called now and then from the calling thread with a fraction in [0, 1]. May be empty. */
  std::function<void(double)> progress;
};

/**
 * Evidence that a load profile is optimal.
 * - duality_gap: C(L) - D(g), where g_h = C'(L_h) = 3aL^2 + 2bL + c and D is the Lagrangian
 *   dual function; D(g) <= C* <= C(L), so C(L) is within duality_gap of the optimum.
 *   Computed as sum_h g_h L_h - min over feasible profiles q of sum_h g_h q_h.
 * - kkt_residual: the largest, over appliances (or over the merged groups the method works
 *   on, when schedules are not kept), of (a) the relative energy / window / cap violation and
 *   (b) the stationarity violation: how much that appliance would save by moving its energy
 *   to cheaper marginal slots, relative to its energy times the mean marginal cost. Zero at
 *   an exact optimum.
 */
struct Certificate {
  double duality_gap{0};
  double relative_gap{0};  //!< duality_gap / C(L)
  double lower_bound{0};   //!< D(g), a proven lower bound on the optimal cost
  double kkt_residual{0};
};

/** Per-appliance schedules, each over its own window only. */
struct Schedule {
  std::vector<std::size_t> offset;  //!< appliance j: values[offset[j] .. offset[j+1]) = slots first..last
  std::vector<double> values;
  std::span<const double> Of(std::size_t appliance) const {
    return {values.data() + offset[appliance], offset[appliance + 1] - offset[appliance]};
  }
};

struct SolveResult {
  Method method{Method::kExact};
  std::vector<double> load;   //!< total load per slot
  double total_cost{0};       //!< C(load)
  double par{1};              //!< PeakToAverage(load)
  std::vector<double> bills;  //!< per prosumer, sum_h X_ih p(L_h)
  Certificate certificate;
  std::size_t rounds{0};      //!< best-response rounds (exact: Wolfe major iterations)
  double last_change{0};      //!< iterative methods: last round's max |dL| / peak
  bool converged{true};
  std::size_t agents{0};      //!< distributed: agents after merging; exact: (window, cap) classes; hourly: prosumers
  /** Hourly-bill only: the largest saving, relative to its energy times the mean price, that
   *  any one appliance could still make on its owner's bill (0 at an exact equilibrium). */
  double equilibrium_residual{0};
  Schedule schedule;          //!< only with want_schedules
  double seconds{0};          //!< wall time of Solve
};

/** Validates the scenario (errors -> Result::Error with every message) and solves it. */
Result<SolveResult> Solve(const Scenario& scenario, Method method, const SolveOptions& options = {});

/**
 * The certificate of a load profile together with the appliance schedules that produce it
 * (used by tests and by the tool to check any solution independently of how it was found).
 * Precondition: the scenario is valid and schedule has one window per appliance.
 */
Certificate Certify(const Scenario& scenario, std::span<const double> load, const Schedule& schedule);

/** min over { q : sum q = E, 0 <= q <= cap } of sum_h w_h q_h: fill the cheapest slots first. */
double CheapestFill(std::span<const double> w, double cap, double energy);

}  // namespace wattline::meter
