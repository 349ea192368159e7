// The seam between the daemon and its gRPC server (rpc/), so that node/ does not include
// rpc/: wattlined links an implementation of StartRpc from rpc/ (rpc/daemon_hook.cpp).
#pragma once

#include <memory>
#include <string>

namespace wattline::node {

class Node;
struct DaemonConfig;

class RpcHandle {
 public:
  virtual ~RpcHandle() = default;  //!< stops the server (cancels streams)
  /** host:port the server listens on. */
  virtual std::string Endpoint() const = 0;
};

/** Starts the API as configured; nullptr with a one-line error (busy port, bad TLS files...). */
std::unique_ptr<RpcHandle> StartRpc(Node& node, const DaemonConfig& config, std::string& error);

}  // namespace wattline::node
