#include "meter/model.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <thread>

#include "meter/parallel.h"

namespace wattline::meter {

void Scenario::AddProsumer(std::span<const Appliance> apps, const std::string& name,
                           std::span<const std::string> app_names) {
  const std::size_t index = ProsumerCount();
  if (!name.empty() || !prosumer_names.empty()) {
    prosumer_names.resize(index);
    prosumer_names.push_back(name);
  }
  if (!app_names.empty() || !appliance_names.empty()) {
    appliance_names.resize(appliances.size());
    for (std::size_t k = 0; k < apps.size(); ++k) {
      appliance_names.push_back(k < app_names.size() ? app_names[k] : std::string{});
    }
  }
  appliances.insert(appliances.end(), apps.begin(), apps.end());
  prosumer_begin.push_back(appliances.size());
}

std::string Scenario::ProsumerLabel(std::size_t prosumer) const {
  std::ostringstream out;
  if (prosumer < prosumer_names.size() && !prosumer_names[prosumer].empty()) {
    out << "prosumer '" << prosumer_names[prosumer] << "' (#" << prosumer << ")";
  } else {
    out << "prosumer #" << prosumer;
  }
  return out.str();
}

std::string Scenario::ApplianceLabel(std::size_t prosumer, std::size_t index_in_prosumer) const {
  std::ostringstream out;
  const std::size_t global = prosumer < ProsumerCount() ? prosumer_begin[prosumer] + index_in_prosumer : 0;
  if (global < appliance_names.size() && !appliance_names[global].empty()) {
    out << "appliance '" << appliance_names[global] << "' (#" << index_in_prosumer << ")";
  } else {
    out << "appliance #" << index_in_prosumer;
  }
  return out.str();
}

double Scenario::TotalEnergy() const {
  double sum = 0;
  for (const auto& a : appliances) sum += a.energy;
  return sum;
}

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadSlots: return "bad-slots";
    case ErrorCode::kBadPrice: return "bad-price";
    case ErrorCode::kNonConvexPrice: return "non-convex-price";
    case ErrorCode::kBadStructure: return "bad-structure";
    case ErrorCode::kBadEnergy: return "bad-energy";
    case ErrorCode::kInvertedWindow: return "inverted-window";
    case ErrorCode::kWindowOutsideDay: return "window-outside-day";
    case ErrorCode::kBadCap: return "bad-cap";
    case ErrorCode::kEnergyExceedsCaps: return "energy-exceeds-caps";
    case ErrorCode::kTooLarge: return "too-large";
  }
  return "unknown";
}

namespace {

std::string Num(double v) {
  std::ostringstream out;
  out.precision(12);
  out << v;
  return out.str();
}

}  // namespace

std::vector<ScenarioError> ValidateScenario(const Scenario& s, std::size_t max_errors) {
  std::vector<ScenarioError> errors;
  auto add = [&](ErrorCode code, std::optional<std::size_t> p, std::optional<std::size_t> a, std::string msg) {
    if (errors.size() < max_errors) errors.push_back({code, p, a, std::move(msg)});
  };
  if (s.slots < 1 || s.slots > kMaxSlots) {
    add(ErrorCode::kBadSlots, {}, {},
        "slots per day must be between 1 and " + std::to_string(kMaxSlots) + ", got " + std::to_string(s.slots));
  }
  const PriceModel& pm = s.price;
  if (!std::isfinite(pm.a) || !std::isfinite(pm.b) || !std::isfinite(pm.c)) {
    add(ErrorCode::kBadPrice, {}, {},
        "price coefficients must be finite numbers, got a=" + Num(pm.a) + " b=" + Num(pm.b) + " c=" + Num(pm.c));
  } else {
    if (pm.a < 0) {
      add(ErrorCode::kNonConvexPrice, {}, {},
          "price coefficient a=" + Num(pm.a) + " is negative: the cost L*p(L) would not be convex");
    }
    if (pm.b < 0) {
      add(ErrorCode::kNonConvexPrice, {}, {},
          "price coefficient b=" + Num(pm.b) +
              " is negative: the price would fall as load grows and the cost would not be convex at low load");
    }
  }
  if (s.prosumer_begin.empty() || s.prosumer_begin.front() != 0 || s.prosumer_begin.back() != s.appliances.size() ||
      !std::is_sorted(s.prosumer_begin.begin(), s.prosumer_begin.end())) {
    add(ErrorCode::kBadStructure, {}, {}, "prosumer_begin does not partition the appliance list");
    return errors;
  }
  if (!s.prosumer_names.empty() && s.prosumer_names.size() != s.ProsumerCount()) {
    add(ErrorCode::kBadStructure, {}, {}, "prosumer_names must be empty or have one name per prosumer");
  }
  if (!s.appliance_names.empty() && s.appliance_names.size() != s.appliances.size()) {
    add(ErrorCode::kBadStructure, {}, {}, "appliance_names must be empty or have one name per appliance");
  }
  const bool slots_ok = s.slots >= 1 && s.slots <= kMaxSlots;
  double total = 0;
  double largest_cap = 0;
  for (std::size_t p = 0; p < s.ProsumerCount() && errors.size() < max_errors; ++p) {
    auto apps = s.AppliancesOf(p);
    for (std::size_t k = 0; k < apps.size(); ++k) {
      const Appliance& a = apps[k];
      auto where = [&] { return s.ProsumerLabel(p) + ", " + s.ApplianceLabel(p, k) + ": "; };
      bool energy_ok = true;
      if (!std::isfinite(a.energy)) {
        add(ErrorCode::kBadEnergy, p, k, where() + "energy " + Num(a.energy) + " kWh is not a finite number");
        energy_ok = false;
      } else if (a.energy < 0) {
        add(ErrorCode::kBadEnergy, p, k, where() + "energy " + Num(a.energy) + " kWh is negative");
        energy_ok = false;
      } else if (a.energy > 1e60) {
        add(ErrorCode::kTooLarge, p, k,
            where() + "energy " + Num(a.energy) + " kWh is too large: the cost a*L^3 would overflow double precision");
        energy_ok = false;
      }
      bool window_ok = true;
      if (a.first > a.last) {
        add(ErrorCode::kInvertedWindow, p, k,
            where() + "window is empty: first slot " + std::to_string(a.first) + " is after last slot " +
                std::to_string(a.last));
        window_ok = false;
      }
      if (a.first < 0 || (slots_ok && a.last >= s.slots) || a.last < 0 || (slots_ok && a.first >= s.slots)) {
        add(ErrorCode::kWindowOutsideDay, p, k,
            where() + "window " + std::to_string(a.first) + ".." + std::to_string(a.last) +
                " is outside the day (slots are 0-based: 0.." + std::to_string(s.slots - 1) + ")");
        window_ok = false;
      }
      bool cap_ok = true;
      if (a.HasCap()) {
        if (std::isnan(a.cap) || a.cap <= 0 || !std::isfinite(a.cap)) {
          add(ErrorCode::kBadCap, p, k, where() + "per-slot cap " + Num(a.cap) + " kWh must be a positive number");
          cap_ok = false;
        } else if (a.cap > 1e100) {
          add(ErrorCode::kBadCap, p, k, where() + "per-slot cap " + Num(a.cap) + " kWh is absurdly large (omit it for no cap)");
          cap_ok = false;
        } else {
          largest_cap = std::max(largest_cap, a.cap);
        }
      }
      if (energy_ok && window_ok && cap_ok && a.HasCap()) {
        const double room = a.cap * a.WindowLength();
        if (a.energy > room * (1 + 1e-12)) {
          add(ErrorCode::kEnergyExceedsCaps, p, k,
              where() + "energy " + Num(a.energy) + " kWh cannot fit: at most " + Num(a.cap) + " kWh in each of " +
                  std::to_string(a.WindowLength()) + " slots (" + std::to_string(a.first) + ".." +
                  std::to_string(a.last) + ") is " + Num(room) + " kWh");
        }
      }
      if (energy_ok) total += a.energy;
    }
  }
  // The cost is cubic in the load: keep a * L^3 (and every intermediate) far from overflow.
  if (std::isfinite(total) && std::isfinite(pm.a) && std::isfinite(pm.b) && std::isfinite(pm.c)) {
    const double l = total;
    const double cost = std::abs(pm.a) * l * l * l + std::abs(pm.b) * l * l + std::abs(pm.c) * l;
    if (!(l <= 1e80) || !(cost <= 1e250)) {
      add(ErrorCode::kTooLarge, {}, {},
          "total energy " + Num(total) + " kWh is too large: the cost a*L^3 would overflow double precision");
    }
  } else if (!std::isfinite(total)) {
    add(ErrorCode::kTooLarge, {}, {}, "total energy overflows double precision");
  }
  return errors;
}

std::string FormatErrors(const std::vector<ScenarioError>& errors, std::size_t max_shown) {
  std::ostringstream out;
  for (std::size_t i = 0; i < errors.size() && i < max_shown; ++i) {
    if (i) out << "\n";
    out << ErrorCodeName(errors[i].code) << ": " << errors[i].message;
  }
  if (errors.size() > max_shown) out << "\n(and " << errors.size() - max_shown << " more)";
  return out.str();
}

double PeakToAverage(std::span<const double> load) {
  if (load.empty()) return 1;
  double peak = 0;
  double sum = 0;
  for (double v : load) {
    peak = std::max(peak, v);
    sum += v;
  }
  if (!(sum > 0)) return 1;
  return peak / (sum / static_cast<double>(load.size()));
}

double TotalCost(const PriceModel& price, std::span<const double> load) {
  double sum = 0;
  for (double v : load) sum += price.SlotCost(v);
  return sum;
}

unsigned ResolveThreads(unsigned threads) {
  if (threads > 0) return threads;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

std::vector<double> BaselineSchedule(const Appliance& a, Baseline baseline) {
  const int len = a.WindowLength();
  std::vector<double> x(static_cast<std::size_t>(std::max(len, 0)), 0.0);
  if (len <= 0 || !(a.energy > 0)) return x;
  if (baseline == Baseline::kEven) {
    std::fill(x.begin(), x.end(), a.energy / len);
    return x;
  }
  if (!a.HasCap()) {
    x[0] = a.energy;
    return x;
  }
  double left = a.energy;
  for (auto& v : x) {
    v = std::min(a.cap, left);
    left -= v;
    if (left <= 0) break;
  }
  return x;
}

namespace {

// Adds one appliance's baseline schedule to `load` (size slots), without allocating.
void AddBaseline(const Appliance& a, Baseline baseline, double* load) {
  if (!(a.energy > 0)) return;
  if (baseline == Baseline::kEven) {
    const double per = a.energy / a.WindowLength();
    for (int h = a.first; h <= a.last; ++h) load[h] += per;
    return;
  }
  if (!a.HasCap()) {
    load[a.first] += a.energy;
    return;
  }
  double left = a.energy;
  for (int h = a.first; h <= a.last && left > 0; ++h) {
    const double v = std::min(a.cap, left);
    load[h] += v;
    left -= v;
  }
}

}  // namespace

std::vector<double> BaselineLoad(const Scenario& s, Baseline baseline, unsigned threads) {
  const std::size_t n = s.appliances.size();
  const unsigned chunks = detail::ChunksFor(n, ResolveThreads(threads), 200'000);
  std::vector<std::vector<double>> partial(chunks, std::vector<double>(static_cast<std::size_t>(s.slots), 0.0));
  detail::ParallelChunks(n, chunks, [&](unsigned c, std::size_t b, std::size_t e) {
    double* load = partial[c].data();
    for (std::size_t j = b; j < e; ++j) AddBaseline(s.appliances[j], baseline, load);
  });
  for (unsigned c = 1; c < chunks; ++c) {
    for (std::size_t h = 0; h < partial[0].size(); ++h) partial[0][h] += partial[c][h];
  }
  return std::move(partial[0]);
}

std::vector<double> BaselineBills(const Scenario& s, Baseline baseline, std::span<const double> load,
                                  unsigned threads) {
  // Prefix sums of the price make each appliance's bill O(1).
  std::vector<double> price_prefix(load.size() + 1, 0.0);
  for (std::size_t h = 0; h < load.size(); ++h) price_prefix[h + 1] = price_prefix[h] + s.price.Price(load[h]);
  auto range = [&](int from, int to_excl) { return price_prefix[static_cast<std::size_t>(to_excl)] - price_prefix[static_cast<std::size_t>(from)]; };
  std::vector<double> bills(s.ProsumerCount(), 0.0);
  const unsigned chunks = detail::ChunksFor(bills.size(), ResolveThreads(threads), 100'000);
  detail::ParallelChunks(bills.size(), chunks, [&](unsigned, std::size_t b, std::size_t e) {
    for (std::size_t p = b; p < e; ++p) {
      double bill = 0;
      for (const Appliance& a : s.AppliancesOf(p)) {
        if (!(a.energy > 0)) continue;
        if (baseline == Baseline::kEven) {
          bill += a.energy / a.WindowLength() * range(a.first, a.last + 1);
        } else if (!a.HasCap()) {
          bill += a.energy * s.price.Price(load[static_cast<std::size_t>(a.first)]);
        } else {
          double full = std::floor(a.energy / a.cap);
          full = std::min(full, static_cast<double>(a.WindowLength()));
          const int k = static_cast<int>(full);
          const double rest = std::max(0.0, a.energy - full * a.cap);
          bill += a.cap * range(a.first, a.first + k);
          if (rest > 0 && a.first + k <= a.last) bill += rest * s.price.Price(load[static_cast<std::size_t>(a.first + k)]);
        }
      }
      bills[p] = bill;
    }
  });
  return bills;
}

}  // namespace wattline::meter
