// The signature cache (issue 13, point 3): the fixture's full block of 5,000 1-input/2-output
// transactions validated and connected on one core with an empty cache ("cold": every
// signature verified, plus the cache lookups) and after all its transactions went through
// mempool acceptance ("warm": every signature a hit), next to the raw BIP340 verify rate
// measured in the same run. Both sides start with the same warm coin cache, so the difference
// is the signatures alone. A table of rates and ratios is printed at the end.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>

#include "bench/block_fixture.h"
#include "bench/common.h"
#include "crypto/sig_cache.h"
#include "ledger/chainstate.h"
#include "node/mempool.h"
#include "tests/util/chain_builder.h"

using namespace wattline;
namespace fs = std::filesystem;

namespace {

using bench::GetFixture;
using bench::kNow;

// A fixed salt: the measurement does not depend on it, and runs stay comparable.
crypto::Hash256 BenchSalt() { return crypto::Sha256Of(test::TestKey(3).PubKey().span()); }

// --- Raw limit -------------------------------------------------------------------------------

BENCHMARK(bench::RawSchnorrVerify)->Name("BM_SchnorrVerifyParsed")->MinTime(1.0);

BENCHMARK(bench::RawSchnorrParseAndVerify)->Name("BM_SchnorrParseAndVerify")->MinTime(1.0);

// What one lookup costs on the cold path: the salted id and a bucket scan.
void BM_SigCacheMiss(benchmark::State& state) {
  crypto::SigCache cache(BenchSalt(), crypto::SigCache::kDefaultBytes);
  auto key = test::TestKey(7);
  crypto::Hash256 msg = crypto::Sha256Of(key.PubKey().span());
  auto sig = key.Sign(msg, crypto::Hash256{});
  auto pub = key.PubKey();
  for (auto _ : state) benchmark::DoNotOptimize(cache.Contains(cache.EntryId(pub, msg, sig)));
  state.counters[bench::kRate] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SigCacheMiss)->MinTime(0.5);

// --- Helpers -----------------------------------------------------------------------------------

std::unique_ptr<ledger::Chainstate> OpenCopy(const fs::path& dir, crypto::SigCache* cache) {
  auto& f = GetFixture();
  auto cs = bench::OpenTemplateCopy(dir, /*queue=*/nullptr, cache);  // no check queue: one core
  // The same warm coin cache on both sides (mempool acceptance reads the coins anyway).
  for (std::size_t t = 1; t < f.block.txs.size(); ++t)
    benchmark::DoNotOptimize(cs->GetCoin(f.block.txs[t]->inputs()[0].prevout));
  return cs;
}

// Every transaction of the block through mempool acceptance: fills the cache.
bool AcceptAll(ledger::Chainstate& cs, crypto::SigCache& cache, benchmark::State& state) {
  node::MempoolOptions mo;
  mo.sig_cache = &cache;
  node::Mempool pool(cs, mo);
  auto& f = GetFixture();
  for (std::size_t t = 1; t < f.block.txs.size(); ++t) {
    node::MempoolReject reject;
    if (!pool.Accept(f.block.txs[t], kNow, reject)) {
      state.SkipWithError(reject.ToString().c_str());
      return false;
    }
  }
  return true;
}

void SetRate(benchmark::State& state, std::uint64_t verified) {
  const auto sigs = static_cast<double>(GetFixture().block.txs.size() - 1);
  state.counters[bench::kRate] =
      benchmark::Counter(static_cast<double>(state.iterations()) * sigs, benchmark::Counter::kIsRate);
  // Signatures actually verified per block: all of them cold, none warm.
  state.counters["verified"] = static_cast<double>(verified) / static_cast<double>(state.iterations());
}

// --- Validation only (TestBlockValidity: every rule, nothing stored) ---------------------------

enum class Cache { kNone, kCold, kWarm };

void ValidateBlock(benchmark::State& state, Cache kind) {
  auto& f = GetFixture();
  crypto::SigCache cache(BenchSalt(), crypto::SigCache::kDefaultBytes);
  auto cs = OpenCopy(f.root / "sigcache-validate", kind == Cache::kNone ? nullptr : &cache);
  if (kind == Cache::kWarm && !AcceptAll(*cs, cache, state)) return;
  cache.ResetStats();
  for (auto _ : state) {
    consensus::ValidationState vs;
    // A validity test stores nothing in the cache and retires nothing: cold stays cold, warm stays warm.
    if (!cs->TestBlockValidity(f.block, kNow, /*check_pow=*/true, vs)) {
      state.SkipWithError(vs.ToString().c_str());
      return;
    }
  }
  SetRate(state, kind == Cache::kNone ? state.iterations() * (f.block.txs.size() - 1) : cache.GetStats().verifications);
}
void BM_ValidateBlock_1Core_NoCache(benchmark::State& s) { ValidateBlock(s, Cache::kNone); }
void BM_ValidateBlock_1Core_Cold(benchmark::State& s) { ValidateBlock(s, Cache::kCold); }
void BM_ValidateBlock_1Core_Warm(benchmark::State& s) { ValidateBlock(s, Cache::kWarm); }
BENCHMARK(BM_ValidateBlock_1Core_NoCache)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_ValidateBlock_1Core_Cold)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_ValidateBlock_1Core_Warm)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

// --- Connect (ProcessBlock on a fresh chainstate copy: checks, block and undo synced) ----------

void ConnectBlock(benchmark::State& state, Cache kind) {
  auto& f = GetFixture();
  std::uint64_t verified = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<crypto::SigCache> cache;
    if (kind != Cache::kNone) cache = std::make_unique<crypto::SigCache>(BenchSalt(), crypto::SigCache::kDefaultBytes);
    auto cs = OpenCopy(f.root / "sigcache-connect", cache.get());
    if (kind == Cache::kWarm && !AcceptAll(*cs, *cache, state)) return;
    if (cache) cache->ResetStats();
    state.ResumeTiming();
    consensus::ValidationState vs;
    if (!cs->ProcessBlock(f.block, kNow, vs)) {
      state.SkipWithError(vs.ToString().c_str());
      return;
    }
    state.PauseTiming();
    verified += cache ? cache->GetStats().verifications : f.block.txs.size() - 1;
    cs.reset();
    state.ResumeTiming();
  }
  SetRate(state, verified);
}
void BM_ConnectBlock_1Core_NoCache(benchmark::State& s) { ConnectBlock(s, Cache::kNone); }
void BM_ConnectBlock_1Core_Cold(benchmark::State& s) { ConnectBlock(s, Cache::kCold); }
void BM_ConnectBlock_1Core_Warm(benchmark::State& s) { ConnectBlock(s, Cache::kWarm); }
BENCHMARK(BM_ConnectBlock_1Core_NoCache)->Unit(benchmark::kMillisecond)->Iterations(6)->UseRealTime();
BENCHMARK(BM_ConnectBlock_1Core_Cold)->Unit(benchmark::kMillisecond)->Iterations(6)->UseRealTime();
BENCHMARK(BM_ConnectBlock_1Core_Warm)->Unit(benchmark::kMillisecond)->Iterations(6)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  bench::PrintRatioTable(reporter.Rates(), {"BM_SchnorrVerifyParsed", "BM_SchnorrParseAndVerify",
                                            "BM_ValidateBlock_1Core_Cold", "BM_ConnectBlock_1Core_Cold"});
  benchmark::Shutdown();
  return 0;
}
