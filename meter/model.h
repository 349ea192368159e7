// The demand-response model: prosumers, appliances, the quadratic price, and what a load
// profile costs. Start here, then read solver.h.
//
// THE MODEL (docs/demand-response.md states it with the same symbols)
// - A day has T slots (Scenario::slots, default 24). Slots are 0-BASED: slot 0 is the first
//   slot of the day and slot T-1 the last. Every window below is INCLUSIVE at both ends.
// - Prosumer i owns appliances n. Appliance n needs E_n >= 0 kWh over the day, placed in the
//   slots first..last (0 <= first <= last <= T-1), at most `cap` kWh in any one slot
//   (kNoCap: no per-slot limit). x_nh >= 0 is the energy it takes in slot h; x_nh = 0 outside
//   its window; sum_h x_nh = E_n.
// - The total load is L_h = sum over all appliances x_nh. The price of slot h is
//   p(L_h) = a L_h^2 + b L_h + c (a >= 0, b >= 0: the price never falls as load grows).
//   What slot h costs the grid is L_h p(L_h); the total cost is C = sum_h L_h p(L_h).
//   Prosumer i's bill is sum_h X_ih p(L_h), X_ih = its own load in slot h.
// - "Before" (no scheduling) has two variants: BeforeEven spreads each appliance's energy
//   evenly over its window; BeforeEarliest runs it from its first slot, at its cap (or its
//   whole energy in the first slot when it has no cap).
// - PAR (peak-to-average ratio) of a profile = max_h L_h / ((1/T) sum_h L_h), over all T slots
//   of the day. An all-zero profile has PAR 1 by definition (never NaN).
//
// Thread-safety: every function here is pure; a Scenario is a plain value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace wattline::meter {

/** Cap value meaning "no per-slot limit". */
inline constexpr double kNoCap = std::numeric_limits<double>::infinity();

/** Largest number of slots in a day the library accepts (5-minute slots). The exact method's
 *  cost grows roughly with slots^3 (about 1 s at 96 slots and 20 s at 288 slots for a few
 *  thousand classes), so larger days are refused rather than left to run for hours. */
inline constexpr int kMaxSlots = 288;

/** One shiftable appliance of one prosumer. Slots are 0-based and inclusive. */
struct Appliance {
  double energy{0};    //!< E_n, kWh over the day, must be finite and >= 0
  int first{0};        //!< earliest slot (0-based, inclusive)
  int last{0};         //!< latest slot (0-based, inclusive), first <= last < slots
  double cap{kNoCap};  //!< most kWh in one slot; kNoCap = unlimited; otherwise > 0

  bool HasCap() const { return cap != kNoCap; }
  int WindowLength() const { return last - first + 1; }
};

/** p(L) = a L^2 + b L + c. */
struct PriceModel {
  double a{1};
  double b{1};
  double c{1};

  double Price(double load) const { return (a * load + b) * load + c; }
  /** L p(L): what a slot with total load L costs. */
  double SlotCost(double load) const { return load * Price(load); }
  /** d/dL [L p(L)] = 3aL^2 + 2bL + c. */
  double MarginalCost(double load) const { return (3 * a * load + 2 * b) * load + c; }
  /** p'(L) = 2aL + b. */
  double PriceSlope(double load) const { return 2 * a * load + b; }
};

/**
 * A population of prosumers, stored flat so that ten million of them fit comfortably:
 * prosumer i owns appliances[prosumer_begin[i] .. prosumer_begin[i+1]).
 * Names are optional: either empty, or one per prosumer / one per appliance.
 */
struct Scenario {
  int slots{24};
  PriceModel price;
  std::vector<Appliance> appliances;
  std::vector<std::size_t> prosumer_begin{0};  //!< size = prosumer count + 1
  std::vector<std::string> prosumer_names;
  std::vector<std::string> appliance_names;

  std::size_t ProsumerCount() const { return prosumer_begin.size() - 1; }
  std::span<const Appliance> AppliancesOf(std::size_t prosumer) const {
    return {appliances.data() + prosumer_begin[prosumer],
            prosumer_begin[prosumer + 1] - prosumer_begin[prosumer]};
  }
  /** Appends one prosumer. Names may be empty (then nothing is recorded). */
  void AddProsumer(std::span<const Appliance> apps, const std::string& name = {},
                   std::span<const std::string> app_names = {});
  /** "prosumer 'alice' (#3)" or "prosumer #3", for messages. */
  std::string ProsumerLabel(std::size_t prosumer) const;
  /** "appliance 'washer' (#1)" or "appliance #1" (index within its prosumer). */
  std::string ApplianceLabel(std::size_t prosumer, std::size_t index_in_prosumer) const;
  double TotalEnergy() const;
};

/** Why a scenario is rejected. One value per kind of bad input. */
enum class ErrorCode {
  kBadSlots,           //!< slots < 1 or > kMaxSlots
  kBadPrice,           //!< a, b or c not finite
  kNonConvexPrice,     //!< a < 0 or b < 0: the total cost is not convex on loads >= 0
  kBadStructure,       //!< prosumer_begin / names inconsistent with appliances
  kBadEnergy,          //!< energy negative, NaN or infinite
  kInvertedWindow,     //!< first > last: the window is empty
  kWindowOutsideDay,   //!< first < 0 or last >= slots
  kBadCap,             //!< cap NaN, <= 0, or -inf
  kEnergyExceedsCaps,  //!< energy > cap * window length: it cannot fit
  kTooLarge,           //!< the loads would overflow double arithmetic in the cost
};

/** Stable short name of a code, e.g. "energy-exceeds-caps". */
const char* ErrorCodeName(ErrorCode code);

struct ScenarioError {
  ErrorCode code;
  std::optional<std::size_t> prosumer;   //!< index, when the error belongs to a prosumer
  std::optional<std::size_t> appliance;  //!< index within that prosumer
  std::string message;                   //!< names prosumer and appliance, says what is wrong
};

/**
 * Checks everything the solvers rely on. Returns every error found (at most max_errors), in
 * input order; empty means the scenario is valid. Never throws for bad values.
 */
std::vector<ScenarioError> ValidateScenario(const Scenario& scenario, std::size_t max_errors = 100);

/** Joins the first few errors into one message (for exceptions and CLI output). */
std::string FormatErrors(const std::vector<ScenarioError>& errors, std::size_t max_shown = 10);

/** max / mean over all entries; 1 for an all-zero (or empty) profile. */
double PeakToAverage(std::span<const double> load);

/** sum_h L_h p(L_h). */
double TotalCost(const PriceModel& price, std::span<const double> load);

/** Which "before" profile. */
enum class Baseline { kEven, kEarliest };

/**
 * The unscheduled total load (size slots). threads = 0 picks the hardware count; the result
 * is identical for every thread count only up to the order of floating-point additions, and
 * is bit-identical for a given thread count.
 */
std::vector<double> BaselineLoad(const Scenario& scenario, Baseline baseline, unsigned threads = 0);

/** Each prosumer's bill sum_h X_ih p(L_h) under the given baseline, where L is that baseline's load. */
std::vector<double> BaselineBills(const Scenario& scenario, Baseline baseline,
                                  std::span<const double> load, unsigned threads = 0);

/** The energy one appliance takes in each slot of its window under a baseline (size = window). */
std::vector<double> BaselineSchedule(const Appliance& appliance, Baseline baseline);

/** Resolves threads = 0 to the hardware concurrency (at least 1). */
unsigned ResolveThreads(unsigned threads);

}  // namespace wattline::meter
