// P2P initial sync benchmark (issue 5): blocks per second and transactions per second of the
// initial sync of a prepared chain from one local peer, next to the same chain's validation
// rate without the network, measured in the same run, and the ratio (goal: at least 0.9).
//
// The chain is prepared once per process in a source node::Node's datadir (regtest, real
// LevelDB under the system temp dir): funding coinbases, the coinbase maturity, one block
// splitting the matured coinbases into many outputs, then blocks of 1-input/2-output
// transactions of TestKey(1), each spending coins created by earlier blocks (a growing UTXO
// set), up to the chain height asked for. Measured, each repetition in a fresh datadir:
//   - BM_LedgerConnect: Chainstate::ProcessBlock of every block in order into a fresh
//     chainstate, signature checks on every core (no node around it);
//   - BM_NodeSubmitBlocks (the baseline): Node::SubmitBlock of every block in order into a
//     fresh node without the network, the node's own options (what sync calls per block);
//   - BM_InitialSync_OnePeer: a fresh node with the same options joins the network with the
//     source as its only (--connect) peer on 127.0.0.1 and syncs headers-first; timed from
//     StartNetwork until its tip is the source's tip;
//   - BM_SourceReadBlocks: reading and decoding every block from the source's LevelDB (what
//     the serving side does per block besides encoding and sending).
// The blocks of the baseline rows are read from the source before timing (in memory).
// Repetitions run interleaved in random order (fairer on a shared machine); the table shows
// the medians.
//
//   wattline-bench-p2p [--blocks=N] [--txs-per-block=K] [--reps=R] [benchmark flags]
//   (or WATTLINE_BENCH_P2P_BLOCKS, WATTLINE_BENCH_P2P_TXS, WATTLINE_BENCH_P2P_REPS)
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/common.h"
#include "consensus/params.h"
#include "ledger/chainstate.h"
#include "node/logging.h"
#include "node/network.h"
#include "node/node.h"
#include "tests/util/chain_builder.h"

using namespace wattline;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Config {
  std::uint32_t blocks = 250;         //!< chain height
  std::size_t txs_per_block = 1000;   //!< 1-in/2-out transactions per block after the split
  int reps = 3;
  std::size_t split_outputs = 250;    //!< outputs of each coinbase-splitting transaction
  std::chrono::seconds sync_timeout{300};
  std::chrono::seconds stall_timeout{30};  //!< no new block for this long: a stall (reported)
};
Config g_cfg;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_p2p: %s\n", what.c_str());
  std::exit(2);
}

const consensus::Params& Regtest() { return consensus::GetParams(consensus::Network::kRegtest); }

/** The options of every node here, the source's included: the node's defaults (signature
 *  checks on every core, 64 MiB coin cache), without the wallet and mempool file. */
node::NodeOptions NodeOpts(const fs::path& dir) {
  node::NodeOptions o;
  o.datadir = dir;
  o.params = &Regtest();
  o.wallet = false;
  o.persist_mempool = false;
  return o;
}

std::unique_ptr<node::Node> StartNode(const fs::path& dir) {
  std::string error;
  auto n = node::Node::Start(NodeOpts(dir), error);
  if (!n) Die("node at " + dir.string() + ": " + error);
  return n;
}

double CpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/** The prepared chain: a source node holding it (listening on loopback), and its blocks. */
class Source {
 public:
  Source() : m_root(fs::temp_directory_path() / ("wattline-bench-p2p-" + std::to_string(::getpid()))) {
    fs::remove_all(m_root);
    fs::create_directories(m_root);
    const auto t0 = Clock::now();
    m_node = StartNode(m_root / "source");
    Build();
    m_build_seconds = Seconds(Clock::now() - t0);
    // The blocks, as the baselines submit them (read back from the source's store).
    auto& cs = m_node->chainstate();
    for (std::uint32_t h = 1; h <= cs.Height(); ++h) {
      consensus::Block b;
      if (!cs.ReadBlock(*cs.ActiveAt(h), b)) Die("cannot read block " + std::to_string(h));
      m_txs += b.txs.size() - 1;
      m_blocks.push_back(std::move(b));
    }
    node::NetworkOptions net;
    net.bind = "127.0.0.1";
    net.port = 0;
    net.max_outbound = 0;  // it only serves
    std::string error;
    if (!m_node->StartNetwork(net, error)) Die("source network: " + error);
    m_target = "127.0.0.1:" + std::to_string(m_node->network()->ListenPort());
    m_bytes = 0;
    for (const auto& b : m_blocks) m_bytes += consensus::EncodeBlock(b).size();
  }
  ~Source() {
    m_node->Stop();
    m_node.reset();
    std::error_code ec;
    fs::remove_all(m_root, ec);
  }

  node::Node& node() { return *m_node; }
  const fs::path& root() const { return m_root; }
  const std::string& target() const { return m_target; }
  const std::vector<consensus::Block>& blocks() const { return m_blocks; }
  std::size_t txs() const { return m_txs; }
  std::size_t bytes() const { return m_bytes; }
  std::uint32_t filled_from() const { return m_filled_from; }
  double build_seconds() const { return m_build_seconds; }
  fs::path FreshDir(const std::string& name) {
    fs::path d = m_root / (name + "-" + std::to_string(m_next_dir++));
    fs::remove_all(d);
    return d;
  }

 private:
  void Mine(std::vector<consensus::TransactionRef> txs, consensus::Amount fees) {
    auto& cs = m_node->chainstate();
    const std::uint32_t height = cs.Height() + 1;
    auto block = test::MakeBlock(cs, *cs.Tip(), std::move(txs), fees, m_key.PubKey(), height);
    consensus::ValidationState st;
    if (!m_node->SubmitBlock(block, st) || cs.Height() != height)
      Die("preparing block " + std::to_string(height) + ": " + st.ToString());
  }

  void Build() {
    const auto& params = Regtest();
    const auto miner = m_key.PubKey();
    const std::size_t k = g_cfg.txs_per_block, s = g_cfg.split_outputs;
    const std::size_t funding = std::max<std::size_t>(1, (2 * k + s - 1) / s);
    const std::uint32_t setup = static_cast<std::uint32_t>(funding) + params.coinbase_maturity + 1;
    if (g_cfg.blocks <= setup) Die("--blocks must be above " + std::to_string(setup));
    auto& cs = m_node->chainstate();
    std::vector<consensus::TransactionRef> coinbases;
    for (std::size_t i = 0; i < funding; ++i) {
      Mine({}, consensus::Amount{0});
      consensus::Block b;
      cs.ReadBlock(*cs.Tip(), b);
      coinbases.push_back(b.txs[0]);
    }
    while (cs.Height() < funding + params.coinbase_maturity) Mine({}, consensus::Amount{0});
    // Split the matured coinbases into many outputs.
    std::deque<test::Spend> pool;
    std::vector<consensus::TransactionRef> splits;
    consensus::Amount fees{0};
    for (const auto& cb : coinbases) {
      test::Spend in{{cb->txid(), 0}, cb->outputs()[0]};
      const std::int64_t fee = 1000;
      const std::int64_t each = (in.spent.amount.units - fee) / static_cast<std::int64_t>(s);
      std::vector<consensus::TxOut> outs(s, {consensus::Amount{each}, consensus::Condition::Key(miner)});
      auto tx = test::MakeSpend(params, {in}, m_key, outs);
      for (std::uint32_t o = 0; o < s; ++o) pool.push_back({{tx->txid(), o}, tx->outputs()[o]});
      fees.units += in.spent.amount.units - each * static_cast<std::int64_t>(s);
      splits.push_back(tx);
    }
    Mine(splits, fees);
    m_filled_from = cs.Height() + 1;
    // Fan out: every block spends k coins of earlier blocks into two outputs each.
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    const auto second = consensus::Condition::Key(test::TestKey(2).PubKey());
    while (cs.Height() < g_cfg.blocks) {
      const std::size_t n = std::min(k, pool.size());
      std::vector<test::Spend> ins(pool.begin(), pool.begin() + static_cast<long>(n));
      pool.erase(pool.begin(), pool.begin() + static_cast<long>(n));
      std::vector<consensus::TransactionRef> txs(n);
      std::vector<std::thread> signers;
      for (unsigned t = 0; t < threads; ++t)
        signers.emplace_back([&, t] {
          for (std::size_t i = t; i < n; i += threads) {
            const std::int64_t fee = 200, amount = ins[i].spent.amount.units;
            if (amount < 10 * fee) continue;  // checked below
            const std::int64_t half = (amount - fee) / 2;
            // The second output goes to another key every other transaction (not all one key).
            txs[i] = test::MakeSpend(params, {ins[i]}, m_key,
                                     {{consensus::Amount{half}, consensus::Condition::Key(miner)},
                                      {consensus::Amount{amount - fee - half},
                                       i % 2 ? second : consensus::Condition::Key(miner)}});
          }
        });
      for (auto& th : signers) th.join();
      consensus::Amount block_fees{0};
      std::vector<test::Spend> created;
      for (std::size_t i = 0; i < n; ++i) {
        if (!txs[i]) Die("coins too small to spend; use fewer blocks or more split outputs");
        block_fees.units += 200;
        // Only outputs to TestKey(1) can be spent again.
        for (std::uint32_t o = 0; o < 2; ++o)
          if (txs[i]->outputs()[o].condition == consensus::Condition::Key(miner))
            created.push_back({{txs[i]->txid(), o}, txs[i]->outputs()[o]});
      }
      Mine(std::move(txs), block_fees);
      for (auto& c : created) pool.push_back(std::move(c));
    }
    cs.Flush();
  }

  fs::path m_root;
  crypto::SecretKey m_key = test::TestKey(1);
  std::unique_ptr<node::Node> m_node;
  std::vector<consensus::Block> m_blocks;
  std::size_t m_txs = 0;
  std::size_t m_bytes = 0;
  std::uint32_t m_filled_from = 0;
  std::string m_target;
  double m_build_seconds = 0;
  int m_next_dir = 0;
};

Source* g_source = nullptr;

std::vector<double> g_sync_first_block_ms;    //!< StartNetwork to the first connected block
std::vector<double> g_sync_gap_p50_ms, g_sync_gap_p99_ms, g_sync_gap_max_ms;
std::vector<double> g_sync_filled_p50_ms;  //!< gaps before blocks with transactions
std::vector<double> g_base_filled_p50_ms;  //!< Node::SubmitBlock of a block with transactions

/** Rates of one repetition: kRate is transactions (without coinbases) per second. */
void Report(benchmark::State& state, double seconds, double cpu) {
  const auto& s = *g_source;
  state.SetIterationTime(seconds);
  state.counters[bench::kRate] = benchmark::Counter(static_cast<double>(s.txs()) / seconds);
  state.counters["blocks_per_s"] = benchmark::Counter(static_cast<double>(s.blocks().size()) / seconds);
  state.counters["cpu_cores"] = benchmark::Counter(cpu / seconds);  // process CPU time / wall time
  state.counters["cpu_us_per_tx"] = benchmark::Counter(cpu / static_cast<double>(s.txs()) * 1e6);
}

// --- Without the network ---------------------------------------------------------------------

void BM_LedgerConnect(benchmark::State& state) {
  const auto& blocks = g_source->blocks();
  ledger::CheckQueue queue(ledger::CheckQueue::DefaultWorkers());
  for (auto _ : state) {
    const fs::path dir = g_source->FreshDir("ledger");
    ledger::ChainstateOptions opts;
    opts.dir = dir;
    opts.check_queue = &queue;
    std::unique_ptr<ledger::Chainstate> cs;
    if (!ledger::Chainstate::Open(Regtest(), opts, cs).ok()) Die("cannot open " + dir.string());
    const double cpu0 = CpuSeconds();
    const auto t0 = Clock::now();
    bool ok = true;
    for (const auto& b : blocks) {
      consensus::ValidationState vs;
      if (!cs->ProcessBlock(b, node::Node::Now(), vs)) {
        state.SkipWithError(vs.ToString().c_str());
        ok = false;
        break;
      }
    }
    if (!ok) break;
    Report(state, Seconds(Clock::now() - t0), CpuSeconds() - cpu0);
    cs.reset();
    fs::remove_all(dir);
  }
}

void BM_NodeSubmitBlocks(benchmark::State& state) {
  const auto& blocks = g_source->blocks();
  for (auto _ : state) {
    const fs::path dir = g_source->FreshDir("baseline");
    auto n = StartNode(dir);
    const double cpu0 = CpuSeconds();
    const auto t0 = Clock::now();
    bool ok = true;
    std::vector<double> filled_ms;  // per block with transactions
    for (const auto& b : blocks) {
      consensus::ValidationState vs;
      const auto b0 = Clock::now();
      const bool submitted = n->SubmitBlock(b, vs);
      if (b.txs.size() > 1) filled_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - b0).count());
      if (!submitted) {
        state.SkipWithError(vs.ToString().c_str());
        ok = false;
        break;
      }
    }
    const double secs = Seconds(Clock::now() - t0), cpu = CpuSeconds() - cpu0;
    if (ok && n->chainstate().Tip()->hash != g_source->node().chainstate().Tip()->hash) {
      state.SkipWithError("baseline did not reach the source tip");
      ok = false;
    }
    if (!ok) break;
    Report(state, secs, cpu);
    std::sort(filled_ms.begin(), filled_ms.end());
    if (!filled_ms.empty()) g_base_filled_p50_ms.push_back(filled_ms[filled_ms.size() / 2]);
    n->Stop();
    n.reset();
    fs::remove_all(dir);
  }
}

void BM_SourceReadBlocks(benchmark::State& state) {
  auto& cs = g_source->node().chainstate();
  for (auto _ : state) {
    const double cpu0 = CpuSeconds();
    const auto t0 = Clock::now();
    std::size_t txs = 0;
    for (std::uint32_t h = 1; h <= cs.Height(); ++h) {
      consensus::Block b;
      if (!cs.ReadBlock(*cs.ActiveAt(h), b)) Die("read");
      txs += b.txs.size();
    }
    benchmark::DoNotOptimize(txs);
    Report(state, Seconds(Clock::now() - t0), CpuSeconds() - cpu0);
  }
}

// --- Initial sync from one local peer ---------------------------------------------------------

/** Arrival times of connected blocks on the syncing node (from its block events). */
struct Progress {
  std::mutex mutex;
  std::condition_variable cv;
  std::uint32_t height = 0;
  Clock::time_point last_change;
  std::vector<Clock::time_point> connected_at;  //!< by height
};

void BM_InitialSync_OnePeer(benchmark::State& state) {
  auto& source = g_source->node();
  const std::uint32_t target_height = source.chainstate().Height();
  const auto target_hash = source.chainstate().Tip()->hash;
  for (auto _ : state) {
    const fs::path dir = g_source->FreshDir("sync");
    auto n = StartNode(dir);
    Progress progress;
    progress.connected_at.resize(target_height + 1);
    const auto sub = n->SubscribeBlocks([&progress](const node::BlockEvent& e) {
      std::lock_guard lock(progress.mutex);
      if (e.connected && e.height < progress.connected_at.size()) progress.connected_at[e.height] = Clock::now();
      progress.height = e.connected ? e.height : e.height - 1;
      progress.last_change = Clock::now();
      progress.cv.notify_all();
    });
    node::NetworkOptions net;
    net.listen = false;
    net.connect = {g_source->target()};
    net.backoff_min = 100ms;
    net.backoff_max = 1s;
    std::string error;
    const double cpu0 = CpuSeconds();
    const auto t0 = Clock::now();
    if (!n->StartNetwork(net, error)) Die("sync node network: " + error);
    bool reached = false;
    std::string failure;
    {
      std::unique_lock lock(progress.mutex);
      progress.last_change = t0;
      const auto deadline = t0 + g_cfg.sync_timeout;
      while (!(reached = progress.height >= target_height)) {
        if (Clock::now() >= deadline) {
          failure = "timeout";
          break;
        }
        if (Clock::now() - progress.last_change >= g_cfg.stall_timeout) {
          failure = "stall";
          break;
        }
        progress.cv.wait_for(lock, 50ms);
      }
    }
    const auto t1 = Clock::now();
    const double cpu = CpuSeconds() - cpu0;
    n->Unsubscribe(sub);
    if (!reached || n->chainstate().Tip()->hash != target_hash) {
      auto st = n->network()->Sync();
      std::string detail = "sync " + (failure.empty() ? std::string("ended on another tip") : failure) + " at height " +
                           std::to_string(n->chainstate().Height()) + " of " + std::to_string(target_height) +
                           "; best header " + std::to_string(st.best_header_height) + ", in flight " +
                           std::to_string(st.blocks_in_flight) + ", peers " +
                           std::to_string(n->network()->Peers().size());
      for (const auto& p : n->network()->Peers())
        detail += "; peer " + std::to_string(p.info.id) + " headers " + std::to_string(p.synced_headers) +
                  " blocks " + std::to_string(p.synced_blocks) + " in flight " + std::to_string(p.blocks_in_flight) +
                  " received " + std::to_string(p.blocks_received);
      std::fprintf(stderr, "bench_p2p: %s\n", detail.c_str());
      state.SkipWithError(detail.c_str());
      n->Stop();
      break;  // its datadir stays for inspection
    }
    Report(state, Seconds(t1 - t0), cpu);
    // Where the time went, seen from the syncing node: the wait for the first block (headers
    // round trip, first getdata) and the gaps between consecutive connected blocks.
    std::vector<double> gaps, filled;
    {
      std::lock_guard lock(progress.mutex);
      for (std::uint32_t h = std::max(2u, g_source->filled_from()); h <= target_height; ++h)
        filled.push_back(
            std::chrono::duration<double, std::milli>(progress.connected_at[h] - progress.connected_at[h - 1]).count());
      g_sync_first_block_ms.push_back(
          std::chrono::duration<double, std::milli>(progress.connected_at[1] - t0).count());
      for (std::uint32_t h = 2; h <= target_height; ++h)
        gaps.push_back(
            std::chrono::duration<double, std::milli>(progress.connected_at[h] - progress.connected_at[h - 1]).count());
    }
    std::sort(gaps.begin(), gaps.end());
    std::sort(filled.begin(), filled.end());
    if (!filled.empty()) g_sync_filled_p50_ms.push_back(filled[filled.size() / 2]);
    if (!gaps.empty()) {
      g_sync_gap_p50_ms.push_back(gaps[gaps.size() / 2]);
      g_sync_gap_p99_ms.push_back(gaps[std::min(gaps.size() - 1, gaps.size() * 99 / 100)]);
      g_sync_gap_max_ms.push_back(gaps.back());
    }
    state.counters["first_block_ms"] = g_sync_first_block_ms.back();
    n->Stop();
    n.reset();
    fs::remove_all(dir);
  }
}

/** Collects blocks_per_s, cpu_cores and cpu_us_per_tx besides the RateReporter's kRate (medians). */
class P2pReporter : public bench::RateReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.error_occurred) m_failed.insert(run.run_name.function_name);
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      for (const char* c : {"blocks_per_s", "cpu_cores", "cpu_us_per_tx"}) {
        auto it = run.counters.find(c);
        if (it != run.counters.end()) m_extra[run.run_name.function_name][c].push_back(it->second.value);
      }
    }
    RateReporter::ReportRuns(runs);
  }
  double Median(const std::string& name, const std::string& counter) const {
    auto a = m_extra.find(name);
    if (a == m_extra.end()) return 0;
    auto b = a->second.find(counter);
    if (b == a->second.end() || b->second.empty()) return 0;
    return MedianOf(b->second);
  }
  bool Failed(const std::string& name) const { return m_failed.count(name) != 0; }
  static double MedianOf(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

 private:
  std::map<std::string, std::map<std::string, std::vector<double>>> m_extra;
  std::set<std::string> m_failed;
};

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      return pos == std::string::npos ? line : line.substr(pos + 2);
    }
  return "unknown CPU";
}

std::string LoadAvg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string UtcNow() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

std::string Thousands(double v) {
  std::string s = std::to_string(static_cast<long long>(v + 0.5));
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

bool ParseFlag(const char* arg, const char* name, long& out) {
  const std::size_t len = std::strlen(name);
  if (std::strncmp(arg, name, len) != 0 || arg[len] != '=') return false;
  char* end = nullptr;
  out = std::strtol(arg + len + 1, &end, 10);
  if (!end || *end || out <= 0) Die(std::string("bad value: ") + arg);
  return true;
}

void EnvFlag(const char* name, long& out) {
  if (const char* v = std::getenv(name)) {
    char* end = nullptr;
    out = std::strtol(v, &end, 10);
    if (!end || *end || out <= 0) Die(std::string("bad value of ") + name);
  }
}

}  // namespace

int main(int argc, char** argv) {
  long blocks = g_cfg.blocks, txs = static_cast<long>(g_cfg.txs_per_block), reps = g_cfg.reps;
  EnvFlag("WATTLINE_BENCH_P2P_BLOCKS", blocks);
  EnvFlag("WATTLINE_BENCH_P2P_TXS", txs);
  EnvFlag("WATTLINE_BENCH_P2P_REPS", reps);
  // Our flags out of argv; random interleaving of the repetitions unless told otherwise.
  std::vector<char*> args;
  bool interleave_given = false;
  for (int i = 0; i < argc; ++i) {
    if (i > 0 && (ParseFlag(argv[i], "--blocks", blocks) || ParseFlag(argv[i], "--txs-per-block", txs) ||
                  ParseFlag(argv[i], "--reps", reps)))
      continue;
    if (std::strstr(argv[i], "--benchmark_enable_random_interleaving")) interleave_given = true;
    args.push_back(argv[i]);
  }
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  if (!interleave_given) args.push_back(interleave);
  g_cfg.blocks = static_cast<std::uint32_t>(blocks);
  g_cfg.txs_per_block = static_cast<std::size_t>(std::min(txs, 5000L));
  g_cfg.reps = static_cast<int>(std::min(reps, 50L));
  int n_args = static_cast<int>(args.size());
  args.push_back(nullptr);

  node::LogOptions log;
  log.level = spdlog::level::warn;
  node::InitLogging(log);
  benchmark::Initialize(&n_args, args.data());
  const std::string load_before = LoadAvg();

  Source source;
  g_source = &source;
  std::printf("chain: %zu blocks, %s transactions (1-in/2-out, %zu per block from height %u), %.1f MB; built in %.1f s\n",
              source.blocks().size(), Thousands(static_cast<double>(source.txs())).c_str(), g_cfg.txs_per_block,
              source.filled_from(), static_cast<double>(source.bytes()) / 1e6, source.build_seconds());
  std::fflush(stdout);

  for (auto [fn, name] : {std::pair{&BM_NodeSubmitBlocks, "BM_NodeSubmitBlocks"},
                          std::pair{&BM_InitialSync_OnePeer, "BM_InitialSync_OnePeer"},
                          std::pair{&BM_LedgerConnect, "BM_LedgerConnect"},
                          std::pair{&BM_SourceReadBlocks, "BM_SourceReadBlocks"}})
    benchmark::RegisterBenchmark(name, fn)
        ->Iterations(1)
        ->Repetitions(g_cfg.reps)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);

  P2pReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const std::string load_after = LoadAvg();
  const auto rates = reporter.Rates();

  const std::string base = "BM_NodeSubmitBlocks";
  const double base_tx = rates.count(base) ? rates.at(base) : 0;
  struct Row {
    const char* name;
    const char* what;
  };
  const Row rows[] = {
      {"BM_LedgerConnect", "ledger: `Chainstate::ProcessBlock` in order, fresh chainstate, all cores"},
      {"BM_NodeSubmitBlocks", "baseline: `Node::SubmitBlock` in order, fresh node, no network"},
      {"BM_InitialSync_OnePeer", "initial sync from one local peer (`--connect` 127.0.0.1)"},
      {"BM_SourceReadBlocks", "source: read + decode every block from its LevelDB"},
  };
  std::printf("\nmeasure: P2P initial sync (medians of %d runs)\n\n", g_cfg.reps);
  std::printf("| measure | blocks/s | tx/s | / baseline | CPU cores busy | CPU µs / tx |\n"
              "| --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (const auto& r : rows) {
    if (!rates.count(r.name)) {
      std::printf("| %s | %s | | | | |\n", r.what, reporter.Failed(r.name) ? "failed" : "not run");
      continue;
    }
    const double tx = rates.at(r.name);
    const bool sync = std::strcmp(r.name, "BM_InitialSync_OnePeer") == 0;
    const double cores = reporter.Median(r.name, "cpu_cores");
    std::printf("| %s | %s | %s | %s%.2f%s | %.2f | %.1f |\n", r.what,
                Thousands(reporter.Median(r.name, "blocks_per_s")).c_str(), Thousands(tx).c_str(), sync ? "**" : "",
                base_tx > 0 ? tx / base_tx : 0.0, sync ? "**" : "", cores, reporter.Median(r.name, "cpu_us_per_tx"));
  }
  const double ratio = base_tx > 0 && rates.count("BM_InitialSync_OnePeer") ? rates.at("BM_InitialSync_OnePeer") / base_tx : 0;
  std::printf("\nsync / baseline: %.2f (goal: at least 0.9: %s)\n", ratio, ratio >= 0.9 ? "met" : "NOT met");
  const double base_cpu = reporter.Median(base, "cpu_us_per_tx"),
               sync_cpu = reporter.Median("BM_InitialSync_OnePeer", "cpu_us_per_tx");
  if (base_cpu > 0 && sync_cpu > 0)
    std::printf("CPU time per transaction, sync / baseline: %.2f (the extra CPU work of the network, both nodes)\n",
                sync_cpu / base_cpu);
  std::printf("(CPU cores busy: CPU time of this process, both nodes and the source included, per wall second; "
              "CPU µs / tx: the same per transaction, which depends less on what else runs)\n");
  if (!g_sync_first_block_ms.empty())
    std::printf("sync, from StartNetwork to the first connected block: %.1f ms; between connected blocks: median %.2f ms, "
                "p99 %.2f ms, max %.2f ms (medians over runs)\n",
                P2pReporter::MedianOf(g_sync_first_block_ms), P2pReporter::MedianOf(g_sync_gap_p50_ms),
                P2pReporter::MedianOf(g_sync_gap_p99_ms), P2pReporter::MedianOf(g_sync_gap_max_ms));
  if (!g_sync_filled_p50_ms.empty() && !g_base_filled_p50_ms.empty())
    std::printf("a block with %zu transactions: baseline Node::SubmitBlock median %.2f ms; sync, between its connection "
                "and the previous one's: median %.2f ms\n",
                g_cfg.txs_per_block, P2pReporter::MedianOf(g_base_filled_p50_ms),
                P2pReporter::MedianOf(g_sync_filled_p50_ms));
  std::printf("chain: %zu blocks, %zu transactions without coinbases (%zu per block from height %u, 1-in/2-out), %.1f MB\n",
              source.blocks().size(), source.txs(), g_cfg.txs_per_block, source.filled_from(),
              static_cast<double>(source.bytes()) / 1e6);
  std::printf("machine: %u cores, %s; date: %s; load average before %s, after %s\n",
              std::thread::hardware_concurrency(), CpuModel().c_str(), UtcNow().c_str(), load_before.c_str(),
              load_after.c_str());
  benchmark::Shutdown();
  g_source = nullptr;
  return 0;
}
