#include "node/node.h"

#include "node/channels.h"
#include "node/network.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/hex.h"
#include "crypto/random.h"
#include "node/address.h"
#include "node/logging.h"
#include "node/market.h"
#include "node/miner.h"
#include "node/channels.h"
#include "node/network.h"
#include "node/tx_index.h"

namespace wattline::node {

namespace fs = std::filesystem;

// Collects chain events while the chainstate holds its lock; the node forwards them after.
class Node::Events final : public ledger::Notifications {
 public:
  struct Event {
    consensus::Block block;
    crypto::Hash256 hash;
    crypto::Hash256 prev_hash;
    std::uint32_t height = 0;
    bool connected = true;
  };
  void BlockConnected(const consensus::Block& block, const ledger::BlockIndex& index) override {
    std::lock_guard lock(m_mutex);
    m_events.push_back({block, index.hash, index.header.prev_hash, index.height, true});
  }
  void BlockDisconnected(const consensus::Block& block, const ledger::BlockIndex& index) override {
    std::lock_guard lock(m_mutex);
    m_events.push_back({block, index.hash, index.header.prev_hash, index.height, false});
  }
  std::vector<Event> Take() {
    std::lock_guard lock(m_mutex);
    return std::exchange(m_events, {});
  }

 private:
  std::mutex m_mutex;
  std::vector<Event> m_events;
};

class Node::ChainForWallet final : public WalletChain {
 public:
  explicit ChainForWallet(Node& node) : m_node(node) {}
  std::uint32_t TipHeight() const override { return m_node.m_chainstate->Height(); }
  void ForEachActiveBlock(std::uint32_t from_height,
                          const std::function<void(const consensus::Block&, std::uint32_t)>& fn) const override {
    for (std::uint32_t h = from_height;; ++h) {
      const ledger::BlockIndex* index = m_node.m_chainstate->ActiveAt(h);
      if (!index) return;
      consensus::Block block;
      if (!m_node.m_chainstate->ReadBlock(*index, block)) return;
      fn(block, h);
    }
  }
  // The wallet records its own payments as pending itself: no call back into it here (it
  // holds its lock while it sends).
  bool SubmitTransaction(const consensus::TransactionRef& tx, std::string& error) override {
    MempoolReject reject;
    if (!m_node.m_mempool->Accept(tx, Now(), reject) || !m_node.JournalLocal(tx, reject)) {
      error = reject.ToString();
      return false;
    }
    m_node.NotifyTransaction(tx);
    return true;
  }
  std::int64_t MinFeeRate() const override { return m_node.m_mempool->MinFeeRate(Now()); }

 private:
  Node& m_node;
};

std::int64_t Node::Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Node::Node(NodeOptions options) : m_options(std::move(options)) {}

std::unique_ptr<Node> Node::Start(NodeOptions options, std::string& error) {
  if (!options.params) {
    error = "no network parameters";
    return nullptr;
  }
  auto node = std::unique_ptr<Node>(new Node(std::move(options)));
  try {
    if (!node->Init(error)) return nullptr;
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
  return node;
}

namespace {

bool WriteSecretFile(const fs::path& path, const std::string& content) {
  const auto tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return false;
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  return ok && std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::optional<std::string> ReadFirstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

}  // namespace

bool Node::Init(std::string& error) {
  const fs::path& dir = m_options.datadir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create datadir " + dir.string() + ": " + ec.message();
    return false;
  }
  ::chmod(dir.c_str(), 0700);
  // One daemon per datadir: an advisory lock held for the process's life.
  const fs::path lock_path = dir / ".lock";
  m_lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0600);
  if (m_lock_fd < 0 || ::flock(m_lock_fd, LOCK_EX | LOCK_NB) != 0) {
    error = "datadir " + dir.string() + " is in use by another wattlined";
    return false;
  }
  const consensus::Params& params = *m_options.params;
  // Everything that can refuse the start without opening a database is checked first: LevelDB
  // rewrites its manifest and logs on every open, so a refusal after it would change the datadir.
  const fs::path network_path = dir / "network";
  if (auto owner = ReadFirstLine(network_path); owner && *owner != params.name) {
    error = "datadir " + dir.string() + " holds a chainstate of network '" + *owner + "', not '" + params.name + "'";
    return false;
  }
  if (m_options.wallet && fs::exists(dir / "wallet.dat")) {
    if (auto r = Wallet::Check(dir / "wallet.dat", params); !r.ok()) {
      error = "wallet " + (dir / "wallet.dat").string() + ": " + r.message;
      return false;
    }
  }

  m_events = std::make_unique<Events>();
  if (m_options.sig_cache_bytes > 0) {
    // A secret salt: peers cannot predict where an entry lands, so cannot aim at evicting it.
    crypto::Hash256 salt;
    crypto::GetRandomBytes(salt.bytes);
    m_sig_cache = std::make_unique<crypto::SigCache>(salt, m_options.sig_cache_bytes);
    m_options.mempool.sig_cache = m_sig_cache.get();
  }
  m_check_queue = std::make_unique<ledger::CheckQueue>(
      m_options.check_workers.value_or(ledger::CheckQueue::DefaultWorkers()));
  ledger::ChainstateOptions cs_opts;
  cs_opts.dir = dir / "chainstate";
  cs_opts.coins_cache_bytes = m_options.coins_cache_bytes;
  cs_opts.check_queue = m_check_queue.get();
  cs_opts.sig_cache = m_sig_cache.get();
  cs_opts.notifications = m_events.get();
  cs_opts.reindex_chainstate = m_options.reindex_chainstate;
  if (m_options.reindex_chainstate) Log(Category::kChainstate)->info("reindex-chainstate: wiping the coins and the market state");
  // The chainstate keeps the callback: it owns its clock rather than point into this frame.
  auto last_progress = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  cs_opts.progress = [last_progress, reindex = m_options.reindex_chainstate](std::uint32_t height, std::uint32_t tip) {
    const auto now = std::chrono::steady_clock::now();
    if (height != tip && now - *last_progress < std::chrono::seconds(2)) return;
    *last_progress = now;
    Log(Category::kChainstate)->info("{}: block {} of {} ({}%)", reindex ? "reindex-chainstate" : "replaying blocks", height,
                                     tip, tip ? std::uint64_t{height} * 100 / tip : 100);
  };
  ledger::Status s = ledger::Chainstate::Open(params, cs_opts, m_chainstate);
  if (!s.ok()) {
    error = s.message();
    // Name the way out: the blocks are stored apart from the coins built from them.
    if (s.code() == ledger::Status::Code::kCorruption && !m_options.reindex_chainstate)
      error += "; start once with --reindex-chainstate to rebuild the coins and the market state from the stored blocks";
    return false;
  }
  m_events->Take();  // replayed at open: the indexes below catch up by themselves
  Log(Category::kChainstate)->info("chainstate at height {} ({})", m_chainstate->Height(),
                                   m_chainstate->Tip()->hash.ToHex());

  m_mempool = std::make_unique<Mempool>(*m_chainstate, m_options.mempool);
  if (m_options.persist_mempool) {
    std::string damaged;
    const std::size_t n = m_mempool->Load(dir / "mempool.dat", Now(), &damaged);
    if (!damaged.empty()) Log(Category::kMempool)->warn("mempool.dat is damaged ({}); loaded what came before", damaged);
    if (n) Log(Category::kMempool)->info("loaded {} transaction(s) from mempool.dat", n);
  }
  s = TxIndex::Open(dir / "txindex", *m_chainstate, m_txindex);
  if (!s.ok()) {
    error = s.message();
    return false;
  }

  s = ReadingIndex::Open(dir / "readingindex", *m_chainstate, m_readingindex);
  if (!s.ok()) {
    error = s.message();
    return false;
  }
  m_market = std::make_unique<Market>(*this);

  if (m_options.utility) {
    std::optional<crypto::SecretKey> key;
    if (!m_options.utility_key_file.empty()) {
      const fs::path& key_path = m_options.utility_key_file;
      auto line = ReadFirstLine(key_path);
      if (!line) {
        error = "cannot read the utility key file " + key_path.string();
        return false;
      }
      auto raw = crypto::HexDecode(*line);
      if (raw && raw->size() == 32) key = crypto::SecretKey::FromBytes(*raw);
      if (!key) {
        error = "utility key file " + key_path.string() + " does not hold a secret key (64 hex digits)";
        return false;
      }
    } else if (params.network == consensus::Network::kDevnet || params.network == consensus::Network::kRegtest) {
      key = crypto::SecretKey::FromBytes(consensus::DocumentedUtilitySecret(params.network).span());
    } else {
      const fs::path key_path = dir / "utility.key";
      if (auto line = ReadFirstLine(key_path)) {
        auto raw = crypto::HexDecode(*line);
        if (raw) key = crypto::SecretKey::FromBytes(*raw);
        if (!key) {
          error = "utility key file " + key_path.string() + " is corrupt";
          return false;
        }
      } else {
        key = crypto::SecretKey::Generate();
        if (!WriteSecretFile(key_path, crypto::HexEncode(key->bytes()) + "\n")) {
          error = "cannot write " + key_path.string();
          return false;
        }
        Log(Category::kNode)->info("generated the utility key in {}", key_path.string());
      }
    }
    m_utility_key = key->PubKey();
    m_utility_secret = key;
    const auto in_force = m_market->Globals().UtilityKeyAt(m_chainstate->Height() + 1);
    if (*m_utility_key == in_force) {
      Log(Category::kNode)->info("acting as the utility ({})", crypto::HexEncode(m_utility_key->span()));
    } else {
      Log(Category::kNode)->warn("the utility key {} is not the chain's utility key {}: utility records will be refused",
                                 crypto::HexEncode(m_utility_key->span()), crypto::HexEncode(in_force.span()));
    }
  }

  if (m_options.wallet) {
    m_wallet_chain = std::make_unique<ChainForWallet>(*this);
    const fs::path wallet_path = dir / "wallet.dat";
    const fs::path pass_path = dir / "wallet.passphrase";
    Wallet::Result r;
    const bool existing = fs::exists(wallet_path);
    if (existing) {
      r = Wallet::Open(wallet_path, params, *m_wallet_chain, m_wallet);  // scans the chain itself
    } else {
      std::string passphrase = m_options.wallet_passphrase;
      if (passphrase.empty()) {
        std::array<std::uint8_t, 24> raw;
        crypto::GetRandomBytes(raw);
        passphrase = crypto::HexEncode(raw);
        if (!WriteSecretFile(pass_path, passphrase + "\n")) {
          error = "cannot write " + pass_path.string();
          return false;
        }
        Log(Category::kWallet)->warn("new wallet: its passphrase is in {}; keep a copy elsewhere", pass_path.string());
      }
      r = Wallet::Create(wallet_path, passphrase, params, *m_wallet_chain, m_wallet);
    }
    if (!r.ok()) {
      error = "wallet " + wallet_path.string() + ": " + r.message;
      return false;
    }
    if (m_options.wallet_autounlock) {
      constexpr std::chrono::seconds kForever{100LL * 365 * 24 * 3600};
      const fs::path next_path = dir / "wallet.passphrase.new";
      if (auto pass = ReadFirstLine(pass_path)) {
        r = m_wallet->Unlock(*pass, kForever);
        // A passphrase change that crashed between the wallet and its file: the new one is in
        // wallet.passphrase.new (written first); whichever opens the wallet is the file's.
        if (auto next = ReadFirstLine(next_path); next && !r.ok() && m_wallet->Unlock(*next, kForever).ok()) {
          r = {};
          FinishPassphraseFile(next_path, pass_path);
        }
        if (!r.ok()) Log(Category::kWallet)->warn("cannot unlock with {}: {}", pass_path.string(), r.message);
      }
    }
    if (!existing) m_wallet->Rescan();  // a new wallet learns the chain's blocks (it follows reorgs by them)
    // Transactions loaded from mempool.dat entered the pool before the wallet existed.
    for (const auto& e : m_mempool->All()) m_wallet->TransactionAdded(e.tx);
  }

  // The journal is read now and replayed once the wallet is there to see its own sends; it is
  // not written until a transaction is journaled or the node stops after a completed start.
  std::vector<consensus::TransactionRef> journaled;
  std::string damage;
  if (!MempoolJournal::Open(dir / "mempool.journal", m_journal, journaled, damage, error)) return false;
  if (!damage.empty())
    Log(Category::kMempool)->warn("mempool.journal: {}; replaying the {} record(s) before it", damage, journaled.size());
  ReplayJournal(journaled);

  m_miner = std::make_unique<Miner>(*this);
  if (m_options.mine_threads > 0 && !StartMining(m_options.mine_threads, error)) return false;
  return true;
}

bool Node::PayoutCondition(consensus::Condition& out, std::string& error) const {
  if (!m_options.payout_address.empty()) {
    std::string why;
    auto key = DecodeAddress(m_options.payout_address, m_options.params->network, &why);
    if (!key) {
      error = "payout address: " + why;
      return false;
    }
    out = consensus::Condition::Key(*key);
    return true;
  }
  if (m_wallet) {
    out = consensus::Condition::Key(m_wallet->DefaultKey());
    return true;
  }
  error = "mining needs a payout address when the wallet is off";
  return false;
}

bool Node::StartMining(unsigned threads, std::string& error) {
  if (threads == 0 || threads > 256) {
    error = "threads must be between 1 and 256";
    return false;
  }
  consensus::Condition payout;
  if (!PayoutCondition(payout, error)) return false;
  m_miner->Start(threads, payout);
  return true;
}

bool Node::StartNetwork(const NetworkOptions& options, std::string& error) {
  if (m_network) {
    error = "the network is already started";
    return false;
  }
  m_network = Network::Start(*this, options, error);
  return m_network != nullptr;
}

Network* Node::network() { return m_network.get(); }

bool Node::StartChannels(const ChannelOptions& options, std::string& error) {
  if (m_channels) {
    error = "channels are already started";
    return false;
  }
  m_channels = NodeChannels::Start(*this, options, error);
  if (!m_channels) return false;
  // Peers that connected before the channels were up (the network starts first) were not
  // announced to them: the engine resumes with those now (a second announcement is harmless).
  if (m_network)
    for (const auto& peer : m_network->ChannelPeers()) m_channels->OnPeerConnected(peer);
  return true;
}

void Node::FinishPassphraseFile(const fs::path& next, const fs::path& pass) {
  if (std::rename(next.c_str(), pass.c_str()) != 0) {
    Log(Category::kWallet)->warn("cannot replace {}: {}", pass.string(), std::strerror(errno));
    return;
  }
  const int fd = ::open(pass.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

Wallet::Result Node::ChangeWalletPassphrase(const std::string& old_passphrase, const std::string& new_passphrase) {
  if (!m_wallet) return {Wallet::Error::kNotFound, "the wallet is off"};
  std::lock_guard lock(m_passphrase_mutex);
  const fs::path pass = m_options.datadir / "wallet.passphrase";
  const fs::path next = m_options.datadir / "wallet.passphrase.new";
  // The node keeps the passphrase file only when it holds the passphrase being changed (a
  // generated devnet/regtest one); an operator's own passphrase never lands on disk.
  const bool managed = ReadFirstLine(pass) == old_passphrase;
  if (managed && !WriteSecretFile(next, new_passphrase + "\n"))
    return {Wallet::Error::kIo, "cannot write " + next.string() + ": the passphrase is unchanged"};
  auto r = m_wallet->ChangePassphrase(old_passphrase, new_passphrase);
  if (!managed) return r;
  if (!r.ok()) {
    std::remove(next.c_str());
    return r;
  }
  FinishPassphraseFile(next, pass);
  return r;
}

void Node::MarkStarted() {
  m_started = true;
  // Written once the start succeeded: the .lock's pid, and the network the datadir belongs to
  // (read before any database opens; older datadirs get it on their first complete start).
  const std::string pid = std::to_string(::getpid()) + "\n";
  (void)!::ftruncate(m_lock_fd, 0);
  (void)!::pwrite(m_lock_fd, pid.data(), pid.size(), 0);
  const fs::path network_path = m_options.datadir / "network";
  if (!fs::exists(network_path) && !WriteSecretFile(network_path, m_options.params->name + "\n"))
    Log(Category::kNode)->warn("cannot write {}", network_path.string());
}

void Node::Stop() {
  if (m_stopped) return;
  m_stopped = true;
  if (m_channels) m_channels->Stop();
  if (m_network) m_network->Stop();
  if (m_miner) m_miner->Stop();
  // A start that was refused leaves the datadir's files as they were.
  if (m_started && m_mempool && m_options.persist_mempool) {
    if (!m_mempool->Save(m_options.datadir / "mempool.dat"))
      Log(Category::kMempool)->warn("cannot save mempool.dat");
  }
  if (m_started && m_journal) {
    std::lock_guard lock(m_journal_mutex);
    CompactJournal(/*always=*/true);
  }
  if (m_chainstate) m_chainstate->Flush();
  if (m_chainstate) Log(Category::kNode)->info("stopped at height {}", m_chainstate->Height());
}

Node::~Node() {
  try {
    Stop();
  } catch (const std::exception& e) {
    Log(Category::kNode)->error("while stopping: {}", e.what());
  }
  m_network.reset();
  m_miner.reset();
  m_wallet.reset();
  m_market.reset();
  m_readingindex.reset();
  m_txindex.reset();
  m_mempool.reset();
  m_chainstate.reset();
  if (m_lock_fd >= 0) ::close(m_lock_fd);
}

const consensus::Params& Node::params() const { return *m_options.params; }
ledger::Chainstate& Node::chainstate() { return *m_chainstate; }
Mempool& Node::mempool() { return *m_mempool; }
Wallet* Node::wallet() { return m_wallet.get(); }
Miner& Node::miner() { return *m_miner; }
TxIndex& Node::txindex() { return *m_txindex; }
Market& Node::market() { return *m_market; }
ReadingIndex& Node::readingindex() { return *m_readingindex; }
std::optional<crypto::XOnlyPubKey> Node::UtilityKey() const { return m_utility_key; }
crypto::Signature Node::SignAsUtility(const crypto::Hash256& msg) const { return m_utility_secret.value().Sign(msg); }

bool Node::SubmitBlock(const consensus::Block& block, consensus::ValidationState& state) {
  std::lock_guard lock(m_submit_mutex);
  const bool ok = m_chainstate->ProcessBlock(block, Now(), state);
  ForwardEvents();
  if (!ok) Log(Category::kValidation)->debug("block {} refused: {}", block.Hash().ToHex(), state.ToString());
  return ok;
}

void Node::ForwardEvents() {
  auto events = m_events->Take();
  bool reorg = false;
  for (const auto& e : events) {
    if (e.connected) {
      m_mempool->BlockConnected(e.block);
      m_txindex->BlockConnected(e.block, e.hash);
      m_readingindex->BlockConnected(e.block, e.height, e.hash);
      if (m_wallet) m_wallet->BlockConnected(e.block, e.height);
      Log(Category::kValidation)->info("connected block {} at height {} ({} tx)", e.hash.ToHex(), e.height,
                                       e.block.txs.size());
    } else {
      reorg = true;
      m_mempool->BlockDisconnected(e.block);
      m_txindex->BlockDisconnected(e.block, e.prev_hash);
      m_readingindex->BlockDisconnected(e.block, e.prev_hash);
      if (m_wallet) m_wallet->BlockDisconnected(e.block, e.height);
      Log(Category::kValidation)->info("disconnected block {} at height {}", e.hash.ToHex(), e.height);
    }
    std::vector<BlockListener> listeners;
    {
      std::lock_guard lock(m_listeners_mutex);
      for (const auto& [id, fn] : m_block_listeners) listeners.push_back(fn);
    }
    for (const auto& fn : listeners) fn(BlockEvent{e.hash, e.height, e.connected});
  }
  if (reorg) m_mempool->Reorged(Now());
  ForwardRemovals();
}

void Node::ForwardRemovals() {
  if (!m_wallet) {
    m_mempool->TakeRemoved();
    return;
  }
  for (const auto& txid : m_mempool->TakeRemoved()) m_wallet->TransactionRemoved(txid);
}

void Node::NotifyTransaction(const consensus::TransactionRef& tx) {
  std::vector<TxListener> listeners;
  {
    std::lock_guard lock(m_listeners_mutex);
    for (const auto& [id, fn] : m_tx_listeners) listeners.push_back(fn);
  }
  for (const auto& fn : listeners) fn(tx);
}

bool Node::SubmitTransaction(const consensus::TransactionRef& tx, MempoolReject& reject, consensus::Amount* fee,
                             TxOrigin origin) {
  if (!m_mempool->Accept(tx, Now(), reject, fee) || (origin == TxOrigin::kLocal && !JournalLocal(tx, reject))) {
    ForwardRemovals();
    return false;
  }
  if (m_wallet) m_wallet->TransactionAdded(tx);
  NotifyTransaction(tx);
  ForwardRemovals();
  return true;
}

bool Node::JournalLocal(const consensus::TransactionRef& tx, MempoolReject& reject) {
  std::lock_guard lock(m_journal_mutex);  // an append never falls between a compaction's read and its rewrite
  if (!m_journal) return true;  // replaying it: it is in the journal already
  std::string error;
  if (!m_journal->Append(*tx, error)) {
    Log(Category::kMempool)->error("cannot journal {}: {}; refused", tx->txid().ToHex(), error);
    m_mempool->Remove(tx->txid());
    reject.policy = "journal-write-failed";
    reject.detail = error;
    return false;
  }
  CompactJournal(/*always=*/false);
  return true;
}

void Node::ReplayJournal(const std::vector<consensus::TransactionRef>& records) {
  if (records.empty()) return;
  // Detached while replaying: a replayed transaction is in the file already.
  auto journal = std::move(m_journal);
  std::size_t back = 0, gone = 0;
  for (const auto& tx : records) {
    if (m_mempool->Contains(tx->txid())) {
      ++back;  // mempool.dat had it
      continue;
    }
    MempoolReject reject;
    if (SubmitTransaction(tx, reject)) {
      ++back;
    } else {
      ++gone;  // confirmed meanwhile, or its inputs went another way: nothing to keep
      Log(Category::kMempool)->debug("journaled {} not re-accepted: {}", tx->txid().ToHex(), reject.ToString());
    }
  }
  m_journal = std::move(journal);
  Log(Category::kMempool)->info("mempool.journal: {} local transaction(s) pending again, {} confirmed or gone", back, gone);
}

void Node::CompactJournal(bool always) {
  // Rewritten once it holds twice the records it kept last time (at least kMinCompact), so the
  // file stays within twice the pending local transactions and rewrites cost O(1) per append.
  constexpr std::size_t kMinCompact = 4'096;
  if (!m_journal || (!always && m_journal->Records() < m_journal_compact_at)) return;
  std::vector<consensus::TransactionRef> keep;
  std::set<crypto::Hash256> seen;
  for (const auto& txid : m_journal->Txids()) {
    if (!seen.insert(txid).second) continue;
    if (auto e = m_mempool->Get(txid)) keep.push_back(e->tx);
  }
  std::string error;
  if (!m_journal->Rewrite(keep, error)) Log(Category::kMempool)->warn("cannot compact mempool.journal: {}", error);
  m_journal_compact_at = std::max(kMinCompact, 2 * keep.size());
}

bool Node::Generate(std::uint32_t n, const std::optional<crypto::XOnlyPubKey>& payout,
                    std::vector<crypto::Hash256>& hashes, std::string& error) {
  consensus::Condition cond;
  if (payout) {
    cond = consensus::Condition::Key(*payout);
  } else if (!PayoutCondition(cond, error)) {
    return false;
  }
  static std::atomic<std::uint64_t> extra{0};
  for (std::uint32_t i = 0; i < n; ++i) {
    BlockTemplate tmpl;
    if (!CreateBlockTemplate(*this, cond, (1ull << 63) | extra++, tmpl, error)) return false;
    while (!SolveHeader(tmpl.block.header, 1u << 20)) {
      if (tmpl.block.header.nonce > UINT64_MAX - (1u << 21)) {
        error = "nonce space exhausted";
        return false;
      }
    }
    consensus::ValidationState state;
    if (!SubmitBlock(tmpl.block, state)) {
      error = "generated block refused: " + state.ToString();
      return false;
    }
    hashes.push_back(tmpl.block.Hash());
  }
  return true;
}

std::uint64_t Node::SubscribeBlocks(BlockListener fn) {
  std::lock_guard lock(m_listeners_mutex);
  m_block_listeners.emplace(m_next_listener, std::move(fn));
  return m_next_listener++;
}

std::uint64_t Node::SubscribeTransactions(TxListener fn) {
  std::lock_guard lock(m_listeners_mutex);
  m_tx_listeners.emplace(m_next_listener, std::move(fn));
  return m_next_listener++;
}

void Node::Unsubscribe(std::uint64_t id) {
  std::lock_guard lock(m_listeners_mutex);
  m_block_listeners.erase(id);
  m_tx_listeners.erase(id);
}

void Node::Tick() {
  m_mempool->Expire(Now());
  ForwardRemovals();
}

}  // namespace wattline::node
