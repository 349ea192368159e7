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
#include "ledger/chainstate.h"
#include "node/mempool.h"
#include "tests/util/chain_builder.h"

using namespace wattline;
namespace fs = std::filesystem;

namespace {

void BM_RawSchnorrVerify(benchmark::State& state) {
  auto key = test::TestKey(7);
  crypto::Hash256 msg = crypto::Sha256Of(key.PubKey().span());
  auto sig = key.Sign(msg, crypto::Hash256{});
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, key.PubKey().bytes.data())) std::abort();
  for (auto _ : state)
    benchmark::DoNotOptimize(
        secp256k1_schnorrsig_verify(secp256k1_context_static, sig.bytes.data(), msg.data(), 32, &pk));
  state.counters["per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RawSchnorrVerify)->MinTime(1.0);

std::unique_ptr<ledger::Chainstate> OpenCopy(const fs::path& to, ledger::CheckQueue* queue) {
  auto& f = bench::GetFixture();
  fs::remove_all(to);
  fs::copy(f.templ, to, fs::copy_options::recursive);
  ledger::ChainstateOptions opts;
  opts.dir = to;
  opts.check_queue = queue;
  std::unique_ptr<ledger::Chainstate> cs;
  if (!ledger::Chainstate::Open(consensus::GetParams(consensus::Network::kRegtest), opts, cs).ok()) std::abort();
  return cs;
}

// The ledger's validation rate of the same transactions in one block, one core.
void BM_LedgerValidateBlock_1Core(benchmark::State& state) {
  auto& f = bench::GetFixture();
  auto cs = OpenCopy(f.root / "ledger", nullptr);
  for (auto _ : state) {
    consensus::ValidationState vs;
    if (!cs->TestBlockValidity(f.block, bench::kNow, true, vs)) state.SkipWithError(vs.ToString().c_str());
  }
  state.counters["per_s"] = benchmark::Counter(static_cast<double>(state.iterations() * (f.block.txs.size() - 1)),
                                               benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LedgerValidateBlock_1Core)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

// Mempool acceptance, one transaction at a time, as they arrive from wallets.
void BM_MempoolAccept(benchmark::State& state) {
  auto& f = bench::GetFixture();
  auto cs = OpenCopy(f.root / "mempool", nullptr);
  for (std::size_t t = 1; t < f.block.txs.size(); ++t) benchmark::DoNotOptimize(cs->GetCoin(f.block.txs[t]->inputs()[0].prevout));
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
  state.counters["per_s"] = benchmark::Counter(static_cast<double>(state.iterations() * (f.block.txs.size() - 1)),
                                               benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MempoolAccept)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> rates;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      auto it = run.counters.find("per_s");
      if (it != run.counters.end()) rates[run.run_name.function_name] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const double raw = reporter.rates["BM_RawSchnorrVerify"];
  const double ledger_rate = reporter.rates["BM_LedgerValidateBlock_1Core"];
  std::printf("\n%-30s %12s %14s %14s\n", "measure", "per second", "/ raw verify", "/ ledger 1 core");
  for (const auto& [name, rate] : reporter.rates)
    std::printf("%-30s %12.0f %14.2f %14.2f\n", name.c_str(), rate, raw > 0 ? rate / raw : 0.0,
                ledger_rate > 0 ? rate / ledger_rate : 0.0);
  benchmark::Shutdown();
  return 0;
}
