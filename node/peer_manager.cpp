#include "node/peer_manager.h"

#include <algorithm>

#include "consensus/market_rules.h"
#include "ledger/chainstate.h"
#include "net/misbehavior.h"
#include "node/logging.h"
#include "node/node.h"

namespace wattline::node {

using Rejection = consensus::Category;
using consensus::ValidationState;
using ledger::BlockIndex;

namespace {

auto NetLog() { return Log(Category::kNet); }

constexpr auto kOrphanTxLifetime = std::chrono::minutes(20);
// A peer may send this many inv items (and addresses, getdata items) at once, refilled at
// the rate: an honest node announces far fewer.
constexpr double kInvBurst = 10'000;
constexpr double kInvPerSecond = 1'000;
constexpr double kAddrBurst = 2'000;
constexpr double kAddrPerSecond = 1;
constexpr double kGetDataBurst = 10'000;
constexpr double kGetDataPerSecond = 1'000;
// Blocks are sent while the peer's send queue holds less than this; the rest wait their turn.
constexpr std::size_t kBlockSendWatermark = 1u << 20;
// At most this many headers per announcement; a peer missing more asks with getheaders.
constexpr std::size_t kMaxAnnounceHeaders = 8;

}  // namespace

bool RateLimit::Take(double n, std::chrono::steady_clock::time_point now) {
  if (m_last != std::chrono::steady_clock::time_point{}) {
    const double elapsed = std::chrono::duration<double>(now - m_last).count();
    m_tokens = std::min(m_capacity, m_tokens + elapsed * m_rate);
  }
  m_last = now;
  if (n > m_tokens) return false;
  m_tokens -= n;
  return true;
}

bool RecentSet::Insert(const crypto::Hash256& h) {
  if (!m_set.insert(h).second) return false;
  m_order.push_back(h);
  while (m_order.size() > m_capacity) {
    m_set.erase(m_order.front());
    m_order.pop_front();
  }
  return true;
}

void RecentSet::Erase(const crypto::Hash256& h) { m_set.erase(h); }  // its slot in m_order ages out

struct PeerManager::PeerSync {
  net::PeerId id = 0;
  net::Service address;
  bool inbound = false;
  std::uint32_t claimed_height = 0;
  const BlockIndex* best_known = nullptr;           //!< the best header we know it has
  std::map<crypto::Hash256, Clock::time_point> blocks_in_flight;
  std::vector<consensus::BlockHeader> pending_headers;  //!< a low-work chain still arriving
  std::size_t non_connecting = 0;
  RecentSet known{kMaxKnownInventory};              //!< inventory it has (not announced to it)
  std::unordered_set<crypto::Hash256> tx_requests;  //!< transactions asked for, not delivered
  std::deque<crypto::Hash256> block_sends;          //!< blocks it asked for, not sent yet
  std::uint64_t blocks_received = 0;
  bool answered_getaddr = false;
  RateLimit inv_rate{kInvBurst, kInvPerSecond};
  RateLimit addr_rate{kAddrBurst, kAddrPerSecond};
  RateLimit getdata_rate{kGetDataBurst, kGetDataPerSecond};
};

PeerManager::PeerManager(Node& node, const NetworkOptions& options, net::AddrMan& addrman)
    : m_node(node), m_options(options), m_addrman(addrman), m_rng(std::random_device{}()) {
  const auto* tip = m_node.chainstate().Tip();
  m_last_announced_height = tip->height;
  m_last_announced = tip->hash;
  m_block_sub = m_node.SubscribeBlocks([this](const BlockEvent& e) {
    {
      std::lock_guard lock(m_event_mutex);
      m_tip_changed = true;
      if (!e.connected) m_reorg = true;
    }
    if (m_wake) m_wake();
  });
  m_tx_sub = m_node.SubscribeTransactions([this](const consensus::TransactionRef& tx) {
    {
      std::lock_guard lock(m_event_mutex);
      m_new_txs.push_back(tx->txid());
    }
    if (m_wake) m_wake();
  });
}

PeerManager::~PeerManager() { Detach(); }

void PeerManager::Attach(net::ConnMan* connman) { m_connman = connman; }

void PeerManager::Detach() {
  if (m_block_sub) m_node.Unsubscribe(m_block_sub);
  if (m_tx_sub) m_node.Unsubscribe(m_tx_sub);
  m_block_sub = m_tx_sub = 0;
}

void PeerManager::Punish(net::PeerId peer, const net::Penalty& penalty, const std::string& detail) {
  if (penalty.score == 0 && !penalty.disconnect) return;
  const auto info = m_connman->Peer(peer);
  const std::uint32_t perms = info ? info->permissions : net::kPermNone;
  // relay and download lift the announcement and request limits: going past them is no offence.
  auto is = [&](net::Offense o) { return penalty.why == net::PenaltyFor(o).why; };
  if (((perms & net::kPermRelay) && (is(net::Offense::kInvFlood) || is(net::Offense::kAddrFlood))) ||
      ((perms & net::kPermDownload) && is(net::Offense::kGetDataFlood)))
    return;
  NetLog()->info("peer {}: {} (+{}){}{}{}", peer, penalty.why, penalty.score, detail.empty() ? "" : ": ", detail,
                 net::IsUnpunishable(perms) ? " [" + net::PermissionNames(perms) + ": logged, not punished]" : "");
  m_connman->Misbehaving(peer, penalty);
}

// ---------------------------------------------------------------------------------------------
// Peers coming and going

void PeerManager::OnPeerConnected(const net::PeerInfo& info) {
  auto p = std::make_unique<PeerSync>();
  p->id = info.id;
  p->address = info.address;
  p->inbound = info.inbound;
  p->claimed_height = info.best_height;
  {
    std::lock_guard lock(m_mutex);
    m_peers[info.id] = std::move(p);
  }
  // Ask for headers from peers that may be ahead of us (a peer behind us learns our chain
  // from our announcements and its own getheaders).
  if (info.best_height >= m_node.chainstate().Height()) SendGetHeaders(info.id, m_node.chainstate().Tip());
  if (!info.inbound) m_connman->Send(info.id, net::GetAddrMsg{});
  AnnounceMempoolTo(info.id);
}

void PeerManager::AnnounceMempoolTo(net::PeerId peer) {
  // Relay reaches the peers connected at the moment a transaction enters the pool; one that
  // connects later (after a partition heals, say, when a reorganisation has just put the losing
  // side's payments back) would never hear of them. So a new peer is told our pool once,
  // bounded well inside its inv allowance.
  net::InvMsg msg;
  for (const auto& e : m_node.mempool().All()) {
    if (msg.items.size() == kMaxMempoolAnnouncement) break;
    msg.items.push_back({net::InvType::kTx, e.tx->txid()});
  }
  if (msg.items.empty()) return;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    for (const auto& item : msg.items) it->second->known.Insert(item.hash);
  }
  m_connman->Send(peer, msg);
}

void PeerManager::OnPeerClosed(const net::ClosedPeer& closed) {
  bool had_requests = false;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(closed.info.id);
    if (it == m_peers.end()) return;
    for (const auto& [hash, when] : it->second->blocks_in_flight) {
      m_block_requests.erase(hash);
      had_requests = true;
    }
    m_peers.erase(it);
  }
  // Its blocks go to the other peers now rather than after a timeout.
  if (had_requests) ScheduleDownloads();
}

void PeerManager::OnPeerMessage(net::PeerId peer, net::Message&& msg) {
  try {
    std::visit(
        [&](auto&& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, net::GetHeadersMsg>) HandleGetHeaders(peer, m);
          else if constexpr (std::is_same_v<T, net::HeadersMsg>) HandleHeaders(peer, std::move(m.headers));
          else if constexpr (std::is_same_v<T, net::BlockMsg>) HandleBlock(peer, std::move(m.block));
          else if constexpr (std::is_same_v<T, net::TxMsg>) HandleTx(peer, m.tx);
          else if constexpr (std::is_same_v<T, net::InvMsg>) HandleInv(peer, m);
          else if constexpr (std::is_same_v<T, net::GetDataMsg>) HandleGetData(peer, m);
          else if constexpr (std::is_same_v<T, net::NotFoundMsg>) HandleNotFound(peer, m);
          else if constexpr (std::is_same_v<T, net::AddrMsg>) HandleAddr(peer, m);
          else if constexpr (std::is_same_v<T, net::GetAddrMsg>) HandleGetAddr(peer);
          else if constexpr (std::is_same_v<T, net::RejectMsg>)
            NetLog()->debug("peer {} rejected {}: {}", peer, m.hash ? m.hash->ToHex() : "-", m.reason);
        },
        std::move(msg));
  } catch (const std::exception& e) {
    // A storage failure while handling a peer's data: the node cannot go on safely.
    NetLog()->critical("handling a message of peer {}: {}", peer, e.what());
    throw;
  }
}

// ---------------------------------------------------------------------------------------------
// Headers

void PeerManager::SendGetHeaders(net::PeerId peer, const BlockIndex* from) {
  net::GetHeadersMsg msg;
  msg.locator = m_node.chainstate().Locator(from);
  if (msg.locator.size() > net::kMaxLocatorHashes) msg.locator.resize(net::kMaxLocatorHashes);
  m_connman->Send(peer, msg);
}

void PeerManager::HandleGetHeaders(net::PeerId peer, const net::GetHeadersMsg& msg) {
  net::HeadersMsg reply;
  reply.headers = m_node.chainstate().HeadersAfter(msg.locator, msg.stop_hash, net::kMaxHeaders);
  m_connman->Send(peer, reply);
}

void PeerManager::HandleHeaders(net::PeerId peer, std::vector<consensus::BlockHeader>&& headers) {
  auto& cs = m_node.chainstate();
  if (headers.empty()) return;  // it has nothing more for us
  const bool full = headers.size() == net::kMaxHeaders;
  for (std::size_t i = 1; i < headers.size(); ++i) {
    if (headers[i].prev_hash != headers[i - 1].Hash()) {
      Punish(peer, net::PenaltyFor(net::Offense::kHeadersNotChained), "");
      return;
    }
  }
  // A continuation of a low-work chain we are holding, or a chain that starts at a known block.
  std::vector<consensus::BlockHeader> chain;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    PeerSync& p = *it->second;
    if (!p.pending_headers.empty() && headers[0].prev_hash == p.pending_headers.back().Hash()) {
      chain = std::move(p.pending_headers);
      p.pending_headers.clear();
    }
  }
  if (chain.empty() && !cs.LookupBlockIndex(headers[0].prev_hash)) {
    // It builds on something we have not seen (we missed announcements): ask for the path.
    bool punish = false;
    {
      std::lock_guard lock(m_mutex);
      auto it = m_peers.find(peer);
      if (it == m_peers.end()) return;
      // Honest peers send a few (announcements racing a reorganisation): score every tenth.
      punish = ++it->second->non_connecting % kMaxNonConnecting == 0;
    }
    if (punish) Punish(peer, net::PenaltyFor(net::Offense::kNonConnectingHeaders), "");
    SendGetHeaders(peer, cs.BestHeader());
    return;
  }
  chain.insert(chain.end(), headers.begin(), headers.end());

  ValidationState state;
  ledger::Chainstate::HeadersResult result;
  if (!cs.AcceptHeaders(chain, Node::Now(), state, result)) {
    if (state.category() != Rejection::kPremature)
      Punish(peer, net::PenaltyForBlock(state.category()), "header " + state.ToString());
    return;
  }
  if (result.low_work) {
    bool punish = false, deep = false;
    {
      std::lock_guard lock(m_mutex);
      auto it = m_peers.find(peer);
      if (it == m_peers.end()) return;
      PeerSync& p = *it->second;
      if (full && chain.size() < kMaxPendingHeaders) {
        // It has more: hold these (in memory only) until the chain's work is known.
        p.pending_headers = std::move(chain);
      } else {
        const std::uint32_t tip_height = cs.Height();
        punish = tip_height > result.fork_height && tip_height - result.fork_height > kLowWorkTolerance;
        deep = punish && tip_height - result.fork_height > kLowWorkBanDepth;
      }
    }
    if (full && !punish) {
      net::GetHeadersMsg more;
      {
        std::lock_guard lock(m_mutex);
        auto it = m_peers.find(peer);
        if (it == m_peers.end() || it->second->pending_headers.empty()) return;
        more.locator = {it->second->pending_headers.back().Hash()};
      }
      m_connman->Send(peer, more);
      return;
    }
    NetLog()->debug("peer {}: low-work headers forking at height {} refused", peer, result.fork_height);
    net::Penalty penalty = net::PenaltyFor(net::Offense::kLowWorkHeaders);
    // A fork this deep is no partition that honest nodes heal from: it is a chain made to waste
    // our memory and bandwidth, and its sender is banned at once.
    if (deep) penalty.score = net::kBanThreshold;
    if (punish)
      Punish(peer, penalty,
             "fork at height " + std::to_string(result.fork_height) + " ending at " + std::to_string(result.last_height));
    return;
  }
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    it->second->non_connecting = 0;
    UpdateBestKnownLocked(*it->second, result.last);
  }
  m_connman->SetPeerHeight(peer, result.last->height);
  if (result.new_headers > 0)
    NetLog()->debug("peer {}: {} new headers up to height {}", peer, result.new_headers, result.last->height);
  if (full) SendGetHeaders(peer, result.last);
  ScheduleDownloads(peer);
}

void PeerManager::UpdateBestKnownLocked(PeerSync& p, const BlockIndex* index) {
  if (!index) return;
  if (!p.best_known || index->chain_work > p.best_known->chain_work) p.best_known = index;
  p.known.Insert(index->hash);
}

// ---------------------------------------------------------------------------------------------
// Block download

void PeerManager::ScheduleDownloads(std::optional<net::PeerId> only) {
  auto& cs = m_node.chainstate();
  std::vector<std::pair<net::PeerId, net::GetDataMsg>> requests;
  {
    std::lock_guard lock(m_mutex);
    const auto now = Clock::now();
    for (auto& [id, p] : m_peers) {
      if (only && id != *only) continue;
      if (!p->best_known) continue;
      const std::size_t in_flight = p->blocks_in_flight.size();
      if (in_flight >= m_options.max_blocks_in_flight_per_peer) continue;
      auto blocks = cs.MissingBlocks(p->best_known, m_options.download_window,
                                     m_options.max_blocks_in_flight_per_peer - in_flight,
                                     [this](const crypto::Hash256& h) { return m_block_requests.count(h) != 0; });
      if (blocks.empty()) continue;
      net::GetDataMsg msg;
      for (const BlockIndex* b : blocks) {
        msg.items.push_back({net::InvType::kBlock, b->hash});
        p->blocks_in_flight[b->hash] = now;
        m_block_requests[b->hash] = id;
      }
      requests.emplace_back(id, std::move(msg));
    }
  }
  for (auto& [id, msg] : requests) m_connman->Send(id, msg);
}

void PeerManager::HandleBlock(net::PeerId peer, consensus::Block&& block) {
  const crypto::Hash256 hash = block.Hash();
  auto& cs = m_node.chainstate();
  bool requested = false;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    PeerSync& p = *it->second;
    auto req = m_block_requests.find(hash);
    if (req != m_block_requests.end() && req->second == peer) {
      m_block_requests.erase(req);
      p.blocks_in_flight.erase(hash);
      ++p.blocks_received;
      requested = true;
    }
    p.known.Insert(hash);
  }
  if (!requested) {
    // Not asked for: welcome only as a new tip (more work than ours) or as an orphan whose
    // parent we will ask for; anything else is unrequested data.
    const BlockIndex* prev = cs.LookupBlockIndex(block.header.prev_hash);
    const BlockIndex* known = cs.LookupBlockIndex(hash);
    if (known && known->HaveData()) return;  // a race with another peer's delivery
    if (!prev) {
      ValidationState state;
      if (!consensus::CheckBlockHeader(block.header, m_node.params(), state)) {
        Punish(peer, net::PenaltyForBlock(state.category()), state.ToString());
        return;
      }
      {
        std::lock_guard lock(m_mutex);
        if (m_orphan_blocks.size() >= m_options.max_orphan_blocks && !m_orphan_blocks.empty()) {
          auto victim = m_orphan_blocks.begin();
          std::advance(victim, static_cast<long>(m_rng() % m_orphan_blocks.size()));
          m_orphan_blocks.erase(victim);
        }
        if (m_options.max_orphan_blocks > 0) m_orphan_blocks[hash] = {std::move(block), peer};
      }
      SendGetHeaders(peer, cs.BestHeader());
      return;
    }
    const auto block_work = consensus::BlockWork(block.header.bits);
    if (prev->chain_work + block_work <= cs.Tip()->chain_work) {
      Punish(peer, net::PenaltyFor(net::Offense::kUnrequestedBlock), hash.ToHex());
      return;
    }
  }
  SubmitBlock(peer, block);
  ScheduleDownloads();
}

void PeerManager::SubmitBlock(net::PeerId peer, const consensus::Block& first) {
  auto& cs = m_node.chainstate();
  std::vector<std::pair<consensus::Block, net::PeerId>> queue;
  queue.emplace_back(first, peer);
  while (!queue.empty()) {
    auto [block, from] = std::move(queue.back());
    queue.pop_back();
    const crypto::Hash256 hash = block.Hash();
    ValidationState state;
    if (m_node.SubmitBlock(block, state)) {
      const BlockIndex* index = cs.LookupBlockIndex(hash);
      {
        std::lock_guard lock(m_mutex);
        auto it = m_peers.find(from);
        if (it != m_peers.end()) UpdateBestKnownLocked(*it->second, index);
        // Orphans waiting for this block.
        for (auto o = m_orphan_blocks.begin(); o != m_orphan_blocks.end();) {
          if (o->second.first.header.prev_hash == hash) {
            queue.push_back(std::move(o->second));
            o = m_orphan_blocks.erase(o);
          } else {
            ++o;
          }
        }
      }
      if (index) m_connman->SetPeerHeight(from, index->height);
      continue;
    }
    if (state.category() == Rejection::kMissingPrev) {
      std::lock_guard lock(m_mutex);
      if (m_orphan_blocks.size() < m_options.max_orphan_blocks) m_orphan_blocks[hash] = {std::move(block), from};
      continue;
    }
    NetLog()->info("peer {}: block {} refused: {}", from, hash.ToHex(), state.ToString());
    Punish(from, net::PenaltyForBlock(state.category()), "block " + state.ToString());
  }
}

void PeerManager::CheckStalls() {
  std::vector<net::PeerId> stalling;
  {
    std::lock_guard lock(m_mutex);
    const auto deadline = Clock::now() - m_options.block_stall_timeout;
    for (const auto& [id, p] : m_peers) {
      for (const auto& [hash, when] : p->blocks_in_flight) {
        if (when < deadline) {
          stalling.push_back(id);
          break;
        }
      }
    }
  }
  for (net::PeerId id : stalling) {
    NetLog()->info("peer {}: block download stalled; disconnecting, its blocks go to other peers", id);
    m_connman->Disconnect(id, "block-download-stall");
  }
}

// ---------------------------------------------------------------------------------------------
// Inventory and transactions

void PeerManager::HandleInv(net::PeerId peer, const net::InvMsg& msg) {
  auto& cs = m_node.chainstate();
  auto& mempool = m_node.mempool();
  net::GetDataMsg want;
  bool unknown_block = false;
  bool flood = false;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    PeerSync& p = *it->second;
    if (!p.inv_rate.Take(static_cast<double>(msg.items.size()), Clock::now())) {
      flood = true;
    } else {
      for (const auto& item : msg.items) {
        p.known.Insert(item.hash);
        if (item.type == net::InvType::kBlock) {
          if (const BlockIndex* b = cs.LookupBlockIndex(item.hash)) {
            UpdateBestKnownLocked(p, b);
          } else {
            unknown_block = true;
          }
          continue;
        }
        if (mempool.Contains(item.hash) || m_recent_rejects.Contains(item.hash) || m_orphan_txs.count(item.hash))
          continue;
        if (p.tx_requests.size() >= kMaxTxRequests || p.tx_requests.count(item.hash)) continue;
        p.tx_requests.insert(item.hash);
        want.items.push_back(item);
      }
    }
  }
  if (flood) {
    Punish(peer, net::PenaltyFor(net::Offense::kInvFlood), std::to_string(msg.items.size()) + " items");
    return;
  }
  if (!want.items.empty()) m_connman->Send(peer, want);
  if (unknown_block) SendGetHeaders(peer, cs.BestHeader());
}

void PeerManager::HandleGetData(net::PeerId peer, const net::GetDataMsg& msg) {
  net::NotFoundMsg missing;
  std::vector<consensus::TransactionRef> txs;
  bool flood = false;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    PeerSync& p = *it->second;
    if (!p.getdata_rate.Take(static_cast<double>(msg.items.size()), Clock::now())) {
      flood = true;
    } else {
      for (const auto& item : msg.items) {
        if (item.type == net::InvType::kBlock) {
          if (p.block_sends.size() >= kMaxQueuedBlockSends) {
            flood = true;
            break;
          }
          p.block_sends.push_back(item.hash);
        } else if (auto entry = m_node.mempool().Get(item.hash)) {
          txs.push_back(entry->tx);
          p.known.Insert(item.hash);
        } else {
          missing.items.push_back(item);
        }
      }
    }
  }
  if (flood) {
    Punish(peer, net::PenaltyFor(net::Offense::kGetDataFlood), std::to_string(msg.items.size()) + " items");
    return;
  }
  for (const auto& tx : txs) m_connman->Send(peer, net::TxMsg{tx});
  if (!missing.items.empty()) m_connman->Send(peer, missing);
  ServeBlocks();
}

bool PeerManager::ServeBlocks() {
  auto& cs = m_node.chainstate();
  bool more = false;
  std::vector<net::PeerId> ids;
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [id, p] : m_peers)
      if (!p->block_sends.empty()) ids.push_back(id);
  }
  for (net::PeerId id : ids) {
    for (;;) {
      auto info = m_connman->Peer(id);
      if (!info) break;
      if (info->send_queue_bytes >= kBlockSendWatermark) {
        more = true;
        break;
      }
      crypto::Hash256 hash;
      {
        std::lock_guard lock(m_mutex);
        auto it = m_peers.find(id);
        if (it == m_peers.end() || it->second->block_sends.empty()) break;
        hash = it->second->block_sends.front();
        it->second->block_sends.pop_front();
      }
      const BlockIndex* index = cs.LookupBlockIndex(hash);
      net::BlockMsg msg;
      if (!index || !cs.ReadBlock(*index, msg.block)) {
        m_connman->Send(id, net::NotFoundMsg{{{net::InvType::kBlock, hash}}});
        continue;
      }
      if (!m_connman->Send(id, msg)) break;
    }
  }
  return more;
}

void PeerManager::HandleNotFound(net::PeerId peer, const net::NotFoundMsg& msg) {
  bool freed = false;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    for (const auto& item : msg.items) {
      if (item.type == net::InvType::kTx) {
        it->second->tx_requests.erase(item.hash);
      } else if (it->second->blocks_in_flight.erase(item.hash)) {
        m_block_requests.erase(item.hash);
        freed = true;
      }
    }
  }
  if (freed) ScheduleDownloads();
}

void PeerManager::HandleTx(net::PeerId peer, const consensus::TransactionRef& tx) {
  const crypto::Hash256 txid = tx->txid();
  bool requested = false;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    requested = it->second->tx_requests.erase(txid) != 0;
    it->second->known.Insert(txid);
  }
  if (!requested) {
    Punish(peer, net::PenaltyFor(net::Offense::kUnrequestedTx), txid.ToHex());
    return;
  }
  SubmitTx(peer, tx);
}

void PeerManager::SubmitTx(net::PeerId peer, const consensus::TransactionRef& first) {
  std::vector<std::pair<consensus::TransactionRef, net::PeerId>> queue{{first, peer}};
  while (!queue.empty()) {
    auto [tx, from] = queue.back();
    queue.pop_back();
    const crypto::Hash256 txid = tx->txid();
    if (m_node.mempool().Contains(txid)) continue;
    MempoolReject reject;
    if (m_node.SubmitTransaction(tx, reject, nullptr, Node::TxOrigin::kPeer)) {
      // Accepted (the node's event announces it): its orphans may now fit.
      std::lock_guard lock(m_mutex);
      auto [a, b] = m_orphans_by_parent.equal_range(txid);
      for (auto it = a; it != b; ++it) {
        auto o = m_orphan_txs.find(it->second);
        if (o != m_orphan_txs.end()) {
          queue.emplace_back(o->second.tx, o->second.from);
          m_orphan_txs.erase(o);
        }
      }
      m_orphans_by_parent.erase(a, b);
      continue;
    }
    if (!reject.state.IsValid() && reject.state.category() == Rejection::kMissingInputs) {
      AddOrphanTx(from, tx);
      continue;
    }
    if (!reject.state.IsValid() && consensus::DependsOnMarketState(reject.state.reason())) {
      // May be valid after another transaction or on another chain: neither remembered nor punished.
      NetLog()->debug("peer {}: market transaction {} not taken now: {}", from, txid.ToHex(), reject.ToString());
      continue;
    }
    {
      std::lock_guard lock(m_mutex);
      m_recent_rejects.Insert(txid);
    }
    NetLog()->debug("peer {}: transaction {} refused: {}", from, txid.ToHex(), reject.ToString());
    if (!reject.state.IsValid()) Punish(from, net::PenaltyForTx(reject.state.category()), reject.state.ToString());
  }
}

void PeerManager::AddOrphanTx(net::PeerId peer, const consensus::TransactionRef& tx) {
  const crypto::Hash256 txid = tx->txid();
  net::GetDataMsg parents;
  {
    std::lock_guard lock(m_mutex);
    if (m_options.max_orphan_txs == 0 || m_orphan_txs.count(txid)) return;
    const auto now = Clock::now();
    // Expired orphans first, then random ones, make room.
    for (auto it = m_orphan_txs.begin(); it != m_orphan_txs.end();) {
      it = it->second.expiry < now ? m_orphan_txs.erase(it) : std::next(it);
    }
    while (m_orphan_txs.size() >= m_options.max_orphan_txs) {
      auto victim = m_orphan_txs.begin();
      std::advance(victim, static_cast<long>(m_rng() % m_orphan_txs.size()));
      m_orphan_txs.erase(victim);
    }
    m_orphan_txs[txid] = {tx, peer, now + kOrphanTxLifetime};
    auto it = m_peers.find(peer);
    for (const auto& in : tx->inputs()) {
      m_orphans_by_parent.emplace(in.prevout.txid, txid);
      if (it != m_peers.end() && !m_node.mempool().Contains(in.prevout.txid) &&
          it->second->tx_requests.size() < kMaxTxRequests && it->second->tx_requests.insert(in.prevout.txid).second)
        parents.items.push_back({net::InvType::kTx, in.prevout.txid});
    }
    // The parent index may name orphans already evicted: drop those links.
    for (auto it2 = m_orphans_by_parent.begin(); it2 != m_orphans_by_parent.end();)
      it2 = m_orphan_txs.count(it2->second) ? std::next(it2) : m_orphans_by_parent.erase(it2);
  }
  if (!parents.items.empty()) m_connman->Send(peer, parents);
}

// ---------------------------------------------------------------------------------------------
// Addresses

void PeerManager::HandleAddr(net::PeerId peer, const net::AddrMsg& msg) {
  net::NetAddress source;
  bool flood = false;
  std::vector<net::PeerId> forward_to;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end()) return;
    source = it->second->address.addr;
    flood = !it->second->addr_rate.Take(static_cast<double>(msg.entries.size()), Clock::now());
    if (!flood && msg.entries.size() <= 10) {
      // Gossip a few fresh addresses on to two other peers.
      std::vector<net::PeerId> others;
      for (const auto& [id, p] : m_peers)
        if (id != peer) others.push_back(id);
      std::shuffle(others.begin(), others.end(), m_rng);
      others.resize(std::min<std::size_t>(others.size(), 2));
      forward_to = others;
    }
  }
  if (flood) {
    Punish(peer, net::PenaltyFor(net::Offense::kAddrFlood), std::to_string(msg.entries.size()) + " addresses");
    return;
  }
  // Forward only what was news to us: gossip dies out instead of circling.
  if (m_addrman.Add(msg.entries, source, Node::Now()) == 0) return;
  for (net::PeerId id : forward_to) m_connman->Send(id, msg);
}

void PeerManager::HandleGetAddr(net::PeerId peer) {
  {
    std::lock_guard lock(m_mutex);
    auto it = m_peers.find(peer);
    if (it == m_peers.end() || it->second->answered_getaddr) return;  // once per connection
    it->second->answered_getaddr = true;
  }
  net::AddrMsg reply;
  reply.entries = m_addrman.GetAddr(net::kMaxAddrEntries, Node::Now());
  if (!reply.entries.empty()) m_connman->Send(peer, reply);
}

// ---------------------------------------------------------------------------------------------
// The network thread

void PeerManager::AnnounceTip() {
  auto& cs = m_node.chainstate();
  bool reorg = false;
  {
    std::lock_guard lock(m_event_mutex);
    if (!m_tip_changed) return;
    m_tip_changed = false;
    reorg = m_reorg;
    m_reorg = false;
  }
  const BlockIndex* tip = cs.Tip();
  if (m_last_announced && *m_last_announced == tip->hash) return;
  // The new blocks since the last announcement (after a reorganisation, the last few).
  std::vector<const BlockIndex*> fresh;
  const BlockIndex* last = m_last_announced ? cs.LookupBlockIndex(*m_last_announced) : nullptr;
  const bool last_active = last && cs.IsActive(last);
  for (const BlockIndex* b = tip; b && fresh.size() < kMaxAnnounceHeaders; b = b->prev) {
    if (last_active && b->height <= last->height) break;
    fresh.push_back(b);
  }
  std::reverse(fresh.begin(), fresh.end());
  m_last_announced = tip->hash;
  m_last_announced_height = tip->height;
  using Announcement = net::Message;
  std::vector<std::pair<net::PeerId, Announcement>> sends;
  {
    std::lock_guard lock(m_mutex);
    for (auto& [id, p] : m_peers) {
      if (p->known.Contains(tip->hash) || fresh.empty()) continue;
      // The blocks after the last one it is known to have: always a chain. Headers only when
      // it has the first one's parent; otherwise an inv of the tip, which it answers with a
      // getheaders of its own (a header it cannot connect would look like misbehaviour).
      std::size_t start = fresh.size();
      while (start > 0 && !p->known.Contains(fresh[start - 1]->hash)) --start;
      const BlockIndex* parent = fresh[start]->prev;
      const bool has_parent = parent && (p->known.Contains(parent->hash) ||
                                         (p->best_known && p->best_known->height >= parent->height &&
                                          p->best_known->Ancestor(parent->height) == parent));
      for (const BlockIndex* b : fresh) p->known.Insert(b->hash);
      if (has_parent) {
        net::HeadersMsg msg;
        for (std::size_t i = start; i < fresh.size(); ++i) msg.headers.push_back(fresh[i]->header);
        sends.emplace_back(id, Announcement{std::move(msg)});
      } else {
        sends.emplace_back(id, Announcement{net::InvMsg{{{net::InvType::kBlock, tip->hash}}}});
      }
    }
  }
  for (auto& [id, msg] : sends) m_connman->Send(id, msg);
  if (reorg) {
    // Transactions of the blocks a reorganisation removed are back in the mempool: tell peers.
    std::lock_guard lock(m_event_mutex);
    for (const auto& e : m_node.mempool().All()) m_new_txs.push_back(e.tx->txid());
  }
}

void PeerManager::AnnounceTransactions() {
  std::vector<crypto::Hash256> txids;
  {
    std::lock_guard lock(m_event_mutex);
    txids.swap(m_new_txs);
  }
  if (txids.empty()) return;
  std::vector<std::pair<net::PeerId, net::InvMsg>> sends;
  {
    std::lock_guard lock(m_mutex);
    for (auto& [id, p] : m_peers) {
      net::InvMsg msg;
      for (const auto& txid : txids)
        if (!p->known.Contains(txid)) {
          msg.items.push_back({net::InvType::kTx, txid});
          p->known.Insert(txid);
        }
      if (!msg.items.empty()) sends.emplace_back(id, std::move(msg));
    }
  }
  for (auto& [id, msg] : sends) {
    for (std::size_t i = 0; i < msg.items.size(); i += net::kMaxInvItems) {
      net::InvMsg part;
      part.items.assign(msg.items.begin() + static_cast<long>(i),
                        msg.items.begin() + static_cast<long>(std::min(msg.items.size(), i + net::kMaxInvItems)));
      m_connman->Send(id, part);
    }
  }
}

bool PeerManager::Tick() {
  AnnounceTip();
  AnnounceTransactions();
  CheckStalls();
  ScheduleDownloads();
  return ServeBlocks();
}

// ---------------------------------------------------------------------------------------------
// Status

std::optional<PeerManager::PeerSyncInfo> PeerManager::SyncInfo(net::PeerId peer) const {
  std::lock_guard lock(m_mutex);
  auto it = m_peers.find(peer);
  if (it == m_peers.end()) return std::nullopt;
  PeerSyncInfo info;
  const PeerSync& p = *it->second;
  if (p.best_known) {
    info.synced_headers = p.best_known->height;
    info.synced_blocks = p.best_known->HaveData() ? p.best_known->height : 0;
    if (!p.best_known->HaveData()) {
      for (const BlockIndex* b = p.best_known; b; b = b->prev)
        if (b->HaveData()) {
          info.synced_blocks = b->height;
          break;
        }
    }
  }
  info.blocks_in_flight = p.blocks_in_flight.size();
  info.blocks_received = p.blocks_received;
  return info;
}

SyncStatus PeerManager::Status() const {
  auto& cs = m_node.chainstate();
  SyncStatus s;
  const BlockIndex* tip = cs.Tip();
  const BlockIndex* best = cs.BestHeader();
  s.tip_height = tip->height;
  s.best_header_height = best ? best->height : tip->height;
  {
    std::lock_guard lock(m_mutex);
    s.blocks_in_flight = m_block_requests.size();
  }
  s.initial_download = s.best_header_height > s.tip_height ||
                       static_cast<std::int64_t>(tip->header.time) < Node::Now() - 24 * 3600;
  return s;
}

std::size_t PeerManager::OrphanTxCount() const {
  std::lock_guard lock(m_mutex);
  return m_orphan_txs.size();
}

std::size_t PeerManager::OrphanBlockCount() const {
  std::lock_guard lock(m_mutex);
  return m_orphan_blocks.size();
}

}  // namespace wattline::node
