// Market benchmarks: a full block of batched meter readings validated on one core and on all
// cores, against the raw BIP340 verify rate measured in the same run; and the memory a
// registered meter takes in the chainstate's market cache (1M meters). The ratio table and
// the memory line are printed at the end.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "bench/common.h"
#include "consensus/market_rules.h"
#include "ledger/chainstate.h"
#include "tests/util/chain_builder.h"
#include "tests/util/temp_dir.h"

using namespace wattline;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kNow = 4'000'000'000;
const consensus::Params& Params() { return consensus::GetParams(consensus::Network::kRegtest); }

// A regtest chainstate with `meters` registered meters and a block of their readings on top.
struct MarketFixture {
  test::TempDir dir;
  std::unique_ptr<ledger::Chainstate> cs;
  ledger::CheckQueue queue{ledger::CheckQueue::DefaultWorkers()};
  consensus::Block block;
  std::size_t readings = 0;

  MarketFixture() {
    const auto& params = Params();
    ledger::ChainstateOptions opts;
    opts.dir = dir.path() / "chainstate";
    if (!ledger::Chainstate::Open(params, opts, cs).ok()) std::abort();
    const auto miner_key = test::TestKey(1);
    const auto miner = miner_key.PubKey();
    const auto utility = *crypto::SecretKey::FromBytes(consensus::DocumentedUtilitySecret(params.network).span());
    auto mine = [&](std::vector<consensus::TransactionRef> txs, consensus::Amount fees) {
      auto b = test::MakeBlock(*cs, *cs->Tip(), std::move(txs), fees, miner, cs->Height() + 1);
      consensus::ValidationState vs;
      if (!cs->ProcessBlock(b, kNow, vs)) {
        std::fprintf(stderr, "fixture block refused: %s\n", vs.ToString().c_str());
        std::abort();
      }
      return b;
    };
    std::vector<consensus::Block> early;
    for (std::uint32_t i = 0; i < params.coinbase_maturity + 80; ++i) early.push_back(mine({}, {}));
    // One meter per mature coinbase, registered in blocks of 40.
    const std::size_t kMeters = 70;
    std::vector<crypto::SecretKey> meters;
    std::vector<consensus::TransactionRef> regs;
    for (std::size_t m = 0; m < kMeters; ++m) {
      meters.push_back(test::TestKey(1000 + static_cast<std::uint32_t>(m)));
      const auto& cb = early[m].txs[0];
      consensus::MeterRegistration reg;
      reg.meter = meters[m].PubKey();
      reg.owner = test::TestKey(5000 + static_cast<std::uint32_t>(m % 7)).PubKey();
      reg.role = consensus::MeterRole::kProsumer;
      consensus::MarketRecord rec = reg;
      const consensus::OutPoint op{cb->txid(), 0};
      consensus::SetUtilitySignature(rec, utility.Sign(consensus::UtilitySigHash(params, op, rec)));
      consensus::MutableTransaction tx;
      tx.inputs.push_back({op, {}});
      tx.outputs.push_back({consensus::Amount{cb->outputs()[0].amount.units - 1000}, consensus::Condition::Key(miner)});
      tx.record = consensus::MakeRecord(rec);
      const auto id = tx.ComputeTxid();
      tx.inputs[0].satisfaction =
          consensus::Satisfaction::Sig(miner_key.Sign(consensus::SignatureHash(params, id, 0, cb->outputs()[0])));
      regs.push_back(consensus::MakeTransactionRef(std::move(tx)));
      if (regs.size() == 40 || m + 1 == kMeters) {
        mine(regs, consensus::Amount{static_cast<std::int64_t>(1000 * regs.size())});
        regs.clear();
      }
    }
    // The block: one transaction of 100 readings per meter, as full as the block size allows.
    const std::uint64_t block_time = cs->Tip()->header.time + static_cast<std::uint64_t>(params.target_spacing);
    ledger::ChainMarketStore store(*cs);
    std::vector<consensus::TransactionRef> txs;
    std::size_t bytes = 0;
    for (std::size_t m = 0; m < kMeters; ++m) {
      consensus::ReadingBatch batch;
      std::uint64_t import_reg = 0, export_reg = 0;
      for (std::size_t i = 0; i < consensus::kMaxReadingsPerBatch; ++i) {
        consensus::Reading r;
        r.meter = meters[m].PubKey();
        r.length = 60;
        r.start = block_time - 60 * consensus::kMaxReadingsPerBatch + 60 * i;
        r.import_wh = (m * 7 + i) % 50;
        r.export_wh = (m * 13 + i * 3) % 400;
        import_reg += r.import_wh;
        export_reg += r.export_wh;
        r.import_register = import_reg;
        r.export_register = export_reg;
        r.sig = meters[m].Sign(consensus::ReadingSigHash(params, r));
        batch.readings.push_back(r);
      }
      consensus::MutableTransaction tx;
      consensus::ValidationState vs;
      if (!consensus::ComputeReadingOutputs(batch, store, params, tx.outputs, vs)) std::abort();
      tx.record = consensus::MakeRecord(batch);
      auto ref = consensus::MakeTransactionRef(std::move(tx));
      if (bytes + ref->size() > consensus::kMaxBlockSize - 2000) break;
      bytes += ref->size();
      readings += batch.readings.size();
      txs.push_back(ref);
    }
    block = test::MakeBlock(*cs, *cs->Tip(), txs, consensus::Amount{0}, miner, 999);
  }
};

MarketFixture& Fixture() {
  static MarketFixture f;
  return f;
}

BENCHMARK(bench::RawSchnorrVerify)->Name("BM_SchnorrVerifyParsed")->MinTime(1.0);

void ValidateReadingsBlock(benchmark::State& state, bool all_cores) {
  MarketFixture& f = Fixture();
  // TestBlockValidity runs every rule of ProcessBlock (readings, rewards, signatures) and stores nothing.
  ledger::ChainstateOptions opts;
  for (auto _ : state) {
    consensus::ValidationState vs;
    (void)all_cores;
    if (!f.cs->TestBlockValidity(f.block, kNow, /*check_pow=*/true, vs)) {
      state.SkipWithError(vs.ToString().c_str());
      break;
    }
  }
  state.counters[bench::kRate] =
      benchmark::Counter(static_cast<double>(state.iterations() * f.readings), benchmark::Counter::kIsRate);
}

// The chainstate's check queue decides the cores: reopen the fixture's chainstate with or without it.
void Reopen(bool all_cores) {
  MarketFixture& f = Fixture();
  ledger::ChainstateOptions opts;
  opts.dir = f.dir.path() / "chainstate";
  opts.check_queue = all_cores ? &f.queue : nullptr;
  f.cs.reset();
  if (!ledger::Chainstate::Open(Params(), opts, f.cs).ok()) std::abort();
}

void BM_ValidateReadingsBlock_1Core(benchmark::State& s) {
  Reopen(false);
  ValidateReadingsBlock(s, false);
}
void BM_ValidateReadingsBlock_AllCores(benchmark::State& s) {
  Reopen(true);
  ValidateReadingsBlock(s, true);
}
BENCHMARK(BM_ValidateReadingsBlock_1Core)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_ValidateReadingsBlock_AllCores)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

std::size_t ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// 1M registered meters written into the chainstate's market cache (as a block connecting them
// would leave them before a flush): bytes of RAM per meter, measured and as accounted.
void MeasureMeterMemory() {
  test::TempDir dir;
  std::unique_ptr<ledger::Database> db;
  if (!ledger::Database::Open(dir.path() / "db", 8u << 20, db).ok()) std::abort();
  ledger::MarketDB market_db(*db);
  constexpr std::size_t kCount = 1'000'000;
  const std::size_t before = ResidentBytes();
  auto cache = std::make_unique<ledger::MarketCache>(&market_db);
  consensus::MeterState s;
  s.registered = true;
  s.owner = test::TestKey(3).PubKey();
  for (std::size_t i = 0; i < kCount; ++i) {
    consensus::MeterId id;
    for (int b = 0; b < 8; ++b) id.bytes[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(i >> (8 * b));
    s.registered_height = static_cast<std::uint32_t>(i);
    cache->Write(consensus::market_keys::Meter(id), consensus::EncodeMeterState(s));
  }
  const std::size_t after = ResidentBytes();
  std::printf("\nmarket cache, %zu registered meters: %.0f bytes RSS per meter (accounted: %.0f; stored state %zu bytes)\n",
              kCount, static_cast<double>(after - before) / kCount,
              static_cast<double>(cache->MemoryUsage()) / kCount, consensus::EncodeMeterState(s).size());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  bench::PrintRatioTable(reporter.Rates(), {"BM_SchnorrVerifyParsed", "BM_ValidateReadingsBlock_1Core"});
  std::printf("readings per block: %zu\n", Fixture().readings);
  MeasureMeterMemory();
  benchmark::Shutdown();
  return 0;
}
