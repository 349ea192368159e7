// What the gRPC services need of the node, as an interface of canonical types.
//
// The services (rpc/*_service.cpp) and RpcServer program against this; rpc/node_backend.h
// implements it with node::Node (its chainstate, mempool, wallet, miner and txindex), and the
// unit tests with a fake. So everything above this line builds and is tested without a node.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/block.h"
#include "consensus/params.h"
#include "consensus/transaction.h"
#include "consensus/tx_verify.h"
#include "crypto/hash.h"
#include "crypto/schnorr.h"
#include "ledger/chainstate.h"
#include "consensus/market_state.h"
#include "node/market.h"
#include "node/mempool.h"
#include "node/network.h"
#include "node/wallet.h"
#include "channels/engine.h"

namespace wattline::rpc {

struct TipInfo {
  std::uint32_t height = 0;
  crypto::Hash256 hash;
  consensus::BlockHeader header;
};

struct MempoolInfo {
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
  std::int64_t min_fee_rate = 0;
};

/** A block the node knows (in the block index), with where it stands. */
struct BlockInfo {
  consensus::BlockHeader header;
  crypto::Hash256 hash;
  std::uint32_t height = 0;
  std::uint32_t tx_count = 0;
  bool active = false;
  bool have_data = false;
};

struct TxLookupResult {
  consensus::TransactionRef tx;
  bool in_mempool = false;
  std::optional<crypto::Hash256> block_hash;  //!< set when confirmed
  std::uint32_t height = 0;
  consensus::Amount fee;  //!< mempool transactions only
};

struct UtxoInfo {
  consensus::OutPoint outpoint;
  consensus::Coin coin;
};

struct SubmitResult {
  bool accepted = false;
  node::MempoolReject reject;
  consensus::Amount fee;
};

struct MiningInfo {
  bool running = false;
  unsigned threads = 0;
  double hashes_per_second = 0;
  std::uint64_t blocks_mined = 0;
};

struct BlockNotice {
  crypto::Hash256 hash;
  std::uint32_t height = 0;
  bool connected = true;
};

/** The node's peer-to-peer side as PeerService needs it (node::Network in the daemon). */
class PeerControl {
 public:
  virtual ~PeerControl() = default;
  virtual std::vector<node::PeerDetails> PeerList() const = 0;
  virtual net::NetTotals Totals() const = 0;
  virtual node::SyncStatus Sync() const = 0;
  virtual std::vector<node::AddedPeer> AddedPeers() const = 0;
  virtual std::size_t AddressBookSize() const = 0;
  virtual std::uint16_t ListenPort() const = 0;
  virtual bool AddPeer(const std::string& target, bool persistent, std::string& error) = 0;
  virtual bool RemovePeer(const std::string& target) = 0;
  virtual bool DisconnectPeer(net::PeerId id) = 0;
  virtual std::size_t DisconnectAddress(const std::string& address, std::string& error) = 0;
  virtual bool Ban(const std::string& subnet, std::chrono::seconds duration, const std::string& reason,
                   std::string& error) = 0;
  virtual bool Unban(const std::string& subnet, std::string& error) = 0;
  virtual std::vector<net::BanEntry> Bans() const = 0;
  virtual void ClearBans() = 0;
};

/** The node's energy market as the market services need it (node::Market in the daemon). */
class MarketControl {
 public:
  virtual ~MarketControl() = default;
  virtual consensus::MarketGlobals Globals() const = 0;
  virtual std::optional<consensus::MeterState> Meter(const consensus::MeterId& meter) const = 0;
  virtual std::vector<std::pair<consensus::MeterId, consensus::MeterState>> Meters() const = 0;
  virtual std::uint64_t Demand(std::uint32_t slot) const = 0;
  virtual std::uint64_t PriceOfSlot(std::uint32_t slot) const = 0;
  virtual std::uint64_t OwnerRewards(const crypto::XOnlyPubKey& owner) const = 0;
  /** The slot of the next block. */
  virtual std::uint32_t NextSlot() const = 0;
  virtual node::MarketError RegisterMeter(const consensus::MeterId& meter, const crypto::XOnlyPubKey& owner,
                                          consensus::MeterRole role, consensus::Amount grant, std::int64_t fee_rate,
                                          crypto::Hash256& txid) = 0;
  virtual node::MarketError DeregisterMeter(const consensus::MeterId& meter, std::int64_t fee_rate,
                                            crypto::Hash256& txid) = 0;
  virtual node::MarketError SetCoefficients(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::int64_t fee_rate,
                                            crypto::Hash256& txid) = 0;
  virtual node::MarketError RotateKey(const crypto::XOnlyPubKey& new_key, std::int64_t fee_rate,
                                      crypto::Hash256& txid) = 0;
  virtual node::MarketError SubmitReadings(const consensus::ReadingBatch& batch, crypto::Hash256& txid,
                                           consensus::Amount& rewards) = 0;
  virtual std::vector<node::IndexedReading> ListReadings(const consensus::MeterId& meter, std::uint64_t from_start,
                                                         std::size_t limit) const = 0;
  virtual bool PutBlob(consensus::ByteSpan data, consensus::Cid& cid, std::string& error) = 0;
  /** nullopt with error: absent (NOT_FOUND) when *absent is set, else damaged. */
  virtual std::optional<consensus::Bytes> GetBlob(const consensus::Cid& cid, bool& absent, std::string& error) const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Node and chain.
  virtual const consensus::Params& params() const = 0;
  virtual std::string Version() const = 0;
  virtual std::int64_t Now() const = 0;
  virtual TipInfo Tip() const = 0;
  virtual MempoolInfo Mempool() const = 0;
  virtual std::optional<BlockInfo> BlockByHash(const crypto::Hash256& hash) const = 0;
  virtual std::optional<BlockInfo> BlockAtHeight(std::uint32_t height) const = 0;
  /** The stored block's data; false when it is not stored. */
  virtual bool ReadBlock(const crypto::Hash256& hash, consensus::Block& block) const = 0;
  /** Mempool first, then the transaction index. */
  virtual std::optional<TxLookupResult> FindTransaction(const crypto::Hash256& txid) const = 0;
  /** Unspent Key(key) outputs of the chain, at most limit (+1 to tell truncation). */
  virtual std::vector<UtxoInfo> UtxosOf(const crypto::XOnlyPubKey& key, std::size_t limit) const = 0;
  virtual std::optional<crypto::XOnlyPubKey> DecodeAddress(std::string_view text, std::string* error) const = 0;
  virtual std::string EncodeAddress(const crypto::XOnlyPubKey& key) const = 0;

  /** The UTXO set at the tip in one consistent pass (walks every coin). */
  virtual ledger::Chainstate::CoinStats CoinStats() = 0;

  // Transactions.
  virtual SubmitResult SubmitTransaction(const consensus::TransactionRef& tx) = 0;

  // The node's wallet (every method but HasWallet is called only when HasWallet()).
  virtual bool HasWallet() const = 0;
  virtual bool WalletLocked() const = 0;
  virtual node::WalletBalance WalletBalanceOf() const = 0;
  virtual node::Wallet::Result WalletNewAddress(std::string& address) = 0;
  virtual node::Wallet::Result WalletSend(const std::string& address, consensus::Amount amount, std::int64_t fee_rate,
                                          crypto::Hash256& txid) = 0;
  virtual std::vector<node::WalletTxRecord> WalletHistory() const = 0;
  virtual node::Wallet::Result WalletUnlock(const std::string& passphrase, std::chrono::seconds timeout) = 0;
  virtual void WalletLock() = 0;
  virtual node::Wallet::Result WalletChangePassphrase(const std::string& old_passphrase,
                                                      const std::string& new_passphrase) = 0;
  virtual void WalletRescan() = 0;
  virtual crypto::XOnlyPubKey WalletDefaultKey() const = 0;

  // Mining.
  virtual bool Generate(std::uint32_t n, const std::optional<crypto::XOnlyPubKey>& payout,
                        std::vector<crypto::Hash256>& hashes, std::string& error) = 0;
  /** Validates and stores a block; height and whether it is active are set when accepted. */
  virtual bool SubmitBlock(const consensus::Block& block, consensus::ValidationState& state, std::uint32_t& height,
                           bool& active) = 0;
  virtual bool StartMining(unsigned threads, std::string& error) = 0;
  virtual void StopMining() = 0;
  virtual MiningInfo Mining() const = 0;

  /** The peer-to-peer network: nullptr when the node runs without it (--p2p=0). */
  virtual PeerControl* Peers() = 0;
  /** The energy market: nullptr when the node has none. */
  virtual MarketControl* Market() = 0;
  /** The channel engine: nullptr when the node runs none (--channels=0, no wallet or no P2P). */
  virtual channels::ChannelEngine* Channels() { return nullptr; }

  // Events. Listeners run on the node's threads: they only queue.
  virtual std::uint64_t SubscribeBlocks(std::function<void(const BlockNotice&)> fn) = 0;
  virtual std::uint64_t SubscribeTransactions(std::function<void(const consensus::TransactionRef&)> fn) = 0;
  virtual void Unsubscribe(std::uint64_t id) = 0;
};

}  // namespace wattline::rpc
