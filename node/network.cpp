#include "node/network.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <condition_variable>
#include <mutex>
#include <map>
#include <set>
#include <thread>

#include "ledger/chainstate.h"
#include "channels/messages.h"
#include "net/addrman.h"
#include "net/misbehavior.h"
#include "node/channels.h"
#include "node/logging.h"
#include "node/node.h"
#include "node/peer_manager.h"

namespace wattline::node {

namespace {

auto NetLog() { return Log(Category::kNet); }

using Clock = std::chrono::steady_clock;

constexpr auto kSaveInterval = std::chrono::seconds(60);
// A connection that ends sooner than this counts as a failure for the backoff.
constexpr auto kStableConnection = std::chrono::seconds(60);
constexpr int kMaxSelectTries = 20;
constexpr auto kAutoRetryInterval = std::chrono::seconds(30);

std::optional<net::Service> Resolve(const std::string& host, std::uint16_t port, std::string& error) {
  if (auto addr = net::NetAddress::Parse(host)) return net::Service{*addr, port};
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port));
    for (const auto& r : results) {
      const auto ip = r.endpoint().address();
      std::optional<net::NetAddress> addr = net::NetAddress::Parse(ip.to_string());
      if (addr) return net::Service{*addr, port};
    }
    error = "no address for " + host;
  } catch (const std::exception& e) {
    error = "cannot resolve " + host + ": " + e.what();
  }
  return std::nullopt;
}

}  // namespace

bool SplitTarget(const std::string& target, std::string& host, std::uint16_t& port) {
  const auto colon = target.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == target.size()) return false;
  std::string h = target.substr(0, colon);
  const std::string p = target.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  const long value = std::stol(p);
  if (value < 1 || value > 65535) return false;
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
    if (!net::NetAddress::Parse(h)) return false;
  } else if (h.find_first_of(" /\\[]:") != std::string::npos) {
    return false;
  }
  host = h;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool ValidTarget(const std::string& target) {
  std::string host;
  std::uint16_t port = 0;
  return SplitTarget(target, host, port);
}

class Network::Impl : public net::PeerHandler {
 public:
  Impl(Node& node, NetworkOptions options)
      : m_node(node),
        m_options(std::move(options)),
        m_bans(node.params().magic),
        m_addrman(node.params().magic),
        m_peers_path(node_datadir(node) / "peers.dat"),
        m_bans_path(node_datadir(node) / "banlist.dat") {}

  static std::filesystem::path node_datadir(Node& node) { return node.datadir(); }

  bool Start(std::string& error) {
    const std::int64_t now = Node::Now();
    ledger::Status s = m_bans.Load(m_bans_path, now);
    if (!s.ok()) {
      if (s.code() == ledger::Status::Code::kWrongNetwork) {
        error = s.ToString();
        return false;
      }
      NetLog()->warn("{} (starting with no bans)", s.ToString());
    }
    s = m_addrman.Load(m_peers_path);
    if (!s.ok()) {
      if (s.code() == ledger::Status::Code::kWrongNetwork) {
        error = s.ToString();
        return false;
      }
      NetLog()->warn("{} (starting with an empty address book)", s.ToString());
    }
    for (const auto& list : {std::make_pair(&m_options.connect, true), std::make_pair(&m_options.addnode, false)}) {
      for (const auto& text : *list.first) {
        Target t;
        t.text = text;
        if (!SplitTarget(text, t.host, t.port)) {
          error = "'" + text + "' is not host:port";
          return false;
        }
        t.persistent = true;
        m_targets.push_back(std::move(t));
      }
    }
    m_peerman = std::make_unique<PeerManager>(m_node, m_options, m_addrman);
    net::ConnManOptions co;
    co.magic = m_node.params().magic;
    co.threads = m_options.threads;
    co.max_inbound = m_options.listen ? m_options.max_inbound : 0;
    co.max_outbound = m_options.max_outbound;
    co.connection = m_options.connection;
    co.ping_interval = m_options.ping_interval;
    co.ban_duration = m_options.ban_duration;
    co.user_agent = std::string("/wattline:") + WATTLINE_NET_VERSION + "/";
    co.whitelist = m_options.whitelist;
    m_connman = std::make_unique<net::ConnMan>(
        co, m_bans, [this] { return m_node.chainstate().Height(); }, this);
    m_peerman->Attach(m_connman.get());
    m_peerman->SetWake([this] { Wake(); });
    m_connman->Start();
    if (m_options.listen) {
      std::string why;
      auto port = m_connman->Listen(m_options.bind, m_options.port, &why);
      if (!port) {
        error = "cannot accept peers on " + m_options.bind + ":" + std::to_string(m_options.port) + ": " + why;
        m_peerman->Detach();
        m_connman->Stop();
        return false;
      }
      m_listen_port = *port;
      NetLog()->info("accepting peers on {}:{}", m_options.bind, m_listen_port);
    }
    for (const auto& wb : m_options.whitebind) {
      std::string why;
      auto port = m_connman->Listen(wb.host, wb.port, &why, wb.permissions);
      if (!port) {
        error = "cannot accept peers on " + wb.host + ":" + std::to_string(wb.port) + " (--whitebind): " + why;
        m_peerman->Detach();
        m_connman->Stop();
        return false;
      }
      NetLog()->info("accepting peers on {}:{} with {}", wb.host, *port, net::PermissionNames(wb.permissions));
    }
    m_thread = std::thread([this] { Run(); });
    return true;
  }

  void Stop() {
    {
      std::lock_guard lock(m_mutex);
      if (m_stopped) return;
      m_stopped = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
    if (m_peerman) m_peerman->Detach();
    if (m_connman) m_connman->Stop();
    Save();
  }

  void Save() {
    ledger::Status s = m_addrman.Save(m_peers_path);
    if (!s.ok()) NetLog()->warn("saving the address book: {}", s.ToString());
    SaveBans();
  }

  void SaveBans() {
    ledger::Status s = m_bans.Save(m_bans_path);
    if (!s.ok()) NetLog()->warn("saving the ban list: {}", s.ToString());
  }

  void Wake() {
    {
      std::lock_guard lock(m_mutex);
      m_woken = true;
    }
    m_cv.notify_all();
  }

  // ---- PeerHandler ----

  void OnPeerConnected(const net::PeerInfo& info) override {
    const std::int64_t now = Node::Now();
    if (!info.inbound) {
      std::lock_guard lock(m_mutex);
      bool matched = false;
      for (auto& t : m_targets) {
        if (t.resolved && *t.resolved == info.address && t.pending) {
          t.pending = false;
          t.peer = info.id;
          t.connected_at = Clock::now();
          matched = true;
          break;
        }
      }
      if (!matched) m_pending_auto.erase(info.address);
    }
    if (!info.inbound) {
      m_addrman.Good(info.address, now);
    } else if (info.listen_port != 0) {
      // It accepts peers: its address is worth gossiping (it vouches for itself).
      net::AddrEntry entry{{info.address.addr, info.listen_port}, info.services, now};
      m_addrman.Add({entry}, info.address.addr, now);
    }
    NetLog()->info("peer {} connected: {} {} height {} {}", info.id, info.inbound ? "inbound from" : "outbound to",
                   info.address.ToString(), info.best_height, info.user_agent);
    m_peerman->OnPeerConnected(info);
    if (NodeChannels* ch = m_node.channels()) ch->OnPeerConnected(ChannelName(info));
  }

  void OnPeerMessage(net::PeerId peer, net::Message&& msg) override {
    if (auto* frame = std::get_if<net::ChannelFrameMsg>(&msg)) return HandleChannel(peer, *frame);
    m_peerman->OnPeerMessage(peer, std::move(msg));
  }

  static std::string ChannelName(const net::PeerInfo& info) {
    return ChannelPeerName(info.address.addr.ToString(), info.inbound ? info.listen_port : info.address.port);
  }

  void HandleChannel(net::PeerId peer, const net::ChannelFrameMsg& frame) {
    NodeChannels* ch = m_node.channels();
    auto info = m_connman->Peer(peer);
    if (!ch || !info) return;  // a node without channels ignores them (it never advertised any)
    channels::ChannelMessage msg;
    const auto e = channels::DecodeChannelMessage(frame.body, msg);
    if (e != consensus::DecodeError::kOk) {
      NetLog()->info("peer {}: bad channel message ({})", peer, consensus::DecodeErrorName(e));
      m_connman->Misbehaving(peer, net::PenaltyFor(net::Offense::kBadChannelMessage));
      return;
    }
    ch->OnMessage(ChannelName(*info), std::move(msg));
  }

  bool SendChannel(const std::string& name, consensus::Bytes body, std::string& error) {
    for (const auto& p : m_connman->Peers()) {
      if (!p.connected || ChannelName(p) != name) continue;
      if (m_connman->Send(p.id, net::ChannelFrameMsg{std::move(body)})) return true;
    }
    // Not connected: keep it connected from now on; the engine resumes when it is.
    std::string ignored;
    AddPeer(name, /*persistent=*/true, ignored);
    error = "not connected to " + name + " (connecting)";
    return false;
  }

  void OnPeerClosed(const net::ClosedPeer& closed) override {
    m_peerman->OnPeerClosed(closed);
    {
      std::lock_guard lock(m_mutex);
      if (closed.reason == "self-connection") m_self.insert(closed.info.address);
      for (auto& t : m_targets) {
        if (t.peer && *t.peer == closed.info.id) {
          t.peer.reset();
          const bool stable = Clock::now() - t.connected_at > kStableConnection;
          t.failures = stable ? 0 : t.failures + 1;
          t.next_attempt = Clock::now() + Backoff(std::max<std::uint32_t>(t.failures, 1));
        } else if (t.pending && t.resolved && *t.resolved == closed.info.address && !closed.info.inbound) {
          // Closed during its handshake (e.g. it reached ourselves).
          t.pending = false;
          ++t.failures;
          t.next_attempt = Clock::now() + Backoff(t.failures);
        }
      }
      if (!closed.info.inbound) m_pending_auto.erase(closed.info.address);
    }
    if (closed.banned) SaveBans();
    const auto log = closed.banned ? spdlog::level::warn : spdlog::level::info;
    NetLog()->log(log, "peer {} ({}) closed: {}{}", closed.info.id, closed.info.address.ToString(), closed.reason,
                  closed.banned ? " (banned)" : "");
    Wake();
  }

  void OnConnectFailed(const std::string& host, std::uint16_t port, const std::string& why) override {
    NetLog()->debug("cannot connect to {}:{}: {}", host, port, why);
    auto addr = net::NetAddress::Parse(host);
    std::lock_guard lock(m_mutex);
    if (!addr) return;
    const net::Service svc{*addr, port};
    for (auto& t : m_targets) {
      if (t.pending && t.resolved && *t.resolved == svc) {
        t.pending = false;
        ++t.failures;
        t.next_attempt = Clock::now() + Backoff(t.failures);
        if (t.failures == 1 || t.failures % 10 == 0)
          NetLog()->info("cannot connect to {} ({}); retrying in {} ms", t.text, why,
                         std::chrono::duration_cast<std::chrono::milliseconds>(Backoff(t.failures)).count());
      }
    }
    m_pending_auto.erase(svc);
  }

  // ---- the network thread ----

  void Run() {
    auto last_save = Clock::now();
    for (;;) {
      bool more = false;
      try {
        more = m_peerman->Tick();
        FillOutbound();
      } catch (const std::exception& e) {
        NetLog()->error("network thread: {}", e.what());
      }
      if (Clock::now() - last_save > kSaveInterval) {
        m_bans.SweepExpired(Node::Now());
        Save();
        last_save = Clock::now();
      }
      std::unique_lock lock(m_mutex);
      m_cv.wait_for(lock, more ? std::chrono::milliseconds(5) : std::chrono::milliseconds(200),
                    [this] { return m_stopped || m_woken; });
      m_woken = false;
      if (m_stopped) return;
    }
  }

  std::chrono::milliseconds Backoff(std::uint32_t failures) const {
    auto delay = m_options.backoff_min;
    for (std::uint32_t i = 1; i < failures && delay < m_options.backoff_max; ++i) delay *= 2;
    return std::min(delay, m_options.backoff_max);
  }

  /** Already connected to the node listening at svc: out to it, or in from it (its version
   *  named that listening port). */
  static bool ConnectedTo(const std::vector<net::PeerInfo>& peers, const net::Service& svc) {
    return std::any_of(peers.begin(), peers.end(), [&](const net::PeerInfo& p) {
      return p.inbound ? p.address.addr == svc.addr && p.listen_port == svc.port : p.address == svc;
    });
  }

  void FillOutbound() {
    const auto now = Clock::now();
    const std::int64_t unix_now = Node::Now();
    const auto peers = m_connman->Peers();
    // Persistent targets first (--connect, --addnode, AddPeer(persistent)).
    std::vector<std::pair<std::string, std::uint16_t>> to_connect;
    std::vector<std::size_t> resolving;
    {
      std::lock_guard lock(m_mutex);
      for (std::size_t i = 0; i < m_targets.size(); ++i) {
        Target& t = m_targets[i];
        if (t.peer || t.pending || now < t.next_attempt) continue;
        resolving.push_back(i);
      }
    }
    for (std::size_t i : resolving) {
      std::string host;
      std::uint16_t port = 0;
      std::string text;
      {
        std::lock_guard lock(m_mutex);
        if (i >= m_targets.size()) break;
        host = m_targets[i].host;
        port = m_targets[i].port;
        text = m_targets[i].text;
      }
      std::string error;
      auto svc = Resolve(host, port, error);  // outside the lock: DNS may take a while
      std::lock_guard lock(m_mutex);
      if (i >= m_targets.size() || m_targets[i].text != text) continue;
      Target& t = m_targets[i];
      if (!svc) {
        ++t.failures;
        t.next_attempt = now + Backoff(t.failures);
        if (t.failures == 1) NetLog()->warn("peer {}: {}", t.text, error);
        continue;
      }
      t.resolved = *svc;
      if (m_self.count(*svc) || m_bans.IsBanned(svc->addr, unix_now)) {
        t.next_attempt = now + m_options.backoff_max;
        continue;
      }
      bool outbound_exists = false;
      for (const auto& p : peers)
        if (!p.inbound && p.address == *svc) {
          t.peer = p.id;
          outbound_exists = true;
        }
      if (outbound_exists) continue;
      t.pending = true;
      to_connect.emplace_back(svc->addr.ToString(), svc->port);
    }
    for (const auto& [host, port] : to_connect) {
      if (!m_connman->Connect(host, port, /*manual=*/true)) {
        // No free outbound slot: try again later.
        std::lock_guard lock(m_mutex);
        for (auto& t : m_targets)
          if (t.pending && t.resolved && t.resolved->addr.ToString() == host && t.resolved->port == port) {
            t.pending = false;
            t.next_attempt = now + m_options.backoff_min;
          }
      }
    }
    if (!m_options.connect.empty()) return;  // --connect: those peers only

    // Automatic outbound connections from the address book (and the seeds while it is empty).
    std::size_t persistent = 0;
    std::size_t automatic = 0;
    {
      std::lock_guard lock(m_mutex);
      persistent = m_targets.size();
      automatic = m_pending_auto.size();
      for (const auto& p : peers) {
        if (p.inbound) continue;
        const bool is_target = std::any_of(m_targets.begin(), m_targets.end(),
                                           [&](const Target& t) { return t.peer && *t.peer == p.id; });
        if (!is_target) ++automatic;
      }
    }
    const std::size_t slots = m_options.max_outbound > persistent ? m_options.max_outbound - persistent : 0;
    if (automatic >= slots) return;
    if (m_addrman.size() == 0) {
      ConnectSeeds(peers, now);
      return;
    }
    for (int tries = 0; tries < kMaxSelectTries && automatic < slots; ++tries) {
      auto pick = m_addrman.Select(false, unix_now);
      if (!pick) break;
      const net::Service svc = pick->service;
      {
        std::lock_guard lock(m_mutex);
        if (m_self.count(svc) || m_pending_auto.count(svc)) continue;
        const bool is_target = std::any_of(m_targets.begin(), m_targets.end(),
                                           [&](const Target& t) { return t.resolved && *t.resolved == svc; });
        if (is_target) continue;
      }
      if (ConnectedTo(peers, svc) || m_bans.IsBanned(svc.addr, unix_now)) continue;
      {
        // One automatic attempt per address per interval, however small the book.
        std::lock_guard lock(m_mutex);
        auto last = m_auto_attempts.find(svc);
        if (last != m_auto_attempts.end() && now - last->second < kAutoRetryInterval) continue;
        m_auto_attempts[svc] = now;
        if (m_auto_attempts.size() > 10'000) m_auto_attempts.clear();
        m_pending_auto.insert(svc);
      }
      m_addrman.Attempt(svc, unix_now);
      if (!m_connman->Connect(svc.addr.ToString(), svc.port)) {
        std::lock_guard lock(m_mutex);
        m_pending_auto.erase(svc);
        break;
      }
      ++automatic;
    }
  }

  void ConnectSeeds(const std::vector<net::PeerInfo>& peers, Clock::time_point now) {
    if (!peers.empty() || now < m_next_seed_attempt || m_options.seednode.empty()) return;
    m_next_seed_attempt = now + std::chrono::seconds(30);
    for (const auto& text : m_options.seednode) {
      std::string host;
      std::uint16_t port = 0;
      std::string error;
      if (!SplitTarget(text, host, port)) continue;
      auto svc = Resolve(host, port, error);
      if (!svc) {
        NetLog()->warn("seed {}: {}", text, error);
        continue;
      }
      {
        std::lock_guard lock(m_mutex);
        if (m_pending_auto.count(*svc)) continue;
        m_pending_auto.insert(*svc);
      }
      if (!m_connman->Connect(svc->addr.ToString(), svc->port)) {
        std::lock_guard lock(m_mutex);
        m_pending_auto.erase(*svc);
      }
    }
  }

  // ---- API ----

  std::vector<PeerDetails> Peers() const {
    std::vector<PeerDetails> out;
    std::set<net::PeerId> persistent;
    {
      std::lock_guard lock(m_mutex);
      for (const auto& t : m_targets)
        if (t.peer) persistent.insert(*t.peer);
    }
    for (const auto& info : m_connman->Peers()) {
      PeerDetails d;
      d.info = info;
      d.persistent = persistent.count(info.id) != 0;
      if (auto sync = m_peerman->SyncInfo(info.id)) {
        d.synced_headers = sync->synced_headers;
        d.synced_blocks = std::max(sync->synced_blocks, info.best_height);
        d.blocks_in_flight = sync->blocks_in_flight;
        d.blocks_received = sync->blocks_received;
      } else {
        d.synced_blocks = info.best_height;
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  std::vector<AddedPeer> AddedPeers() const {
    std::lock_guard lock(m_mutex);
    std::vector<AddedPeer> out;
    const auto now = Clock::now();
    const std::int64_t unix_now = Node::Now();
    for (const auto& t : m_targets) {
      AddedPeer a;
      a.target = t.text;
      a.connected = t.peer.has_value();
      a.failures = t.failures;
      if (!t.peer && t.next_attempt > now)
        a.next_attempt =
            unix_now + std::chrono::duration_cast<std::chrono::seconds>(t.next_attempt - now).count() + 1;
      out.push_back(std::move(a));
    }
    return out;
  }

  bool AddPeer(const std::string& text, bool persistent, std::string& error) {
    Target t;
    t.text = text;
    if (!SplitTarget(text, t.host, t.port)) {
      error = "'" + text + "' is not host:port (port 1-65535)";
      return false;
    }
    if (persistent) {
      {
        std::lock_guard lock(m_mutex);
        for (const auto& existing : m_targets) {
          if (existing.text == text) {
            error = text + " is already a persistent peer";
            return false;
          }
        }
        t.persistent = true;
        m_targets.push_back(std::move(t));
      }
      Wake();
      return true;
    }
    auto svc = Resolve(t.host, t.port, error);
    if (!svc) return false;
    if (m_bans.IsBanned(svc->addr, Node::Now())) {
      error = svc->addr.ToString() + " is banned";
      return false;
    }
    {
      std::lock_guard lock(m_mutex);
      m_pending_auto.insert(*svc);
    }
    if (!m_connman->Connect(svc->addr.ToString(), svc->port, /*manual=*/true)) {
      std::lock_guard lock(m_mutex);
      m_pending_auto.erase(*svc);
      error = "no free outbound slot (--maxoutbound " + std::to_string(m_options.max_outbound) + ")";
      return false;
    }
    return true;
  }

  bool RemovePeer(const std::string& text) {
    std::lock_guard lock(m_mutex);
    auto it = std::find_if(m_targets.begin(), m_targets.end(), [&](const Target& t) { return t.text == text; });
    if (it == m_targets.end()) return false;
    m_targets.erase(it);
    return true;
  }

  std::size_t DisconnectAddress(const std::string& text, std::string& error) {
    std::optional<net::Service> svc = net::Service::Parse(text);
    std::optional<net::NetAddress> addr = svc ? std::nullopt : net::NetAddress::Parse(text);
    if (!svc && !addr) {
      error = "'" + text + "' is not an address (1.2.3.4, 1.2.3.4:9733, [::1]:9733)";
      return 0;
    }
    std::size_t n = 0;
    for (const auto& p : m_connman->Peers()) {
      if ((svc && p.address == *svc) || (addr && p.address.addr == *addr)) {
        m_connman->Disconnect(p.id, "disconnected-by-operator");
        ++n;
      }
    }
    return n;
  }

  bool Ban(const std::string& text, std::chrono::seconds duration, const std::string& reason, std::string& error) {
    auto subnet = net::Subnet::Parse(text);
    if (!subnet) {
      error = "'" + text + "' is not an address or subnet (1.2.3.4, 10.0.0.0/8, ::1/128)";
      return false;
    }
    if (duration.count() < 0 || duration > std::chrono::hours{24 * 366 * 10}) {
      error = "a ban lasts from 0 s (the configured ban time) to 10 years";
      return false;
    }
    const std::int64_t now = Node::Now();
    const auto d = duration.count() == 0 ? m_options.ban_duration : duration;
    m_bans.Ban(*subnet, now, now + d.count(), reason.empty() ? "manual" : reason);
    for (const auto& p : m_connman->Peers())
      if (subnet->Contains(p.address.addr)) m_connman->Disconnect(p.id, "banned-by-operator");
    SaveBans();
    return true;
  }

  bool Unban(const std::string& text, std::string& error) {
    auto subnet = net::Subnet::Parse(text);
    if (!subnet) {
      error = "'" + text + "' is not an address or subnet (1.2.3.4, 10.0.0.0/8, ::1/128)";
      return false;
    }
    if (!m_bans.Unban(*subnet)) {
      error = subnet->ToString() + " is not banned";
      return false;
    }
    SaveBans();
    return true;
  }

  struct Target {
    std::string text;  //!< as given
    std::string host;
    std::uint16_t port = 0;
    bool persistent = true;
    std::optional<net::Service> resolved;
    bool pending = false;                 //!< a connection is being made
    std::optional<net::PeerId> peer;      //!< connected as this peer
    std::uint32_t failures = 0;
    Clock::time_point next_attempt{};
    Clock::time_point connected_at{};
  };

  Node& m_node;
  NetworkOptions m_options;
  net::BanList m_bans;
  net::AddrMan m_addrman;
  std::filesystem::path m_peers_path;
  std::filesystem::path m_bans_path;
  std::unique_ptr<PeerManager> m_peerman;
  std::unique_ptr<net::ConnMan> m_connman;
  std::uint16_t m_listen_port = 0;
  std::thread m_thread;

  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stopped = false;
  bool m_woken = false;
  std::vector<Target> m_targets;
  std::set<net::Service> m_self;          //!< our own addresses, learnt from self-connections
  std::set<net::Service> m_pending_auto;  //!< automatic connections being made
  std::map<net::Service, Clock::time_point> m_auto_attempts;  //!< last automatic attempt per address
  Clock::time_point m_next_seed_attempt{};
};

// ---------------------------------------------------------------------------------------------

Network::Network(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Network::~Network() { Stop(); }

std::unique_ptr<Network> Network::Start(Node& node, NetworkOptions options, std::string& error) {
  auto impl = std::make_unique<Impl>(node, std::move(options));
  if (!impl->Start(error)) return nullptr;
  return std::unique_ptr<Network>(new Network(std::move(impl)));
}

void Network::Stop() {
  if (m_impl) m_impl->Stop();
}

std::uint16_t Network::ListenPort() const { return m_impl->m_listen_port; }
std::vector<PeerDetails> Network::Peers() const { return m_impl->Peers(); }
std::vector<std::string> Network::ChannelPeers() const {
  std::vector<std::string> out;
  for (const auto& info : m_impl->m_connman->Peers()) out.push_back(Impl::ChannelName(info));
  return out;
}
net::NetTotals Network::Totals() const { return m_impl->m_connman->Totals(); }
SyncStatus Network::Sync() const { return m_impl->m_peerman->Status(); }
std::vector<AddedPeer> Network::AddedPeers() const { return m_impl->AddedPeers(); }
std::size_t Network::AddressBookSize() const { return m_impl->m_addrman.size(); }

bool Network::AddPeer(const std::string& target, bool persistent, std::string& error) {
  return m_impl->AddPeer(target, persistent, error);
}
bool Network::RemovePeer(const std::string& target) { return m_impl->RemovePeer(target); }

bool Network::SendChannel(const std::string& peer, consensus::Bytes body, std::string& error) {
  return m_impl->SendChannel(peer, std::move(body), error);
}

bool Network::DisconnectPeer(net::PeerId id) {
  if (!m_impl->m_connman->Peer(id)) return false;
  m_impl->m_connman->Disconnect(id, "disconnected-by-operator");
  return true;
}

std::size_t Network::DisconnectAddress(const std::string& address, std::string& error) {
  return m_impl->DisconnectAddress(address, error);
}

bool Network::Ban(const std::string& subnet, std::chrono::seconds duration, const std::string& reason,
                  std::string& error) {
  return m_impl->Ban(subnet, duration, reason, error);
}

bool Network::Unban(const std::string& subnet, std::string& error) { return m_impl->Unban(subnet, error); }

std::vector<net::BanEntry> Network::Bans() const { return m_impl->m_bans.List(Node::Now()); }

void Network::ClearBans() {
  m_impl->m_bans.Clear();
  m_impl->SaveBans();
}

}  // namespace wattline::node
