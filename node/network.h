// The node's peer-to-peer side (docs/p2p.md, "The node on the network"): it owns the connection
// manager (net/connman.h), the address book and the ban list (kept in the datadir), fills the
// outbound slots (--connect, --addnode, seeds, the address book) with reconnection and
// backoff, and runs sync and relay (node/peer_manager.h) for the Node it serves.
//
//   NetworkOptions opts{.port = 19733, .addnode = {"127.0.0.1:19734"}};
//   if (!node->StartNetwork(opts, error)) ...        // the Node owns its Network
//   for (const PeerDetails& p : node->network()->Peers()) ...
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/banlist.h"
#include "net/connman.h"

namespace wattline::node {

class Node;
class PeerManager;

struct NetworkOptions {
  /** Accept inbound connections. */
  bool listen = true;
  /** Address to listen on ("0.0.0.0", "::", "127.0.0.1"). */
  std::string bind = "0.0.0.0";
  /** P2P port; 0 lets the system choose (tests). The daemon passes the network's default. */
  std::uint16_t port = 0;
  /** host:port. When not empty: connect only to these (no address book, no seeds). */
  std::vector<std::string> connect;
  /** host:port peers kept connected (reconnected with backoff), besides the automatic ones. */
  std::vector<std::string> addnode;
  /** host:port peers asked for addresses when the book is empty. No network has built-in seeds
   *  yet (there is no public wattline network): operators name theirs here or in the config. */
  std::vector<std::string> seednode;
  std::size_t max_inbound = 117;
  std::size_t max_outbound = 8;
  std::size_t threads = 2;
  std::chrono::seconds ban_duration{std::chrono::hours{24}};
  /** Reconnection backoff: the first retry after `backoff_min`, doubling up to `backoff_max`. */
  std::chrono::milliseconds backoff_min{std::chrono::seconds{1}};
  std::chrono::milliseconds backoff_max{std::chrono::minutes{5}};
  /** A block requested this long ago and not delivered: the peer is stalling (dropped). */
  std::chrono::milliseconds block_stall_timeout{std::chrono::seconds{15}};
  /** Blocks requested from one peer at a time, and how far past our tip we download. */
  std::size_t max_blocks_in_flight_per_peer = 16;
  std::uint32_t download_window = 1024;
  std::size_t max_orphan_txs = 100;
  std::size_t max_orphan_blocks = 16;
  /** Transport limits (timeouts, send queue); defaults from net/connection.h. */
  net::ConnectionOptions connection;
  std::chrono::milliseconds ping_interval{std::chrono::minutes{2}};
  /** --whitelist: inbound peers from these addresses get the entry's permissions (net/permissions.h). */
  std::vector<net::WhitelistEntry> whitelist;
  /** --whitebind: more listeners, each granting its permissions to every peer that connects to it. */
  struct WhiteBind {
    std::string host;
    std::uint16_t port = 0;
    std::uint32_t permissions = net::kPermNone;
  };
  std::vector<WhiteBind> whitebind;
};

/** One peer as the API shows it: the transport's view plus sync state. */
struct PeerDetails {
  net::PeerInfo info;
  bool persistent = false;          //!< from --connect/--addnode or AddPeer(persistent)
  std::uint32_t synced_headers = 0; //!< height of the best header it has shown us (0: none yet)
  std::uint32_t synced_blocks = 0;  //!< height of the best block we know it has
  std::size_t blocks_in_flight = 0;
  std::uint64_t blocks_received = 0;  //!< requested blocks it delivered on this connection
};

/** An outbound target we keep connected (--connect, --addnode, AddPeer(persistent)). */
struct AddedPeer {
  std::string target;                //!< host:port as given
  bool connected = false;
  std::uint32_t failures = 0;        //!< consecutive failed attempts (the backoff exponent)
  std::int64_t next_attempt = 0;     //!< Unix seconds; 0 = as soon as possible
};

/** Sync progress, for GetInfo-style summaries. */
struct SyncStatus {
  std::uint32_t best_header_height = 0;
  std::uint32_t tip_height = 0;
  std::size_t blocks_in_flight = 0;
  bool initial_download = true;  //!< our tip is older than a day or below the best header
};

/** Splits "host:port" or "[ipv6]:port" (port 1-65535); false when malformed. */
bool SplitTarget(const std::string& target, std::string& host, std::uint16_t& port);
bool ValidTarget(const std::string& target);

class Network {
 public:
  /** Loads peers.dat and banlist.dat from the node's datadir, listens, starts connecting.
   *  nullptr with a one-line error (e.g. the port is taken). */
  static std::unique_ptr<Network> Start(Node& node, NetworkOptions options, std::string& error);
  /** Disconnects everything, saves peers.dat and banlist.dat. Idempotent. */
  void Stop();
  ~Network();

  /** The port we listen on (0 when not listening). */
  std::uint16_t ListenPort() const;

  std::vector<PeerDetails> Peers() const;
  /** The channel names (host:port, node/channels.h) of the peers connected now. */
  std::vector<std::string> ChannelPeers() const;
  net::NetTotals Totals() const;
  SyncStatus Sync() const;
  std::vector<AddedPeer> AddedPeers() const;
  std::size_t AddressBookSize() const;

  /** Connects to host:port now. persistent: keep it connected (like --addnode). False with an
   *  error for a malformed target, a banned address or no free outbound slot. */
  bool AddPeer(const std::string& target, bool persistent, std::string& error);
  /** Sends a channel message to the peer named host:port (node/channels.h); when it is not
   *  connected, makes it a persistent target and returns false with an error. */
  bool SendChannel(const std::string& peer, consensus::Bytes body, std::string& error);
  /** Forgets a persistent target (does not disconnect it). */
  bool RemovePeer(const std::string& target);
  /** Disconnects by peer id; false if there is no such peer. */
  bool DisconnectPeer(net::PeerId id);
  /** Disconnects every peer at this address ("1.2.3.4" or "1.2.3.4:9733"); the count closed. */
  std::size_t DisconnectAddress(const std::string& address, std::string& error);

  /** Bans a subnet ("1.2.3.4", "10.0.0.0/8", "::1/128") for duration (0: the configured ban
   *  time), disconnects its peers and saves the ban list. False with an error if malformed. */
  bool Ban(const std::string& subnet, std::chrono::seconds duration, const std::string& reason, std::string& error);
  /** Lifts a ban; false (with an error) if malformed or not banned. Saves the ban list. */
  bool Unban(const std::string& subnet, std::string& error);
  std::vector<net::BanEntry> Bans() const;
  /** Lifts every ban; saves. */
  void ClearBans();

 private:
  class Impl;
  explicit Network(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace wattline::node
