// Meter readings through gRPC (issue 10): MeterService/SubmitReadings per second against the
// node's own submission of the same readings (node::Market::SubmitReadings), measured in one run.
//
// Set-up, once per process (not timed):
//   - a template datadir: a real regtest node::Node with its wallet and the utility role on
//     (the documented regtest utility key), coinbase_maturity + 2 blocks mined to the wallet,
//     kMeters prosumer meters registered with node::Market::RegisterMeter (the wallet pays the
//     fees) and mined; then the node stops;
//   - kGroups x kRounds batches of 100 signed readings (consensus::kMaxReadingsPerBatch): batch
//     (g, r) holds, for each of group g's kMetersPerBatch meters, that meter's readings
//     r * kReadingsPerMeter .. + kReadingsPerMeter - 1 (consecutive 60 s intervals ending in the
//     past, registers monotonic, each delta the interval's energy). Groups share no meter; a
//     group's rounds must be submitted in order (the mempool checks each batch against the chain
//     and the pool's pending readings), so a client thread takes whole groups;
//   - the same batches as SubmitReadingsRequest protos (built once: clients do not convert).
//
// Each measured run starts from a fresh copy of the template datadir: a new node (wallet and
// utility role on, empty mempool), its rpc::RpcServer over TLS with generated credentials (rate
// limit off) and a client TLS channel with the meter token; then every batch is submitted once:
//   - BM_NodeSubmitReadings/1thread: node::Market::SubmitReadings, in process, no gRPC (baseline);
//   - BM_NodeSubmitReadings/2threads: the same from two threads (what the node itself can do);
//   - BM_RpcSubmitReadings/1client, /2clients: MeterService/SubmitReadings, client threads
//     sharing one channel, one call in flight per thread;
// and, to see where the API's time goes (a fresh node, nothing accepted):
//   - BM_RpcRefusedBatch: a 100-reading request whose last reading is malformed (length 0):
//     TLS, HTTP/2, auth, proto parse and the API's conversion of 99 readings, no node work;
//   - BM_ParseReadingBatch: rpc::ParseReadingBatch of a 100-reading request (hex decoding and
//     a curve-point check of each meter key), no network;
//   - BM_VerifyReadings: the readings' signature checks alone (sighash, key parse, BIP340
//     verify, one core): the floor of the node's work per reading.
// Repetitions (7 of each run) are interleaved in random order; the table at the end gives the
// medians: readings/s, the ratio to the node-internal rate (goal: gRPC >= 0.5) and the process's
// CPU time per reading (clients and server together).
//
//   build/release/bench/wattline-bench-market-rpc [benchmark flags]
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/common.h"
#include "consensus/market.h"
#include "consensus/params.h"
#include "crypto/schnorr.h"
#include "node/logging.h"
#include "node/market.h"
#include "node/node.h"
#include "rpc/convert.h"
#include "rpc/credentials.h"
#include "rpc/node_backend.h"
#include "rpc/roles.h"
#include "rpc/server.h"
#include "rpc/tls.h"
#include "tests/util/chain_builder.h"
#include "tests/util/temp_dir.h"
#include "wattline/v1/wattline.grpc.pb.h"

using namespace wattline;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMeters = 200;
constexpr std::size_t kMetersPerBatch = 10;
constexpr std::size_t kReadingsPerMeter = consensus::kMaxReadingsPerBatch / kMetersPerBatch;  // per batch
constexpr std::size_t kGroups = kMeters / kMetersPerBatch;
constexpr std::size_t kRounds = 10;
constexpr std::size_t kBatches = kGroups * kRounds;
constexpr std::size_t kReadings = kBatches * consensus::kMaxReadingsPerBatch;
constexpr std::uint32_t kInterval = 60;
static_assert(kReadingsPerMeter * kMetersPerBatch == consensus::kMaxReadingsPerBatch);

const char* const kCpuCounter = "cpu_us_per_reading";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_market_rpc: %s\n", what.c_str());
  std::abort();
}

const consensus::Params& Params() { return consensus::GetParams(consensus::Network::kRegtest); }

node::NodeOptions Options(const fs::path& datadir) {
  node::NodeOptions o;
  o.datadir = datadir;
  o.params = &Params();
  o.check_workers = 1;
  o.persist_mempool = false;
  o.wallet = true;   // passphrase generated into the datadir, unlocked at start
  o.utility = true;  // regtest: consensus::DocumentedUtilitySecret
  return o;
}

/** The template datadir with kMeters registered meters, and the signed batches. */
struct Template {
  test::TempDir root;
  fs::path datadir = root.path() / "template";
  std::vector<crypto::SecretKey> meters;
  std::vector<std::vector<consensus::ReadingBatch>> batches;             // [group][round]
  std::vector<std::vector<v1::SubmitReadingsRequest>> requests;          // the same, as protos
  v1::SubmitReadingsRequest refused;  // 100 readings, the last one malformed
  double chain_seconds = 0, sign_seconds = 0;

  Template() {
    const auto t0 = std::chrono::steady_clock::now();
    BuildChain();
    const auto t1 = std::chrono::steady_clock::now();
    SignBatches();
    const auto t2 = std::chrono::steady_clock::now();
    chain_seconds = std::chrono::duration<double>(t1 - t0).count();
    sign_seconds = std::chrono::duration<double>(t2 - t1).count();
  }

  static crypto::XOnlyPubKey Owner(std::size_t group) {
    return test::TestKey(20000 + static_cast<std::uint32_t>(group)).PubKey();
  }

  void BuildChain() {
    std::string error;
    auto node = node::Node::Start(Options(datadir), error);
    if (!node) Die("template node: " + error);
    std::vector<crypto::Hash256> hashes;
    if (!node->Generate(Params().coinbase_maturity + 2, std::nullopt, hashes, error)) Die("generate: " + error);
    for (std::size_t m = 0; m < kMeters; ++m) {
      meters.push_back(test::TestKey(10000 + static_cast<std::uint32_t>(m)));
      crypto::Hash256 txid;
      const node::MarketError e = node->market().RegisterMeter(meters.back().PubKey(), Owner(m / kMetersPerBatch),
                                                               consensus::MeterRole::kProsumer, consensus::Amount{0},
                                                               /*fee_rate=*/0, txid);
      if (!e.ok()) Die("register meter " + std::to_string(m) + ": " + e.message);
    }
    for (int i = 0; i < 10 && node->mempool().Count() > 0; ++i)
      if (!node->Generate(1, std::nullopt, hashes, error)) Die("generate: " + error);
    if (node->mempool().Count() > 0) Die("registrations left in the mempool");
    for (const auto& k : meters) {
      auto s = node->market().Meter(k.PubKey());
      if (!s || !s->registered) Die("a meter is not registered after mining");
    }
    node->Stop();
  }

  void SignBatches() {
    const auto& params = Params();
    const std::size_t per_meter = kRounds * kReadingsPerMeter;
    // Every interval ends at least 10 minutes in the past (the mempool refuses readings that
    // end more than max_reading_future after its clock; none has a lower bound).
    const std::uint64_t base = static_cast<std::uint64_t>(node::Node::Now()) - per_meter * kInterval - 600;
    // Each meter's whole series, then cut into the batches.
    std::vector<std::vector<consensus::Reading>> series(kMeters);
    for (std::size_t m = 0; m < kMeters; ++m) {
      std::uint64_t import_reg = 0, export_reg = 0;
      for (std::size_t j = 0; j < per_meter; ++j) {
        consensus::Reading r;
        r.meter = meters[m].PubKey();
        r.start = base + j * kInterval;
        r.length = kInterval;
        r.import_wh = (m * 7 + j) % 50;
        r.export_wh = 1 + (m * 13 + j * 3) % 400;
        import_reg += r.import_wh;
        export_reg += r.export_wh;
        r.import_register = import_reg;
        r.export_register = export_reg;
        r.sig = meters[m].Sign(consensus::ReadingSigHash(params, r));
        series[m].push_back(r);
      }
    }
    batches.assign(kGroups, std::vector<consensus::ReadingBatch>(kRounds));
    requests.assign(kGroups, std::vector<v1::SubmitReadingsRequest>(kRounds));
    for (std::size_t g = 0; g < kGroups; ++g) {
      for (std::size_t r = 0; r < kRounds; ++r) {
        auto& batch = batches[g][r];
        for (std::size_t k = 0; k < kMetersPerBatch; ++k) {
          const std::size_t m = g * kMetersPerBatch + k;
          for (std::size_t j = r * kReadingsPerMeter; j < (r + 1) * kReadingsPerMeter; ++j)
            batch.readings.push_back(series[m][j]);
        }
        for (const auto& reading : batch.readings) rpc::ReadingToProto(reading, requests[g][r].add_readings());
      }
    }
    refused = requests[0][0];
    refused.mutable_readings(static_cast<int>(consensus::kMaxReadingsPerBatch) - 1)->set_length(0);
  }
};

Template& GetTemplate() {
  static Template t;
  return t;
}

/** A fresh copy of the template datadir: a node, its RpcServer over TLS, a meter's channel. */
class Rig {
 public:
  explicit Rig(const fs::path& dir) : m_dir(dir) {
    fs::remove_all(m_dir);
    fs::copy(GetTemplate().datadir, m_dir, fs::copy_options::recursive);
    std::string error;
    m_node = node::Node::Start(Options(m_dir), error);
    if (!m_node) Die("node: " + error);
    m_backend = rpc::MakeNodeBackend(*m_node);
    rpc::RpcServerOptions opts;
    opts.datadir = m_dir;
    opts.listen = "127.0.0.1:0";
    opts.rate_per_second = 0;  // the benchmark measures the server, not the limiter
    m_server = std::make_unique<rpc::RpcServer>(*m_backend, opts);
    if (!m_server->Start(error)) Die("server: " + error);
    auto tls = rpc::LoadOrCreateTls(m_dir, error);
    auto creds = rpc::Credentials::LoadOrCreate(m_dir, error);
    if (!tls || !creds) Die("tls/credentials: " + error);
    m_token = creds->Token(rpc::Role::kMeter);
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = tls->cert_pem;
    m_channel = grpc::CreateChannel(m_server->endpoint(), grpc::SslCredentials(ssl));
    if (!m_channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)))
      Die("cannot connect to " + m_server->endpoint());
  }
  ~Rig() {
    m_channel.reset();
    m_server->Shutdown();
    m_server.reset();
    m_backend.reset();
    m_node->Stop();
    m_node.reset();
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  node::Node& node() { return *m_node; }
  const std::shared_ptr<grpc::Channel>& channel() const { return m_channel; }
  void Auth(grpc::ClientContext& ctx) const {
    ctx.AddMetadata("authorization", "Bearer " + m_token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }

 private:
  fs::path m_dir;
  std::unique_ptr<node::Node> m_node;
  std::unique_ptr<rpc::Backend> m_backend;
  std::unique_ptr<rpc::RpcServer> m_server;
  std::string m_token;
  std::shared_ptr<grpc::Channel> m_channel;
};

std::unique_ptr<Rig> g_rig;

void FreshRig() {
  g_rig.reset();
  g_rig = std::make_unique<Rig>(GetTemplate().root.path() / "run");
}

double ProcessCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/**
 * Runs submit(thread, group, round, error) for every batch: `threads` threads, thread t taking the groups
 * t, t + threads, ... and each group's rounds in order. Returns the readings accepted; on the
 * first failure stops and sets error.
 */
template <typename Submit>
std::size_t SubmitAll(unsigned threads, Submit&& submit, std::string& error) {
  std::atomic<std::size_t> accepted{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  auto work = [&](unsigned t) {
    for (std::size_t g = t; g < kGroups && !failed; g += threads) {
      for (std::size_t r = 0; r < kRounds && !failed; ++r) {
        std::string e;
        if (!submit(t, g, r, e)) {
          std::lock_guard lock(error_mutex);
          if (!failed.exchange(true)) error = "group " + std::to_string(g) + " round " + std::to_string(r) + ": " + e;
          return;
        }
        accepted += consensus::kMaxReadingsPerBatch;
      }
    }
  };
  if (threads == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work, t);
    for (auto& th : pool) th.join();
  }
  return accepted;
}

void Finish(benchmark::State& state, std::size_t readings, double cpu_seconds) {
  state.counters[bench::kRate] = benchmark::Counter(static_cast<double>(readings), benchmark::Counter::kIsRate);
  state.counters[kCpuCounter] = readings ? cpu_seconds * 1e6 / static_cast<double>(readings) : 0.0;
  state.counters["mempool_txs"] = static_cast<double>(g_rig->node().mempool().Count());
}

// node::Market::SubmitReadings of every batch, no gRPC: the baseline.
void BM_NodeSubmitReadings(benchmark::State& state, unsigned threads) {
  const Template& t = GetTemplate();
  FreshRig();
  std::size_t accepted = 0;
  double cpu = 0;
  for (auto _ : state) {
    const double cpu0 = ProcessCpuSeconds();
    std::string error;
    accepted = SubmitAll(
        threads,
        [&](unsigned, std::size_t g, std::size_t r, std::string& e) {
          crypto::Hash256 txid;
          consensus::Amount rewards{0};
          const node::MarketError err = g_rig->node().market().SubmitReadings(t.batches[g][r], txid, rewards);
          if (!err.ok()) e = err.message;
          return err.ok();
        },
        error);
    cpu = ProcessCpuSeconds() - cpu0;
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  Finish(state, accepted, cpu);
}
BENCHMARK_CAPTURE(BM_NodeSubmitReadings, 1thread, 1u)
    ->Iterations(1)->Repetitions(7)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_NodeSubmitReadings, 2threads, 2u)
    ->Iterations(1)->Repetitions(7)->Unit(benchmark::kMillisecond)->UseRealTime();

// MeterService/SubmitReadings of every batch over TLS with the meter token.
void BM_RpcSubmitReadings(benchmark::State& state, unsigned clients) {
  const Template& t = GetTemplate();
  FreshRig();
  std::vector<std::unique_ptr<v1::MeterService::Stub>> stubs;
  for (unsigned c = 0; c < clients; ++c) stubs.push_back(v1::MeterService::NewStub(g_rig->channel()));
  std::size_t accepted = 0;
  double cpu = 0;
  for (auto _ : state) {
    const double cpu0 = ProcessCpuSeconds();
    std::string error;
    accepted = SubmitAll(
        clients,
        [&](unsigned c, std::size_t g, std::size_t r, std::string& e) {
          grpc::ClientContext ctx;
          g_rig->Auth(ctx);
          v1::SubmitReadingsResponse resp;
          const grpc::Status s = stubs[c]->SubmitReadings(&ctx, t.requests[g][r], &resp);
          if (!s.ok()) e = s.error_message();
          return s.ok();
        },
        error);
    cpu = ProcessCpuSeconds() - cpu0;
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  Finish(state, accepted, cpu);
}
BENCHMARK_CAPTURE(BM_RpcSubmitReadings, 1client, 1u)
    ->Iterations(1)->Repetitions(7)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_RpcSubmitReadings, 2clients, 2u)
    ->Iterations(1)->Repetitions(7)->Unit(benchmark::kMillisecond)->UseRealTime();

// The API's share: a full-size request refused after the conversion of 99 readings (no node work).
void BM_RpcRefusedBatch(benchmark::State& state) {
  const Template& t = GetTemplate();
  FreshRig();
  auto stub = v1::MeterService::NewStub(g_rig->channel());
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    grpc::ClientContext ctx;
    g_rig->Auth(ctx);
    v1::SubmitReadingsResponse resp;
    const grpc::Status s = stub->SubmitReadings(&ctx, t.refused, &resp);
    if (s.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
      state.SkipWithError(("expected INVALID_ARGUMENT, got: " + s.error_message()).c_str());
      return;
    }
  }
  // Per reading of the request (100), to compare with the rows above.
  const double readings = static_cast<double>(state.iterations() * consensus::kMaxReadingsPerBatch);
  state.counters[bench::kRate] = benchmark::Counter(readings, benchmark::Counter::kIsRate);
  state.counters[kCpuCounter] = (ProcessCpuSeconds() - cpu0) * 1e6 / readings;
}
BENCHMARK(BM_RpcRefusedBatch)->MinTime(0.7)->Repetitions(3)->Unit(benchmark::kMicrosecond)->UseRealTime();

// rpc::ParseReadingBatch alone: what the API does with a request before the node sees it.
void BM_ParseReadingBatch(benchmark::State& state) {
  const Template& t = GetTemplate();
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    consensus::ReadingBatch batch;
    if (!rpc::ParseReadingBatch(t.requests[0][0], batch).ok()) {
      state.SkipWithError("parse failed");
      return;
    }
    benchmark::DoNotOptimize(batch);
  }
  const double readings = static_cast<double>(state.iterations() * consensus::kMaxReadingsPerBatch);
  state.counters[bench::kRate] = benchmark::Counter(readings, benchmark::Counter::kIsRate);
  state.counters[kCpuCounter] = (ProcessCpuSeconds() - cpu0) * 1e6 / readings;
}
BENCHMARK(BM_ParseReadingBatch)->MinTime(0.5)->Repetitions(3)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The node's floor: each reading's own signature check (sighash, key parse, BIP340 verify), one core.
void BM_VerifyReadings(benchmark::State& state) {
  const Template& t = GetTemplate();
  const auto& readings = t.batches[0][0].readings;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    for (const auto& r : readings)
      if (!crypto::Verify(r.meter, consensus::ReadingSigHash(Params(), r), r.sig)) {
        state.SkipWithError("bad signature");
        return;
      }
  }
  const double n = static_cast<double>(state.iterations() * readings.size());
  state.counters[bench::kRate] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters[kCpuCounter] = (ProcessCpuSeconds() - cpu0) * 1e6 / n;
}
BENCHMARK(BM_VerifyReadings)->MinTime(0.5)->Repetitions(3)->Unit(benchmark::kMillisecond)->UseRealTime();

/** bench::RateReporter, plus the median CPU time per reading of each benchmark. */
class Reporter : public bench::RateReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto it = run.counters.find(kCpuCounter);
      if (it != run.counters.end()) m_cpu[run.run_name.function_name].push_back(it->second.value);
    }
    bench::RateReporter::ReportRuns(runs);
  }
  double Cpu(const std::string& name) const {
    auto it = m_cpu.find(name);
    if (it == m_cpu.end() || it->second.empty()) return 0;
    auto v = it->second;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

 private:
  std::map<std::string, std::vector<double>> m_cpu;
};

std::string LoadAvg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      return p == std::string::npos ? line : line.substr(p + 2);
    }
  return "unknown";
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  node::LogOptions log;
  log.level = spdlog::level::warn;
  node::InitLogging(log);
  // Repetitions run interleaved in random order unless told otherwise: on a shared machine every
  // measure then sees the same mix of quiet and busy moments.
  std::vector<char*> args(argv, argv + argc);
  bool interleave_given = false;
  for (int i = 1; i < argc; ++i)
    if (std::strstr(argv[i], "--benchmark_enable_random_interleaving")) interleave_given = true;
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  if (!interleave_given) args.push_back(interleave);
  int n_args = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&n_args, args.data());
  const auto start = std::chrono::steady_clock::now();
  std::printf("machine: %u cores, \"%s\"; %s; load average before: %s\n", std::thread::hardware_concurrency(),
              CpuModel().c_str(), UtcNow().c_str(), LoadAvg().c_str());
  const Template& t = GetTemplate();  // built before any timing
  std::printf("set-up: %zu meters registered (%.1f s with the chain); %zu batches of %zu readings "
              "(%zu meters x %zu intervals each), %zu readings signed in %.1f s; a request is %zu bytes\n",
              kMeters, t.chain_seconds, kBatches, consensus::kMaxReadingsPerBatch, kMetersPerBatch, kReadingsPerMeter,
              kReadings, t.sign_seconds, t.requests[0][0].ByteSizeLong());
  std::fflush(stdout);
  Reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  g_rig.reset();

  const auto rates = reporter.Rates();
  const std::string base = "BM_NodeSubmitReadings/1thread";
  const double base_rate = rates.count(base) ? rates.at(base) : 0.0;
  struct Row {
    const char* name;
    const char* label;
  };
  const Row rows[] = {
      {"BM_NodeSubmitReadings/1thread", "node::Market::SubmitReadings, 1 thread (baseline)"},
      {"BM_NodeSubmitReadings/2threads", "node::Market::SubmitReadings, 2 threads"},
      {"BM_RpcSubmitReadings/1client", "MeterService/SubmitReadings, 1 client thread"},
      {"BM_RpcSubmitReadings/2clients", "MeterService/SubmitReadings, 2 client threads"},
      {"BM_VerifyReadings", "signature checks alone (sighash + key parse + verify)"},
      {"BM_RpcRefusedBatch", "gRPC round trip of a refused 100-reading request"},
      {"BM_ParseReadingBatch", "rpc::ParseReadingBatch alone (no network)"},
  };
  std::printf("\n%-52s %12s %12s %14s\n", "measure", "readings/s", "/ node", "CPU us/reading");
  for (const Row& row : rows) {
    auto it = rates.find(row.name);
    if (it == rates.end()) continue;
    std::printf("%-52s %12.0f %12.2f %14.1f\n", row.label, it->second, base_rate > 0 ? it->second / base_rate : 0.0,
                reporter.Cpu(row.name));
  }
  std::printf("(medians; per run %zu readings in %zu batches of %zu, each run on a fresh node; CPU: the whole "
              "process, clients and server together; the refused and parse rows count the request's 100 readings)\n",
              kReadings, kBatches, consensus::kMaxReadingsPerBatch);
  auto rpc1 = rates.find("BM_RpcSubmitReadings/1client");
  auto rpc2 = rates.find("BM_RpcSubmitReadings/2clients");
  if (base_rate > 0 && rpc1 != rates.end()) {
    const double r1 = rpc1->second / base_rate;
    const double r2 = rpc2 != rates.end() ? rpc2->second / base_rate : 0.0;
    std::printf("goal: gRPC readings/s >= 0.5 x node-internal: 1 client %.2f (%s), 2 clients %.2f (%s)\n", r1,
                r1 >= 0.5 ? "met" : "not met", r2, r2 >= 0.5 ? "met" : "not met");
  }
  std::printf("load average after: %s; run took %.0f s\n", LoadAvg().c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  benchmark::Shutdown();
  return 0;
}
