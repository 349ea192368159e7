// gRPC API benchmarks: a real regtest node::Node in this process, prepared with the block
// fixture's template chainstate (5000 mature coins of TestKey(1)) copied into its datadir,
// served by the real RpcServer over TLS with the generated credentials, and called by a C++
// gRPC client (generated stubs, bearer token per call, one TLS channel):
//   - NodeService/GetInfo requests per second, 1 and 4 client threads;
//   - TxService/SubmitTransaction of the fixture's 1-input/2-output transactions per second,
//     1 and 4 client threads (each run starts from a fresh node with an empty mempool);
// next to, in the same run, the node's own acceptance of the same transactions without gRPC
// (Node::SubmitTransaction) and the ledger's raw validation rate of the same transactions in
// one block (TestBlockValidity, 1 core). The summary table prints the ratios.
//
//   build/release/bench/wattline-bench-rpc [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <algorithm>

#include "bench/block_fixture.h"
#include "bench/common.h"
#include "consensus/transaction.h"
#include "ledger/chainstate.h"
#include "node/logging.h"
#include "node/node.h"
#include "rpc/credentials.h"
#include "rpc/node_backend.h"
#include "rpc/roles.h"
#include "rpc/server.h"
#include "rpc/tls.h"
#include "wattline/v1/wattline.grpc.pb.h"

using namespace wattline;
namespace fs = std::filesystem;

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_rpc: %s\n", what.c_str());
  std::abort();
}

/** A real node on a copy of the fixture's chainstate, its RpcServer, and a client channel. */
class RpcRig {
 public:
  explicit RpcRig(const fs::path& dir) : m_dir(dir) {
    auto& f = bench::GetFixture();
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    fs::copy(f.templ, m_dir / "chainstate", fs::copy_options::recursive);
    node::NodeOptions o;
    o.datadir = m_dir;
    o.params = &consensus::GetParams(consensus::Network::kRegtest);
    o.check_workers = 1;
    o.wallet = false;
    o.persist_mempool = false;
    std::string error;
    m_node = node::Node::Start(o, error);
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
    m_token = creds->Token(rpc::Role::kAdmin);
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = tls->cert_pem;
    m_channel = grpc::CreateChannel(m_server->endpoint(), grpc::SslCredentials(ssl));
    if (!m_channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)))
      Die("cannot connect to " + m_server->endpoint());
  }
  ~RpcRig() {
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

// The node under test. Made in main() before any benchmark; BM_RpcSubmitTransaction and
// BM_NodeSubmitTransaction replace it (thread 0, before the timed loop) so that every run
// starts from an empty mempool. Other threads touch it only inside the timed loop, which
// Google Benchmark starts behind a barrier that thread 0's set-up has passed.
std::unique_ptr<RpcRig> g_rig;

void FreshRig() {
  g_rig.reset();
  g_rig = std::make_unique<RpcRig>(bench::GetFixture().root / "rpc-node");
}

/** The fixture's transactions (all but the coinbase), encoded once. */
const std::vector<std::string>& RawTxs() {
  static const std::vector<std::string> raw = [] {
    std::vector<std::string> out;
    const auto& block = bench::GetFixture().block;
    for (std::size_t i = 1; i < block.txs.size(); ++i) {
      const consensus::Bytes b = consensus::EncodeTransaction(*block.txs[i]);
      out.emplace_back(b.begin(), b.end());
    }
    return out;
  }();
  return raw;
}

// A cheap call: NodeService/GetInfo, one request at a time per client thread.
void BM_RpcGetInfo(benchmark::State& state) {
  std::unique_ptr<v1::NodeService::Stub> stub;
  for (auto _ : state) {
    if (!stub) stub = v1::NodeService::NewStub(g_rig->channel());  // first iteration only
    grpc::ClientContext ctx;
    g_rig->Auth(ctx);
    v1::GetInfoResponse resp;
    const grpc::Status s = stub->GetInfo(&ctx, {}, &resp);
    if (!s.ok()) {
      state.SkipWithError(s.error_message().c_str());
      break;
    }
  }
  state.counters[bench::kRate] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RpcGetInfo)->Threads(1)->Threads(4)->MinTime(2.0)->UseRealTime();

// SubmitTransaction of the 5000 fixture transactions, split among the client threads; one
// iteration per thread (the coins can be spent once per node), a fresh node per run.
void BM_RpcSubmitTransaction(benchmark::State& state) {
  if (state.thread_index() == 0) FreshRig();
  const auto& txs = RawTxs();
  std::size_t sent = 0;
  for (auto _ : state) {
    auto stub = v1::TxService::NewStub(g_rig->channel());
    for (std::size_t i = static_cast<std::size_t>(state.thread_index()); i < txs.size();
         i += static_cast<std::size_t>(state.threads())) {
      grpc::ClientContext ctx;
      g_rig->Auth(ctx);
      v1::SubmitTransactionRequest req;
      req.set_raw_tx(txs[i]);
      v1::SubmitTransactionResponse resp;
      const grpc::Status s = stub->SubmitTransaction(&ctx, req, &resp);
      if (!s.ok()) {
        state.SkipWithError(s.error_message().c_str());
        return;
      }
      ++sent;
    }
  }
  state.counters[bench::kRate] = benchmark::Counter(static_cast<double>(sent), benchmark::Counter::kIsRate);
  if (state.thread_index() == 0) {
    state.counters["mempool"] = static_cast<double>(g_rig->node().mempool().Count());
  }
}
BENCHMARK(BM_RpcSubmitTransaction)->Threads(1)->Threads(4)->Iterations(1)->Repetitions(3)
    ->ReportAggregatesOnly(false)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same transactions through Node::SubmitTransaction in this process: no gRPC, no TLS.
void BM_NodeSubmitTransaction(benchmark::State& state) {
  FreshRig();
  const auto& block = bench::GetFixture().block;
  std::size_t accepted = 0;
  for (auto _ : state) {
    for (std::size_t i = 1; i < block.txs.size(); ++i) {
      node::MempoolReject reject;
      if (!g_rig->node().SubmitTransaction(block.txs[i], reject)) {
        state.SkipWithError(reject.ToString().c_str());
        return;
      }
      ++accepted;
    }
  }
  state.counters[bench::kRate] = benchmark::Counter(static_cast<double>(accepted), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NodeSubmitTransaction)->Iterations(1)->Repetitions(3)->Unit(benchmark::kMillisecond)->UseRealTime();

// The ledger's raw validation rate of the same transactions in one block, one core.
void BM_LedgerValidateBlock_1Core(benchmark::State& state) {
  auto& f = bench::GetFixture();
  auto cs = bench::OpenTemplateCopy(f.root / "ledger", nullptr);
  for (auto _ : state) {
    consensus::ValidationState vs;
    if (!cs->TestBlockValidity(f.block, bench::kNow, true, vs)) state.SkipWithError(vs.ToString().c_str());
  }
  state.counters[bench::kRate] = benchmark::Counter(
      static_cast<double>(state.iterations() * (f.block.txs.size() - 1)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LedgerValidateBlock_1Core)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  node::LogOptions log;
  log.level = spdlog::level::warn;
  node::InitLogging(log);
  benchmark::Initialize(&argc, argv);
  (void)bench::GetFixture();  // built before any timing
  (void)RawTxs();
  FreshRig();
  bench::RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  g_rig.reset();
  bench::PrintRatioTable(reporter.Rates(), {"BM_LedgerValidateBlock_1Core", "BM_NodeSubmitTransaction"});
  std::printf("(GetInfo rows are requests/s; SubmitTransaction, node submit and ledger rows are 1-in/2-out tx/s)\n");
  benchmark::Shutdown();
  return 0;
}
