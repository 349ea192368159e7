// Serving meters: one household's schedule for the next slots, as a library call.
//
// A meter (or a wallet acting for it) knows its appliances and either
//  - the prices of the next slots, fixed (e.g. read from the chain): then each appliance
//    simply fills its cheapest slots (ties shared evenly), or
//  - the load the rest of the grid is expected to draw in each slot and the price model:
//    then the household plays its best response, either minimising its own bill
//    sum_h X_h p(Z_h + X_h) (Objective::kOwnBill, the paper's hourly billing) or its share of
//    the total cost (Objective::kShareOfCost, the Mohsenian-Rad model, whose equilibrium is the
//    optimum that Solve() computes).
// Slots are 0-based and relative to the start of the horizon; windows inclusive (model.h).
// The node will expose this through a gRPC method once the daemon exists.
#pragma once

#include <span>
#include <vector>

#include "meter/model.h"
#include "meter/solver.h"

namespace wattline::meter {

struct MeterRequest {
  enum class Objective { kOwnBill, kShareOfCost };
  int slots{24};
  /** Fixed price per slot (size slots). When non-empty, price and others_load are ignored. */
  std::vector<double> prices;
  /** The expected load of everyone else per slot (size slots), kWh. */
  std::vector<double> others_load;
  PriceModel price;
  Objective objective{Objective::kOwnBill};
  double tolerance{1e-12};  //!< stop when a pass moves no slot by more than tolerance * peak
  int max_rounds{1000};
};

struct MeterSchedule {
  std::vector<std::vector<double>> appliances;  //!< one full-horizon vector (size slots) per appliance
  std::vector<double> household;                //!< their sum
  double expected_bill{0};  //!< sum_h X_h * (fixed price, or p(others + X))
  int rounds{0};
};

/** Validates (appliances as in ValidateScenario; prices / loads finite and >= 0, right size). */
Result<MeterSchedule> ScheduleHousehold(std::span<const Appliance> appliances, const MeterRequest& request);

}  // namespace wattline::meter
