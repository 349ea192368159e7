// The real RpcServer on 127.0.0.1:0 over a fake backend, with a TLS channel and the tokens.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <gtest/gtest.h>

#include "rpc/credentials.h"
#include "rpc/roles.h"
#include "rpc/server.h"
#include "rpc/tls.h"
#include "tests/unit/rpc/fake_backend.h"
#include "tests/unit/rpc/temp_dir.h"

namespace wattline::rpc {

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }

  void StartServer(RpcServerOptions opts) {
    opts.datadir = m_dir.path();
    opts.listen = "127.0.0.1:0";
    m_server = std::make_unique<RpcServer>(m_backend, opts);
    std::string error;
    ASSERT_TRUE(m_server->Start(error)) << error;
    std::string terr;
    auto tls = LoadOrCreateTls(m_dir.path(), terr);
    ASSERT_TRUE(tls) << terr;
    m_cert = tls->cert_pem;
    auto creds = Credentials::LoadOrCreate(m_dir.path(), terr);
    ASSERT_TRUE(creds) << terr;
    for (Role r : kAllRoles) m_tokens[static_cast<int>(r)] = creds->Token(r);
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = m_cert;
    m_channel = grpc::CreateChannel(m_server->endpoint(), grpc::SslCredentials(ssl));
  }

  std::string Token(Role r) const { return m_tokens[static_cast<int>(r)]; }

  static void Auth(grpc::ClientContext& ctx, const std::string& token) {
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  /** A unary call of any method with an empty request, as raw bytes. */
  grpc::Status RawCall(std::string_view path, const std::string& token, const std::string& body = {}) {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    grpc::Slice slice(body);
    grpc::ByteBuffer req(&slice, 1), resp;
    const std::string p(path);
    return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
        m_channel.get(), grpc::internal::RpcMethod(p.c_str(), grpc::internal::RpcMethod::NORMAL_RPC), &ctx, req,
        &resp);
  }

  TempDir m_dir;
  FakeBackend m_backend;
  std::unique_ptr<RpcServer> m_server;
  std::string m_cert;
  std::string m_tokens[4];
  std::shared_ptr<grpc::Channel> m_channel;
};

}  // namespace wattline::rpc
