// The connection manager (docs/p2p.md, "Transport"): listening sockets, outbound connections,
// the version/verack handshake, ping/pong, misbehaviour scores and bans, and the peer list.
//
// A small fixed pool of threads runs one io_context; no thread per peer. Each connection runs
// on its own strand (net/connection.h), so the messages of one peer are handled in order, one
// at a time, while different peers are handled in parallel.
//
// Handshake: the side that connects sends `version` first; the side that accepts answers a
// valid `version` with its own `version` and a `verack`; the connector answers with `verack`.
// A peer is *connected* once it has sent both `version` and `verack`: only then are its other
// messages passed to the PeerHandler (any other message earlier is the `before-handshake`
// offence). A `version` is refused (disconnect, no ban) for another network's magic, a protocol
// version below kMinProtocolVersion, or a nonce that we sent ourselves on a connection still
// in its handshake (we connected to ourselves).
//
// Every frame error, message error and offence becomes a penalty (net/misbehavior.h). A peer
// whose score reaches kBanThreshold is disconnected and its address banned in the BanList for
// ban_duration; banned addresses are refused when they connect in.
//
// Thread-safety: every public method may be called from any thread. The PeerHandler is called
// on the peer's strand, never with a lock of the ConnMan held, so it may call back into it.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "net/banlist.h"
#include "net/connection.h"
#include "net/messages.h"
#include "net/misbehavior.h"
#include "net/permissions.h"
#include "net/protocol.h"

namespace wattline::net {

using PeerId = std::uint64_t;

struct ConnManOptions {
  Magic magic{};                         //!< our network (consensus::Params::magic)
  std::size_t threads = 2;               //!< threads running the io_context
  std::size_t max_inbound = 117;
  std::size_t max_outbound = 8;          //!< connections we make, counting those in progress
  std::uint64_t services = kServiceNetwork;
  std::string user_agent = "/wattline:0.1/";
  ConnectionOptions connection;          //!< send-queue bound, handshake and idle timeouts
  /** Time to establish an outbound TCP connection. */
  std::chrono::milliseconds connect_timeout{std::chrono::seconds{10}};
  /** A connected peer is pinged this often (and once when the handshake completes). */
  std::chrono::milliseconds ping_interval{std::chrono::minutes{2}};
  std::chrono::seconds ban_duration{std::chrono::hours{24}};
  /** Seconds since the Unix epoch, for bans and the version timestamp; system clock if empty. */
  std::function<std::int64_t()> now;
  /** Inbound peers from these addresses get their permissions (net/permissions.h, --whitelist). */
  std::vector<WhitelistEntry> whitelist;
};

/** What the peer list shows of one peer (a snapshot). */
struct PeerInfo {
  PeerId id = 0;
  Service address;
  bool inbound = false;
  bool connected = false;  //!< the handshake is complete
  std::uint32_t protocol_version = 0;
  std::uint64_t services = 0;
  std::string user_agent;
  std::uint32_t best_height = 0;  //!< from its version (sync will keep it current)
  std::uint16_t listen_port = 0;  //!< the port it accepts peers on, from its version (0: none)
  std::optional<std::chrono::microseconds> ping;  //!< the last measured round trip
  std::optional<std::chrono::microseconds> min_ping;
  int score = 0;
  std::uint32_t permissions = kPermNone;  //!< net/permissions.h: whitelist, whitebind, manual
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::size_t send_queue_bytes = 0;
  std::size_t peak_send_queue_bytes = 0;
};

/** Why a connection ended, as PeerHandler::OnPeerClosed receives it. */
struct ClosedPeer {
  PeerInfo info;       //!< as it was at the close
  std::string reason;  //!< e.g. "peer-closed", "handshake-timeout", "frame-oversize", "self-connection"
  bool banned = false; //!< the close banned the address
};

/** Bytes over every connection since Start, closed ones included. */
struct NetTotals {
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
};

/** The node's side: sync and relay. Called on the peer's strand, no ConnMan lock held. It may
 *  call any ConnMan method except Stop (and must not destroy the ConnMan). */
class PeerHandler {
 public:
  virtual ~PeerHandler() = default;
  /** The handshake with this peer completed. */
  virtual void OnPeerConnected(const PeerInfo& /*peer*/) {}
  /** A valid message other than version, verack, ping and pong, from a connected peer. */
  virtual void OnPeerMessage(PeerId /*peer*/, Message&& /*msg*/) {}
  /** A connection ended (whether or not its handshake completed). */
  virtual void OnPeerClosed(const ClosedPeer& /*peer*/) {}
  /** An outbound connection could not be made (resolve, connect, timeout or banned); for
   *  reconnection with backoff. Called on an io thread, no ConnMan lock held. */
  virtual void OnConnectFailed(const std::string& /*host*/, std::uint16_t /*port*/, const std::string& /*why*/) {}
};

class ConnMan {
 public:
  /** bans must outlive the ConnMan; best_height is called for each version we send. */
  ConnMan(ConnManOptions options, BanList& bans, std::function<std::uint32_t()> best_height,
          PeerHandler* handler = nullptr);
  ConnMan(const ConnMan&) = delete;
  ConnMan& operator=(const ConnMan&) = delete;
  /** Stop(). */
  ~ConnMan();

  /** Starts the thread pool. */
  void Start();
  /** Closes every connection and listener and joins the threads. Idempotent. Not from a
   *  PeerHandler callback (it runs on a thread Stop joins). */
  void Stop();

  /**
   * Listens on host ("127.0.0.1", "::", "0.0.0.0") and port; port 0 lets the system choose.
   * Returns the bound port, or nullopt with *error set.
   */
  std::optional<std::uint16_t> Listen(const std::string& host, std::uint16_t port, std::string* error = nullptr,
                                      std::uint32_t permissions = kPermNone);

  /** Starts an outbound connection (resolve, connect, handshake). False if the outbound limit
   *  is reached or the manager is stopped; a failure later is PeerHandler::OnConnectFailed, a
   *  success a new peer (OnPeerConnected once its handshake completes). A manual connection
   *  (one the operator named) is never punished for misbehaviour and may reach a banned address. */
  bool Connect(const std::string& host, std::uint16_t port, bool manual = false);

  /** Sends a message to a connected peer; false if unknown, not connected or its queue is full
   *  (which disconnects it). */
  bool Send(PeerId peer, const Message& msg);
  /** Closes the connection with this reason. */
  void Disconnect(PeerId peer, const std::string& reason);
  /** Adds a penalty (e.g. for an invalid block); may disconnect and ban, except a noban or manual peer. */
  void Misbehaving(PeerId peer, const Penalty& penalty);
  /** Records a newer best height of a peer (sync learns it from headers and blocks). */
  void SetPeerHeight(PeerId peer, std::uint32_t height);

  /** A snapshot of every connection, in id order. */
  std::vector<PeerInfo> Peers() const;
  std::optional<PeerInfo> Peer(PeerId peer) const;
  std::size_t InboundCount() const;
  std::size_t OutboundCount() const;  //!< including connections in progress
  NetTotals Totals() const;

 private:
  struct PeerState;
  struct CloseOutcome {
    bool disconnect = false;
    bool banned = false;
  };

  void AcceptLoop(std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor, std::uint32_t permissions);
  void AddPeer(boost::asio::ip::tcp::socket socket, bool inbound, std::uint32_t permissions);
  void OnFrame(PeerId id, Frame&& frame);
  void OnFrameError(PeerId id, FrameError err, const std::string& detail);
  void OnClosed(PeerId id, const std::string& reason);
  /** Under m_mutex: adds the penalty, bans past the threshold. */
  CloseOutcome PunishLocked(PeerState& peer, const Penalty& penalty);
  void Punish(PeerId id, const Penalty& penalty);
  VersionMsg MakeVersionLocked(PeerState& peer);
  bool SendOn(const std::shared_ptr<Connection>& conn, const Message& msg);
  void SendPings();
  void ArmPingTimer();
  PeerInfo InfoLocked(const PeerState& peer) const;
  std::int64_t Now() const;

  const ConnManOptions m_options;
  BanList& m_bans;
  const std::function<std::uint32_t()> m_best_height;
  PeerHandler* const m_handler;

  boost::asio::io_context m_io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> m_work;
  std::vector<std::thread> m_threads;
  boost::asio::steady_timer m_ping_timer;

  mutable std::mutex m_mutex;
  bool m_started = false;
  bool m_stopped = false;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::acceptor>> m_acceptors;
  std::uint16_t m_listen_port = 0;  //!< the first listener's, sent in our version
  std::map<PeerId, std::unique_ptr<PeerState>> m_peers;
  std::size_t m_pending_outbound = 0;
  std::set<std::uint64_t> m_handshake_nonces;  //!< nonces of versions we sent, handshake open
  PeerId m_next_id = 1;
  NetTotals m_closed_totals;  //!< bytes of connections already closed
};

}  // namespace wattline::net
