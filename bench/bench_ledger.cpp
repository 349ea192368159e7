// Ledger benchmarks: the raw Schnorr verify rate (the physical limit of validation here) and
// full blocks of 1-input/2-output transactions validated and connected on one core and on all
// cores, with a warm and a cold coin cache. A table of rates and ratios to the raw limit, all
// measured in this run, is printed at the end.
#include <benchmark/benchmark.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "bench/block_fixture.h"
#include "bench/common.h"
#include "ledger/chainstate.h"
#include "tests/util/chain_builder.h"

using namespace wattline;
namespace fs = std::filesystem;

namespace {

using bench::Fixture;
using bench::GetFixture;
using bench::kNow;
using bench::kTxPerBlock;

// --- Raw limit -----------------------------------------------------------------------------

BENCHMARK(bench::RawSchnorrVerify)->Name("BM_SchnorrVerifyParsed")->MinTime(1.0);

BENCHMARK(bench::RawSchnorrParseAndVerify)->Name("BM_SchnorrParseAndVerify")->MinTime(1.0);

// --- Full blocks -----------------------------------------------------------------------------

void ConnectFullBlock(benchmark::State& state, unsigned workers, bool warm) {
  Fixture& f = GetFixture();
  ledger::CheckQueue queue(workers);
  const fs::path dir = f.root / "run";
  for (auto _ : state) {
    state.PauseTiming();
    auto cs = bench::OpenTemplateCopy(dir, workers ? &queue : nullptr);
    if (warm)
      for (std::size_t t = 1; t < f.block.txs.size(); ++t)
        benchmark::DoNotOptimize(cs->GetCoin(f.block.txs[t]->inputs()[0].prevout));
    state.ResumeTiming();
    consensus::ValidationState vs;
    if (!cs->ProcessBlock(f.block, kNow, vs)) {
      state.SkipWithError(vs.ToString().c_str());
      break;
    }
    state.PauseTiming();
    cs.reset();
    state.ResumeTiming();
  }
  state.counters[bench::kRate] = benchmark::Counter(static_cast<double>(state.iterations() * (f.block.txs.size() - 1)),
                                                    benchmark::Counter::kIsRate);
}

// Validation only: every rule, signatures included, against a warm coin cache; nothing stored.
void ValidateFullBlock(benchmark::State& state, unsigned workers) {
  Fixture& f = GetFixture();
  ledger::CheckQueue queue(workers);
  const fs::path dir = f.root / "validate";
  auto cs = bench::OpenTemplateCopy(dir, workers ? &queue : nullptr);
  for (std::size_t t = 1; t < f.block.txs.size(); ++t)
    benchmark::DoNotOptimize(cs->GetCoin(f.block.txs[t]->inputs()[0].prevout));
  for (auto _ : state) {
    consensus::ValidationState vs;
    if (!cs->TestBlockValidity(f.block, kNow, /*check_pow=*/true, vs)) {
      state.SkipWithError(vs.ToString().c_str());
      break;
    }
  }
  state.counters[bench::kRate] = benchmark::Counter(static_cast<double>(state.iterations() * (f.block.txs.size() - 1)),
                                                    benchmark::Counter::kIsRate);
}
void BM_ValidateBlock_1Core(benchmark::State& s) { ValidateFullBlock(s, 0); }
void BM_ValidateBlock_AllCores(benchmark::State& s) { ValidateFullBlock(s, ledger::CheckQueue::DefaultWorkers()); }
BENCHMARK(BM_ValidateBlock_1Core)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_ValidateBlock_AllCores)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

void BM_ConnectBlock_1Core_Warm(benchmark::State& s) { ConnectFullBlock(s, 0, true); }
void BM_ConnectBlock_AllCores_Warm(benchmark::State& s) {
  ConnectFullBlock(s, ledger::CheckQueue::DefaultWorkers(), true);
}
void BM_ConnectBlock_AllCores_Cold(benchmark::State& s) {
  ConnectFullBlock(s, ledger::CheckQueue::DefaultWorkers(), false);
}
BENCHMARK(BM_ConnectBlock_1Core_Warm)->Unit(benchmark::kMillisecond)->Iterations(6)->UseRealTime();
BENCHMARK(BM_ConnectBlock_AllCores_Warm)->Unit(benchmark::kMillisecond)->Iterations(6)->UseRealTime();
BENCHMARK(BM_ConnectBlock_AllCores_Cold)->Unit(benchmark::kMillisecond)->Iterations(6)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  bench::PrintRatioTable(reporter.Rates(), {"BM_SchnorrVerifyParsed", "BM_ValidateBlock_1Core"});
  benchmark::Shutdown();
  return 0;
}
