// node::StartRpc for wattlined (node/rpc_hook.h): the gRPC server on the Node backend.
#include "node/config.h"
#include "node/rpc_hook.h"
#include "rpc/node_backend.h"
#include "rpc/server.h"

namespace wattline::node {

namespace {

class Handle final : public RpcHandle {
 public:
  Handle(std::unique_ptr<rpc::Backend> backend, rpc::RpcServerOptions options)
      : m_backend(std::move(backend)), m_server(*m_backend, std::move(options)) {}
  ~Handle() override { m_server.Shutdown(); }
  bool Start(std::string& error) { return m_server.Start(error); }
  std::string Endpoint() const override { return m_server.endpoint(); }

 private:
  std::unique_ptr<rpc::Backend> m_backend;
  rpc::RpcServer m_server;
};

}  // namespace

std::unique_ptr<RpcHandle> StartRpc(Node& node, const DaemonConfig& config, std::string& error) {
  rpc::RpcServerOptions options;
  options.datadir = config.datadir;
  options.listen = config.rpc_bind + ":" + std::to_string(config.rpc_port);
  options.max_receive_bytes = static_cast<int>(config.rpc_max_request_bytes);
  options.rate_per_second = config.rpc_rate_per_second;
  options.rate_burst = 2.0 * config.rpc_rate_per_second;
  auto handle = std::make_unique<Handle>(rpc::MakeNodeBackend(node), std::move(options));
  if (!handle->Start(error)) return nullptr;
  return handle;
}

}  // namespace wattline::node
