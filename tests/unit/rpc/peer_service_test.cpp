// PeerService and NodeService/GetCoinStats on a real regtest node with its network on loopback,
// a second real node as its peer. Every wait is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <tuple>
#include <vector>

#include "node/network.h"
#include "tests/unit/rpc/server_fixture.h"
#include "tests/util/wait.h"
#include "wattline/v1/wattline.grpc.pb.h"

namespace wattline::rpc {
namespace {

namespace v1 = ::wattline::v1;
using namespace std::chrono_literals;

using test::WaitFor;

node::NetworkOptions Loopback() {
  node::NetworkOptions o;
  o.bind = "127.0.0.1";
  o.port = 0;
  o.backoff_min = 100ms;
  o.backoff_max = 1s;
  return o;
}

class PeerServiceTest : public ServerTest {
 protected:
  void TearDown() override {
    ServerTest::TearDown();
    if (m_peer) m_peer->Stop();
    m_peer.reset();
  }

  /** Starts the served node's network and a second node that connects to it. */
  void JoinWithAPeer() {
    std::string error;
    ASSERT_TRUE(m_node->StartNetwork(Loopback(), error)) << error;
    node::NodeOptions o;
    o.datadir = m_dir.path() / "peer";
    o.params = &consensus::GetParams(consensus::Network::kRegtest);
    o.check_workers = 1;
    m_peer = node::Node::Start(o, error);
    ASSERT_TRUE(m_peer) << error;
    node::NetworkOptions n = Loopback();
    n.addnode = {"127.0.0.1:" + std::to_string(m_node->network()->ListenPort())};
    ASSERT_TRUE(m_peer->StartNetwork(n, error)) << error;
  }

  template <typename Req, typename Resp, typename Fn>
  grpc::Status Call(Fn fn, const Req& req, Resp& resp, Role role = Role::kAdmin) {
    auto stub = v1::PeerService::NewStub(m_channel);
    grpc::ClientContext ctx;
    Auth(ctx, Token(role));
    return ((*stub).*fn)(&ctx, req, &resp);
  }

  v1::ListPeersResponse ListPeers() {
    v1::ListPeersResponse r;
    EXPECT_TRUE(Call(&v1::PeerService::Stub::ListPeers, v1::ListPeersRequest{}, r).ok());
    return r;
  }

  std::unique_ptr<node::Node> m_peer;
};

TEST_F(PeerServiceTest, WithoutTheNetworkEveryMethodIsFailedPrecondition) {
  v1::ListPeersResponse peers;
  grpc::Status s = Call(&v1::PeerService::Stub::ListPeers, v1::ListPeersRequest{}, peers);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("--p2p=0"), std::string::npos) << s.error_message();
  v1::BanRequest ban;
  ban.set_subnet("10.0.0.1");
  v1::BanResponse banned;
  EXPECT_EQ(Call(&v1::PeerService::Stub::Ban, ban, banned).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(PeerServiceTest, ListsThePeerWithItsTotalsAndDisconnectsIt) {
  JoinWithAPeer();
  ASSERT_TRUE(WaitFor([&] {
    const auto r = ListPeers();
    return r.peers_size() == 1 && r.peers(0).connected();
  }));
  const v1::Peer p = ListPeers().peers(0);
  EXPECT_EQ(p.direction(), v1::PEER_DIRECTION_INBOUND);
  EXPECT_EQ(p.address().rfind("127.0.0.1:", 0), 0u) << p.address();
  EXPECT_EQ(p.listen_port(), m_peer->network()->ListenPort());
  EXPECT_FALSE(p.user_agent().empty());
  EXPECT_GT(p.bytes_received(), 0u);
  EXPECT_EQ(p.score(), 0);

  v1::GetNetTotalsResponse totals;
  ASSERT_TRUE(Call(&v1::PeerService::Stub::GetNetTotals, v1::GetNetTotalsRequest{}, totals, Role::kUtility).ok());
  EXPECT_EQ(totals.peers(), 1u);
  EXPECT_EQ(totals.inbound(), 1u);
  EXPECT_EQ(totals.listen_port(), m_node->network()->ListenPort());
  EXPECT_GT(totals.bytes_sent(), 0u);

  // Disconnect: neither or both selectors are refused; an unknown id is NOT_FOUND.
  v1::DisconnectPeerRequest req;
  v1::DisconnectPeerResponse out;
  EXPECT_EQ(Call(&v1::PeerService::Stub::DisconnectPeer, req, out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_id(p.id());
  req.set_address("127.0.0.1");
  EXPECT_EQ(Call(&v1::PeerService::Stub::DisconnectPeer, req, out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.clear_address();
  req.set_id(p.id() + 1000);
  EXPECT_EQ(Call(&v1::PeerService::Stub::DisconnectPeer, req, out).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_id(p.id());
  ASSERT_TRUE(Call(&v1::PeerService::Stub::DisconnectPeer, req, out).ok());
  EXPECT_EQ(out.disconnected(), 1u);
  // The peer keeps us as an --addnode target: it comes back (a new id).
  EXPECT_TRUE(WaitFor([&] {
    const auto r = ListPeers();
    return r.peers_size() == 1 && r.peers(0).connected() && r.peers(0).id() != p.id();
  }));
}

TEST_F(PeerServiceTest, BanDisconnectsListsPersistsAndLifts) {
  JoinWithAPeer();
  ASSERT_TRUE(WaitFor([&] { return ListPeers().peers_size() == 1; }));
  // Malformed input: INVALID_ARGUMENT with the field named.
  for (const auto& [subnet, duration, reason] : std::vector<std::tuple<std::string, std::int64_t, std::string>>{
           {"", 0, ""}, {"not-an-address", 0, ""}, {"10.0.0.0/33", 0, ""}, {"10.0.0.1", -1, ""},
           {"10.0.0.1", 20LL * 365 * 86400, ""}, {"10.0.0.1", 60, std::string(200, 'x')},
           {"10.0.0.1", 60, "bad\nreason"}}) {
    v1::BanRequest req;
    req.set_subnet(subnet);
    req.set_duration_seconds(duration);
    req.set_reason(reason);
    v1::BanResponse out;
    const grpc::Status s = Call(&v1::PeerService::Stub::Ban, req, out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << subnet << " " << duration;
    EXPECT_FALSE(s.error_message().empty());
  }
  // A wallet credential may not ban.
  v1::BanRequest req;
  req.set_subnet("127.0.0.1");
  req.set_duration_seconds(3600);
  req.set_reason("test ban");
  v1::BanResponse banned;
  EXPECT_EQ(Call(&v1::PeerService::Stub::Ban, req, banned, Role::kWallet).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&v1::PeerService::Stub::Ban, req, banned).ok());
  EXPECT_EQ(banned.ban().subnet(), "127.0.0.1/32");
  EXPECT_EQ(banned.ban().reason(), "test ban");
  EXPECT_NEAR(static_cast<double>(banned.ban().expires() - banned.ban().created()), 3600.0, 2.0);
  // The peer is gone and stays away (its reconnections are refused).
  EXPECT_TRUE(WaitFor([&] { return ListPeers().peers_size() == 0; }));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(ListPeers().peers_size(), 0);
  EXPECT_TRUE(std::filesystem::exists(m_dir.path() / "banlist.dat"));

  v1::ListBansResponse bans;
  ASSERT_TRUE(Call(&v1::PeerService::Stub::ListBans, v1::ListBansRequest{}, bans, Role::kUtility).ok());
  ASSERT_EQ(bans.bans_size(), 1);
  EXPECT_EQ(bans.bans(0).subnet(), "127.0.0.1/32");

  v1::UnbanRequest unban;
  v1::UnbanResponse unbanned;
  unban.set_subnet("10.9.9.9");
  EXPECT_EQ(Call(&v1::PeerService::Stub::Unban, unban, unbanned).error_code(), grpc::StatusCode::NOT_FOUND);
  unban.set_subnet("nonsense");
  EXPECT_EQ(Call(&v1::PeerService::Stub::Unban, unban, unbanned).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  unban.set_subnet("127.0.0.1");
  ASSERT_TRUE(Call(&v1::PeerService::Stub::Unban, unban, unbanned).ok());
  EXPECT_TRUE(WaitFor([&] { return ListPeers().peers_size() == 1; })) << "the peer reconnects after the unban";

  // ClearBans reports what it lifted.
  req.set_subnet("10.0.0.0/8");
  ASSERT_TRUE(Call(&v1::PeerService::Stub::Ban, req, banned).ok());
  req.set_subnet("192.168.1.7");
  ASSERT_TRUE(Call(&v1::PeerService::Stub::Ban, req, banned).ok());
  v1::ClearBansResponse cleared;
  ASSERT_TRUE(Call(&v1::PeerService::Stub::ClearBans, v1::ClearBansRequest{}, cleared).ok());
  EXPECT_EQ(cleared.cleared(), 2u);
  ASSERT_TRUE(Call(&v1::PeerService::Stub::ListBans, v1::ListBansRequest{}, bans).ok());
  EXPECT_EQ(bans.bans_size(), 0);
}

TEST_F(PeerServiceTest, AddAndRemovePersistentPeers) {
  std::string error;
  ASSERT_TRUE(m_node->StartNetwork(Loopback(), error)) << error;
  v1::AddPeerRequest add;
  v1::AddPeerResponse added;
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "a b:1"}) {
    add.set_target(bad);
    EXPECT_EQ(Call(&v1::PeerService::Stub::AddPeer, add, added).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
  }
  add.set_target("127.0.0.1:1");  // nothing listens there: accepted, retried with backoff
  add.set_persistent(true);
  ASSERT_TRUE(Call(&v1::PeerService::Stub::AddPeer, add, added).ok());
  v1::GetNetTotalsResponse totals;
  ASSERT_TRUE(Call(&v1::PeerService::Stub::GetNetTotals, v1::GetNetTotalsRequest{}, totals).ok());
  ASSERT_EQ(totals.added_peers_size(), 1);
  EXPECT_EQ(totals.added_peers(0).target(), "127.0.0.1:1");
  v1::RemovePeerRequest remove;
  v1::RemovePeerResponse removed;
  remove.set_target("127.0.0.1:1");
  ASSERT_TRUE(Call(&v1::PeerService::Stub::RemovePeer, remove, removed).ok());
  EXPECT_EQ(Call(&v1::PeerService::Stub::RemovePeer, remove, removed).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PeerServiceTest, CoinStatsMatchTheSubsidiesOfTheActiveChain) {
  Generate(7);
  auto stub = v1::NodeService::NewStub(m_channel);
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kUtility));
  v1::GetCoinStatsResponse stats;
  ASSERT_TRUE(stub->GetCoinStats(&ctx, v1::GetCoinStatsRequest{}, &stats).ok());
  EXPECT_EQ(stats.height(), 7u);
  EXPECT_EQ(stats.tip_hash(), m_node->chainstate().Tip()->hash.ToHex());
  std::int64_t subsidies = 0;
  for (std::uint32_t h = 1; h <= 7; ++h) subsidies += consensus::BlockSubsidy(h, Params()).units;
  EXPECT_EQ(stats.total_subsidy(), subsidies);
  EXPECT_EQ(stats.total_amount(), subsidies);
  EXPECT_GE(stats.coins(), 7u);
  grpc::ClientContext denied;
  Auth(denied, Token(Role::kMeter));
  EXPECT_EQ(stub->GetCoinStats(&denied, v1::GetCoinStatsRequest{}, &stats).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace wattline::rpc
