// What the benchmark binaries share: the raw verify baseline, opening a copy of the prepared
// chainstate, and a reporter that collects each benchmark's rate for the ratio table printed
// at the end of a run.
#pragma once

#include <benchmark/benchmark.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/sig_cache.h"
#include "ledger/chainstate.h"

namespace wattline::bench {

/** Every benchmark reports its rate in this counter (items per second). */
inline constexpr const char* kRate = "per_s";

/** BIP340 verification with a parsed key: the physical limit of transaction validation. */
void RawSchnorrVerify(benchmark::State& state);
/** The same through crypto::Verify from 32 key bytes (the key parsed on every call, as a spend carries it). */
void RawSchnorrParseAndVerify(benchmark::State& state);

/** Copies the fixture's template chainstate to `to` and opens it (queue may be null). */
std::unique_ptr<ledger::Chainstate> OpenTemplateCopy(const std::filesystem::path& to, ledger::CheckQueue* queue,
                                                     crypto::SigCache* sig_cache = nullptr);

/**
 * Collects kRate per benchmark (function name, plus "/threads:N" when threaded) while printing
 * the usual console output; with repetitions, Rates() gives the median of the runs.
 */
class RateReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
  std::map<std::string, double> Rates() const;

 private:
  std::map<std::string, std::vector<double>> m_runs;
};

/** Prints every rate with its ratio to each named baseline (a column per baseline). */
void PrintRatioTable(const std::map<std::string, double>& rates, const std::vector<std::string>& baselines);

}  // namespace wattline::bench
