// Demand-response benchmark (issue 6): time to the certified optimum and peak memory, for
// 100, 10k, 1M prosumers x 5 appliances x 24 slots with both methods, and 10M for the exact
// one. A table-printing binary (not Google Benchmark) because peak memory per configuration
// is read from the kernel: VmHWM is reset through /proc/self/clear_refs before each solve.
//
// Each configuration runs in its own forked process, so that its peak memory is not hidden by
// memory an earlier configuration left to the allocator.
//
// Usage: dr_bench [--max-prosumers N] [--repeats R] [--threads T]
// Scenarios come from GeneratePaperScenario (the paper's table, randomised, seed 2021), in two
// flavours: "paper" (no caps, as in the paper) and "capped" (every 2nd appliance capped, so
// that capped (window, cap) classes with many different energies are exercised). Generation
// is outside the timed region. "distributed, per appliance" is the literal per-prosumer
// dynamics (no merging), shown to make the point that its rounds do not grow with the
// population; it is only run up to 1M prosumers and with a round limit. The hourly-bill
// equilibrium (not an optimum: its "duality gap" is its distance from the optimum) is shown up
// to 10k prosumers.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "meter/scenario_io.h"
#include "meter/solver.h"

using namespace wattline::meter;

namespace {

// kB from a "Key:   123 kB" line of /proc/self/status.
long StatusKb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(f, line)) {
    if (line.compare(0, n, key) == 0) return std::atol(line.c_str() + n + 1);
  }
  return -1;
}

void ResetPeak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";  // resets VmHWM to the current RSS (Linux >= 4.0)
}

struct Row {
  std::string flavour;
  std::size_t prosumers;
  std::string method;
  double seconds;  // median
  std::size_t rounds;
  std::size_t agents;
  double rel_gap;
  double kkt;
  double base_mb;
  double peak_mb;
  bool converged;
};

std::string Human(std::size_t n) {
  if (n >= 1'000'000 && n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + "M";
  if (n >= 1'000 && n % 1'000 == 0) return std::to_string(n / 1'000) + "k";
  return std::to_string(n);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t max_prosumers = 10'000'000;
  int repeats = 5;
  unsigned threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--max-prosumers" && i + 1 < argc) {
      max_prosumers = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--repeats" && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--threads" && i + 1 < argc) {
      threads = static_cast<unsigned>(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: dr_bench [--max-prosumers N] [--repeats R] [--threads T]\n");
      return 2;
    }
  }
  std::vector<Row> rows;
  struct Config {
    std::size_t prosumers;
    const char* flavour;
    std::size_t capped_every;
  };
  const std::vector<Config> configs = {{100, "paper", 0},      {10'000, "paper", 0},     {1'000'000, "paper", 0},
                                       {10'000'000, "paper", 0}, {100, "capped", 2},     {10'000, "capped", 2},
                                       {1'000'000, "capped", 2}, {10'000'000, "capped", 2}};
  for (const Config& cfg : configs) {
    if (cfg.prosumers > max_prosumers) continue;
    struct Variant {
      const char* name;
      Method method;
      bool merge;
    };
    std::vector<Variant> variants = {{"exact", Method::kExact, true}};  // NOLINT
    if (cfg.prosumers <= 1'000'000) {
      variants.push_back({"distributed", Method::kDistributed, true});
      variants.push_back({"distributed, per appliance", Method::kDistributed, false});
    }
    if (cfg.prosumers <= 10'000 && cfg.capped_every == 0) {
      variants.push_back({"hourly-bill equilibrium", Method::kHourlyBill, true});
    }
    for (const Variant& v : variants) {
      // The measured numbers come back from the child through a pipe.
      struct Measured {
        double seconds;
        std::size_t rounds;
        std::size_t agents;
        double rel_gap;
        double kkt;
        double base_mb;
        double peak_mb;
        bool converged;
        bool ok;
      } m{};
      int fds[2];
      if (pipe(fds) != 0) return 1;
      const pid_t pid = fork();
      if (pid < 0) return 1;
      if (pid == 0) {
        close(fds[0]);
        const Scenario s = GeneratePaperScenario(
            {.prosumers = cfg.prosumers, .randomise = true, .seed = 2021, .capped_every = cfg.capped_every, .names = false});
        SolveOptions o;
        o.threads = threads;
        o.merge_identical = v.merge;
        o.max_rounds = v.method == Method::kHourlyBill ? 20'000 : 200;
        if (v.method == Method::kHourlyBill) o.tolerance = 1e-10;
        const int reps = cfg.prosumers >= 1'000'000 || (v.method == Method::kHourlyBill && cfg.prosumers >= 10'000)
                             ? (v.merge && v.method != Method::kHourlyBill ? 3 : 1)
                             : repeats;
        std::vector<double> times;
        m.ok = true;
        const long base = StatusKb("VmRSS:");
        ResetPeak();
        for (int r = 0; r < reps; ++r) {
          auto result = Solve(s, v.method, o);
          if (!result.ok()) {
            std::fprintf(stderr, "%s\n", result.error().c_str());
            m.ok = false;
            break;
          }
          const SolveResult& res = result.value();
          times.push_back(res.seconds);
          m.rounds = res.rounds;
          m.agents = res.agents;
          m.rel_gap = res.certificate.relative_gap;
          m.kkt = res.certificate.kkt_residual;
          m.converged = res.converged;
        }
        const long peak = StatusKb("VmHWM:");
        m.base_mb = static_cast<double>(base) / 1024;
        m.peak_mb = static_cast<double>(peak - base) / 1024;
        std::sort(times.begin(), times.end());
        m.seconds = times.empty() ? 0 : times[times.size() / 2];
        const ssize_t w = write(fds[1], &m, sizeof m);
        _exit(w == static_cast<ssize_t>(sizeof m) ? 0 : 1);
      }
      close(fds[1]);
      const ssize_t got = read(fds[0], &m, sizeof m);
      close(fds[0]);
      int status = 0;
      waitpid(pid, &status, 0);
      if (got != static_cast<ssize_t>(sizeof m) || !m.ok) {
        std::fprintf(stderr, "%s %s %s: the run failed\n", cfg.flavour, Human(cfg.prosumers).c_str(), v.name);
        return 1;
      }
      Row row{cfg.flavour, cfg.prosumers, v.name, m.seconds, m.rounds, m.agents, m.rel_gap, m.kkt, m.base_mb, m.peak_mb, m.converged};
      rows.push_back(row);
      std::fprintf(stderr, "%-7s %6s %-27s %10.4f s  rounds %5zu  agents %8zu  gap %.1e  kkt %.1e  +%.1f MB (RSS before %.0f MB)%s\n",
                   row.flavour.c_str(), Human(row.prosumers).c_str(), row.method.c_str(), row.seconds, row.rounds,
                   row.agents, row.rel_gap, row.kkt, row.peak_mb, row.base_mb, row.converged ? "" : "  NOT CONVERGED");
    }
  }
  std::printf("| scenario | prosumers | method | time to certified optimum (median) | rounds / Wolfe iterations | agents or classes | relative duality gap | KKT residual | peak memory of the solve | scenario in memory (RSS before) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s | %s | %.4g s | %zu%s | %zu | %.1e | %.1e | %.1f MB | %.0f MB |\n", r.flavour.c_str(),
                Human(r.prosumers).c_str(), r.method.c_str(), r.seconds, r.rounds, r.converged ? "" : " (limit)", r.agents,
                r.rel_gap, r.kkt, r.peak_mb, r.base_mb);
  }
  std::printf("\nthreads: %u (hardware %u)\n", threads == 0 ? std::thread::hardware_concurrency() : threads,
              std::thread::hardware_concurrency());
  return 0;
}
