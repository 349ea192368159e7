// wattline-dr: the demand-response experiment of the paper, and far past its scale.
//
// Reads a scenario (JSON or CSV, see meter/scenario_io.h) or generates the paper's, solves it
// with the exact and the distributed method (and the hourly-bill equilibrium), and writes:
//   load.csv     slot, before_even, before_earliest, after (optimum), after_hourly_bill
//   bills.csv    per prosumer: energy and bill before (both baselines) and after
//   summary.json PAR, costs, iterations, certificate, timings (also on stdout with --json)
//   demand.{svg,png}        total demand over the day, before and after
//   bill_change.{svg,png}   distribution of bill changes across prosumers
//
// Exit codes: 0 success, 1 a solver did not converge (results still written),
// 2 bad command line, 3 scenario file unreadable or malformed, 4 invalid scenario,
// 5 cannot write outputs.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "meter/model.h"
#include "meter/scenario_io.h"
#include "meter/solver.h"
#include "meter/tool/plot.h"

using namespace wattline::meter;
using nlohmann::json;

namespace {

enum Exit { kOk = 0, kNotConverged = 1, kUsage = 2, kBadFile = 3, kInvalid = 4, kOutput = 5 };

// A progress bar on stderr. In "auto" mode it only appears once a stage has run for 0.3 s,
// so that quick runs stay quiet.
class Progress {
 public:
  Progress(bool enabled, bool always) : m_enabled(enabled), m_always(always) {}
  void Stage(std::string name) {
    m_stage = std::move(name);
    m_last = -1;
    m_start = std::chrono::steady_clock::now();
    Draw(0);
  }
  void Draw(double fraction) {
    if (!m_enabled) return;
    if (!m_always && m_last < 0 && std::chrono::steady_clock::now() - m_start < std::chrono::milliseconds(300)) return;
    const int pct = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 100);
    if (pct == m_last) return;
    m_last = pct;
    constexpr int kWidth = 30;
    const int filled = pct * kWidth / 100;
    std::fprintf(stderr, "\r%-22s [%s%s] %3d%%", m_stage.c_str(), std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(), pct);
    if (pct == 100) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }
  void Done() { Draw(1); }

 private:
  bool m_enabled;
  bool m_always;
  std::chrono::steady_clock::time_point m_start{std::chrono::steady_clock::now()};
  std::string m_stage;
  int m_last{-1};
};

json ResultJson(const SolveResult& r) {
  json j;
  j["par"] = r.par;
  j["total_cost"] = r.total_cost;
  j["peak"] = *std::max_element(r.load.begin(), r.load.end());
  j["iterations"] = r.rounds;
  j["converged"] = r.converged;
  j["seconds"] = r.seconds;
  j["duality_gap"] = r.certificate.duality_gap;
  j["relative_gap"] = r.certificate.relative_gap;
  j["lower_bound"] = r.certificate.lower_bound;
  j["kkt_residual"] = r.certificate.kkt_residual;
  if (r.method == Method::kExact) j["classes"] = r.agents;
  if (r.method == Method::kDistributed) {
    j["agents"] = r.agents;
    j["last_change"] = r.last_change;
  }
  if (r.method == Method::kHourlyBill) {
    j["last_change"] = r.last_change;
    j["equilibrium_residual"] = r.equilibrium_residual;
  }
  return j;
}

json BaselineJson(const PriceModel& pm, const std::vector<double>& load) {
  return {{"par", PeakToAverage(load)},
          {"total_cost", TotalCost(pm, load)},
          {"peak", *std::max_element(load.begin(), load.end())}};
}

double PercentChange(double before, double after) {
  if (before == 0) return after == 0 ? 0 : 100;
  return (after - before) / before * 100;
}

std::string Fmt(double v, int digits = 6) {
  std::ostringstream o;
  o.precision(digits);
  o << v;
  return o.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wattline-dr: schedule shiftable appliances to minimise the cost of the total load "
               "(demand response), and report PAR, costs and bills before and after."};
  std::string scenario_path;
  std::string generate;
  std::size_t prosumers = 100;
  std::uint64_t seed = 2021;
  bool no_randomise = false;
  std::size_t capped_every = 0;
  std::optional<double> a, b, c;
  std::string method = "both";
  std::string hourly = "auto";
  std::string out_dir = "dr-out";
  bool no_figures = false;
  bool no_bills = false;
  unsigned threads = 0;
  double tolerance = 1e-13;
  double hourly_tolerance = 1e-10;
  std::size_t max_rounds = 20'000;
  bool no_merge = false;
  bool print_json = false;
  std::string progress_mode = "auto";
  std::string title;
  std::string write_scenario;
  std::string markdown_row;

  auto* scen = app.add_option("-s,--scenario", scenario_path, "Scenario file: .json, or .csv (see meter/scenario_io.h)");
  auto* gen = app.add_option("-g,--generate", generate, "Generate a scenario instead: 'paper' (the paper's five appliances)")
                  ->check(CLI::IsMember({"paper"}));
  scen->excludes(gen);
  gen->excludes(scen);
  app.add_option("-n,--prosumers", prosumers, "Generated: number of prosumers")->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
  app.add_option("--seed", seed, "Generated: random seed");
  app.add_flag("--no-randomise", no_randomise, "Generated: every prosumer gets the paper's table exactly");
  app.add_option("--capped-every", capped_every, "Generated: give every K-th appliance a per-slot cap");
  app.add_option("--a", a, "Override price coefficient a (p = aL^2 + bL + c)");
  app.add_option("--b", b, "Override price coefficient b");
  app.add_option("--c", c, "Override price coefficient c");
  app.add_option("-m,--method", method, "exact, distributed or both")->check(CLI::IsMember({"exact", "distributed", "both"}));
  app.add_option("--hourly-bill", hourly, "Also compute the hourly-bill equilibrium: on, off, auto (on up to 20000 prosumers)")
      ->check(CLI::IsMember({"on", "off", "auto"}));
  app.add_option("-o,--out", out_dir, "Output directory (created if missing)");
  app.add_flag("--no-figures", no_figures, "Do not draw the SVG/PNG figures");
  app.add_flag("--no-bills", no_bills, "Do not write bills.csv (large populations)");
  app.add_option("-j,--threads", threads, "Threads (0 = all cores); results are deterministic per thread count");
  app.add_option("--tolerance", tolerance, "Iterative methods stop when a round moves the load by less than this fraction of the peak")
      ->check(CLI::PositiveNumber);
  app.add_option("--hourly-tolerance", hourly_tolerance, "The same, for the hourly-bill equilibrium")->check(CLI::PositiveNumber);
  app.add_option("--max-rounds", max_rounds, "Iteration limit of each method")->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
  app.add_flag("--no-merge", no_merge, "Distributed: one agent per appliance (the literal per-prosumer dynamics)");
  app.add_flag("--json", print_json, "Print the summary as JSON on stdout");
  app.add_option("--progress", progress_mode, "Progress bar on stderr: on, off, auto (when stderr is a terminal)")
      ->check(CLI::IsMember({"on", "off", "auto"}));
  app.add_option("--title", title, "Title prefix for the figures");
  app.add_option("--write-scenario", write_scenario, "Also write the scenario used (.json or .csv)");
  app.add_option("--markdown-row", markdown_row,
                 "Also print one Markdown table row starting with this label: PAR even / earliest / after, "
                 "costs even / earliest / after, hourly-bill PAR and cost above optimum (used by contrib/dr-paper-runs.sh)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  if (scenario_path.empty() && generate.empty()) {
    std::cerr << "wattline-dr: give a scenario (--scenario FILE) or --generate paper (see --help)\n";
    return kUsage;
  }
  Progress progress(progress_mode == "on" || (progress_mode == "auto" && isatty(STDERR_FILENO)), progress_mode == "on");

  // 1. The scenario.
  Scenario s;
  std::string source;
  if (!scenario_path.empty()) {
    auto loaded = LoadScenarioFile(scenario_path);
    if (!loaded.ok()) {
      std::cerr << "wattline-dr: " << loaded.error() << "\n";
      return kBadFile;
    }
    s = std::move(loaded.value());
    source = scenario_path;
  } else {
    progress.Stage("generating");
    s = GeneratePaperScenario({.prosumers = prosumers,
                               .randomise = !no_randomise,
                               .seed = seed,
                               .capped_every = capped_every,
                               .names = prosumers <= 100'000});
    progress.Done();
    source = "paper table, " + std::to_string(prosumers) + " prosumers, " +
             (no_randomise ? std::string("unrandomised") : "randomised with seed " + std::to_string(seed));
  }
  if (a) s.price.a = *a;
  if (b) s.price.b = *b;
  if (c) s.price.c = *c;
  const auto errors = ValidateScenario(s);
  if (!errors.empty()) {
    std::cerr << "wattline-dr: invalid scenario (" << source << "):\n" << FormatErrors(errors, 20) << "\n";
    return kInvalid;
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec || !std::filesystem::is_directory(out_dir)) {
    std::cerr << "wattline-dr: cannot create output directory '" << out_dir << "': " << ec.message() << "\n";
    return kOutput;
  }
  if (!write_scenario.empty()) {
    std::ofstream f(write_scenario);
    const bool csv = write_scenario.size() >= 4 && write_scenario.compare(write_scenario.size() - 4, 4, ".csv") == 0;
    f << (csv ? ScenarioToCsv(s) : ScenarioToJson(s));
    if (!f) {
      std::cerr << "wattline-dr: cannot write '" << write_scenario << "'\n";
      return kOutput;
    }
  }

  // 2. Before: both baselines.
  const auto even = BaselineLoad(s, Baseline::kEven, threads);
  const auto earliest = BaselineLoad(s, Baseline::kEarliest, threads);

  // 3. After.
  SolveOptions opt;
  opt.threads = threads;
  opt.tolerance = tolerance;
  opt.max_rounds = max_rounds;
  opt.merge_identical = !no_merge;
  opt.progress = [&](double f) { progress.Draw(f); };
  std::optional<SolveResult> exact;
  std::optional<SolveResult> distributed;
  std::optional<SolveResult> hourly_result;
  auto run = [&](Method m, std::optional<SolveResult>& into) -> bool {
    progress.Stage(std::string("solving: ") + MethodName(m));
    auto r = Solve(s, m, opt);
    progress.Done();
    if (!r.ok()) {
      std::cerr << "wattline-dr: " << MethodName(m) << ": " << r.error() << "\n";
      return false;
    }
    into = std::move(r.value());
    return true;
  };
  if ((method == "exact" || method == "both") && !run(Method::kExact, exact)) return kInvalid;
  if ((method == "distributed" || method == "both") && !run(Method::kDistributed, distributed)) return kInvalid;
  const bool want_hourly = hourly == "on" || (hourly == "auto" && s.ProsumerCount() <= 20'000);
  opt.tolerance = hourly_tolerance;
  if (want_hourly && !run(Method::kHourlyBill, hourly_result)) return kInvalid;
  const SolveResult& best = exact ? *exact : *distributed;

  // 4. Bills.
  const auto bills_even = BaselineBills(s, Baseline::kEven, even, threads);
  const auto bills_early = BaselineBills(s, Baseline::kEarliest, earliest, threads);
  std::vector<double> change_even(s.ProsumerCount());
  std::vector<double> change_early(s.ProsumerCount());
  for (std::size_t p = 0; p < s.ProsumerCount(); ++p) {
    change_even[p] = PercentChange(bills_even[p], best.bills[p]);
    change_early[p] = PercentChange(bills_early[p], best.bills[p]);
  }

  // 5. Summary.
  json summary;
  summary["scenario"] = {{"source", source},
                         {"prosumers", s.ProsumerCount()},
                         {"appliances", s.appliances.size()},
                         {"slots", s.slots},
                         {"slot_numbering", "0-based, windows inclusive"},
                         {"price", {{"a", s.price.a}, {"b", s.price.b}, {"c", s.price.c}}},
                         {"total_energy", s.TotalEnergy()}};
  summary["before"] = {{"even", BaselineJson(s.price, even)}, {"earliest", BaselineJson(s.price, earliest)}};
  if (exact) summary["after"]["exact"] = ResultJson(*exact);
  if (distributed) summary["after"]["distributed"] = ResultJson(*distributed);
  summary["smallest_par"] = best.par;
  if (exact && distributed) {
    summary["agreement"] = {{"relative_cost_difference",
                             std::abs(exact->total_cost - distributed->total_cost) / std::abs(exact->total_cost)}};
  }
  if (hourly_result) {
    json h = ResultJson(*hourly_result);
    h["cost_above_optimum_percent"] = PercentChange(best.total_cost, hourly_result->total_cost);
    summary["hourly_bill"] = h;
  }
  auto stats = [](const std::vector<double>& v) {
    if (v.empty()) return json::object();
    std::vector<double> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    double mean = 0;
    std::size_t saving = 0;
    for (double x : v) {
      mean += x;
      saving += x < 0 ? 1 : 0;
    }
    return json{{"mean_percent", mean / static_cast<double>(v.size())},
                {"min_percent", sorted.front()},
                {"median_percent", sorted[sorted.size() / 2]},
                {"max_percent", sorted.back()},
                {"prosumers_paying_less", saving}};
  };
  summary["bill_change_vs_even"] = stats(change_even);
  summary["bill_change_vs_earliest"] = stats(change_early);
  summary["cost_change_percent"] = {{"vs_even", PercentChange(TotalCost(s.price, even), best.total_cost)},
                                    {"vs_earliest", PercentChange(TotalCost(s.price, earliest), best.total_cost)}};

  // 6. Files.
  const std::filesystem::path dir(out_dir);
  {
    std::ofstream f(dir / "load.csv");
    f.precision(15);
    f << "slot,before_even,before_earliest,after" << (hourly_result ? ",after_hourly_bill" : "") << "\n";
    for (std::size_t h = 0; h < even.size(); ++h) {
      f << h << "," << even[h] << "," << earliest[h] << "," << best.load[h];
      if (hourly_result) f << "," << hourly_result->load[h];
      f << "\n";
    }
    if (!f) {
      std::cerr << "wattline-dr: cannot write " << (dir / "load.csv") << "\n";
      return kOutput;
    }
  }
  if (!no_bills) {
    std::ofstream f(dir / "bills.csv");
    f.precision(15);
    f << "prosumer,name,energy,bill_before_even,bill_before_earliest,bill_after" << (hourly_result ? ",bill_hourly_bill" : "")
      << ",change_vs_even_percent\n";
    for (std::size_t p = 0; p < s.ProsumerCount(); ++p) {
      double energy = 0;
      for (const auto& ap : s.AppliancesOf(p)) energy += ap.energy;
      f << p << "," << (p < s.prosumer_names.size() ? s.prosumer_names[p] : "") << "," << energy << "," << bills_even[p] << ","
        << bills_early[p] << "," << best.bills[p];
      if (hourly_result) f << "," << hourly_result->bills[p];
      f << "," << change_even[p] << "\n";
    }
    if (!f) {
      std::cerr << "wattline-dr: cannot write " << (dir / "bills.csv") << "\n";
      return kOutput;
    }
  }
  {
    std::ofstream f(dir / "summary.json");
    f << summary.dump(2) << "\n";
    if (!f) {
      std::cerr << "wattline-dr: cannot write " << (dir / "summary.json") << "\n";
      return kOutput;
    }
  }
  if (!no_figures) {
    progress.Stage("drawing figures");
    const std::string prefix = title.empty() ? "" : title + ": ";
    tool::LineChart chart;
    chart.title = prefix + "total demand, " + std::to_string(s.ProsumerCount()) + " prosumers";
    chart.x_label = "slot (hour of the day, 0-based)";
    chart.y_label = "total demand (kWh)";
    chart.series.push_back({"before: even over each window (PAR " + Fmt(PeakToAverage(even), 4) + ")", even,
                            {0.55, 0.55, 0.55}, 2, true, false});
    chart.series.push_back({"before: earliest start (PAR " + Fmt(PeakToAverage(earliest), 4) + ")", earliest,
                            {0.9, 0.5, 0.1}, 2, false, false});
    if (hourly_result) {
      chart.series.push_back({"after: hourly-bill equilibrium (PAR " + Fmt(hourly_result->par, 4) + ")", hourly_result->load,
                              {0.2, 0.65, 0.3}, 2, true, false});
    }
    chart.series.push_back({"after: optimal schedule (PAR " + Fmt(best.par, 4) + ")", best.load, {0.1, 0.3, 0.8}, 3, false, true});
    std::string err = tool::RenderLineChart(chart, (dir / "demand").string());
    progress.Draw(0.5);
    tool::Histogram hist;
    hist.title = prefix + "bill change per prosumer after scheduling";
    hist.x_label = "bill change (%)";
    hist.y_label = "prosumers";
    hist.series.push_back({"vs. before (even spread)", change_even, {0.1, 0.3, 0.8}});
    hist.series.push_back({"vs. before (earliest start)", change_early, {0.9, 0.5, 0.1}});
    if (err.empty()) err = tool::RenderHistogram(hist, (dir / "bill_change").string());
    tool::ReleaseDrawingCaches();
    progress.Done();
    if (!err.empty()) {
      std::cerr << "wattline-dr: " << err << "\n";
      return kOutput;
    }
  }

  // 7. Report.
  if (print_json) {
    std::cout << summary.dump(2) << "\n";
  } else {
    std::cout << "scenario: " << source << " (" << s.ProsumerCount() << " prosumers, " << s.appliances.size()
              << " appliances, " << s.slots << " slots, a=" << s.price.a << " b=" << s.price.b << " c=" << s.price.c << ")\n";
    std::cout << "before (even):         PAR " << Fmt(PeakToAverage(even)) << "  cost " << Fmt(TotalCost(s.price, even), 10) << "\n";
    std::cout << "before (earliest):     PAR " << Fmt(PeakToAverage(earliest)) << "  cost " << Fmt(TotalCost(s.price, earliest), 10)
              << "\n";
    auto line = [](const char* name, const SolveResult& r) {
      std::cout << name << "PAR " << Fmt(r.par) << "  cost " << Fmt(r.total_cost, 15) << "  iterations " << r.rounds
                << "  duality gap " << Fmt(r.certificate.duality_gap, 3) << " (rel " << Fmt(r.certificate.relative_gap, 3)
                << ")  KKT residual " << Fmt(r.certificate.kkt_residual, 3) << "  " << Fmt(r.seconds, 4) << " s\n";
    };
    if (exact) line("after (exact):         ", *exact);
    if (distributed) line("after (distributed):   ", *distributed);
    if (hourly_result) {
      line("hourly-bill equilibr.: ", *hourly_result);
      std::cout << "                       cost above optimum " << Fmt(PercentChange(best.total_cost, hourly_result->total_cost), 4)
                << " %, equilibrium residual " << Fmt(hourly_result->equilibrium_residual, 3) << "\n";
    }
    std::cout << "outputs in " << out_dir << "/\n";
  }
  if (!markdown_row.empty()) {
    std::cout << "| " << markdown_row << " | " << Fmt(PeakToAverage(even), 4) << " | " << Fmt(PeakToAverage(earliest), 4) << " | "
              << Fmt(best.par, 4) << " | " << Fmt(TotalCost(s.price, even), 5) << " | " << Fmt(TotalCost(s.price, earliest), 5)
              << " | " << Fmt(best.total_cost, 5) << " | ";
    if (hourly_result) {
      std::cout << Fmt(hourly_result->par, 4) << " | " << Fmt(PercentChange(best.total_cost, hourly_result->total_cost), 3) << " % |\n";
    } else {
      std::cout << "- | - |\n";
    }
  }
  const bool converged = (!exact || exact->converged) && (!distributed || distributed->converged) &&
                         (!hourly_result || hourly_result->converged);
  if (!converged) {
    std::cerr << "wattline-dr: warning: a method hit --max-rounds before converging (see summary.json)\n";
    return kNotConverged;
  }
  return kOk;
}
