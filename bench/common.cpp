#include "bench/common.h"

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "bench/block_fixture.h"
#include "tests/util/chain_builder.h"

namespace wattline::bench {

namespace fs = std::filesystem;

void RawSchnorrVerify(benchmark::State& state) {
  auto key = test::TestKey(7);
  crypto::Hash256 msg = crypto::Sha256Of(key.PubKey().span());
  auto sig = key.Sign(msg, crypto::Hash256{});
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, key.PubKey().bytes.data())) std::abort();
  for (auto _ : state)
    benchmark::DoNotOptimize(
        secp256k1_schnorrsig_verify(secp256k1_context_static, sig.bytes.data(), msg.data(), 32, &pk));
  state.counters[kRate] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void RawSchnorrParseAndVerify(benchmark::State& state) {
  auto key = test::TestKey(7);
  crypto::Hash256 msg = crypto::Sha256Of(key.PubKey().span());
  auto sig = key.Sign(msg, crypto::Hash256{});
  auto pub = key.PubKey();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Verify(pub, msg, sig));
  state.counters[kRate] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

std::unique_ptr<ledger::Chainstate> OpenTemplateCopy(const fs::path& to, ledger::CheckQueue* queue,
                                                     crypto::SigCache* sig_cache) {
  auto& f = GetFixture();
  fs::remove_all(to);
  fs::copy(f.templ, to, fs::copy_options::recursive);
  ledger::ChainstateOptions opts;
  opts.dir = to;
  opts.check_queue = queue;
  opts.sig_cache = sig_cache;
  std::unique_ptr<ledger::Chainstate> cs;
  if (!ledger::Chainstate::Open(consensus::GetParams(consensus::Network::kRegtest), opts, cs).ok()) std::abort();
  return cs;
}

void RateReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const auto& run : runs) {
    if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
    auto it = run.counters.find(kRate);
    if (it == run.counters.end()) continue;
    std::string name = run.run_name.function_name;
    if (!run.run_name.threads.empty()) name += "/" + run.run_name.threads;
    m_runs[name].push_back(it->second.value);
  }
  ConsoleReporter::ReportRuns(runs);
}

std::map<std::string, double> RateReporter::Rates() const {
  std::map<std::string, double> out;
  for (auto [name, v] : m_runs) {
    std::sort(v.begin(), v.end());
    out[name] = v[v.size() / 2];
  }
  return out;
}

void PrintRatioTable(const std::map<std::string, double>& rates, const std::vector<std::string>& baselines) {
  std::printf("\n%-36s %12s", "measure", "per second");
  for (const auto& b : baselines) std::printf("  / %-26s", b.c_str());
  std::printf("\n");
  for (const auto& [name, rate] : rates) {
    std::printf("%-36s %12.0f", name.c_str(), rate);
    for (const auto& b : baselines) {
      auto it = rates.find(b);
      std::printf("  %-28.2f", it != rates.end() && it->second > 0 ? rate / it->second : 0.0);
    }
    std::printf("\n");
  }
  std::printf("cores: %u; blocks of %zu 1-in/2-out transactions\n", std::thread::hardware_concurrency(), kTxPerBlock);
}

}  // namespace wattline::bench
