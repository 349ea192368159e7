// The connection manager: listeners, outbound connections, the handshake, ping/pong, scores.
#include "net/connman.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "crypto/random.h"
#include "net/protocol.h"

namespace wattline::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

std::uint64_t RandomNonce() {
  std::array<std::uint8_t, 8> b{};
  crypto::GetRandomBytes(b);
  std::uint64_t v = 0;
  for (std::uint8_t x : b) v = (v << 8) | x;
  return v;
}

}  // namespace

namespace {
constexpr auto kPingWindow = std::chrono::seconds(10);
constexpr std::uint32_t kMaxPingsPerWindow = 20;
}  // namespace

struct ConnMan::PeerState {
  PeerId id = 0;
  std::shared_ptr<Connection> conn;
  bool inbound = false;
  bool version_sent = false;
  bool version_received = false;
  bool verack_received = false;
  bool connected = false;
  bool banned = false;  //!< the close banned its address
  std::uint64_t our_nonce = 0;
  std::uint32_t protocol_version = 0;
  std::uint64_t services = 0;
  std::string user_agent;
  std::uint32_t best_height = 0;
  std::uint16_t listen_port = 0;
  MisbehaviorScore score;
  std::chrono::steady_clock::time_point ping_window_start{};
  std::uint32_t pings_in_window = 0;
  std::optional<std::uint64_t> ping_nonce;  //!< the ping awaiting its pong
  std::chrono::steady_clock::time_point ping_sent;
  std::optional<std::chrono::microseconds> ping;
  std::optional<std::chrono::microseconds> min_ping;
  std::uint32_t permissions = kPermNone;
};

ConnMan::ConnMan(ConnManOptions options, BanList& bans, std::function<std::uint32_t()> best_height,
                 PeerHandler* handler)
    : m_options(std::move(options)),
      m_bans(bans),
      m_best_height(std::move(best_height)),
      m_handler(handler),
      m_ping_timer(asio::make_strand(m_io)) {}

ConnMan::~ConnMan() { Stop(); }

std::int64_t ConnMan::Now() const {
  if (m_options.now) return m_options.now();
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ConnMan::Start() {
  std::lock_guard lock(m_mutex);
  if (m_started || m_stopped) return;
  m_started = true;
  m_work.emplace(m_io.get_executor());
  const std::size_t n = m_options.threads == 0 ? 1 : m_options.threads;
  for (std::size_t i = 0; i < n; ++i) m_threads.emplace_back([this] { m_io.run(); });
  asio::post(m_ping_timer.get_executor(), [this] { ArmPingTimer(); });
}

void ConnMan::Stop() {
  std::vector<std::shared_ptr<Connection>> conns;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopped) return;
    m_stopped = true;
    for (auto& [id, p] : m_peers) conns.push_back(p->conn);
    acceptors = m_acceptors;
  }
  for (auto& a : acceptors) {
    asio::post(a->get_executor(), [a] {
      error_code ec;
      a->close(ec);
    });
  }
  asio::post(m_ping_timer.get_executor(), [this] { m_ping_timer.cancel(); });
  for (auto& c : conns) c->Close("shutdown");
  if (!m_threads.empty()) {
    // Let the closes run (and reach the PeerHandler), within a bound.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{2};
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(m_mutex);
        if (m_peers.empty() && m_pending_outbound == 0) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
  }
  m_work.reset();
  m_io.stop();
  for (auto& t : m_threads) t.join();
  m_threads.clear();
  std::lock_guard lock(m_mutex);
  m_peers.clear();
  m_acceptors.clear();
}

std::optional<std::uint16_t> ConnMan::Listen(const std::string& host, std::uint16_t port, std::string* error,
                                             std::uint32_t permissions) {
  error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    if (error) *error = "bad listen address " + host + ": " + ec.message();
    return std::nullopt;
  }
  auto acceptor = std::make_shared<tcp::acceptor>(asio::make_strand(m_io));
  const tcp::endpoint ep(addr, port);
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    if (error) *error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
    return std::nullopt;
  }
  const std::uint16_t bound = acceptor->local_endpoint(ec).port();
  {
    std::lock_guard lock(m_mutex);
    if (m_stopped) {
      if (error) *error = "stopped";
      return std::nullopt;
    }
    m_acceptors.push_back(acceptor);
    if (m_listen_port == 0) m_listen_port = bound;
  }
  asio::post(acceptor->get_executor(), [this, acceptor, permissions] { AcceptLoop(acceptor, permissions); });
  return bound;
}

void ConnMan::AcceptLoop(std::shared_ptr<tcp::acceptor> acceptor, std::uint32_t permissions) {
  acceptor->async_accept(asio::make_strand(m_io), [this, acceptor, permissions](const error_code& ec, auto peer_socket) {
    if (!acceptor->is_open()) return;
    if (!ec) {
      tcp::socket socket(std::move(peer_socket));
      error_code ec2;
      const auto ep = socket.remote_endpoint(ec2);
      bool refuse = static_cast<bool>(ec2);
      std::uint32_t perms = permissions;
      if (!refuse) perms |= WhitelistedPermissions(m_options.whitelist, FromAsio(ep.address()));
      // A noban peer is let in even when its address is banned (as the operator granted it).
      if (!refuse && !(perms & kPermNoBan) && m_bans.IsBanned(FromAsio(ep.address()), Now())) refuse = true;
      if (!refuse && InboundCount() >= m_options.max_inbound) refuse = true;  // full
      if (refuse) {
        socket.close(ec2);
      } else {
        AddPeer(std::move(socket), /*inbound=*/true, perms);
      }
    } else if (ec != asio::error::operation_aborted) {
      // Out of file descriptors or similar: wait a little rather than spin on the error.
      auto timer = std::make_shared<asio::steady_timer>(acceptor->get_executor(), std::chrono::milliseconds{100});
      timer->async_wait([this, acceptor, timer, permissions](const error_code&) {
        if (acceptor->is_open()) AcceptLoop(acceptor, permissions);
      });
      return;
    }
    AcceptLoop(acceptor, permissions);
  });
}

bool ConnMan::Connect(const std::string& host, std::uint16_t port, bool manual) {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopped || !m_started) return false;
    std::size_t outbound = m_pending_outbound;
    for (const auto& [id, p] : m_peers) outbound += p->inbound ? 0 : 1;
    if (outbound >= m_options.max_outbound) return false;
    ++m_pending_outbound;
  }
  // Resolver, socket and timer share one strand, so the timeout's close never races the connect.
  auto strand = asio::make_strand(m_io);
  auto resolver = std::make_shared<tcp::resolver>(strand);
  auto socket = std::make_shared<tcp::socket>(strand);
  auto timer = std::make_shared<asio::steady_timer>(strand);
  auto done = std::make_shared<bool>(false);
  auto fail = [this, done, host, port](const std::string& why) {
    if (*done) return;
    *done = true;
    {
      std::lock_guard lock(m_mutex);
      --m_pending_outbound;
    }
    if (m_handler) m_handler->OnConnectFailed(host, port, why);
  };
  asio::post(strand, [=, this] {
    timer->expires_after(m_options.connect_timeout);
    timer->async_wait([=](const error_code& ec) {
      if (ec) return;
      resolver->cancel();
      error_code ignored;
      socket->close(ignored);
    });
    resolver->async_resolve(
        host, std::to_string(port), [=, this](const error_code& ec, tcp::resolver::results_type results) {
          if (ec) {
            timer->cancel();
            fail("resolve: " + ec.message());
            return;
          }
          asio::async_connect(*socket, results, [=, this](const error_code& ec2, const tcp::endpoint& ep) {
            timer->cancel();
            if (ec2) {
              fail("connect: " + ec2.message());
              return;
            }
            if (!manual && m_bans.IsBanned(FromAsio(ep.address()), Now())) {
              fail("banned");
              return;
            }
            *done = true;
            AddPeer(std::move(*socket), /*inbound=*/false, manual ? kPermManual : kPermNone);
          });
        });
  });
  return true;
}

void ConnMan::AddPeer(tcp::socket socket, bool inbound, std::uint32_t permissions) {
  auto conn = std::make_shared<Connection>(std::move(socket), m_options.magic, m_options.connection);
  PeerId id = 0;
  {
    std::lock_guard lock(m_mutex);
    if (!inbound) --m_pending_outbound;
    if (m_stopped) return;  // the socket closes with conn
    id = m_next_id++;
    auto p = std::make_unique<PeerState>();
    p->id = id;
    p->conn = conn;
    p->inbound = inbound;
    p->permissions = permissions;
    PeerState& peer = *p;
    m_peers.emplace(id, std::move(p));
    conn->Start([this, id](Frame&& f) { OnFrame(id, std::move(f)); },
                [this, id](FrameError e, const std::string& detail) { OnFrameError(id, e, detail); },
                [this, id](const std::string& reason) { OnClosed(id, reason); });
    if (!inbound) SendOn(conn, MakeVersionLocked(peer));  // the connector speaks first
  }
}

VersionMsg ConnMan::MakeVersionLocked(PeerState& peer) {
  VersionMsg v;
  v.protocol_version = kProtocolVersion;
  v.network_magic = m_options.magic;
  v.best_height = m_best_height ? m_best_height() : 0;
  v.services = m_options.services;
  do {
    peer.our_nonce = RandomNonce();
  } while (peer.our_nonce == 0 || m_handshake_nonces.count(peer.our_nonce) != 0);
  v.nonce = peer.our_nonce;
  m_handshake_nonces.insert(peer.our_nonce);
  v.user_agent = m_options.user_agent;
  v.timestamp = Now();
  v.listen_port = m_listen_port;
  peer.version_sent = true;
  return v;
}

bool ConnMan::SendOn(const std::shared_ptr<Connection>& conn, const Message& msg) {
  return conn->Send(EncodeMessage(m_options.magic, msg));
}

void ConnMan::OnFrame(PeerId id, Frame&& frame) {
  Message msg;
  const DecodeResult decoded = DecodeMessage(frame.command, frame.payload, msg);
  if (!decoded.ok()) {
    Punish(id, PenaltyFor(decoded.error));
    return;
  }
  std::optional<PeerInfo> connected_info;
  bool deliver = false;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(id);
    if (it == m_peers.end()) return;
    PeerState& p = *it->second;
    std::optional<Penalty> penalty;
    switch (CommandOf(msg)) {
      case Command::kVersion: {
        const auto& v = std::get<VersionMsg>(msg);
        if (p.version_received) {
          penalty = PenaltyFor(Offense::kDuplicateVersion);
        } else if (v.network_magic != m_options.magic) {
          penalty = PenaltyFor(Offense::kWrongNetwork);
        } else if (v.protocol_version < kMinProtocolVersion) {
          penalty = PenaltyFor(Offense::kObsoleteVersion);
        } else if (m_handshake_nonces.count(v.nonce) != 0) {
          penalty = PenaltyFor(Offense::kSelfConnection);  // our own nonce came back
          // Close the connection that sent it too, so that its side (the one that dialled our
          // own address) learns the address is ours.
          for (auto& [other_id, other] : m_peers)
            if (other_id != id && other->our_nonce == v.nonce && !other->inbound)
              other->conn->Close(std::string(PenaltyFor(Offense::kSelfConnection).why));
        } else {
          p.version_received = true;
          p.protocol_version = v.protocol_version;
          p.services = v.services;
          p.user_agent = v.user_agent;
          p.best_height = v.best_height;
          p.listen_port = v.listen_port;
          if (!p.version_sent) SendOn(p.conn, MakeVersionLocked(p));
          SendOn(p.conn, VerackMsg{});
        }
        break;
      }
      case Command::kVerack:
        if (!p.version_sent || p.verack_received) {
          penalty = PenaltyFor(Offense::kBeforeHandshake);
        } else {
          p.verack_received = true;
        }
        break;
      default:
        if (!p.connected) {
          penalty = PenaltyFor(Offense::kBeforeHandshake);
        } else if (const auto* ping = std::get_if<PingMsg>(&msg)) {
          // An honest peer pings every few minutes: more than kMaxPingsPerWindow in a window is
          // a flood (answered anyway, scored).
          const auto now = std::chrono::steady_clock::now();
          if (now - p.ping_window_start > kPingWindow) {
            p.ping_window_start = now;
            p.pings_in_window = 0;
          }
          if (++p.pings_in_window > kMaxPingsPerWindow) penalty = PenaltyFor(Offense::kPingFlood);
          SendOn(p.conn, PongMsg{ping->nonce});
        } else if (const auto* pong = std::get_if<PongMsg>(&msg)) {
          if (p.ping_nonce && *p.ping_nonce == pong->nonce) {
            const auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - p.ping_sent);
            p.ping = rtt;
            if (!p.min_ping || rtt < *p.min_ping) p.min_ping = rtt;
            p.ping_nonce.reset();
          }  // an unsolicited or stale pong is harmless
        } else {
          deliver = true;
        }
        break;
    }
    if (!p.connected && p.version_received && p.verack_received && p.version_sent && !penalty) {
      p.connected = true;
      m_handshake_nonces.erase(p.our_nonce);
      p.conn->MarkHandshakeDone();
      p.ping_nonce = RandomNonce();
      p.ping_sent = std::chrono::steady_clock::now();
      SendOn(p.conn, PingMsg{*p.ping_nonce});
      connected_info = InfoLocked(p);
    }
    if (penalty) {
      const CloseOutcome out = PunishLocked(p, *penalty);
      if (out.disconnect) p.conn->Close(std::string(penalty->why));
      return;
    }
  }
  if (m_handler == nullptr) return;
  if (connected_info) m_handler->OnPeerConnected(*connected_info);
  if (deliver) m_handler->OnPeerMessage(id, std::move(msg));
}

void ConnMan::OnFrameError(PeerId id, FrameError err, const std::string& /*detail*/) {
  Punish(id, PenaltyFor(err));  // the connection closes itself after this
}

ConnMan::CloseOutcome ConnMan::PunishLocked(PeerState& peer, const Penalty& penalty) {
  CloseOutcome out;
  if (IsUnpunishable(peer.permissions)) {
    // Scored, so that the operator sees it in the peer list; never disconnected or banned for
    // it. A score-0 disconnect is no punishment but a fact (ourselves, another network, an
    // obsolete version): that connection cannot go on whoever it is.
    peer.score.Add(penalty);
    out.disconnect = penalty.disconnect && penalty.score == 0;
    return out;
  }
  out.disconnect = penalty.disconnect;
  if (penalty.score > 0 && peer.score.Add(penalty)) {
    const std::int64_t now = Now();
    m_bans.Ban(peer.conn->remote().addr, now, now + m_options.ban_duration.count(), std::string(penalty.why));
    peer.banned = true;
    out.banned = true;
    out.disconnect = true;
  }
  if (peer.score.ShouldBan()) out.disconnect = true;
  return out;
}

void ConnMan::Punish(PeerId id, const Penalty& penalty) {
  std::lock_guard lock(m_mutex);
  auto it = m_peers.find(id);
  if (it == m_peers.end()) return;
  const CloseOutcome out = PunishLocked(*it->second, penalty);
  if (out.disconnect) it->second->conn->Close(std::string(penalty.why));
}

void ConnMan::Misbehaving(PeerId peer, const Penalty& penalty) { Punish(peer, penalty); }

void ConnMan::SetPeerHeight(PeerId peer, std::uint32_t height) {
  std::lock_guard lock(m_mutex);
  auto it = m_peers.find(peer);
  if (it != m_peers.end()) it->second->best_height = height;
}

void ConnMan::OnClosed(PeerId id, const std::string& reason) {
  ClosedPeer closed;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(id);
    if (it == m_peers.end()) return;
    PeerState& p = *it->second;
    if (p.our_nonce != 0 && !p.connected) m_handshake_nonces.erase(p.our_nonce);
    closed.info = InfoLocked(p);
    closed.reason = reason;
    closed.banned = p.banned;
    m_closed_totals.bytes_sent += closed.info.bytes_sent;
    m_closed_totals.bytes_received += closed.info.bytes_received;
    m_peers.erase(it);
  }
  if (m_handler) m_handler->OnPeerClosed(closed);
}

bool ConnMan::Send(PeerId peer, const Message& msg) {
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end() || !it->second->connected) return false;
    conn = it->second->conn;
  }
  return SendOn(conn, msg);
}

void ConnMan::Disconnect(PeerId peer, const std::string& reason) {
  std::lock_guard lock(m_mutex);
  auto it = m_peers.find(peer);
  if (it != m_peers.end()) it->second->conn->Close(reason);
}

void ConnMan::ArmPingTimer() {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopped) return;
  }
  m_ping_timer.expires_after(m_options.ping_interval);
  m_ping_timer.async_wait([this](const error_code& ec) {
    if (ec) return;
    SendPings();
    ArmPingTimer();
  });
}

void ConnMan::SendPings() {
  std::lock_guard lock(m_mutex);
  for (auto& [id, p] : m_peers) {
    if (!p->connected) continue;
    // A ping still unanswered is replaced: the idle timeout drops a peer that never answers.
    p->ping_nonce = RandomNonce();
    p->ping_sent = std::chrono::steady_clock::now();
    SendOn(p->conn, PingMsg{*p->ping_nonce});
  }
}

PeerInfo ConnMan::InfoLocked(const PeerState& p) const {
  PeerInfo i;
  i.id = p.id;
  i.address = p.conn->remote();
  i.inbound = p.inbound;
  i.connected = p.connected;
  i.protocol_version = p.protocol_version;
  i.services = p.services;
  i.user_agent = p.user_agent;
  i.best_height = p.best_height;
  i.listen_port = p.listen_port;
  i.ping = p.ping;
  i.min_ping = p.min_ping;
  i.score = p.score.score();
  i.permissions = p.permissions;
  i.bytes_sent = p.conn->bytes_sent();
  i.bytes_received = p.conn->bytes_received();
  i.send_queue_bytes = p.conn->send_queue_bytes();
  i.peak_send_queue_bytes = p.conn->peak_send_queue_bytes();
  return i;
}

std::vector<PeerInfo> ConnMan::Peers() const {
  std::lock_guard lock(m_mutex);
  std::vector<PeerInfo> out;
  out.reserve(m_peers.size());
  for (const auto& [id, p] : m_peers) out.push_back(InfoLocked(*p));
  return out;
}

std::optional<PeerInfo> ConnMan::Peer(PeerId peer) const {
  std::lock_guard lock(m_mutex);
  auto it = m_peers.find(peer);
  if (it == m_peers.end()) return std::nullopt;
  return InfoLocked(*it->second);
}

std::size_t ConnMan::InboundCount() const {
  std::lock_guard lock(m_mutex);
  std::size_t n = 0;
  for (const auto& [id, p] : m_peers) n += p->inbound ? 1 : 0;
  return n;
}

std::size_t ConnMan::OutboundCount() const {
  std::lock_guard lock(m_mutex);
  std::size_t n = m_pending_outbound;
  for (const auto& [id, p] : m_peers) n += p->inbound ? 0 : 1;
  return n;
}

NetTotals ConnMan::Totals() const {
  std::lock_guard lock(m_mutex);
  NetTotals t = m_closed_totals;
  for (const auto& [id, p] : m_peers) {
    t.bytes_sent += p->conn->bytes_sent();
    t.bytes_received += p->conn->bytes_received();
  }
  return t;
}

}  // namespace wattline::net
