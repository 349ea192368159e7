// Node benchmarks: mempool acceptance of 1-input/2-output transactions, next to the raw
// Schnorr verify rate and the ledger's block validation rate measured in the same run.
#include <benchmark/benchmark.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "bench/block_fixture.h"
#include "bench/common.h"
#include "ledger/chainstate.h"
#include "node/mempool.h"
#include "tests/util/chain_builder.h"

using namespace wattline;
namespace fs = std::filesystem;

namespace {

BENCHMARK(bench::RawSchnorrVerify)->Name("BM_RawSchnorrVerify")->MinTime(1.0);

// The ledger's validation rate of the same transactions in one block, one core.
void BM_LedgerValidateBlock_1Core(benchmark::State& state) {
  auto& f = bench::GetFixture();
  auto cs = bench::OpenTemplateCopy(f.root / "ledger", nullptr);
  for (auto _ : state) {
    consensus::ValidationState vs;
    if (!cs->TestBlockValidity(f.block, bench::kNow, true, vs)) state.SkipWithError(vs.ToString().c_str());
  }
  state.counters[bench::kRate] = benchmark::Counter(static_cast<double>(state.iterations() * (f.block.txs.size() - 1)),
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LedgerValidateBlock_1Core)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

// Mempool acceptance, one transaction at a time, as they arrive from wallets.
void BM_MempoolAccept(benchmark::State& state) {
  auto& f = bench::GetFixture();
  auto cs = bench::OpenTemplateCopy(f.root / "mempool", nullptr);
  for (std::size_t t = 1; t < f.block.txs.size(); ++t)
    benchmark::DoNotOptimize(cs->GetCoin(f.block.txs[t]->inputs()[0].prevout));
  for (auto _ : state) {
    state.PauseTiming();
    node::Mempool pool(*cs, node::MempoolOptions{});
    state.ResumeTiming();
    for (std::size_t t = 1; t < f.block.txs.size(); ++t) {
      node::MempoolReject reject;
      if (!pool.Accept(f.block.txs[t], bench::kNow, reject)) {
        state.SkipWithError(reject.ToString().c_str());
        return;
      }
    }
  }
  state.counters[bench::kRate] = benchmark::Counter(static_cast<double>(state.iterations() * (f.block.txs.size() - 1)),
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MempoolAccept)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  bench::PrintRatioTable(reporter.Rates(), {"BM_RawSchnorrVerify", "BM_LedgerValidateBlock_1Core"});
  benchmark::Shutdown();
  return 0;
}
