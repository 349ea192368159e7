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

#include "ledger/chainstate.h"
#include "bench/block_fixture.h"
#include "tests/util/chain_builder.h"

using namespace wattline;
namespace fs = std::filesystem;

namespace {

using bench::Fixture;
using bench::GetFixture;
using bench::kNow;
using bench::kTxPerBlock;

// --- Raw limit -----------------------------------------------------------------------------

void BM_SchnorrVerifyParsed(benchmark::State& state) {
  auto key = test::TestKey(7);
  crypto::Hash256 msg = crypto::Sha256Of(key.PubKey().span());
  auto sig = key.Sign(msg, crypto::Hash256{});
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, key.PubKey().bytes.data())) std::abort();
  for (auto _ : state) {
    int ok = secp256k1_schnorrsig_verify(secp256k1_context_static, sig.bytes.data(), msg.data(), 32, &pk);
    benchmark::DoNotOptimize(ok);
  }
  state.counters["verify/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SchnorrVerifyParsed)->MinTime(1.0);

void BM_SchnorrParseAndVerify(benchmark::State& state) {
  auto key = test::TestKey(7);
  crypto::Hash256 msg = crypto::Sha256Of(key.PubKey().span());
  auto sig = key.Sign(msg, crypto::Hash256{});
  auto pub = key.PubKey();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Verify(pub, msg, sig));
  state.counters["verify/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SchnorrParseAndVerify)->MinTime(1.0);

// --- Full blocks -----------------------------------------------------------------------------


void ConnectFullBlock(benchmark::State& state, unsigned workers, bool warm) {
  Fixture& f = GetFixture();
  const auto& params = consensus::GetParams(consensus::Network::kRegtest);
  ledger::CheckQueue queue(workers);
  const fs::path dir = f.root / "run";
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(dir);
    fs::copy(f.templ, dir, fs::copy_options::recursive);
    ledger::ChainstateOptions opts;
    opts.dir = dir;
    opts.check_queue = workers ? &queue : nullptr;
    std::unique_ptr<ledger::Chainstate> cs;
    if (!ledger::Chainstate::Open(params, opts, cs).ok()) std::abort();
    if (warm)
      for (std::size_t t = 1; t < f.block.txs.size(); ++t) benchmark::DoNotOptimize(cs->GetCoin(f.block.txs[t]->inputs()[0].prevout));
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
  state.counters["tx/s"] = benchmark::Counter(static_cast<double>(state.iterations() * (f.block.txs.size() - 1)),
                                              benchmark::Counter::kIsRate);
}

// Validation only: every rule, signatures included, against a warm coin cache; nothing stored.
void ValidateFullBlock(benchmark::State& state, unsigned workers) {
  Fixture& f = GetFixture();
  const auto& params = consensus::GetParams(consensus::Network::kRegtest);
  ledger::CheckQueue queue(workers);
  const fs::path dir = f.root / "validate";
  fs::remove_all(dir);
  fs::copy(f.templ, dir, fs::copy_options::recursive);
  ledger::ChainstateOptions opts;
  opts.dir = dir;
  opts.check_queue = workers ? &queue : nullptr;
  std::unique_ptr<ledger::Chainstate> cs;
  if (!ledger::Chainstate::Open(params, opts, cs).ok()) std::abort();
  for (std::size_t t = 1; t < f.block.txs.size(); ++t) benchmark::DoNotOptimize(cs->GetCoin(f.block.txs[t]->inputs()[0].prevout));
  for (auto _ : state) {
    consensus::ValidationState vs;
    if (!cs->TestBlockValidity(f.block, kNow, /*check_pow=*/true, vs)) {
      state.SkipWithError(vs.ToString().c_str());
      break;
    }
  }
  state.counters["tx/s"] = benchmark::Counter(static_cast<double>(state.iterations() * (f.block.txs.size() - 1)),
                                              benchmark::Counter::kIsRate);
}
void BM_ValidateBlock_1Core(benchmark::State& s) { ValidateFullBlock(s, 0); }
void BM_ValidateBlock_AllCores(benchmark::State& s) { ValidateFullBlock(s, ledger::CheckQueue::DefaultWorkers()); }
BENCHMARK(BM_ValidateBlock_1Core)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_ValidateBlock_AllCores)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

void BM_ConnectBlock_1Core_Warm(benchmark::State& s) { ConnectFullBlock(s, 0, true); }
void BM_ConnectBlock_AllCores_Warm(benchmark::State& s) { ConnectFullBlock(s, ledger::CheckQueue::DefaultWorkers(), true); }
void BM_ConnectBlock_AllCores_Cold(benchmark::State& s) { ConnectFullBlock(s, ledger::CheckQueue::DefaultWorkers(), false); }
BENCHMARK(BM_ConnectBlock_1Core_Warm)->Unit(benchmark::kMillisecond)->Iterations(6)->UseRealTime();
BENCHMARK(BM_ConnectBlock_AllCores_Warm)->Unit(benchmark::kMillisecond)->Iterations(6)->UseRealTime();
BENCHMARK(BM_ConnectBlock_AllCores_Cold)->Unit(benchmark::kMillisecond)->Iterations(6)->UseRealTime();

// Collects each benchmark's rate counter for the summary table.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> rates;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      for (const char* name : {"verify/s", "tx/s"}) {
        auto it = run.counters.find(name);
        if (it != run.counters.end()) rates[run.benchmark_name()] = it->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto get = [&](const std::string& prefix) {
    for (const auto& [name, rate] : reporter.rates)
      if (name.rfind(prefix, 0) == 0) return rate;
    return 0.0;
  };
  const double raw = get("BM_SchnorrVerifyParsed");
  const double one = get("BM_ValidateBlock_1Core");
  std::printf("\n%-34s %14s %12s %12s\n", "measure", "per second", "/ raw verify", "/ 1 core");
  for (const auto& [name, rate] : reporter.rates)
    std::printf("%-34s %14.0f %12.2f %12s\n", name.c_str(), rate, raw > 0 ? rate / raw : 0.0,
                name.find("Block_") != std::string::npos && one > 0
                    ? std::to_string(rate / one).substr(0, 4).c_str()
                    : "-");
  std::printf("cores: %u (block of %zu 1-in/2-out transactions)\n", std::thread::hardware_concurrency(), kTxPerBlock);
  benchmark::Shutdown();
  return 0;
}
