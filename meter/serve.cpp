#include "meter/serve.h"

#include <algorithm>
#include <cmath>

#include "meter/waterfill.h"

namespace wattline::meter {

Result<MeterSchedule> ScheduleHousehold(std::span<const Appliance> appliances, const MeterRequest& req) {
  using R = Result<MeterSchedule>;
  Scenario s;
  s.slots = req.slots;
  s.price = req.price;
  s.AddProsumer(appliances);
  auto errors = ValidateScenario(s);
  if (!errors.empty()) return R::Error(FormatErrors(errors));
  const auto T = static_cast<std::size_t>(req.slots);
  const bool fixed = !req.prices.empty();
  const auto& given = fixed ? req.prices : req.others_load;
  if (given.size() != T) {
    return R::Error(std::string(fixed ? "prices" : "others_load") + " must have one value per slot (" +
                    std::to_string(T) + "), got " + std::to_string(given.size()));
  }
  for (std::size_t h = 0; h < T; ++h) {
    if (!std::isfinite(given[h]) || (!fixed && given[h] < 0)) {
      return R::Error(std::string(fixed ? "price" : "others_load") + " of slot " + std::to_string(h) +
                      " must be a finite number" + (fixed ? "" : " >= 0"));
    }
  }
  MeterSchedule out;
  out.appliances.assign(appliances.size(), std::vector<double>(T, 0.0));
  out.household.assign(T, 0.0);
  WaterFillScratch scratch;
  std::vector<QuadraticMarginal> phi(T);
  std::vector<double> z(T);
  std::vector<double> x(T);
  if (fixed) {
    for (std::size_t k = 0; k < appliances.size(); ++k) {
      const Appliance& a = appliances[k];
      const auto len = static_cast<std::size_t>(a.WindowLength());
      for (std::size_t h = 0; h < len; ++h) phi[h] = QuadraticMarginal{0, 0, req.prices[static_cast<std::size_t>(a.first) + h]};
      MonotoneWaterFill({phi.data(), len}, a.cap, a.energy, {x.data(), len}, scratch);
      for (std::size_t h = 0; h < len; ++h) out.appliances[k][static_cast<std::size_t>(a.first) + h] = x[h];
    }
  } else {
    // Start evenly, then best responses appliance by appliance until the household settles.
    for (std::size_t k = 0; k < appliances.size(); ++k) {
      const Appliance& a = appliances[k];
      for (int h = a.first; h <= a.last; ++h) out.appliances[k][static_cast<std::size_t>(h)] = a.energy / a.WindowLength();
    }
    std::vector<double> own(T, 0.0);
    for (const auto& v : out.appliances) {
      for (std::size_t h = 0; h < T; ++h) own[h] += v[h];
    }
    const PriceModel& pm = req.price;
    for (out.rounds = 0; out.rounds < req.max_rounds;) {
      double change = 0;
      for (std::size_t k = 0; k < appliances.size(); ++k) {
        const Appliance& a = appliances[k];
        const auto len = static_cast<std::size_t>(a.WindowLength());
        auto& cur = out.appliances[k];
        for (std::size_t h = 0; h < len; ++h) {
          const std::size_t slot = static_cast<std::size_t>(a.first) + h;
          const double xo = own[slot] - cur[slot];
          const double l0 = req.others_load[slot] + xo;
          z[h] = l0;
          phi[h] = QuadraticMarginal{3 * pm.a, 4 * pm.a * l0 + 2 * pm.a * xo + 2 * pm.b, pm.Price(l0) + xo * pm.PriceSlope(l0)};
        }
        if (req.objective == MeterRequest::Objective::kShareOfCost) {
          CappedWaterFill({z.data(), len}, a.cap, a.energy, {x.data(), len}, scratch);
        } else {
          MonotoneWaterFill({phi.data(), len}, a.cap, a.energy, {x.data(), len}, scratch);
        }
        for (std::size_t h = 0; h < len; ++h) {
          const std::size_t slot = static_cast<std::size_t>(a.first) + h;
          change = std::max(change, std::abs(x[h] - cur[slot]));
          own[slot] += x[h] - cur[slot];
          cur[slot] = x[h];
        }
      }
      ++out.rounds;
      double peak = 0;
      for (std::size_t h = 0; h < T; ++h) peak = std::max(peak, own[h]);
      if (change <= req.tolerance * std::max(peak, 1e-300)) break;
    }
  }
  for (const auto& v : out.appliances) {
    for (std::size_t h = 0; h < T; ++h) out.household[h] += v[h];
  }
  for (std::size_t h = 0; h < T; ++h) {
    const double price = fixed ? req.prices[h] : req.price.Price(req.others_load[h] + out.household[h]);
    out.expected_bill += out.household[h] * price;
  }
  return out;
}

}  // namespace wattline::meter
