// RpcServer: the node's gRPC API over TLS with per-role bearer credentials and reflection.
//
// Start() makes (first start) or reads the TLS identity and the credentials in the datadir,
// listens on the address (port 0: any free port; see port()), and writes the address clients
// should use to `<datadir>/rpc.endpoint` ("127.0.0.1:port"). Every call, the reflection
// service's included, passes TokenAuthProcessor (rpc/auth.h); every handler checks its own
// role again. Shutdown() ends open event streams (UNAVAILABLE) and waits for calls in flight,
// up to a deadline.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "rpc/backend.h"

namespace grpc {
class Server;
}

namespace wattline::rpc {

struct RpcServerOptions {
  std::filesystem::path datadir;
  std::string listen = "127.0.0.1:0";
  /** Largest request accepted (the API's biggest is a raw transaction of 100 kB). */
  int max_receive_bytes = 1 << 20;
  /** Per-credential token bucket. 0 disables. */
  double rate_per_second = 500;
  double rate_burst = 1000;
  unsigned max_streams = 32;
  std::size_t stream_queue = 256;
  bool write_endpoint_file = true;
  std::chrono::milliseconds shutdown_grace{2000};
};

class RpcServer {
 public:
  RpcServer(Backend& backend, RpcServerOptions options);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  /** False with a one-line error (busy port, unreadable TLS files, ...). */
  bool Start(std::string& error);
  /** The port actually bound (after Start). */
  int port() const { return m_port; }
  /** "127.0.0.1:port": what rpc.endpoint holds. */
  std::string endpoint() const;
  /** Idempotent. */
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  int m_port = 0;
};

/** `<datadir>/rpc.endpoint`. */
std::filesystem::path EndpointPath(const std::filesystem::path& datadir);

}  // namespace wattline::rpc
