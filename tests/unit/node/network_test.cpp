// The node on the network, in process: real Nodes in temporary regtest datadirs talking over
// loopback sockets. Sync (headers-first, resumed after a restart), block and transaction relay,
// persistent targets with backoff, bans through the API and their persistence, the address book
// file. Every wait is bounded (10-30 s).
#include "node/network.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "node/node.h"
#include "node/wallet.h"
#include "tests/util/temp_dir.h"
#include "tests/util/wait.h"

using namespace wattline;
using namespace std::chrono_literals;

namespace {

using test::WaitFor;

class NetworkTest : public ::testing::Test {
 protected:
  test::TempDir dir;

  std::unique_ptr<node::Node> StartNode(const std::string& name) {
    node::NodeOptions o;
    o.datadir = dir.path() / name;
    o.params = &consensus::GetParams(consensus::Network::kRegtest);
    o.check_workers = 1;
    std::string error;
    auto n = node::Node::Start(o, error);
    EXPECT_TRUE(n) << error;
    return n;
  }

  static node::NetworkOptions Loopback(std::vector<std::string> addnode = {}) {
    node::NetworkOptions o;
    o.bind = "127.0.0.1";
    o.port = 0;
    o.addnode = std::move(addnode);
    o.backoff_min = 100ms;
    o.backoff_max = 1s;
    return o;
  }

  static void Join(node::Node& n, const node::NetworkOptions& o) {
    std::string error;
    ASSERT_TRUE(n.StartNetwork(o, error)) << error;
  }

  static std::string Target(node::Node& n) { return "127.0.0.1:" + std::to_string(n.network()->ListenPort()); }

  static void Generate(node::Node& n, std::uint32_t count) {
    std::vector<crypto::Hash256> hashes;
    std::string error;
    ASSERT_TRUE(n.Generate(count, std::nullopt, hashes, error)) << error;
  }

  static bool SameTip(node::Node& a, node::Node& b) {
    return a.chainstate().Tip()->hash == b.chainstate().Tip()->hash;
  }
};

TEST_F(NetworkTest, LateNodeSyncsHeadersFirstAndFollowsNewBlocks) {
  auto a = StartNode("a");
  Join(*a, Loopback());
  Generate(*a, 120);
  auto b = StartNode("b");
  Join(*b, Loopback({Target(*a)}));
  ASSERT_TRUE(WaitFor([&] { return SameTip(*a, *b); })) << "b at " << b->chainstate().Height();
  EXPECT_EQ(b->chainstate().Height(), 120u);
  // New blocks are announced both ways.
  Generate(*a, 3);
  ASSERT_TRUE(WaitFor([&] { return SameTip(*a, *b); }));
  Generate(*b, 2);
  ASSERT_TRUE(WaitFor([&] { return SameTip(*a, *b); }));
  EXPECT_EQ(a->chainstate().Height(), 125u);
  // The peer list shows the sync state.
  auto peers = b->network()->Peers();
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_TRUE(peers[0].persistent);
  EXPECT_FALSE(peers[0].info.inbound);
  EXPECT_GT(peers[0].blocks_received, 0u);
  EXPECT_EQ(b->network()->Sync().best_header_height, 125u);
}

TEST_F(NetworkTest, TransactionReachesThePeersMempoolAndConfirms) {
  auto a = StartNode("a");
  Join(*a, Loopback());
  Generate(*a, 101);
  auto b = StartNode("b");
  Join(*b, Loopback({Target(*a)}));
  ASSERT_TRUE(WaitFor([&] { return SameTip(*a, *b); }));
  std::string to;
  ASSERT_TRUE(b->wallet()->NewAddress(to).ok());
  crypto::Hash256 txid;
  ASSERT_TRUE(a->wallet()->Send(to, consensus::Coins(2), 0, txid).ok());
  ASSERT_TRUE(WaitFor([&] { return b->mempool().Contains(txid); }));
  Generate(*b, 1);
  ASSERT_TRUE(WaitFor([&] { return SameTip(*a, *b) && !a->mempool().Contains(txid); }));
}

TEST_F(NetworkTest, SyncResumesAfterARestart) {
  auto a = StartNode("a");
  Join(*a, Loopback());
  Generate(*a, 60);
  {
    auto b = StartNode("b");
    Join(*b, Loopback({Target(*a)}));
    ASSERT_TRUE(WaitFor([&] { return b->chainstate().Height() >= 1; }));
    b->Stop();
  }
  Generate(*a, 10);
  auto b = StartNode("b");
  Join(*b, Loopback({Target(*a)}));
  ASSERT_TRUE(WaitFor([&] { return SameTip(*a, *b); }));
  EXPECT_EQ(b->chainstate().Height(), 70u);
}

TEST_F(NetworkTest, PersistentTargetIsRetriedWithBackoffUntilItComesUp) {
  // A port nobody listens on yet: take one, release it, and point b at it.
  auto probe = StartNode("probe");
  Join(*probe, Loopback());
  const std::string target = Target(*probe);
  probe->Stop();
  probe.reset();
  auto b = StartNode("b");
  Join(*b, Loopback({target}));
  ASSERT_TRUE(WaitFor([&] {
    auto added = b->network()->AddedPeers();
    return added.size() == 1 && added[0].failures >= 2;
  })) << "no retries";
  EXPECT_TRUE(b->network()->Peers().empty());
  auto added = b->network()->AddedPeers();
  EXPECT_EQ(added[0].target, target);
  EXPECT_FALSE(added[0].connected);
}

TEST_F(NetworkTest, BansDisconnectPersistAndCanBeLifted) {
  auto a = StartNode("a");
  Join(*a, Loopback());
  auto b = StartNode("b");
  Join(*b, Loopback({Target(*a)}));
  ASSERT_TRUE(WaitFor([&] { return a->network()->Peers().size() == 1; }));
  std::string error;
  EXPECT_FALSE(a->network()->Ban("not-an-address", 0s, "", error));
  EXPECT_FALSE(error.empty());
  ASSERT_TRUE(a->network()->Ban("127.0.0.0/8", 3600s, "testing", error)) << error;
  ASSERT_TRUE(WaitFor([&] { return a->network()->Peers().empty(); }));
  auto bans = a->network()->Bans();
  ASSERT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans[0].subnet.ToString(), "127.0.0.0/8");
  EXPECT_EQ(bans[0].reason, "testing");
  // b keeps trying and is refused at accept.
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(a->network()->Peers().empty());

  // Bans survive a restart.
  a->Stop();
  a.reset();
  a = StartNode("a");
  Join(*a, Loopback());
  ASSERT_EQ(a->network()->Bans().size(), 1u);
  EXPECT_FALSE(a->network()->Unban("10.0.0.0/8", error));
  ASSERT_TRUE(a->network()->Unban("127.0.0.0/8", error)) << error;
  EXPECT_TRUE(a->network()->Bans().empty());
}

TEST_F(NetworkTest, ApiRefusesMalformedTargetsAndUnknownPeers) {
  auto a = StartNode("a");
  Join(*a, Loopback());
  std::string error;
  for (const char* bad : {"", "host", "host:0", "host:70000", ":9733", "1.2.3.4:", "[::1:9733", "a b:1"}) {
    error.clear();
    EXPECT_FALSE(a->network()->AddPeer(bad, true, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  EXPECT_FALSE(a->network()->DisconnectPeer(12345));
  EXPECT_FALSE(a->network()->RemovePeer("127.0.0.1:1"));
  EXPECT_EQ(a->network()->DisconnectAddress("nonsense", error), 0u);
  EXPECT_FALSE(error.empty());
  ASSERT_TRUE(a->network()->AddPeer("127.0.0.1:1", true, error)) << error;
  EXPECT_FALSE(a->network()->AddPeer("127.0.0.1:1", true, error));  // already there
  EXPECT_TRUE(a->network()->RemovePeer("127.0.0.1:1"));
}

TEST_F(NetworkTest, AddressBookIsSavedAndGossiped) {
  auto hub = StartNode("hub");
  Join(*hub, Loopback());
  auto a = StartNode("a");
  Join(*a, Loopback({Target(*hub)}));
  // The hub learns a's listening address from its version.
  ASSERT_TRUE(WaitFor([&] { return hub->network()->AddressBookSize() >= 1; }));
  // c asks the hub for addresses and learns a's.
  auto c = StartNode("c");
  Join(*c, Loopback({Target(*hub)}));
  ASSERT_TRUE(WaitFor([&] { return c->network()->AddressBookSize() >= 1; }));
  // ... and connects to it on its own (an automatic outbound connection).
  ASSERT_TRUE(WaitFor([&] { return c->network()->Peers().size() >= 2; }, 30s));
  hub->Stop();
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "hub" / "peers.dat"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "hub" / "banlist.dat"));
}

}  // namespace
