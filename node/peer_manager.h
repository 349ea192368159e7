// Sync and relay (docs/p2p.md, "Sync" and "Relay"): what the node does with its peers'
// messages once their handshake is complete.
//
// Sync is headers-first. On connecting to a peer that claims at least our height we send
// `getheaders` with a locator of our tip; headers are checked and stored by the chainstate
// (a header chain with less work than our tip is refused unstored; see AcceptHeaders). Blocks
// are then requested along each peer's best header chain: at most `max_blocks_in_flight_per_peer`
// per peer and at most `download_window` blocks past our tip, each block from one peer, so
// several peers serve one sync in parallel. A block not delivered within the stall timeout
// disconnects its peer and goes to another one; a peer that leaves frees its requests at once.
// A restarted node finds its stored headers and resumes downloading where it stopped.
//
// Relay is announce / request / deliver: a new tip is announced with its header (`headers`),
// a transaction that entered our mempool with `inv`; the peer asks with `getdata`; we deliver
// with `block` / `tx`. Only transactions that enter the mempool are announced. Transactions
// whose inputs are missing wait in a bounded orphan pool (their parents are requested); blocks
// pushed without a request whose parent is unknown wait in a bounded orphan block pool.
//
// Every offence is scored through ConnMan::Misbehaving with the penalties of
// net/misbehavior.h: invalid blocks and transactions by category, unrequested data, floods
// (token buckets per peer for inv, addr and getdata items), low-work and non-connecting
// header chains.
//
// Thread-safety: the PeerHandler methods run on the peers' strands (several at once); the
// Tick runs on the network thread. One mutex guards the sync state; it is never held while
// calling into the Node (which calls back with events).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/addrman.h"
#include "net/connman.h"
#include "node/network.h"

namespace wattline::ledger {
struct BlockIndex;
}

namespace wattline::node {

class Node;

/** A token bucket: `capacity` items at once, refilled at `per_second`. Not thread-safe. */
class RateLimit {
 public:
  RateLimit(double capacity, double per_second) : m_capacity(capacity), m_rate(per_second), m_tokens(capacity) {}
  /** Takes n tokens; false (taking none) when there are not enough. */
  bool Take(double n, std::chrono::steady_clock::time_point now);

 private:
  double m_capacity;
  double m_rate;
  double m_tokens;
  std::chrono::steady_clock::time_point m_last{};
};

/** A bounded set that forgets its oldest members. Not thread-safe. */
class RecentSet {
 public:
  explicit RecentSet(std::size_t capacity) : m_capacity(capacity) {}
  /** True if newly added. */
  bool Insert(const crypto::Hash256& h);
  bool Contains(const crypto::Hash256& h) const { return m_set.count(h) != 0; }
  void Erase(const crypto::Hash256& h);
  std::size_t size() const { return m_set.size(); }

 private:
  std::size_t m_capacity;
  std::deque<crypto::Hash256> m_order;
  std::unordered_set<crypto::Hash256> m_set;
};

class PeerManager : public net::PeerHandler {
 public:
  /** Limits of the per-peer state: no peer can make us hold more. */
  static constexpr std::size_t kMaxPendingHeaders = 20'000;   //!< low-work headers held while more arrive
  static constexpr std::uint32_t kLowWorkTolerance = 6;       //!< a low-work fork this deep is a race, not an offence
  static constexpr std::uint32_t kLowWorkBanDepth = 100;      //!< a low-work fork deeper than this bans its sender
  static constexpr std::size_t kMaxKnownInventory = 20'000;   //!< per peer: what it has (not announced to it again)
  static constexpr std::size_t kMaxTxRequests = 5'000;        //!< per peer: transactions asked for, not delivered
  static constexpr std::size_t kMaxQueuedBlockSends = 128;    //!< per peer: blocks asked of us, not sent yet
  static constexpr std::size_t kMaxNonConnecting = 10;        //!< every this many non-connecting headers: the offence
  static constexpr std::size_t kMaxMempoolAnnouncement = 5'000;  //!< txids told a new peer (inv burst: 10,000)
  static constexpr std::size_t kOrphanTxMaxBytes = consensus::kMaxTxSize;

  PeerManager(Node& node, const NetworkOptions& options, net::AddrMan& addrman);
  ~PeerManager() override;

  /** The connection manager (built after us, because it needs us as its handler). */
  void Attach(net::ConnMan* connman);
  /** Stops listening to the node's events (before the ConnMan stops). */
  void Detach();

  // net::PeerHandler
  void OnPeerConnected(const net::PeerInfo& peer) override;
  void OnPeerMessage(net::PeerId peer, net::Message&& msg) override;
  void OnPeerClosed(const net::ClosedPeer& peer) override;

  /** Periodic work on the network thread: announcements, block sends, stall checks. Returns
   *  true when more work is waiting (call again soon). */
  bool Tick();
  /** Wakes the network thread (set by the owner). */
  void SetWake(std::function<void()> wake) { m_wake = std::move(wake); }

  /** Sync details of a peer for the peer list. */
  struct PeerSyncInfo {
    std::uint32_t synced_headers = 0;
    std::uint32_t synced_blocks = 0;
    std::size_t blocks_in_flight = 0;
    std::uint64_t blocks_received = 0;  //!< blocks it delivered that we had asked for
  };
  std::optional<PeerSyncInfo> SyncInfo(net::PeerId peer) const;
  SyncStatus Status() const;
  std::size_t OrphanTxCount() const;
  std::size_t OrphanBlockCount() const;

 private:
  struct PeerSync;
  struct OrphanTx {
    consensus::TransactionRef tx;
    net::PeerId from = 0;
    std::chrono::steady_clock::time_point expiry;
  };
  using Clock = std::chrono::steady_clock;

  void HandleGetHeaders(net::PeerId peer, const net::GetHeadersMsg& msg);
  void HandleHeaders(net::PeerId peer, std::vector<consensus::BlockHeader>&& headers);
  void HandleBlock(net::PeerId peer, consensus::Block&& block);
  void HandleTx(net::PeerId peer, const consensus::TransactionRef& tx);
  void HandleInv(net::PeerId peer, const net::InvMsg& msg);
  void HandleGetData(net::PeerId peer, const net::GetDataMsg& msg);
  void HandleNotFound(net::PeerId peer, const net::NotFoundMsg& msg);
  void HandleAddr(net::PeerId peer, const net::AddrMsg& msg);
  void HandleGetAddr(net::PeerId peer);

  /** Submits a block; punishes by category; retries orphan blocks that wait for it. */
  void SubmitBlock(net::PeerId peer, const consensus::Block& block);
  /** Submits a transaction and then the orphans it unlocks. */
  void SubmitTx(net::PeerId peer, const consensus::TransactionRef& tx);
  void AddOrphanTx(net::PeerId peer, const consensus::TransactionRef& tx);
  void SendGetHeaders(net::PeerId peer, const ledger::BlockIndex* from);
  /** Asks peers for blocks along their best chains (all peers when `only` is empty). */
  void ScheduleDownloads(std::optional<net::PeerId> only = std::nullopt);
  /** Raises what we know the peer has. Under m_mutex. */
  void UpdateBestKnownLocked(PeerSync& p, const ledger::BlockIndex* index);
  void Punish(net::PeerId peer, const net::Penalty& penalty, const std::string& detail);
  bool ServeBlocks();
  void AnnounceTip();
  void AnnounceTransactions();
  void AnnounceMempoolTo(net::PeerId peer);
  void CheckStalls();

  Node& m_node;
  const NetworkOptions m_options;
  net::AddrMan& m_addrman;
  net::ConnMan* m_connman = nullptr;
  std::function<void()> m_wake;
  std::uint64_t m_block_sub = 0;
  std::uint64_t m_tx_sub = 0;

  mutable std::mutex m_mutex;
  std::map<net::PeerId, std::unique_ptr<PeerSync>> m_peers;
  std::unordered_map<crypto::Hash256, net::PeerId> m_block_requests;  //!< block hash -> the peer asked
  std::map<crypto::Hash256, OrphanTx> m_orphan_txs;                   //!< by txid
  std::multimap<crypto::Hash256, crypto::Hash256> m_orphans_by_parent; //!< parent txid -> orphan txid
  std::map<crypto::Hash256, std::pair<consensus::Block, net::PeerId>> m_orphan_blocks;  //!< by hash
  RecentSet m_recent_rejects{50'000};  //!< transactions refused (not asked for again)
  std::mt19937_64 m_rng;

  // Events from the node, for the network thread.
  std::mutex m_event_mutex;
  bool m_tip_changed = false;
  bool m_reorg = false;
  std::vector<crypto::Hash256> m_new_txs;
  std::uint32_t m_last_announced_height = 0;
  std::optional<crypto::Hash256> m_last_announced;
};

}  // namespace wattline::node
