#include "node/channels.h"
#include "node/market.h"

#include "consensus/market_state.h"
#include "ledger/chainstate.h"
#include "node/logging.h"
#include "node/network.h"
#include "node/node.h"

namespace wattline::node {

using namespace consensus;

std::string ChannelPeerName(const std::string& ip, std::uint16_t listen_port) {
  const bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(listen_port);
}

std::unique_ptr<NodeChannels> NodeChannels::Start(Node& node, ChannelOptions options, std::string& error) {
  if (!node.wallet()) {
    error = "channels need the wallet (the channel key and the funding coins are the wallet's)";
    return nullptr;
  }
  options.engine.tower = options.tower;
  std::unique_ptr<NodeChannels> c(new NodeChannels(node, std::move(options)));
  if (!channels::ChannelStore::Open(node.datadir() / "channels", c->m_store, error)) return nullptr;
  c->m_engine = std::make_unique<channels::ChannelEngine>(*c, *c->m_store, c->m_options.engine);
  if (node.UtilityKey()) {
    if (!channels::Watchtower::Open(node.datadir() / "tower", *c, c->m_tower, error)) return nullptr;
    c->m_arbiter = std::make_unique<channels::Arbiter>(*c);
  }
  c->m_worker = std::thread([p = c.get()] { p->Run(); });
  NodeChannels* self = c.get();
  c->m_subscription = node.SubscribeBlocks([self](const BlockEvent& ev) {
    if (ev.connected) self->Post([self, hash = ev.hash] { self->OnBlock(hash); });
  });
  // Blocks that connected while the node was down, or before this subscription, were not seen:
  // look at the chain once now, as a block would (a stale post mid-window is answered at once).
  self->Post([self] { self->CatchUp(); });
  // Keep every live channel's peer connected: after a restart the engine resumes on connect.
  std::size_t live = 0;
  if (Network* net = node.network()) {
    for (const auto& r : c->m_engine->List()) {
      if (r.phase == channels::Phase::kClosed || r.phase == channels::Phase::kFailed) continue;
      ++live;
      std::string ignored;  // "already a persistent peer" is fine
      net->AddPeer(r.peer, /*persistent=*/true, ignored);
    }
    if (!c->m_options.tower.empty()) {
      std::string ignored;
      net->AddPeer(c->m_options.tower, /*persistent=*/true, ignored);
    }
  }
  Log(Category::kNode)->info("channels: {} known, {} live{}", c->m_store->All().size(), live,
                             c->m_tower ? ", watchtower and arbiter on" : "");
  return c;
}

NodeChannels::~NodeChannels() { Stop(); }

void NodeChannels::Stop() {
  if (m_subscription) {
    m_node.Unsubscribe(m_subscription);
    m_subscription = 0;
  }
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_cv.notify_all();
  if (m_worker.joinable()) m_worker.join();
}

void NodeChannels::Post(std::function<void()> job) {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    m_jobs.push_back(std::move(job));
  }
  m_cv.notify_one();
}

void NodeChannels::Run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait(lock, [&] { return m_stopping || !m_jobs.empty(); });
      if (m_stopping) return;
      job = std::move(m_jobs.front());
      m_jobs.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      // A storage failure: what was synced stays; the node cannot keep channels safely.
      Log(Category::kNode)->critical("channels: {}", e.what());
      throw;
    }
  }
}

void NodeChannels::CatchUp() {
  m_engine->OnBlock();
  if (!m_tower) return;
  if (const std::size_t disputes = m_tower->CatchUp())
    Log(Category::kNode)->info("watchtower: {} stale post(s) on chain answered at start", disputes);
}

void NodeChannels::OnBlock(const crypto::Hash256& hash) {
  m_engine->OnBlock();
  if (!m_tower) return;
  const ledger::BlockIndex* index = m_node.chainstate().LookupBlockIndex(hash);
  Block block;
  if (index && m_node.chainstate().ReadBlock(*index, block)) m_tower->OnBlockConnected(block.txs);
}

void NodeChannels::OnMessage(const std::string& peer, channels::ChannelMessage msg) {
  bool post = false;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    if (m_inbox.size() >= kMaxInbox) {
      // The worker is behind by thousands of messages: drop (reestablish and resends recover).
      if (m_dropped++ % 1000 == 0)
        Log(Category::kNode)->warn("channels: inbox full ({} messages): dropped {} from {}", kMaxInbox,
                                   channels::MessageName(msg), peer);
      return;
    }
    m_inbox.emplace_back(peer, std::move(msg));
    post = !std::exchange(m_drain_posted, true);
  }
  if (post) Post([this] { Drain(); });
}

void NodeChannels::Drain() {
  std::deque<std::pair<std::string, channels::ChannelMessage>> inbox;
  {
    std::lock_guard lock(m_mutex);
    inbox.swap(m_inbox);
    m_drain_posted = false;
  }
  // Consecutive messages of one peer for the engine go in one OnMessages call: the states they
  // make are persisted by one synced write before any reply leaves (group commit).
  std::vector<channels::ChannelMessage> run;
  std::vector<channels::TowerUpdateMsg> tower;
  std::string run_peer, tower_peer;
  const auto flush_run = [&] {
    if (!run.empty()) m_engine->OnMessages(run_peer, run);
    run.clear();
  };
  const auto flush_tower = [&] {
    if (tower.empty()) return;
    const auto verdicts = m_tower->AcceptBatch(tower);
    for (std::size_t i = 0; i < verdicts.size(); ++i)
      if (verdicts[i] != channels::Watchtower::Verdict::kKept && verdicts[i] != channels::Watchtower::Verdict::kNotNewer)
        Log(Category::kNode)->info("watchtower: state {} from {}: {}", tower[i].commitment.state, tower_peer,
                                   channels::Watchtower::VerdictName(verdicts[i]));
    tower.clear();
  };
  for (auto& [peer, msg] : inbox) {
    if (auto* t = std::get_if<channels::TowerUpdateMsg>(&msg)) {
      if (!m_tower) continue;
      if (peer != tower_peer) flush_tower();
      tower_peer = peer;
      tower.push_back(*t);
      continue;
    }
    if (auto* a = std::get_if<channels::ArbitrateMsg>(&msg)) {
      if (!m_arbiter) continue;
      channels::ChannelMessage reply = m_arbiter->Handle(*a);
      if (auto* e = std::get_if<channels::ErrorMsg>(&reply))
        Log(Category::kNode)->info("arbiter: refused the close of {} asked by {}: {}", e->id.ToHex().substr(0, 16), peer, e->text);
      else
        Log(Category::kNode)->info("arbiter: co-signed the close of {} asked by {}", a->channel.txid.ToHex().substr(0, 16), peer);
      Send(peer, reply);
      continue;
    }
    if (auto* e = std::get_if<channels::ErrorMsg>(&msg))
      Log(Category::kNode)->warn("channel {}: {} says: {}", e->id.ToHex().substr(0, 16), peer, e->text);
    if (peer != run_peer) flush_run();
    run_peer = peer;
    run.push_back(std::move(msg));
  }
  flush_run();
  flush_tower();
}

void NodeChannels::OnPeerConnected(const std::string& peer) {
  Post([this, peer] { m_engine->OnPeerConnected(peer); });
}

const Params& NodeChannels::params() const { return m_node.params(); }
std::uint32_t NodeChannels::TipHeight() const { return m_node.chainstate().Height(); }

std::uint64_t NodeChannels::TipTime() const {
  const ledger::BlockIndex* tip = m_node.chainstate().Tip();
  return tip ? tip->header.time : 0;
}

std::vector<Reading> NodeChannels::CountedReadings(const MeterId& meter, std::uint64_t from_start, std::size_t limit) const {
  std::vector<Reading> out;
  for (auto& item : m_node.readingindex().List(meter, from_start, limit)) out.push_back(std::move(item.reading));
  return out;
}

MarketGlobals NodeChannels::Globals() const {
  ledger::ChainMarketStore store(m_node.chainstate());
  return MarketReader(store, m_node.params()).Globals();
}

std::optional<ChannelState> NodeChannels::OnChain(const ChannelId& id) const {
  ledger::ChainMarketStore store(m_node.chainstate());
  return MarketReader(store, m_node.params()).Channel(id);
}

bool NodeChannels::Broadcast(const MutableTransaction& tx, std::string& why) {
  MempoolReject reject;
  const auto ref = MakeTransactionRef(tx);
  if (m_node.mempool().Contains(ref->txid())) return true;
  if (m_node.SubmitTransaction(ref, reject)) return true;
  why = reject.ToString();
  return false;
}

void NodeChannels::Send(const std::string& peer, const channels::ChannelMessage& msg) {
  Network* net = m_node.network();
  if (!net) return;
  std::string error;
  if (!net->SendChannel(peer, channels::EncodeChannelMessage(msg), error))
    Log(Category::kNode)->debug("channels: {} to {} not sent: {}", channels::MessageName(msg), peer, error);
}

crypto::XOnlyPubKey NodeChannels::Key() const { return m_node.wallet()->DefaultKey(); }

std::optional<Signature> NodeChannels::Sign(const Hash256& msg) {
  Signature sig;
  if (!m_node.wallet()->SignWithDefaultKey(msg, sig).ok()) return std::nullopt;
  return sig;
}

std::optional<crypto::XOnlyPubKey> NodeChannels::UtilityKey() const { return m_node.UtilityKey(); }

std::optional<Signature> NodeChannels::SignAsUtility(const Hash256& msg) {
  if (!m_node.UtilityKey()) return std::nullopt;
  return m_node.SignAsUtility(msg);
}

bool NodeChannels::SelectFunding(std::uint64_t amount, std::vector<channels::FundingInput>& inputs,
                                 std::optional<TxOut>& change, std::string& why) {
  std::vector<std::pair<OutPoint, TxOut>> coins;
  auto r = m_node.wallet()->ReserveCoins(Amount{static_cast<std::int64_t>(amount)}, coins, change);
  if (!r.ok()) return why = r.message, false;
  inputs.clear();
  for (auto& [op, out] : coins) inputs.push_back({op, out});
  return true;
}

void NodeChannels::ReleaseFunding(const std::vector<channels::FundingInput>& inputs) {
  std::vector<OutPoint> coins;
  for (const auto& in : inputs) coins.push_back(in.prevout);
  m_node.wallet()->ReleaseCoins(coins);
}

bool NodeChannels::SignInputs(const MutableTransaction& tx, std::size_t first, std::size_t count,
                              std::vector<Signature>& sigs, std::string& why) {
  auto r = m_node.wallet()->SignInputs(tx, first, count, sigs);
  if (!r.ok()) return why = r.message, false;
  return true;
}

}  // namespace wattline::node
