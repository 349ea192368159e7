// The real RpcServer (TLS, credentials, AuthMetadataProcessor, handlers, reflection) on
// 127.0.0.1:0 with a fake backend: every method refuses missing, wrong and other-role
// credentials, also on a connection that already carried a right one (TOOLCHAIN pitfall 13);
// a plaintext client fails; malformed requests get INVALID_ARGUMENT; oversize requests are
// refused; streams deliver and end on shutdown.
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/support/sync_stream.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "rpc/credentials.h"
#include "rpc/roles.h"
#include "rpc/server.h"
#include "rpc/tls.h"
#include "tests/unit/rpc/server_fixture.h"
#include "wattline/v1/wattline.grpc.pb.h"

namespace wattline::rpc {
namespace {

using grpc::StatusCode;

TEST_F(ServerTest, EndpointFileAndGetInfo) {
  std::ifstream in(EndpointPath(m_dir.path()));
  std::string endpoint;
  in >> endpoint;
  EXPECT_EQ(endpoint, m_server->endpoint());
  auto stub = v1::NodeService::NewStub(m_channel);
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kMeter));
  v1::GetInfoResponse resp;
  const grpc::Status s = stub->GetInfo(&ctx, {}, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.network(), v1::NETWORK_REGTEST);
  EXPECT_EQ(resp.height(), 0u);
  EXPECT_EQ(resp.tip_hash(), m_backend.params().genesis_hash.ToHex());
}

TEST_F(ServerTest, EveryMethodRefusesMissingWrongAndOtherRole) {
  const std::string wrong(64, '0');
  for (const auto& rule : MethodTable()) {
    EXPECT_EQ(RawCall(rule.path, "").error_code(), StatusCode::UNAUTHENTICATED) << rule.path;
    EXPECT_EQ(RawCall(rule.path, wrong).error_code(), StatusCode::UNAUTHENTICATED) << rule.path;
    EXPECT_EQ(RawCall(rule.path, Token(Role::kAdmin).substr(1) + "x").error_code(), StatusCode::UNAUTHENTICATED)
        << rule.path;
    for (Role r : {Role::kWallet, Role::kMeter, Role::kUtility}) {
      if (IsAllowed(r, rule.path)) continue;
      const grpc::Status s = RawCall(rule.path, Token(r));
      EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << RoleName(r) << " " << rule.path << ": "
                                                               << s.error_message();
    }
  }
}

TEST_F(ServerTest, EveryAllowedRoleGetsPastBothChecks) {
  // Catches a handler whose RPC_AUTHORIZE names another method: the call of an allowed role
  // would then be refused by the handler's own check. Streams are covered by their own tests.
  for (const auto& rule : MethodTable()) {
    const std::string_view path = rule.path;
    if (path.find("EventService") != std::string_view::npos || path == kReflectionPath) continue;
    for (Role r : kAllRoles) {
      if (!IsAllowed(r, path)) continue;
      const grpc::Status s = RawCall(path, Token(r));
      EXPECT_NE(s.error_code(), StatusCode::PERMISSION_DENIED) << RoleName(r) << " " << path << ": " << s.error_message();
      EXPECT_NE(s.error_code(), StatusCode::UNAUTHENTICATED) << RoleName(r) << " " << path;
      EXPECT_NE(s.error_code(), StatusCode::UNIMPLEMENTED) << path;
    }
  }
}

TEST_F(ServerTest, WrongCredentialRefusedOnAConnectionThatCarriedARightOne) {
  const char* info = "/wattline.v1.NodeService/GetInfo";
  const char* send = "/wattline.v1.WalletService/Send";
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(RawCall(info, Token(Role::kAdmin)).ok());
    EXPECT_EQ(RawCall(info, "").error_code(), StatusCode::UNAUTHENTICATED);
    ASSERT_TRUE(RawCall(info, Token(Role::kAdmin)).ok());
    EXPECT_EQ(RawCall(info, std::string(64, 'f')).error_code(), StatusCode::UNAUTHENTICATED);
    ASSERT_TRUE(RawCall(info, Token(Role::kMeter)).ok());
    EXPECT_EQ(RawCall(send, Token(Role::kMeter)).error_code(), StatusCode::PERMISSION_DENIED);
  }
  // All of it went over one connection.
  EXPECT_EQ(m_channel->GetState(false), GRPC_CHANNEL_READY);
}

TEST_F(ServerTest, ReflectionIsBehindTheTokenCheck) {
  // ServerReflectionRequest{list_services: ""} is field 7, length 0.
  const std::string list_services("\x3a\x00", 2);
  auto call = [&](const std::string& token, std::string* names) {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    grpc::internal::RpcMethod method(kReflectionPath.data(), grpc::internal::RpcMethod::BIDI_STREAMING);
    std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> rw(
        grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(m_channel.get(), method,
                                                                                            &ctx));
    grpc::Slice slice(list_services);
    grpc::ByteBuffer req(&slice, 1), resp;
    rw->Write(req);
    rw->WritesDone();
    while (rw->Read(&resp)) {
      std::vector<grpc::Slice> slices;
      (void)resp.Dump(&slices);
      for (const auto& s : slices) names->append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return rw->Finish();
  };
  std::string names;
  EXPECT_EQ(call("", &names).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call(std::string(64, '1'), &names).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(names.empty());
  const grpc::Status ok = call(Token(Role::kMeter), &names);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  for (const char* svc : {"wattline.v1.NodeService", "wattline.v1.TxService", "wattline.v1.WalletService",
                          "wattline.v1.MiningService", "wattline.v1.EventService"}) {
    EXPECT_NE(names.find(svc), std::string::npos) << svc;
  }
}

TEST_F(ServerTest, PlaintextClientFails) {
  auto plain = grpc::CreateChannel(m_server->endpoint(), grpc::InsecureChannelCredentials());
  auto stub = v1::NodeService::NewStub(plain);
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kAdmin));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GetInfoResponse resp;
  const grpc::Status s = stub->GetInfo(&ctx, {}, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(ServerTest, MalformedRequestsAreInvalidArgument) {
  const std::string admin = Token(Role::kAdmin);
  auto node = v1::NodeService::NewStub(m_channel);
  {
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::GetBlockRequest req;
    req.mutable_block()->set_height(0);  // format left UNSPECIFIED
    v1::GetBlockResponse resp;
    EXPECT_EQ(node->GetBlock(&ctx, req, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::GetBlockRequest req;
    req.mutable_block()->set_hash("abcd");
    req.set_format(v1::BLOCK_FORMAT_FULL);
    v1::GetBlockResponse resp;
    const grpc::Status s = node->GetBlock(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("64 hex digits"), std::string::npos) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::GetBlockRequest req;
    req.mutable_block()->set_height(0);
    req.set_format(static_cast<v1::BlockFormat>(42));  // unknown enum value
    v1::GetBlockResponse resp;
    EXPECT_EQ(node->GetBlock(&ctx, req, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::GetBlockRequest req;
    req.mutable_block()->set_height(0);
    req.set_format(v1::BLOCK_FORMAT_FULL);
    v1::GetBlockResponse resp;
    ASSERT_TRUE(node->GetBlock(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.txs_size(), 1);
    EXPECT_FALSE(resp.raw_hex().empty());
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::GetBlockHeaderRequest req;
    req.mutable_block()->set_height(5);
    v1::GetBlockHeaderResponse resp;
    EXPECT_EQ(node->GetBlockHeader(&ctx, req, &resp).error_code(), StatusCode::NOT_FOUND);
  }
  auto wallet = v1::WalletService::NewStub(m_channel);
  {
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::SendRequest req;
    req.set_address(m_backend.EncodeAddress({}));
    req.set_amount(-5);
    v1::SendResponse resp;
    const grpc::Status s = wallet->Send(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("negative"), std::string::npos) << s.error_message();
    EXPECT_TRUE(m_backend.sends.empty());
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::SendRequest req;
    req.set_address("wl1qqqq");
    req.set_amount(5);
    v1::SendResponse resp;
    EXPECT_EQ(wallet->Send(&ctx, req, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kWallet));
    v1::GetNewAddressResponse resp;
    EXPECT_EQ(wallet->GetNewAddress(&ctx, {}, &resp).error_code(), StatusCode::FAILED_PRECONDITION);  // locked
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::UnlockRequest req;
    req.set_passphrase("wrong");
    req.set_timeout_seconds(60);
    v1::UnlockResponse resp;
    EXPECT_EQ(wallet->Unlock(&ctx, req, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(ServerTest, SubmitRejectCarriesTheReasonInTrailingMetadata) {
  auto tx = v1::TxService::NewStub(m_channel);
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    v1::SubmitTransactionRequest req;
    req.set_raw_tx(std::string("\x07\x07", 2));
    v1::SubmitTransactionResponse resp;
    const grpc::Status s = tx->SubmitTransaction(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
    const auto& md = ctx.GetServerTrailingMetadata();
    auto it = md.find("wattline-reject-reason");
    ASSERT_NE(it, md.end());
    EXPECT_EQ(std::string(it->second.data(), it->second.size()), "bad-txns-encoding");
  }
  {
    // A well-formed transaction the fake mempool refuses for missing inputs.
    const consensus::Bytes raw = consensus::EncodeTransaction(*m_backend.params().genesis.txs.at(0));
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    v1::SubmitTransactionRequest req;
    req.set_raw_tx(std::string(raw.begin(), raw.end()));
    v1::SubmitTransactionResponse resp;
    const grpc::Status s = tx->SubmitTransaction(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION) << s.error_message();
    auto it = ctx.GetServerTrailingMetadata().find("wattline-reject-reason");
    ASSERT_NE(it, ctx.GetServerTrailingMetadata().end());
    EXPECT_EQ(std::string(it->second.data(), it->second.size()),
              consensus::ReasonCode(consensus::Reason::kTxMissingInputs));
  }
}

TEST_F(ServerTest, OversizeRequestIsRefusedAndServerStaysUp) {
  auto tx = v1::TxService::NewStub(m_channel);
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kAdmin));
  v1::SubmitTransactionRequest req;
  req.set_raw_tx(std::string(2 << 20, 'x'));
  v1::SubmitTransactionResponse resp;
  EXPECT_EQ(tx->SubmitTransaction(&ctx, req, &resp).error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(RawCall("/wattline.v1.NodeService/GetInfo", Token(Role::kAdmin)).ok());
}

TEST_F(ServerTest, BlockStreamDeliversAndEndsAtMaxEvents) {
  auto events = v1::EventService::NewStub(m_channel);
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kMeter));
  v1::SubscribeBlocksRequest req;
  req.set_max_events(2);
  auto reader = events->SubscribeBlocks(&ctx, req);
  reader->WaitForInitialMetadata();  // subscribed
  m_backend.FireBlock({m_backend.params().genesis_hash, 1, true});
  m_backend.FireBlock({m_backend.params().genesis_hash, 2, false});
  v1::BlockEvent e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.height(), 1u);
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.height(), 2u);
  EXPECT_FALSE(e.connected());
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_TRUE(reader->Finish().ok());
  for (int i = 0; i < 50 && m_backend.BlockListeners() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(m_backend.BlockListeners(), 0u);
}

TEST_F(ServerTest, ShutdownEndsOpenStreams) {
  auto events = v1::EventService::NewStub(m_channel);
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kAdmin));
  auto reader = events->SubscribeBlocks(&ctx, {});
  reader->WaitForInitialMetadata();
  std::thread stopper([&] { m_server->Shutdown(); });
  v1::BlockEvent e;
  EXPECT_FALSE(reader->Read(&e));
  const grpc::Status s = reader->Finish();
  EXPECT_FALSE(s.ok());
  stopper.join();
  EXPECT_EQ(m_backend.BlockListeners(), 0u);
  EXPECT_FALSE(std::filesystem::exists(EndpointPath(m_dir.path())));
}

TEST_F(ServerTest, ClientCancelEndsTheStreamAndUnsubscribes) {
  auto events = v1::EventService::NewStub(m_channel);
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kUtility));
  auto reader = events->SubscribeBlocks(&ctx, {});
  reader->WaitForInitialMetadata();
  EXPECT_EQ(m_backend.BlockListeners(), 1u);
  ctx.TryCancel();
  v1::BlockEvent e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), StatusCode::CANCELLED);
  for (int i = 0; i < 100 && m_backend.BlockListeners() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(m_backend.BlockListeners(), 0u);
}

TEST_F(ServerTest, BusyPortIsAClearError) {
  TempDir other;
  FakeBackend backend;
  RpcServerOptions opts;
  opts.datadir = other.path();
  opts.listen = m_server->endpoint();
  RpcServer second(backend, opts);
  std::string error;
  EXPECT_FALSE(second.Start(error));
  EXPECT_NE(error.find("cannot listen"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_TRUE(RawCall("/wattline.v1.NodeService/GetInfo", Token(Role::kAdmin)).ok());
}

TEST_F(ServerTest, RateLimitPerCredential) {
  m_server->Shutdown();
  RpcServerOptions opts;
  opts.rate_per_second = 0.001;
  opts.rate_burst = 3;
  StartServer(opts);
  const char* info = "/wattline.v1.NodeService/GetInfo";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(RawCall(info, Token(Role::kMeter)).ok()) << i;
  EXPECT_EQ(RawCall(info, Token(Role::kMeter)).error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(RawCall(info, Token(Role::kUtility)).ok());
}

}  // namespace
}  // namespace wattline::rpc
