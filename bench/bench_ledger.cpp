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
#include "tests/util/chain_builder.h"

using namespace wattline;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kNow = 4'000'000'000;
constexpr std::size_t kTxPerBlock = 5000;  // ~0.95 MB: a full block of 1-in/2-out transactions

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

// A regtest chainstate with kTxPerBlock mature coins locked to one key, and a full block
// spending each of them into two outputs. Built once per process.
struct Fixture {
  fs::path root = fs::temp_directory_path() / ("wattline-bench-" + std::to_string(::getpid()));
  fs::path templ = root / "template";
  consensus::Block block;

  Fixture() {
    fs::remove_all(root);
    const auto& params = consensus::GetParams(consensus::Network::kRegtest);
    auto key = test::TestKey(1);
    auto miner = key.PubKey();
    ledger::ChainstateOptions opts;
    opts.dir = templ;
    std::unique_ptr<ledger::Chainstate> cs;
    if (!ledger::Chainstate::Open(params, opts, cs).ok()) std::abort();
    // One block whose coinbase has kTxPerBlock outputs would break the subsidy; instead fan out:
    // mine coinbases, then split them in blocks of transactions with many outputs.
    auto mine = [&](std::vector<consensus::TransactionRef> txs, consensus::Amount fees) {
      auto b = test::MakeBlock(*cs, *cs->Tip(), std::move(txs), fees, miner, cs->Height() + 1);
      consensus::ValidationState st;
      if (!cs->ProcessBlock(b, kNow, st)) {
        std::fprintf(stderr, "fixture: %s\n", st.ToString().c_str());
        std::abort();
      }
      return b;
    };
    std::vector<consensus::Block> funding;
    for (int i = 0; i < 10; ++i) funding.push_back(mine({}, consensus::Amount{0}));
    for (std::uint32_t i = 0; i < params.coinbase_maturity; ++i) mine({}, consensus::Amount{0});
    std::vector<test::Spend> coins;
    std::vector<consensus::TransactionRef> splits;
    const std::size_t per_split = kTxPerBlock / funding.size();
    for (const auto& f : funding) {
      const auto& cb = f.txs[0];
      test::Spend in{{cb->txid(), 0}, cb->outputs()[0]};
      const std::int64_t each = (in.spent.amount.units - 10'000) / static_cast<std::int64_t>(per_split);
      std::vector<consensus::TxOut> outs(per_split, {consensus::Amount{each}, consensus::Condition::Key(miner)});
      auto tx = test::MakeSpend(params, {in}, key, outs);
      for (std::uint32_t o = 0; o < per_split; ++o) coins.push_back({{tx->txid(), o}, tx->outputs()[o]});
      splits.push_back(tx);
    }
    consensus::Amount split_fees{0};
    for (const auto& f : funding) split_fees.units += f.txs[0]->outputs()[0].amount.units;
    for (const auto& s : splits)
      for (const auto& o : s->outputs()) split_fees.units -= o.amount.units;
    mine(splits, split_fees);
    cs.reset();  // flushed: the template is complete on disk
    // The measured block: every coin into two outputs.
    std::vector<consensus::TransactionRef> txs;
    consensus::Amount fees{0};
    for (const auto& c : coins) {
      const std::int64_t fee = 200, half = (c.spent.amount.units - fee) / 2;
      txs.push_back(test::MakeSpend(params, {c}, key,
                                    {{consensus::Amount{half}, consensus::Condition::Key(miner)},
                                     {consensus::Amount{c.spent.amount.units - fee - half},
                                      consensus::Condition::Key(test::TestKey(2).PubKey())}}));
      fees.units += fee;
    }
    std::unique_ptr<ledger::Chainstate> reader;
    opts.dir = templ;
    if (!ledger::Chainstate::Open(params, opts, reader).ok()) std::abort();
    block = test::MakeBlock(*reader, *reader->Tip(), std::move(txs), fees, miner, 999);
  }
  ~Fixture() { fs::remove_all(root); }
};

Fixture& GetFixture() {
  static Fixture f;
  return f;
}

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
