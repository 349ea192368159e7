#include "rpc/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/server_builder.h>

#include <fstream>
#include <optional>

#include "rpc/auth.h"
#include "rpc/credentials.h"
#include "rpc/rate_limit.h"
#include "rpc/services.h"
#include "rpc/tls.h"

namespace wattline::rpc {
namespace fs = std::filesystem;

struct RpcServer::Impl {
  Impl(Backend& backend, RpcServerOptions opts)
      : options(std::move(opts)), limiter(options.rate_per_second, options.rate_burst), backend_ref(backend) {}

  RpcServerOptions options;
  RateLimiter limiter;
  Backend& backend_ref;
  std::optional<Credentials> credentials;
  std::unique_ptr<ServiceEnv> env;
  std::unique_ptr<NodeServiceImpl> node;
  std::unique_ptr<TxServiceImpl> tx;
  std::unique_ptr<WalletServiceImpl> wallet;
  std::unique_ptr<MiningServiceImpl> mining;
  std::unique_ptr<MeterServiceImpl> meter;
  std::unique_ptr<EventServiceImpl> events;
  std::unique_ptr<PeerServiceImpl> peers;
  std::unique_ptr<UtilityServiceImpl> utility;
  std::unique_ptr<MarketServiceImpl> market;
  std::unique_ptr<ChannelServiceImpl> channels;
  std::unique_ptr<grpc::Server> server;
  bool stopped = false;
};

fs::path EndpointPath(const fs::path& datadir) { return datadir / "rpc.endpoint"; }

RpcServer::RpcServer(Backend& backend, RpcServerOptions options)
    : m_impl(std::make_unique<Impl>(backend, std::move(options))) {}

RpcServer::~RpcServer() { Shutdown(); }

std::string RpcServer::endpoint() const { return "127.0.0.1:" + std::to_string(m_port); }

bool RpcServer::Start(std::string& error) {
  Impl& d = *m_impl;
  if (d.server) {
    error = "the RPC server is already running";
    return false;
  }
  auto tls = LoadOrCreateTls(d.options.datadir, error);
  if (!tls) return false;
  d.credentials = Credentials::LoadOrCreate(d.options.datadir, error);
  if (!d.credentials) return false;

  d.env.reset(new ServiceEnv{d.backend_ref, *d.credentials});
  d.env->max_streams = d.options.max_streams;
  d.env->stream_queue = d.options.stream_queue;
  d.node = std::make_unique<NodeServiceImpl>(*d.env);
  d.tx = std::make_unique<TxServiceImpl>(*d.env);
  d.wallet = std::make_unique<WalletServiceImpl>(*d.env);
  d.mining = std::make_unique<MiningServiceImpl>(*d.env);
  d.meter = std::make_unique<MeterServiceImpl>(*d.env);
  d.events = std::make_unique<EventServiceImpl>(*d.env);
  d.peers = std::make_unique<PeerServiceImpl>(*d.env);
  d.utility = std::make_unique<UtilityServiceImpl>(*d.env);
  d.market = std::make_unique<MarketServiceImpl>(*d.env);
  d.channels = std::make_unique<ChannelServiceImpl>(*d.env);

  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({tls->key_pem, tls->cert_pem});
  ssl.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  auto creds = grpc::SslServerCredentials(ssl);
  creds->SetAuthMetadataProcessor(std::make_shared<TokenAuthProcessor>(*d.credentials, &d.limiter));

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Bounded threads: each open stream holds one; unary calls share the rest.
  grpc::ResourceQuota quota("wattline-rpc");
  quota.SetMaxThreads(static_cast<int>(d.options.max_streams) + 32);
  builder.SetResourceQuota(quota);
  builder.AddListeningPort(d.options.listen, creds, &m_port);
  // gRPC sets SO_REUSEPORT by default: a second daemon could then share the port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(d.options.max_receive_bytes);
  builder.SetMaxSendMessageSize(16 << 20);
  builder.RegisterService(d.node.get());
  builder.RegisterService(d.tx.get());
  builder.RegisterService(d.wallet.get());
  builder.RegisterService(d.mining.get());
  builder.RegisterService(d.meter.get());
  builder.RegisterService(d.events.get());
  builder.RegisterService(d.peers.get());
  builder.RegisterService(d.utility.get());
  builder.RegisterService(d.channels.get());
  builder.RegisterService(d.market.get());
  d.server = builder.BuildAndStart();
  if (!d.server || m_port == 0) {
    d.server.reset();
    error = "cannot listen for RPC on " + d.options.listen + " (address in use or not available)";
    return false;
  }
  if (d.options.write_endpoint_file) {
    const fs::path path = EndpointPath(d.options.datadir);
    const fs::path tmp = path.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << endpoint() << "\n";
      if (!out) {
        error = "cannot write " + tmp.string();
        Shutdown();
        return false;
      }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
      error = "cannot write " + path.string() + ": " + ec.message();
      Shutdown();
      return false;
    }
  }
  return true;
}

void RpcServer::Shutdown() {
  Impl& d = *m_impl;
  if (!d.server || d.stopped) return;
  d.stopped = true;
  d.env->shutting_down.store(true);  // event streams see it within their poll interval
  d.server->Shutdown(std::chrono::system_clock::now() + d.options.shutdown_grace);
  d.server->Wait();
  if (d.options.write_endpoint_file) {
    std::error_code ec;
    fs::remove(EndpointPath(d.options.datadir), ec);
  }
}

}  // namespace wattline::rpc
