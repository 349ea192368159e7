// wattlined: the wattline node daemon. See `wattlined --help` and docs/node.md.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "node/config.h"
#include "node/logging.h"
#include "node/network.h"
#include "node/node.h"
#include "node/rpc_hook.h"

using namespace wattline;

namespace {

std::atomic<bool> g_shutdown{false};

void OnSignal(int) { g_shutdown = true; }

int Fail(const std::string& message) {
  std::fprintf(stderr, "wattlined: error: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // gRPC core logs its own errors (a bad TLS client, a busy port) to stderr in a verbose
  // format; the daemon reports those itself. GRPC_VERBOSITY set by the operator still wins.
  ::setenv("GRPC_VERBOSITY", "NONE", /*overwrite=*/0);
  node::DaemonConfig config;
  std::string error;
  if (!node::ParseConfig(argc, argv, config, error)) return Fail(error + " (see wattlined --help)");
  if (config.help) {
    std::fputs(node::HelpText().c_str(), stdout);
    return 0;
  }
  if (config.version) {
    std::printf("wattlined %s\n", WATTLINE_VERSION);
    return 0;
  }
  try {
    std::error_code ec;
    std::filesystem::create_directories(config.datadir, ec);
    if (ec) return Fail("cannot create datadir " + config.datadir.string() + ": " + ec.message());
    node::InitLogging(config.log);
  } catch (const std::exception& e) {
    return Fail(std::string("logging: ") + e.what());
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);

  auto log = node::Log(node::Category::kNode);
  log->info("wattlined {} starting on {} in {}", WATTLINE_VERSION, consensus::NetworkName(config.network),
            config.datadir.string());
  auto node = node::Node::Start(config.node, error);
  if (!node) {
    log->error("{}", error);
    return Fail(error);
  }
  if (config.p2p && !node->StartNetwork(config.network_options, error)) {
    node->Stop();
    log->error("{}", error);
    return Fail(error);
  }
  if (config.channels && !node->StartChannels(config.channel_options, error)) {
    node->Stop();
    log->error("{}", error);
    return Fail(error);
  }
  std::unique_ptr<node::RpcHandle> rpc;
  if (config.rpc) {
    rpc = node::StartRpc(*node, config, error);
    if (!rpc) {
      node->Stop();
      log->error("{}", error);
      return Fail(error);
    }
  }
  log->info("ready at height {}", node->chainstate().Height());
  std::string p2p = node->network() && node->network()->ListenPort() != 0
                        ? ", peers on " + config.network_options.bind + ":" + std::to_string(node->network()->ListenPort())
                        : "";
  std::fprintf(stderr, "wattlined: ready (network %s, datadir %s%s%s)\n",
               std::string(consensus::NetworkName(config.network)).c_str(), config.datadir.string().c_str(),
               p2p.c_str(), rpc ? (", gRPC on " + rpc->Endpoint()).c_str() : "");

  auto last_tick = std::chrono::steady_clock::now();
  while (!g_shutdown) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() - last_tick > std::chrono::seconds(5)) {
      node->Tick();
      last_tick = std::chrono::steady_clock::now();
    }
  }
  log->info("shutting down");
  rpc.reset();
  node->Stop();
  node.reset();
  log->info("shutdown complete");
  spdlog::shutdown();
  return 0;
}
