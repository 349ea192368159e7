// The real RpcServer on 127.0.0.1:0 serving a real regtest node::Node (temporary datadir,
// one signature-check worker) through rpc::MakeNodeBackend, with a TLS channel and the tokens
// the server generated. The node's wallet is created with the passphrase kPassphrase and left
// locked (no auto-unlock), so the tests see the locked and unlocked states.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "consensus/params.h"
#include "node/address.h"
#include "node/logging.h"
#include "node/node.h"
#include "rpc/credentials.h"
#include "rpc/node_backend.h"
#include "rpc/roles.h"
#include "rpc/server.h"
#include "rpc/tls.h"
#include "tests/unit/rpc/temp_dir.h"
#include "tests/util/chain_builder.h"

namespace wattline::rpc {

inline constexpr const char* kPassphrase = "right";

/**
 * The real NodeBackend, seen through a pass-through that forwards every call unchanged and
 * only counts the subscriptions that are live, so the stream tests can see that a stream
 * which ended has unsubscribed from the node (the node does not expose its listener count).
 */
class SubscriptionCounter final : public Backend {
 public:
  explicit SubscriptionCounter(std::unique_ptr<Backend> real) : m(std::move(real)) {}
  std::size_t Live() const { return m_live.load(); }

  const consensus::Params& params() const override { return m->params(); }
  std::string Version() const override { return m->Version(); }
  std::int64_t Now() const override { return m->Now(); }
  TipInfo Tip() const override { return m->Tip(); }
  MempoolInfo Mempool() const override { return m->Mempool(); }
  std::optional<BlockInfo> BlockByHash(const crypto::Hash256& h) const override { return m->BlockByHash(h); }
  std::optional<BlockInfo> BlockAtHeight(std::uint32_t h) const override { return m->BlockAtHeight(h); }
  bool ReadBlock(const crypto::Hash256& h, consensus::Block& b) const override { return m->ReadBlock(h, b); }
  std::optional<TxLookupResult> FindTransaction(const crypto::Hash256& t) const override {
    return m->FindTransaction(t);
  }
  std::vector<UtxoInfo> UtxosOf(const crypto::XOnlyPubKey& k, std::size_t l) const override { return m->UtxosOf(k, l); }
  std::optional<crypto::XOnlyPubKey> DecodeAddress(std::string_view t, std::string* e) const override {
    return m->DecodeAddress(t, e);
  }
  std::string EncodeAddress(const crypto::XOnlyPubKey& k) const override { return m->EncodeAddress(k); }
  ledger::Chainstate::CoinStats CoinStats() override { return m->CoinStats(); }
  PeerControl* Peers() override { return m->Peers(); }
  MarketControl* Market() override { return m->Market(); }
  SubmitResult SubmitTransaction(const consensus::TransactionRef& tx) override { return m->SubmitTransaction(tx); }
  bool HasWallet() const override { return m->HasWallet(); }
  bool WalletLocked() const override { return m->WalletLocked(); }
  node::WalletBalance WalletBalanceOf() const override { return m->WalletBalanceOf(); }
  node::Wallet::Result WalletNewAddress(std::string& a) override { return m->WalletNewAddress(a); }
  node::Wallet::Result WalletSend(const std::string& a, consensus::Amount x, std::int64_t f,
                                  crypto::Hash256& t) override {
    return m->WalletSend(a, x, f, t);
  }
  std::vector<node::WalletTxRecord> WalletHistory() const override { return m->WalletHistory(); }
  node::Wallet::Result WalletUnlock(const std::string& p, std::chrono::seconds t) override {
    return m->WalletUnlock(p, t);
  }
  void WalletLock() override { m->WalletLock(); }
  node::Wallet::Result WalletChangePassphrase(const std::string& o, const std::string& n) override {
    return m->WalletChangePassphrase(o, n);
  }
  void WalletRescan() override { m->WalletRescan(); }
  crypto::XOnlyPubKey WalletDefaultKey() const override { return m->WalletDefaultKey(); }
  bool Generate(std::uint32_t n, const std::optional<crypto::XOnlyPubKey>& p, std::vector<crypto::Hash256>& h,
                std::string& e) override {
    return m->Generate(n, p, h, e);
  }
  bool SubmitBlock(const consensus::Block& b, consensus::ValidationState& s, std::uint32_t& h, bool& a) override {
    return m->SubmitBlock(b, s, h, a);
  }
  bool StartMining(unsigned t, std::string& e) override { return m->StartMining(t, e); }
  void StopMining() override { m->StopMining(); }
  MiningInfo Mining() const override { return m->Mining(); }
  std::uint64_t SubscribeBlocks(std::function<void(const BlockNotice&)> fn) override {
    ++m_live;
    return m->SubscribeBlocks(std::move(fn));
  }
  std::uint64_t SubscribeTransactions(std::function<void(const consensus::TransactionRef&)> fn) override {
    ++m_live;
    return m->SubscribeTransactions(std::move(fn));
  }
  void Unsubscribe(std::uint64_t id) override {
    m->Unsubscribe(id);
    --m_live;
  }

 private:
  std::unique_ptr<Backend> m;
  std::atomic<std::size_t> m_live{0};
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StartNode();
    StartServer({});
  }
  void TearDown() override {
    if (m_server) m_server->Shutdown();
    m_server.reset();
    m_backend.reset();
    if (m_node) m_node->Stop();
    m_node.reset();
  }

  void StartNode() {
    // The node's own logs at warn and above only: the tests check behaviour, not log lines.
    node::LogOptions log;
    log.level = spdlog::level::warn;
    node::InitLogging(log);
    node::NodeOptions o;
    o.datadir = m_dir.path();
    o.params = &consensus::GetParams(consensus::Network::kRegtest);
    o.check_workers = 1;
    o.wallet_passphrase = kPassphrase;
    o.wallet_autounlock = false;
    o.utility = true;  // regtest: the documented utility key (consensus::DocumentedUtilitySecret)
    std::string error;
    m_node = node::Node::Start(o, error);
    ASSERT_TRUE(m_node) << error;
    m_backend = std::make_unique<SubscriptionCounter>(MakeNodeBackend(*m_node));
  }

  void StartServer(RpcServerOptions opts) {
    opts.datadir = m_dir.path();
    opts.listen = "127.0.0.1:0";
    m_server = std::make_unique<RpcServer>(*m_backend, opts);
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

  const consensus::Params& Params() const { return m_node->params(); }
  std::string Token(Role r) const { return m_tokens[static_cast<int>(r)]; }
  std::string Address(const crypto::XOnlyPubKey& key) const { return node::EncodeAddress(key, Params().network); }

  /** Mines n blocks with the real node (payout: the key, or the wallet's default key). */
  std::vector<crypto::Hash256> Generate(std::uint32_t n, std::optional<crypto::XOnlyPubKey> payout = std::nullopt) {
    std::vector<crypto::Hash256> hashes;
    std::string error;
    EXPECT_TRUE(m_node->Generate(n, payout, hashes, error)) << error;
    return hashes;
  }

  /** The coinbase of the active block at height (its output 0 pays the block's payout). */
  consensus::TransactionRef CoinbaseAt(std::uint32_t height) {
    const ledger::BlockIndex* idx = m_node->chainstate().ActiveAt(height);
    consensus::Block block;
    EXPECT_TRUE(idx != nullptr && m_node->chainstate().ReadBlock(*idx, block));
    return block.txs.empty() ? nullptr : block.txs[0];
  }

  /** Waits (bounded) until the live subscriptions drop to n. */
  bool WaitForSubscriptions(std::size_t n) {
    for (int i = 0; i < 250 && m_backend->Live() != n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return m_backend->Live() == n;
  }

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
  std::unique_ptr<node::Node> m_node;
  std::unique_ptr<SubscriptionCounter> m_backend;
  std::unique_ptr<RpcServer> m_server;
  std::string m_cert;
  std::string m_tokens[4];
  std::shared_ptr<grpc::Channel> m_channel;
};

}  // namespace wattline::rpc
