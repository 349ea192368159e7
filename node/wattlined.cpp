// wattlined: the wattline node daemon. See `wattlined --help` and docs/node.md.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

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

/**
 * True when host:port can be bound now. The daemon checks its ports before it opens any
 * database, so that a busy port refuses the start with the datadir untouched (LevelDB rewrites
 * its manifest and logs on every open). The listeners bind for real later; losing a port in
 * between is still refused, only later.
 */
bool PortFree(const std::string& host, std::uint16_t port, std::string& why) {
  if (port == 0) return true;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) return true;  // named later
  const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok = true;
  if (fd >= 0) {
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the real listeners do
    ok = ::bind(fd, res->ai_addr, res->ai_addrlen) == 0;
    if (!ok) why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return ok;
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
  if (config.p2p && config.network_options.listen && !PortFree(config.network_options.bind, config.network_options.port, error))
    return Fail("cannot listen for peers on " + config.network_options.bind + ":" +
                std::to_string(config.network_options.port) + " (" + error + ")");
  if (config.rpc && !PortFree(config.rpc_bind, config.rpc_port, error))
    return Fail("cannot listen for RPC on " + config.rpc_bind + ":" + std::to_string(config.rpc_port) + " (" + error + ")");
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
  node->MarkStarted();
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
