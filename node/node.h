// The node: owns the chainstate, mempool, transaction index, miner and wallet, and is the one
// place where chain events are forwarded between them. The gRPC layer (rpc/) and the daemon
// (wattlined) use only this facade and the component headers it returns.
//
// Locking: the chainstate, mempool and wallet each have their own lock; the node never holds
// one while calling into a component that takes another in the opposite order. Chain events
// are collected while the chainstate works and forwarded (mempool, wallet, txindex,
// subscribers) after it returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "consensus/params.h"
#include "crypto/sig_cache.h"
#include "ledger/chainstate.h"
#include "node/mempool.h"
#include "node/mempool_journal.h"
#include "node/wallet.h"

namespace wattline::node {

class Market;
class NodeChannels;
struct ChannelOptions;
class Miner;
class Network;
class ReadingIndex;
struct NetworkOptions;
class TxIndex;

struct NodeOptions {
  std::filesystem::path datadir;
  const consensus::Params* params = nullptr;
  std::size_t coins_cache_bytes = 64u << 20;
  /** Rebuild the coins and the market state from the stored blocks at start (ledger::ChainstateOptions). */
  bool reindex_chainstate = false;
  MempoolOptions mempool;
  bool persist_mempool = true;
  /** Wallet: open `<datadir>/wallet.dat`, creating it when missing. */
  bool wallet = true;
  /** Passphrase for a new wallet; empty: generate one into `<datadir>/wallet.passphrase` (0600). */
  std::string wallet_passphrase;
  /** Unlock at start with `<datadir>/wallet.passphrase` when it exists. */
  bool wallet_autounlock = true;
  /**
   * Utility role: sign market records with the utility key from utility_key_file; without a
   * file, the network's documented key on devnet and regtest, `<datadir>/utility.key`
   * (generated, 0600) on main and testnet.
   */
  bool utility = false;
  std::filesystem::path utility_key_file;
  /** Mining at start, with this many threads (0: off). */
  unsigned mine_threads = 0;
  /** Payout address; empty: the wallet's default key. */
  std::string payout_address;
  /** Signature-check worker threads; nullopt: cores - 1. */
  std::optional<unsigned> check_workers;
  /**
   * Budget of the signature cache shared by the mempool and block validation
   * (crypto/sig_cache.h; --sigcachesize); 0: no cache, every signature verified each time.
   */
  std::size_t sig_cache_bytes = crypto::SigCache::kDefaultBytes;
};

/** A new block on the active chain, or a transaction entering the mempool. */
struct BlockEvent {
  crypto::Hash256 hash;
  std::uint32_t height = 0;
  bool connected = true;  //!< false: disconnected by a reorganisation
};

class Node {
 public:
  /** Opens everything in options.datadir. On failure returns nullptr with a one-line error. */
  static std::unique_ptr<Node> Start(NodeOptions options, std::string& error);
  /** Joins the peer-to-peer network (node/network.h); false with a one-line error. Once. */
  bool StartNetwork(const NetworkOptions& options, std::string& error);
  /** nullptr until StartNetwork (and when the node runs without the network). */
  Network* network();
  /** Starts the channel engine (node/channels.h; needs the wallet); false with a one-line error. Once. */
  bool StartChannels(const ChannelOptions& options, std::string& error);
  /** nullptr until StartChannels. */
  NodeChannels* channels() { return m_channels.get(); }

  /** Stops the network and the miner, saves the mempool, flushes the chainstate. Idempotent. */
  void Stop();
  ~Node();

  const consensus::Params& params() const;
  const std::filesystem::path& datadir() const { return m_options.datadir; }
  ledger::Chainstate& chainstate();
  Mempool& mempool();
  /** nullptr when the wallet is disabled. */
  Wallet* wallet();
  Miner& miner();
  TxIndex& txindex();
  Market& market();
  ReadingIndex& readingindex();

  /** Validates and stores a block; forwards the chain events. */
  bool SubmitBlock(const consensus::Block& block, consensus::ValidationState& state);
  /** Where a transaction comes from: this node's side is journaled before the call returns. */
  enum class TxOrigin { kLocal, kPeer };
  /**
   * Mempool acceptance; forwards to the wallet and subscribers. A kLocal transaction (the API,
   * the wallet, channels, the market) is in mempool.journal, synced, when this returns true;
   * when the disk refuses, it leaves the pool again and the reject says so.
   */
  bool SubmitTransaction(const consensus::TransactionRef& tx, MempoolReject& reject, consensus::Amount* fee = nullptr,
                         TxOrigin origin = TxOrigin::kLocal);

  /**
   * Changes the wallet's passphrase; when <datadir>/wallet.passphrase holds the old one (a
   * generated passphrase), the file follows: the new one is written to wallet.passphrase.new
   * (synced) before the wallet, and renamed over the old file after it, so that a crash between
   * the two is repaired at the next start (whichever file opens the wallet wins).
   */
  Wallet::Result ChangeWalletPassphrase(const std::string& old_passphrase, const std::string& new_passphrase);

  /** The daemon finished starting: from now on Stop saves mempool.dat (a refused start writes nothing). */
  void MarkStarted();

  /** Mines n blocks now on this thread (regtest and devnet), paying to payout (or the default). */
  bool Generate(std::uint32_t n, const std::optional<crypto::XOnlyPubKey>& payout,
                std::vector<crypto::Hash256>& hashes, std::string& error);

  /** Starts (or restarts) the miner paying to the configured payout address or the wallet. */
  bool StartMining(unsigned threads, std::string& error);

  using BlockListener = std::function<void(const BlockEvent&)>;
  using TxListener = std::function<void(const consensus::TransactionRef&)>;
  /** Listeners run on the thread that caused the event; keep them short. Returns an id. */
  std::uint64_t SubscribeBlocks(BlockListener fn);
  std::uint64_t SubscribeTransactions(TxListener fn);
  void Unsubscribe(std::uint64_t id);

  /** Local clock in Unix seconds (one place, so tests can reason about it). */
  static std::int64_t Now();

  /** The utility public key when the utility role is on. */
  std::optional<crypto::XOnlyPubKey> UtilityKey() const;
  /** A BIP340 signature with the utility key; precondition: UtilityKey() is set. */
  crypto::Signature SignAsUtility(const crypto::Hash256& msg) const;

  /** Periodic work: mempool expiry, wallet re-lock. Called by the daemon every few seconds. */
  void Tick();

 private:
  class Events;
  class ChainForWallet;
  explicit Node(NodeOptions options);
  bool Init(std::string& error);
  void ForwardEvents();
  void ForwardRemovals();
  void NotifyTransaction(const consensus::TransactionRef& tx);
  static void FinishPassphraseFile(const std::filesystem::path& next, const std::filesystem::path& pass);
  /** Journals an accepted local transaction; on failure takes it out of the pool again. */
  bool JournalLocal(const consensus::TransactionRef& tx, MempoolReject& reject);
  /** Re-submits the journal's transactions (after the wallet opened, so it sees them). */
  void ReplayJournal(const std::vector<consensus::TransactionRef>& records);
  /** Rewrites the journal to the local transactions still in the pool, when it has grown (m_journal_mutex held). */
  void CompactJournal(bool always);
  bool PayoutCondition(consensus::Condition& out, std::string& error) const;

  NodeOptions m_options;
  int m_lock_fd = -1;
  std::unique_ptr<Events> m_events;
  std::unique_ptr<crypto::SigCache> m_sig_cache;  //!< before the chainstate and mempool: outlives them
  std::unique_ptr<ledger::CheckQueue> m_check_queue;
  std::unique_ptr<ledger::Chainstate> m_chainstate;
  std::unique_ptr<Mempool> m_mempool;
  std::unique_ptr<MempoolJournal> m_journal;
  std::unique_ptr<TxIndex> m_txindex;
  std::unique_ptr<ReadingIndex> m_readingindex;
  std::unique_ptr<Market> m_market;
  std::unique_ptr<ChainForWallet> m_wallet_chain;
  std::unique_ptr<Wallet> m_wallet;
  std::unique_ptr<Miner> m_miner;
  std::unique_ptr<Network> m_network;
  std::unique_ptr<NodeChannels> m_channels;
  std::optional<crypto::XOnlyPubKey> m_utility_key;
  std::optional<crypto::SecretKey> m_utility_secret;
  std::mutex m_journal_mutex;
  std::mutex m_passphrase_mutex;
  std::mutex m_submit_mutex;  //!< one chain update at a time, events forwarded in order
  std::mutex m_listeners_mutex;
  std::uint64_t m_next_listener = 1;
  std::map<std::uint64_t, BlockListener> m_block_listeners;
  std::map<std::uint64_t, TxListener> m_tx_listeners;
  bool m_stopped = false;
  bool m_started = false;
  std::size_t m_journal_compact_at = 4'096;  //!< records that trigger the next compaction
};

}  // namespace wattline::node
