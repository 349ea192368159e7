// The real RpcServer (TLS, credentials, AuthMetadataProcessor, handlers, reflection) on
// 127.0.0.1:0 serving a real regtest node (server_fixture.h): every method refuses missing,
// wrong and other-role credentials, also on a connection that already carried a right one
// (TOOLCHAIN pitfall 13); a plaintext client fails; malformed requests get INVALID_ARGUMENT;
// oversize requests are refused; real signed and real invalid transactions; the real wallet;
// streams deliver the node's real events (a reorganisation included) and end on max_events,
// cancel and shutdown.
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
  auto get_info = [&] {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    v1::GetInfoResponse resp;
    const grpc::Status s = stub->GetInfo(&ctx, {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  };
  v1::GetInfoResponse resp = get_info();
  EXPECT_EQ(resp.network(), v1::NETWORK_REGTEST);
  EXPECT_EQ(resp.height(), 0u);
  EXPECT_EQ(resp.tip_hash(), Params().genesis_hash.ToHex());
  EXPECT_TRUE(resp.wallet_enabled());
  // The real chain moves: three blocks mined by the node show up in the next call.
  const auto hashes = Generate(3);
  ASSERT_EQ(hashes.size(), 3u);
  resp = get_info();
  EXPECT_EQ(resp.height(), 3u);
  EXPECT_EQ(resp.tip_hash(), hashes.back().ToHex());
  EXPECT_EQ(resp.tip_time(), m_node->chainstate().Tip()->header.time);
}

TEST_F(ServerTest, EveryMethodRefusesMissingWrongAndOtherRole) {
  const std::string wrong(64, '0');
  for (const auto& rule : MethodTable()) {
    EXPECT_EQ(RawCall(rule.path, "").error_code(), StatusCode::UNAUTHENTICATED) << rule.path;
    EXPECT_EQ(RawCall(rule.path, wrong).error_code(), StatusCode::UNAUTHENTICATED) << rule.path;
    EXPECT_EQ(RawCall(rule.path, Token(Role::kAdmin).substr(1) + "x").error_code(), StatusCode::UNAUTHENTICATED)
        << rule.path;
    for (Role r : kAllRoles) {
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
    if (path.find("EventService") != std::string_view::npos || path == kReflectionPath ||
        path == "/wattline.v1.MeterService/StreamReadings")
      continue;
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
    // 64 characters, not hex.
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::GetBlockRequest req;
    req.mutable_block()->set_hash(std::string(64, 'z'));
    req.set_format(v1::BLOCK_FORMAT_DECODED);
    v1::GetBlockResponse resp;
    const grpc::Status s = node->GetBlock(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_FALSE(s.error_message().empty());
  }
  {
    // A well-formed hash the node does not know.
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::GetTransactionRequest req;
    req.set_txid(std::string(64, 'a'));
    v1::GetTransactionResponse resp;
    EXPECT_EQ(node->GetTransaction(&ctx, req, &resp).error_code(), StatusCode::NOT_FOUND);
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
    req.set_address(Address(test::TestKey(2).PubKey()));
    req.set_amount(-5);
    v1::SendResponse resp;
    const grpc::Status s = wallet->Send(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("negative"), std::string::npos) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, admin);
    v1::SendRequest req;
    req.set_address(Address(test::TestKey(2).PubKey()));
    req.set_amount(5000);
    req.set_fee_rate(-1);
    v1::SendResponse resp;
    const grpc::Status s = wallet->Send(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_FALSE(s.error_message().empty());
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
  // Nothing of the above reached the real wallet or mempool.
  EXPECT_TRUE(m_node->wallet()->IsLocked());
  EXPECT_TRUE(m_node->wallet()->History().empty());
  EXPECT_EQ(m_node->mempool().Count(), 0u);
}

TEST_F(ServerTest, RealWalletUnlockNewAddressAndSend) {
  auto wallet = v1::WalletService::NewStub(m_channel);
  const std::string token = Token(Role::kWallet);
  {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    v1::UnlockRequest req;
    req.set_passphrase(kPassphrase);
    req.set_timeout_seconds(600);
    v1::UnlockResponse resp;
    const grpc::Status s = wallet->Unlock(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_FALSE(m_node->wallet()->IsLocked());
  std::string to;
  {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    v1::GetNewAddressResponse resp;
    const grpc::Status s = wallet->GetNewAddress(&ctx, {}, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    to = resp.address();
    EXPECT_TRUE(node::DecodeAddress(to, Params().network, nullptr)) << to;
  }
  {
    // No mature coins yet: the real coin selection refuses.
    grpc::ClientContext ctx;
    Auth(ctx, token);
    v1::SendRequest req;
    req.set_address(to);
    req.set_amount(100'000'000);
    v1::SendResponse resp;
    EXPECT_EQ(wallet->Send(&ctx, req, &resp).error_code(), StatusCode::FAILED_PRECONDITION);
  }
  Generate(Params().coinbase_maturity + 1);
  crypto::Hash256 txid;
  {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    v1::SendRequest req;
    req.set_address(to);
    req.set_amount(150'000'000);
    v1::SendResponse resp;
    const grpc::Status s = wallet->Send(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    auto h = crypto::Hash256::FromHex(resp.txid());
    ASSERT_TRUE(h) << resp.txid();
    txid = *h;
  }
  auto entry = m_node->mempool().Get(txid);
  ASSERT_TRUE(entry);
  bool paid = false;
  for (const auto& o : entry->tx->outputs())
    paid |= o.amount.units == 150'000'000 && o.condition == consensus::Condition::Key(*node::DecodeAddress(to, Params().network, nullptr));
  EXPECT_TRUE(paid);
  {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    v1::ListTransactionsResponse resp;
    ASSERT_TRUE(wallet->ListTransactions(&ctx, {}, &resp).ok());
    EXPECT_EQ(resp.total(), m_node->wallet()->History().size());
    EXPECT_GE(resp.total(), 1u);
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    v1::LockResponse resp;
    ASSERT_TRUE(wallet->Lock(&ctx, {}, &resp).ok());
  }
  EXPECT_TRUE(m_node->wallet()->IsLocked());
}

TEST_F(ServerTest, SubmitRejectCarriesTheReasonInTrailingMetadata) {
  auto tx = v1::TxService::NewStub(m_channel);
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kWallet));
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
    // A real signed transaction spending a coin the chain does not have: missing inputs.
    const auto key = test::TestKey(3);
    consensus::TxOut spent{consensus::Amount{50'000}, consensus::Condition::Key(key.PubKey())};
    crypto::Hash256 nowhere;
    nowhere.bytes.fill(0x42);
    const auto missing = test::MakeSpend(Params(), {{{nowhere, 0}, spent}}, key,
                                         {{consensus::Amount{40'000}, consensus::Condition::Key(key.PubKey())}});
    const consensus::Bytes raw = consensus::EncodeTransaction(*missing);
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kWallet));
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
  EXPECT_EQ(m_node->mempool().Count(), 0u);
}

TEST_F(ServerTest, RealSignedTransactionIsAcceptedAnnouncedAndFound) {
  // Coins of a key the test holds: the coinbase of height 1, mature after maturity blocks.
  const auto key = test::TestKey(1);
  Generate(1, key.PubKey());
  Generate(Params().coinbase_maturity);
  const auto coinbase = CoinbaseAt(1);
  ASSERT_TRUE(coinbase);
  const consensus::TxOut& spent = coinbase->outputs()[0];
  const std::int64_t fee = 10'000, half = (spent.amount.units - fee) / 2;
  const auto signed_tx = test::MakeSpend(
      Params(), {{{coinbase->txid(), 0}, spent}}, key,
      {{consensus::Amount{half}, consensus::Condition::Key(test::TestKey(2).PubKey())},
       {consensus::Amount{spent.amount.units - fee - half}, consensus::Condition::Key(key.PubKey())}});
  const consensus::Bytes raw = consensus::EncodeTransaction(*signed_tx);

  // A transaction stream (the utility role) sees it enter the mempool.
  auto events = v1::EventService::NewStub(m_channel);
  grpc::ClientContext sctx;
  Auth(sctx, Token(Role::kUtility));
  v1::SubscribeTransactionsRequest sreq;
  sreq.set_max_events(1);
  auto reader = events->SubscribeTransactions(&sctx, sreq);
  reader->WaitForInitialMetadata();

  auto tx = v1::TxService::NewStub(m_channel);
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kWallet));
    v1::SubmitTransactionRequest req;
    req.set_raw_tx(std::string(raw.begin(), raw.end()));
    v1::SubmitTransactionResponse resp;
    const grpc::Status s = tx->SubmitTransaction(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.txid(), signed_tx->txid().ToHex());
    EXPECT_EQ(resp.fee(), fee);
  }
  EXPECT_TRUE(m_node->mempool().Contains(signed_tx->txid()));
  v1::TransactionEvent e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.txid(), signed_tx->txid().ToHex());
  EXPECT_EQ(e.size(), signed_tx->size());
  EXPECT_EQ(e.output_total(), spent.amount.units - fee);
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_TRUE(reader->Finish().ok());
  {
    // The same again: already in the mempool, with the policy code.
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kWallet));
    v1::SubmitTransactionRequest req;
    req.set_raw_tx(std::string(raw.begin(), raw.end()));
    v1::SubmitTransactionResponse resp;
    const grpc::Status s = tx->SubmitTransaction(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::ALREADY_EXISTS) << s.error_message();
    EXPECT_NE(ctx.GetServerTrailingMetadata().find("wattline-reject-reason"), ctx.GetServerTrailingMetadata().end());
  }
  auto node = v1::NodeService::NewStub(m_channel);
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    v1::GetTransactionRequest req;
    req.set_txid(signed_tx->txid().ToHex());
    v1::GetTransactionResponse resp;
    ASSERT_TRUE(node->GetTransaction(&ctx, req, &resp).ok());
    EXPECT_TRUE(resp.in_mempool());
    EXPECT_EQ(resp.fee(), fee);
  }
  const auto mined = Generate(1);
  ASSERT_EQ(mined.size(), 1u);
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    v1::GetTransactionRequest req;
    req.set_txid(signed_tx->txid().ToHex());
    v1::GetTransactionResponse resp;
    ASSERT_TRUE(node->GetTransaction(&ctx, req, &resp).ok());
    EXPECT_FALSE(resp.in_mempool());
    EXPECT_EQ(resp.block_hash(), mined[0].ToHex());
    EXPECT_EQ(resp.confirmations(), 1u);
  }
  {
    // The receiver's coin, through the address scan.
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kUtility));
    v1::GetUtxosRequest req;
    req.set_address(Address(test::TestKey(2).PubKey()));
    v1::GetUtxosResponse resp;
    ASSERT_TRUE(node->GetUtxos(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.utxos_size(), 1);
    EXPECT_EQ(resp.total(), half);
  }
  EXPECT_TRUE(WaitForSubscriptions(0));
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
  EXPECT_EQ(m_backend->Live(), 1u);
  const auto hashes = Generate(2);
  ASSERT_EQ(hashes.size(), 2u);
  v1::BlockEvent e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.height(), 1u);
  EXPECT_EQ(e.hash(), hashes[0].ToHex());
  EXPECT_TRUE(e.connected());
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.height(), 2u);
  EXPECT_EQ(e.hash(), hashes[1].ToHex());
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(WaitForSubscriptions(0));
}

TEST_F(ServerTest, BlockStreamReportsAReorganisation) {
  const auto first = Generate(1);
  ASSERT_EQ(first.size(), 1u);
  auto events = v1::EventService::NewStub(m_channel);
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kAdmin));
  v1::SubscribeBlocksRequest req;
  req.set_max_events(3);  // disconnect 1, connect 1', connect 2'
  auto reader = events->SubscribeBlocks(&ctx, req);
  reader->WaitForInitialMetadata();
  // A longer branch from genesis, built with the test chain builder and submitted to the node.
  auto& cs = m_node->chainstate();
  const auto payee = test::TestKey(5).PubKey();
  consensus::Block b1 = test::MakeBlock(cs, *cs.ActiveAt(0), {}, consensus::Amount{0}, payee, 1);
  consensus::ValidationState st;
  ASSERT_TRUE(m_node->SubmitBlock(b1, st)) << st.ToString();
  const ledger::BlockIndex* i1 = cs.LookupBlockIndex(b1.Hash());
  ASSERT_NE(i1, nullptr);
  consensus::Block b2 = test::MakeBlock(cs, *i1, {}, consensus::Amount{0}, payee, 2);
  ASSERT_TRUE(m_node->SubmitBlock(b2, st)) << st.ToString();
  ASSERT_EQ(cs.Tip()->hash, b2.Hash());
  std::vector<v1::BlockEvent> got(3);
  for (auto& e : got) ASSERT_TRUE(reader->Read(&e));
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(got[0].hash(), first[0].ToHex());
  EXPECT_FALSE(got[0].connected());
  EXPECT_EQ(got[1].hash(), b1.Hash().ToHex());
  EXPECT_TRUE(got[1].connected());
  EXPECT_EQ(got[2].hash(), b2.Hash().ToHex());
  EXPECT_EQ(got[2].height(), 2u);
  EXPECT_TRUE(got[2].connected());
  EXPECT_TRUE(WaitForSubscriptions(0));
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
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();  // docs/api.md: server shutting down
  stopper.join();
  EXPECT_EQ(m_backend->Live(), 0u);
  EXPECT_FALSE(std::filesystem::exists(EndpointPath(m_dir.path())));
}

TEST_F(ServerTest, ClientCancelEndsTheStreamAndUnsubscribes) {
  auto events = v1::EventService::NewStub(m_channel);
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kUtility));
  auto reader = events->SubscribeBlocks(&ctx, {});
  reader->WaitForInitialMetadata();
  EXPECT_EQ(m_backend->Live(), 1u);
  ctx.TryCancel();
  v1::BlockEvent e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), StatusCode::CANCELLED);
  EXPECT_TRUE(WaitForSubscriptions(0));
  // The node keeps mining without the listener.
  EXPECT_EQ(Generate(1).size(), 1u);
}

TEST_F(ServerTest, TooManyStreamsAreRefusedAndTheSlotIsFreedAfterCancel) {
  m_server->Shutdown();
  RpcServerOptions opts;
  opts.max_streams = 1;
  StartServer(opts);
  auto events = v1::EventService::NewStub(m_channel);
  grpc::ClientContext first;
  Auth(first, Token(Role::kAdmin));
  auto open = events->SubscribeBlocks(&first, {});
  open->WaitForInitialMetadata();
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kAdmin));
    auto second = events->SubscribeTransactions(&ctx, {});
    v1::TransactionEvent e;
    EXPECT_FALSE(second->Read(&e));
    EXPECT_EQ(second->Finish().error_code(), StatusCode::RESOURCE_EXHAUSTED);
  }
  first.TryCancel();
  v1::BlockEvent e;
  EXPECT_FALSE(open->Read(&e));
  EXPECT_EQ(open->Finish().error_code(), StatusCode::CANCELLED);
  ASSERT_TRUE(WaitForSubscriptions(0));
  // The slot is free again: a new stream gets the node's next block.
  grpc::ClientContext again;
  Auth(again, Token(Role::kAdmin));
  v1::SubscribeBlocksRequest req;
  req.set_max_events(1);
  auto reader = events->SubscribeBlocks(&again, req);
  reader->WaitForInitialMetadata();
  const auto hashes = Generate(1);
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.hash(), hashes.at(0).ToHex());
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(ServerTest, BusyPortIsAClearError) {
  TempDir other;
  RpcServerOptions opts;
  opts.datadir = other.path();
  opts.listen = m_server->endpoint();
  RpcServer second(*m_backend, opts);  // the same real node behind a second server
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


namespace wattline::rpc {

TEST_F(ServerTest, MeterScheduleHouseholdServesTheSchedulerAndRefusesBadInput) {
  auto meter = v1::MeterService::NewStub(m_channel);
  auto call = [&](const v1::ScheduleHouseholdRequest& req, v1::ScheduleHouseholdResponse& resp) {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    return meter->ScheduleHousehold(&ctx, req, &resp);
  };
  v1::ScheduleHouseholdRequest req;
  req.set_slots(4);
  req.set_a(1);
  req.set_b(1);
  req.set_c(1);
  for (double p : {4.0, 1.0, 3.0, 2.0}) req.add_prices(p);
  auto* app = req.add_appliances();
  app->set_energy_kwh(3);
  app->set_first_slot(0);
  app->set_last_slot(3);
  app->set_cap_kwh(2);
  v1::ScheduleHouseholdResponse resp;
  grpc::Status s = call(req, resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.household_kwh_size(), 4);
  // Fixed prices: the cheapest slot (1) filled to the cap, the rest in the next cheapest (3).
  EXPECT_NEAR(resp.household_kwh(1), 2, 1e-9);
  EXPECT_NEAR(resp.household_kwh(3), 1, 1e-9);
  EXPECT_NEAR(resp.expected_bill(), 2 * 1 + 1 * 2, 1e-9);

  // An inverted window: INVALID_ARGUMENT naming the appliance.
  app->set_first_slot(3);
  app->set_last_slot(1);
  s = call(req, resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("appliance"), std::string::npos) << s.error_message();
  // Prices of the wrong size, a non-finite price, no objective without prices.
  app->set_first_slot(0);
  app->set_last_slot(3);
  req.add_prices(1);
  EXPECT_EQ(call(req, resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.clear_prices();
  for (int i = 0; i < 4; ++i) req.add_others_load_kwh(10);
  EXPECT_EQ(call(req, resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);  // objective unspecified
  req.set_objective(v1::SCHEDULE_OBJECTIVE_SHARE_OF_COST);
  s = call(req, resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  double total = 0;
  for (double x : resp.household_kwh()) total += x;
  EXPECT_NEAR(total, 3, 1e-9);
  req.set_slots(10000);
  EXPECT_EQ(call(req, resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace wattline::rpc
