// The transport and the handshake over real loopback sockets: two ConnMan instances, and a raw
// socket client that sends what a hostile or broken peer would. Every wait is bounded.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/connman.h"
#include "net/protocol.h"
#include "tests/unit/net/net_test_util.h"

namespace wattline::net {
namespace {

using namespace std::chrono_literals;
using test::MainMagic;
using test::RegtestMagic;

/** Polls pred every 5 ms until it holds or the deadline (at most 10 s) passes. */
bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

class Recorder : public PeerHandler {
 public:
  void OnPeerConnected(const PeerInfo& peer) override {
    std::lock_guard lock(m_mutex);
    m_connected.push_back(peer);
  }
  void OnPeerMessage(PeerId peer, Message&& msg) override {
    std::lock_guard lock(m_mutex);
    m_messages.emplace_back(peer, std::move(msg));
  }
  void OnPeerClosed(const ClosedPeer& peer) override {
    std::lock_guard lock(m_mutex);
    m_closed.push_back(peer);
  }
  void OnConnectFailed(const std::string& host, std::uint16_t port, const std::string& why) override {
    std::lock_guard lock(m_mutex);
    m_connect_failures.push_back(host + ":" + std::to_string(port) + " " + why);
  }
  std::vector<std::string> connect_failures() const {
    std::lock_guard lock(m_mutex);
    return m_connect_failures;
  }
  std::vector<PeerInfo> connected() const {
    std::lock_guard lock(m_mutex);
    return m_connected;
  }
  std::vector<std::pair<PeerId, Message>> messages() const {
    std::lock_guard lock(m_mutex);
    return m_messages;
  }
  std::vector<ClosedPeer> closed() const {
    std::lock_guard lock(m_mutex);
    return m_closed;
  }
  /** The first close with this reason, if any. */
  std::optional<ClosedPeer> ClosedWith(std::string_view reason) const {
    std::lock_guard lock(m_mutex);
    for (const auto& c : m_closed) {
      if (c.reason == reason) return c;
    }
    return std::nullopt;
  }

 private:
  mutable std::mutex m_mutex;
  std::vector<PeerInfo> m_connected;
  std::vector<std::pair<PeerId, Message>> m_messages;
  std::vector<ClosedPeer> m_closed;
  std::vector<std::string> m_connect_failures;
};

ConnManOptions TestOptions(const Magic& magic = RegtestMagic()) {
  ConnManOptions o;
  o.magic = magic;
  o.threads = 2;
  o.connection.handshake_timeout = 5s;
  o.connection.idle_timeout = 30s;
  o.connect_timeout = 5s;
  return o;
}

/** A ConnMan with its ban list and recorder, started. */
struct Node {
  explicit Node(ConnManOptions o = TestOptions(), std::uint32_t height = 0)
      : bans(o.magic), connman(o, bans, [height] { return height; }, &recorder) {
    connman.Start();
  }
  std::uint16_t Listen() {
    std::string error;
    const auto port = connman.Listen("127.0.0.1", 0, &error);
    EXPECT_TRUE(port.has_value()) << error;
    EXPECT_NE(port.value_or(0), 0);
    return port.value_or(0);
  }
  bool HasConnectedPeer() const {
    for (const auto& p : connman.Peers()) {
      if (p.connected) return true;
    }
    return false;
  }
  BanList bans;
  Recorder recorder;
  ConnMan connman;
};

/** A plain blocking socket on loopback, with a receive timeout: the peer under our control. */
class RawClient {
 public:
  explicit RawClient(std::uint16_t port, int rcvbuf = 0) {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    timeval tv{};
    tv.tv_sec = 10;
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m_connected = ::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { ::close(m_fd); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return m_connected; }
  bool SendAll(ByteSpan data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(m_fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool SendMessage(const Message& msg, const Magic& magic = RegtestMagic()) {
    return SendAll(EncodeMessage(magic, msg));
  }
  /** Reads and discards until the other side closes (true) or 10 s pass (false). */
  bool WaitClosed() {
    std::array<std::uint8_t, 4096> buf{};
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::recv(m_fd, buf.data(), buf.size(), 0);
      if (n == 0) return true;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;  // reset
    }
    return false;
  }
  /** True if the connection is still open (nothing says it closed within 50 ms). */
  bool StillOpen() {
    std::array<std::uint8_t, 4096> buf{};
    const auto deadline = std::chrono::steady_clock::now() + 50ms;
    while (std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::recv(m_fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n == 0) return false;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
      if (n < 0) std::this_thread::sleep_for(5ms);
    }
    return true;
  }
  /** Sends a valid version and verack: the node then counts us as connected. */
  bool Handshake(std::uint64_t nonce = 0x1234'5678'9abc'def0ULL) {
    VersionMsg v;
    v.protocol_version = kProtocolVersion;
    v.network_magic = RegtestMagic();
    v.best_height = 3;
    v.services = kServiceNetwork;
    v.nonce = nonce;
    v.user_agent = "/raw-test/";
    v.timestamp = 1;
    return SendMessage(v) && SendMessage(VerackMsg{});
  }

 private:
  int m_fd = -1;
  bool m_connected = false;
};

Bytes Header(const Magic& magic, std::string_view command, std::uint32_t length) {
  Bytes h(magic.begin(), magic.end());
  for (std::size_t i = 0; i < kCommandSize; ++i) {
    h.push_back(i < command.size() ? static_cast<std::uint8_t>(command[i]) : 0);
  }
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
  for (int i = 0; i < 4; ++i) h.push_back(0);
  return h;
}

const NetAddress& Loopback() {
  static const NetAddress a = *NetAddress::Parse("127.0.0.1");
  return a;
}

TEST(ConnManTest, HandshakeBothSidesSeeEachOtherWithHeights) {
  Node a(TestOptions(), /*height=*/7);
  Node b(TestOptions(), /*height=*/42);
  const std::uint16_t port = a.Listen();
  ASSERT_TRUE(b.connman.Connect("127.0.0.1", port));
  ASSERT_TRUE(WaitFor([&] { return a.HasConnectedPeer() && b.HasConnectedPeer(); }));

  const auto pa = a.connman.Peers();
  const auto pb = b.connman.Peers();
  ASSERT_EQ(pa.size(), 1u);
  ASSERT_EQ(pb.size(), 1u);
  EXPECT_TRUE(pa[0].inbound);
  EXPECT_FALSE(pb[0].inbound);
  EXPECT_EQ(pa[0].best_height, 42u);  // A learns B's height, and B learns A's
  EXPECT_EQ(pb[0].best_height, 7u);
  EXPECT_EQ(pb[0].address.port, port);
  EXPECT_EQ(pa[0].address.addr, Loopback());
  EXPECT_EQ(pa[0].protocol_version, kProtocolVersion);
  EXPECT_EQ(pa[0].services, kServiceNetwork);
  EXPECT_EQ(pa[0].user_agent, "/wattline:0.1/");
  EXPECT_GT(pa[0].bytes_received, 0u);
  EXPECT_GT(pb[0].bytes_sent, 0u);
  EXPECT_EQ(a.connman.InboundCount(), 1u);
  EXPECT_EQ(b.connman.OutboundCount(), 1u);
  // The handler is told after the peer table changes, outside the lock: wait for it.
  ASSERT_TRUE(WaitFor([&] { return !a.recorder.connected().empty(); }));
  EXPECT_EQ(a.recorder.connected().size(), 1u);

  // Messages past the handshake reach the PeerHandler.
  ASSERT_TRUE(b.connman.Send(pb[0].id, GetAddrMsg{}));
  ASSERT_TRUE(WaitFor([&] { return !a.recorder.messages().empty(); }));
  EXPECT_EQ(CommandOf(a.recorder.messages()[0].second), Command::kGetAddr);
  EXPECT_EQ(a.recorder.messages()[0].first, pa[0].id);

  // Sync updates a peer's height; penalties from the node show in the score.
  a.connman.SetPeerHeight(pa[0].id, 50);
  a.connman.Misbehaving(pa[0].id, PenaltyFor(Offense::kUnrequestedTx));
  EXPECT_EQ(a.connman.Peer(pa[0].id)->best_height, 50u);
  EXPECT_EQ(a.connman.Peer(pa[0].id)->score, PenaltyFor(Offense::kUnrequestedTx).score);

  // A disconnect is seen by both sides; the totals keep the bytes of closed connections.
  b.connman.Disconnect(pb[0].id, "test");
  ASSERT_TRUE(WaitFor([&] { return a.connman.Peers().empty() && b.connman.Peers().empty(); }));
  ASSERT_TRUE(WaitFor([&] { return b.recorder.ClosedWith("test").has_value(); }));
  ASSERT_TRUE(WaitFor([&] { return !a.recorder.closed().empty(); }));
  EXPECT_EQ(a.recorder.closed().at(0).reason, "peer-closed");
  const NetTotals ta = a.connman.Totals();
  const NetTotals tb = b.connman.Totals();
  // A write's bytes count when it completes, and a pong may still be in flight at the close:
  // the two sides' totals need not match to the byte. Each side's totals keep at least what its
  // closed peer had counted while it was open.
  EXPECT_GT(ta.bytes_received, 0u);
  EXPECT_GE(ta.bytes_received, pa[0].bytes_received);
  EXPECT_GE(ta.bytes_sent, pa[0].bytes_sent);
  EXPECT_GE(tb.bytes_sent, pb[0].bytes_sent);
  EXPECT_GE(tb.bytes_received, pb[0].bytes_received);
}

TEST(ConnManTest, PingPongMeasuresLatency) {
  Node a;
  Node b;
  const std::uint16_t port = a.Listen();
  ASSERT_TRUE(b.connman.Connect("127.0.0.1", port));
  // Each side pings when its handshake completes.
  auto has_ping = [](const Node& n) {
    const auto peers = n.connman.Peers();
    return peers.size() == 1 && peers[0].ping.has_value();
  };
  ASSERT_TRUE(WaitFor([&] { return has_ping(a) && has_ping(b); }));
  const PeerInfo p = b.connman.Peers().at(0);
  EXPECT_GE(p.ping->count(), 0);
  EXPECT_LT(*p.ping, 10s);
  EXPECT_EQ(p.min_ping, p.ping);
}

TEST(ConnManTest, PeriodicPings) {
  ConnManOptions o = TestOptions();
  o.ping_interval = 50ms;
  Node a(o);
  Node b;
  const std::uint16_t port = a.Listen();
  ASSERT_TRUE(b.connman.Connect("127.0.0.1", port));
  ASSERT_TRUE(WaitFor([&] { return b.HasConnectedPeer(); }));
  // B answers every ping: its bytes sent keep growing with A's pings.
  const std::uint64_t before = b.connman.Peers().at(0).bytes_sent;
  ASSERT_TRUE(WaitFor([&] { return b.connman.Peers().at(0).bytes_sent >= before + 5 * 32; }));
}

TEST(ConnManTest, SelfConnectionIsDetectedByNonceAndDropped) {
  Node a;
  const std::uint16_t port = a.Listen();
  ASSERT_TRUE(a.connman.Connect("127.0.0.1", port));
  const std::string why(PenaltyFor(Offense::kSelfConnection).why);
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith(why).has_value(); }));
  ASSERT_TRUE(WaitFor([&] { return a.connman.Peers().empty(); }));
  EXPECT_TRUE(a.recorder.connected().empty());
  EXPECT_FALSE(a.bans.IsBanned(Loopback(), 0));  // not an offence worth a ban
  EXPECT_EQ(a.connman.OutboundCount(), 0u);
}

TEST(ConnManTest, WrongFrameMagicDisconnects) {
  Node a;
  Node b(TestOptions(MainMagic()));
  const std::uint16_t port = a.Listen();
  ASSERT_TRUE(b.connman.Connect("127.0.0.1", port));
  const std::string why(FrameErrorName(FrameError::kBadMagic));
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith(why).has_value(); }));
  const ClosedPeer c = *a.recorder.ClosedWith(why);
  EXPECT_FALSE(c.banned);
  EXPECT_EQ(c.info.score, 0);
  EXPECT_FALSE(c.info.connected);
  ASSERT_TRUE(WaitFor([&] { return b.connman.Peers().empty(); }));
  EXPECT_TRUE(b.recorder.connected().empty());
}

TEST(ConnManTest, WrongNetworkInVersionDisconnects) {
  Node a;
  RawClient c(a.Listen());
  ASSERT_TRUE(c.connected());
  VersionMsg v;
  v.protocol_version = kProtocolVersion;
  v.network_magic = MainMagic();  // the frame is ours, the version says another network
  v.nonce = 99;
  ASSERT_TRUE(c.SendMessage(v));
  EXPECT_TRUE(c.WaitClosed());
  const std::string why(PenaltyFor(Offense::kWrongNetwork).why);
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith(why).has_value(); }));
  EXPECT_FALSE(a.recorder.ClosedWith(why)->banned);
}

TEST(ConnManTest, GarbageIsScoredBannedAndTheAddressRefused) {
  Node a;
  const std::uint16_t port = a.Listen();
  {
    RawClient c(port);
    ASSERT_TRUE(c.connected());
    // Our magic, then a command with bytes outside [a-z]: frame-malformed-command (100).
    ASSERT_TRUE(c.SendAll(Header(RegtestMagic(), "GARBAGE!?", 0)));
    EXPECT_TRUE(c.WaitClosed());
  }
  const std::string why(FrameErrorName(FrameError::kMalformedCommand));
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith(why).has_value(); }));
  const ClosedPeer closed = *a.recorder.ClosedWith(why);
  EXPECT_TRUE(closed.banned);
  EXPECT_GE(closed.info.score, kBanThreshold);
  EXPECT_TRUE(a.bans.IsBanned(Loopback(), std::time(nullptr)));
  ASSERT_EQ(a.bans.List(std::time(nullptr)).size(), 1u);
  EXPECT_EQ(a.bans.List(std::time(nullptr))[0].reason, why);

  // The banned address is refused at accept: closed before any byte, never a peer.
  RawClient again(port);
  ASSERT_TRUE(again.connected());
  EXPECT_TRUE(again.WaitClosed());
  EXPECT_EQ(a.connman.InboundCount(), 0u);
  EXPECT_EQ(a.recorder.closed().size(), 1u);
}

TEST(ConnManTest, OversizeFrameHeaderIsRefusedBeforeThePayloadAndBanned) {
  Node a;
  RawClient c(a.Listen());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.SendAll(Header(RegtestMagic(), "ping", 1'000'000)));
  EXPECT_TRUE(c.WaitClosed());
  const std::string why(FrameErrorName(FrameError::kOversize));
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith(why).has_value(); }));
  const ClosedPeer closed = *a.recorder.ClosedWith(why);
  EXPECT_TRUE(closed.banned);
  EXPECT_GE(closed.info.score, kBanThreshold);
  EXPECT_EQ(closed.info.bytes_received, kFrameHeaderSize);  // the header alone was enough
}

TEST(ConnManTest, BadChecksumDisconnectsAndScoresWithoutBan) {
  Node a;
  RawClient c(a.Listen());
  ASSERT_TRUE(c.connected());
  Bytes frame = EncodeMessage(RegtestMagic(), PingMsg{7});
  frame.back() ^= 1;
  ASSERT_TRUE(c.SendAll(frame));
  EXPECT_TRUE(c.WaitClosed());
  const std::string why(FrameErrorName(FrameError::kBadChecksum));
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith(why).has_value(); }));
  const ClosedPeer closed = *a.recorder.ClosedWith(why);
  EXPECT_FALSE(closed.banned);
  EXPECT_EQ(closed.info.score, PenaltyFor(FrameError::kBadChecksum).score);
}

TEST(ConnManTest, MessagesBeforeTheHandshakeAreScored) {
  Node a;
  RawClient c(a.Listen());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.SendMessage(GetAddrMsg{}));  // 10 x 10 = ban
  EXPECT_TRUE(c.WaitClosed());
  const std::string why(PenaltyFor(Offense::kBeforeHandshake).why);
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith(why).has_value(); }));
  EXPECT_TRUE(a.recorder.ClosedWith(why)->banned);
  EXPECT_TRUE(a.recorder.messages().empty());
}

TEST(ConnManTest, MessageErrorsAndOffencesRaiseTheScore) {
  Node a;
  const std::uint16_t port = a.Listen();
  {
    // A second version costs 10 and keeps the peer.
    RawClient c(port);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Handshake());
    ASSERT_TRUE(WaitFor([&] { return a.HasConnectedPeer(); }));
    ASSERT_TRUE(c.Handshake(/*nonce=*/77));
    const int dup = PenaltyFor(Offense::kDuplicateVersion).score;
    ASSERT_TRUE(WaitFor([&] {
      const auto peers = a.connman.Peers();
      return peers.size() == 1 && peers[0].score == dup;
    }));
    EXPECT_TRUE(c.StillOpen());
  }
  ASSERT_TRUE(WaitFor([&] { return a.connman.Peers().empty(); }));
  // A frame that is fine but whose payload is not a version message: msg-bad-protobuf (100).
  RawClient c(port);
  ASSERT_TRUE(c.connected());
  const Bytes junk{0xff, 0xff, 0xff};
  ASSERT_TRUE(c.SendAll(EncodeFrame(RegtestMagic(), Command::kVersion, junk)));
  EXPECT_TRUE(c.WaitClosed());
  const std::string why(MessageErrorName(MessageError::kBadProtobuf));
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith(why).has_value(); }));
  EXPECT_TRUE(a.recorder.ClosedWith(why)->banned);
  EXPECT_TRUE(a.bans.IsBanned(Loopback(), std::time(nullptr)));
}

TEST(ConnManTest, PingFloodIsScored) {
  Node a;
  RawClient c(a.Listen());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(WaitFor([&] { return a.HasConnectedPeer(); }));
  // 20 pings in the window are fine; the next ten cost 10 each and reach the ban threshold.
  for (std::uint64_t i = 0; i < 30; ++i) ASSERT_TRUE(c.SendAll(EncodeMessage(RegtestMagic(), PingMsg{i})));
  const std::string why(PenaltyFor(Offense::kPingFlood).why);
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith(why).has_value(); }));
  EXPECT_TRUE(a.recorder.ClosedWith(why)->banned);
}

TEST(ConnManTest, HandshakeTimeoutDropsASilentPeer) {
  ConnManOptions o = TestOptions();
  o.connection.handshake_timeout = 300ms;
  Node a(o);
  RawClient c(a.Listen());
  ASSERT_TRUE(c.connected());
  EXPECT_TRUE(c.WaitClosed());
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith("handshake-timeout").has_value(); }));
  EXPECT_TRUE(a.connman.Peers().empty());
  EXPECT_FALSE(a.bans.IsBanned(Loopback(), std::time(nullptr)));
}

TEST(ConnManTest, IdleTimeoutDropsAPeerThatFallsSilent) {
  ConnManOptions o = TestOptions();
  o.connection.idle_timeout = 300ms;
  Node a(o);
  RawClient c(a.Listen());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(WaitFor([&] { return a.HasConnectedPeer() || !a.recorder.closed().empty(); }));
  EXPECT_TRUE(c.WaitClosed());  // never answers the ping
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith("idle-timeout").has_value(); }));
}

TEST(ConnManTest, InboundLimitIsEnforced) {
  ConnManOptions o = TestOptions();
  o.max_inbound = 1;
  Node a(o);
  const std::uint16_t port = a.Listen();
  RawClient first(port);
  ASSERT_TRUE(first.connected());
  ASSERT_TRUE(WaitFor([&] { return a.connman.InboundCount() == 1; }));
  RawClient second(port);
  ASSERT_TRUE(second.connected());  // the kernel accepts; the node closes it at once
  EXPECT_TRUE(second.WaitClosed());
  EXPECT_EQ(a.connman.InboundCount(), 1u);
  EXPECT_TRUE(first.StillOpen());
  EXPECT_TRUE(a.recorder.closed().empty());  // refused before it became a peer
}

TEST(ConnManTest, OutboundLimitIsEnforced) {
  ConnManOptions o = TestOptions();
  o.max_outbound = 1;
  Node a(o);
  Node b;
  const std::uint16_t port = b.Listen();
  ASSERT_TRUE(a.connman.Connect("127.0.0.1", port));
  EXPECT_FALSE(a.connman.Connect("127.0.0.1", port));
  ASSERT_TRUE(WaitFor([&] { return a.HasConnectedPeer(); }));
  EXPECT_FALSE(a.connman.Connect("127.0.0.1", port));
  EXPECT_EQ(a.connman.OutboundCount(), 1u);
}

TEST(ConnManTest, FailedConnectIsReportedAndFreesTheSlot) {
  ConnManOptions o = TestOptions();
  o.max_outbound = 1;
  Node a(o);
  std::uint16_t closed_port = 0;
  {
    Node b;
    closed_port = b.Listen();
  }  // b is gone: nobody listens on closed_port now
  ASSERT_TRUE(a.connman.Connect("127.0.0.1", closed_port));
  ASSERT_TRUE(WaitFor([&] { return !a.recorder.connect_failures().empty(); }));
  EXPECT_EQ(a.recorder.connect_failures()[0].rfind("127.0.0.1:" + std::to_string(closed_port) + " connect:", 0), 0u)
      << a.recorder.connect_failures()[0];
  ASSERT_TRUE(WaitFor([&] { return a.connman.OutboundCount() == 0; }));
  EXPECT_TRUE(a.connman.Connect("127.0.0.1", closed_port));  // the slot is free again
}

TEST(ConnManTest, OutboundToABannedAddressIsRefused) {
  Node a;
  Node b;
  const std::uint16_t port = b.Listen();
  a.bans.Ban(Loopback(), std::time(nullptr), std::time(nullptr) + 3600, "test");
  ASSERT_TRUE(a.connman.Connect("127.0.0.1", port));
  ASSERT_TRUE(WaitFor([&] { return !a.recorder.connect_failures().empty(); }));
  EXPECT_NE(a.recorder.connect_failures()[0].find("banned"), std::string::npos);
  EXPECT_TRUE(a.connman.Peers().empty());
}

TEST(ConnManTest, APeerThatNeverReadsCannotGrowTheSendQueuePastTheBound) {
  ConnManOptions o = TestOptions();
  o.connection.max_send_queue_bytes = 256 * 1024;
  Node a(o);
  RawClient c(a.Listen(), /*rcvbuf=*/4096);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(WaitFor([&] { return a.HasConnectedPeer(); }));
  const PeerId id = a.connman.Peers().at(0).id;

  InvMsg inv;
  for (std::uint32_t i = 0; i < 2000; ++i) {  // about 76 kB a message
    InvItem item;
    item.type = InvType::kTx;
    item.hash.bytes[0] = static_cast<std::uint8_t>(i);
    item.hash.bytes[1] = static_cast<std::uint8_t>(i >> 8);
    inv.items.push_back(item);
  }
  // The client reads nothing: once the kernel buffers are full the queue fills, and the Send
  // that would pass the bound disconnects the peer instead of buffering.
  bool refused = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    refused = !a.connman.Send(id, inv);
    if (const auto p = a.connman.Peer(id)) EXPECT_LE(p->send_queue_bytes, o.connection.max_send_queue_bytes);
  }
  ASSERT_TRUE(refused);
  ASSERT_TRUE(WaitFor([&] { return a.recorder.ClosedWith("send-queue-full").has_value(); }));
  const ClosedPeer closed = *a.recorder.ClosedWith("send-queue-full");
  EXPECT_LE(closed.info.peak_send_queue_bytes, o.connection.max_send_queue_bytes);
  EXPECT_GT(closed.info.peak_send_queue_bytes, o.connection.max_send_queue_bytes / 2);
  EXPECT_TRUE(a.connman.Peers().empty());
}

TEST(ConnManTest, ListenReportsErrorsAndStopIsIdempotent) {
  Node a;
  std::string error;
  EXPECT_FALSE(a.connman.Listen("not-an-ip", 0, &error).has_value());
  EXPECT_FALSE(error.empty());
  const std::uint16_t port = a.Listen();
  EXPECT_FALSE(a.connman.Listen("127.0.0.1", port, &error).has_value());  // in use
  a.connman.Stop();
  a.connman.Stop();
  EXPECT_FALSE(a.connman.Connect("127.0.0.1", port));
}

}  // namespace
}  // namespace wattline::net

namespace wattline::net {
namespace {

TEST(PermissionsTest, ParsesWhitelistEntriesAndNamesEveryError) {
  std::string why;
  auto e = ParseWhitelist("127.0.0.1", why);
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(e->flags, static_cast<std::uint32_t>(kPermWhitelistDefault));
  EXPECT_TRUE(e->subnet.Contains(Loopback()));
  e = ParseWhitelist("relay,download@10.0.0.0/8", why);
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(e->flags, static_cast<std::uint32_t>(kPermRelay | kPermDownload));
  EXPECT_TRUE(e->subnet.Contains(*NetAddress::Parse("10.9.8.7")));
  EXPECT_FALSE(e->subnet.Contains(Loopback()));
  e = ParseWhitelist("all@::1", why);
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(PermissionNames(e->flags), "noban,relay,download");
  EXPECT_FALSE(ParseWhitelist("bogus@1.2.3.4", why));
  EXPECT_NE(why.find("unknown permission 'bogus'"), std::string::npos) << why;
  EXPECT_FALSE(ParseWhitelist("manual@1.2.3.4", why));  // only the node grants manual
  EXPECT_FALSE(ParseWhitelist("@1.2.3.4", why));
  EXPECT_FALSE(ParseWhitelist("noban@", why));
  EXPECT_FALSE(ParseWhitelist("noban@not-an-address", why));
  EXPECT_NE(why.find("not an address or a subnet"), std::string::npos) << why;
  const std::vector<WhitelistEntry> list = {*ParseWhitelist("noban@127.0.0.0/8", why),
                                            *ParseWhitelist("relay@127.0.0.1", why)};
  EXPECT_EQ(WhitelistedPermissions(list, Loopback()), static_cast<std::uint32_t>(kPermNoBan | kPermRelay));
  EXPECT_EQ(WhitelistedPermissions(list, *NetAddress::Parse("10.0.0.1")), static_cast<std::uint32_t>(kPermNone));
}

TEST(ConnManTest, ANobanPeerIsScoredButNeitherDisconnectedNorBanned) {
  std::string why;
  ConnManOptions o = TestOptions();
  o.whitelist.push_back(*ParseWhitelist("noban@127.0.0.1", why));
  Node a(o);
  const std::uint16_t port = a.Listen();
  a.bans.Ban(Loopback(), std::time(nullptr), std::time(nullptr) + 3600, "operator");  // noban gets in anyway
  RawClient c(port);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(WaitFor([&] { return a.HasConnectedPeer(); }));
  // A message that would ban anyone else at once (msg-bad-protobuf, 100), twice.
  const Bytes junk{0xff, 0xff, 0xff};
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(c.SendAll(EncodeFrame(RegtestMagic(), Command::kPing, junk)));
  ASSERT_TRUE(WaitFor([&] {
    const auto peers = a.connman.Peers();
    return peers.size() == 1 && peers[0].score >= 200;
  }));
  EXPECT_TRUE(c.StillOpen());
  EXPECT_EQ(a.connman.Peers().at(0).permissions, static_cast<std::uint32_t>(kPermNoBan));
  EXPECT_EQ(a.bans.List(std::time(nullptr)).size(), 1u);  // only the operator's ban
  // A manual connection (one the operator named) is spared as well, and may reach a banned address.
  Node b;
  const std::uint16_t bport = b.Listen();
  Node d;
  d.bans.Ban(Loopback(), std::time(nullptr), std::time(nullptr) + 3600, "operator");
  ASSERT_TRUE(d.connman.Connect("127.0.0.1", bport, /*manual=*/true));
  ASSERT_TRUE(WaitFor([&] { return d.HasConnectedPeer(); }));
  const PeerId manual = d.connman.Peers().at(0).id;
  EXPECT_EQ(d.connman.Peers().at(0).permissions, static_cast<std::uint32_t>(kPermManual));
  d.connman.Misbehaving(manual, PenaltyFor(Offense::kHeadersNotChained));  // 100, disconnect
  EXPECT_TRUE(d.connman.Peer(manual).has_value());
  EXPECT_EQ(d.connman.Peer(manual)->score, 100);
  // A self-connection is no punishment: it still ends, noban or not.
  Node self(o);
  const std::uint16_t sport = self.Listen();
  ASSERT_TRUE(self.connman.Connect("127.0.0.1", sport, /*manual=*/true));
  ASSERT_TRUE(WaitFor([&] { return self.recorder.ClosedWith(std::string(PenaltyFor(Offense::kSelfConnection).why)).has_value(); }));
}

TEST(ConnManTest, AWhitebindListenerGrantsItsPermissions) {
  Node a;
  std::string error;
  const auto port = a.connman.Listen("127.0.0.1", 0, &error, kPermNoBan | kPermDownload);
  ASSERT_TRUE(port) << error;
  RawClient c(*port);
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(WaitFor([&] { return a.HasConnectedPeer(); }));
  EXPECT_EQ(PermissionNames(a.connman.Peers().at(0).permissions), "noban,download");
}

}  // namespace
}  // namespace wattline::net
