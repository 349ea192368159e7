// The only file of rpc/ that calls the node's components. What it assumes of the headers the
// lead is writing (node/miner.h, node/txindex.h) is listed in docs/api.md, "Wiring".
#include "rpc/node_backend.h"

#include "node/channels.h"

#include "node/address.h"
#include "node/market.h"
#include "node/miner.h"
#include "node/network.h"
#include "node/node.h"
#include "node/tx_index.h"

#ifndef WATTLINE_VERSION
#define WATTLINE_VERSION "0.1.0"
#endif

namespace wattline::rpc {
namespace {

BlockInfo InfoOf(const ledger::Chainstate& cs, const ledger::BlockIndex& idx) {
  BlockInfo b;
  b.header = idx.header;
  b.hash = idx.hash;
  b.height = idx.height;
  b.tx_count = idx.tx_count;
  b.active = cs.IsActive(&idx);
  b.have_data = idx.HaveData();
  return b;
}

/** node::Network behind PeerControl; only handed out while the node has a network, which lives
 *  until the node stops (after the RPC server). */
class NetworkControl final : public PeerControl {
 public:
  explicit NetworkControl(node::Node& node) : m_node(node) {}
  std::vector<node::PeerDetails> PeerList() const override { return N().Peers(); }
  net::NetTotals Totals() const override { return N().Totals(); }
  node::SyncStatus Sync() const override { return N().Sync(); }
  std::vector<node::AddedPeer> AddedPeers() const override { return N().AddedPeers(); }
  std::size_t AddressBookSize() const override { return N().AddressBookSize(); }
  std::uint16_t ListenPort() const override { return N().ListenPort(); }
  bool AddPeer(const std::string& target, bool persistent, std::string& error) override {
    return N().AddPeer(target, persistent, error);
  }
  bool RemovePeer(const std::string& target) override { return N().RemovePeer(target); }
  bool DisconnectPeer(net::PeerId id) override { return N().DisconnectPeer(id); }
  std::size_t DisconnectAddress(const std::string& address, std::string& error) override {
    return N().DisconnectAddress(address, error);
  }
  bool Ban(const std::string& subnet, std::chrono::seconds duration, const std::string& reason,
           std::string& error) override {
    return N().Ban(subnet, duration, reason, error);
  }
  bool Unban(const std::string& subnet, std::string& error) override { return N().Unban(subnet, error); }
  std::vector<net::BanEntry> Bans() const override { return N().Bans(); }
  void ClearBans() override { N().ClearBans(); }

 private:
  node::Network& N() const { return *m_node.network(); }
  node::Node& m_node;
};

/** node::Market and node::ReadingIndex behind MarketControl; both live as long as the node. */
class NodeMarket final : public MarketControl {
 public:
  explicit NodeMarket(node::Node& node) : m_node(node) {}
  consensus::MarketGlobals Globals() const override { return M().Globals(); }
  std::optional<consensus::MeterState> Meter(const consensus::MeterId& meter) const override { return M().Meter(meter); }
  std::vector<std::pair<consensus::MeterId, consensus::MeterState>> Meters() const override { return M().Meters(); }
  std::uint64_t Demand(std::uint32_t slot) const override { return M().Demand(slot); }
  std::uint64_t PriceOfSlot(std::uint32_t slot) const override { return M().PriceOfSlot(slot); }
  std::uint64_t OwnerRewards(const crypto::XOnlyPubKey& owner) const override { return M().OwnerRewards(owner); }
  std::uint32_t NextSlot() const override { return M().NextSlot(); }
  node::MarketError RegisterMeter(const consensus::MeterId& meter, const crypto::XOnlyPubKey& owner,
                                  consensus::MeterRole role, consensus::Amount grant, std::int64_t fee_rate,
                                  crypto::Hash256& txid) override {
    return M().RegisterMeter(meter, owner, role, grant, fee_rate, txid);
  }
  node::MarketError DeregisterMeter(const consensus::MeterId& meter, std::int64_t fee_rate,
                                    crypto::Hash256& txid) override {
    return M().DeregisterMeter(meter, fee_rate, txid);
  }
  node::MarketError SetCoefficients(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::int64_t fee_rate,
                                    crypto::Hash256& txid) override {
    return M().SetCoefficients(a, b, c, fee_rate, txid);
  }
  node::MarketError RotateKey(const crypto::XOnlyPubKey& new_key, std::int64_t fee_rate, crypto::Hash256& txid) override {
    return M().RotateKey(new_key, fee_rate, txid);
  }
  node::MarketError SubmitReadings(const consensus::ReadingBatch& batch, crypto::Hash256& txid,
                                   consensus::Amount& rewards) override {
    return M().SubmitReadings(batch, txid, rewards);
  }
  std::vector<node::IndexedReading> ListReadings(const consensus::MeterId& meter, std::uint64_t from_start,
                                                 std::size_t limit) const override {
    return m_node.readingindex().List(meter, from_start, limit);
  }
  bool PutBlob(consensus::ByteSpan data, consensus::Cid& cid, std::string& error) override {
    return M().blobs().Put(data, cid, error);
  }
  std::optional<consensus::Bytes> GetBlob(const consensus::Cid& cid, bool& absent, std::string& error) const override {
    auto data = M().blobs().Get(cid, error);
    // node::BlobStore says "no blob <cid>" when the file is absent, otherwise it is damaged.
    absent = !data && error.rfind("no blob", 0) == 0;
    return data;
  }

 private:
  node::Market& M() const { return m_node.market(); }
  node::Node& m_node;
};

class NodeBackend final : public Backend {
 public:
  explicit NodeBackend(node::Node& node) : m_node(node), m_peers(node), m_market(node) {}

  const consensus::Params& params() const override { return m_node.params(); }
  std::string Version() const override { return WATTLINE_VERSION; }
  std::int64_t Now() const override { return node::Node::Now(); }

  TipInfo Tip() const override {
    const ledger::BlockIndex* tip = m_node.chainstate().Tip();
    return {tip->height, tip->hash, tip->header};
  }

  MempoolInfo Mempool() const override {
    auto& mp = m_node.mempool();
    return {mp.Count(), mp.Bytes(), mp.MinFeeRate(node::Node::Now())};
  }

  std::optional<BlockInfo> BlockByHash(const crypto::Hash256& hash) const override {
    const auto& cs = m_node.chainstate();
    const ledger::BlockIndex* idx = cs.LookupBlockIndex(hash);
    if (idx == nullptr) return std::nullopt;
    return InfoOf(cs, *idx);
  }

  std::optional<BlockInfo> BlockAtHeight(std::uint32_t height) const override {
    const auto& cs = m_node.chainstate();
    const ledger::BlockIndex* idx = cs.ActiveAt(height);
    if (idx == nullptr) return std::nullopt;
    return InfoOf(cs, *idx);
  }

  bool ReadBlock(const crypto::Hash256& hash, consensus::Block& block) const override {
    const auto& cs = m_node.chainstate();
    const ledger::BlockIndex* idx = cs.LookupBlockIndex(hash);
    return idx != nullptr && cs.ReadBlock(*idx, block);
  }

  std::optional<TxLookupResult> FindTransaction(const crypto::Hash256& txid) const override {
    if (auto entry = m_node.mempool().Get(txid)) {
      TxLookupResult r;
      r.tx = entry->tx;
      r.in_mempool = true;
      r.fee = entry->fee;
      return r;
    }
    const std::optional<crypto::Hash256> block_hash = m_node.txindex().Lookup(txid);
    if (!block_hash) return std::nullopt;
    consensus::Block block;
    if (!ReadBlock(*block_hash, block)) return std::nullopt;
    for (const auto& tx : block.txs) {
      if (tx->txid() != txid) continue;
      TxLookupResult r;
      r.tx = tx;
      r.block_hash = *block_hash;
      if (const auto* idx = m_node.chainstate().LookupBlockIndex(*block_hash)) r.height = idx->height;
      return r;
    }
    return std::nullopt;
  }

  std::vector<UtxoInfo> UtxosOf(const crypto::XOnlyPubKey& key, std::size_t limit) const override {
    // No address index: a scan of the coin set (flushes the coin cache first). Fine for the
    // devnet and tests; an address index belongs in node/ if this becomes hot.
    std::vector<UtxoInfo> out;
    m_node.chainstate().ForEachCoin([&](const consensus::OutPoint& op, const consensus::Coin& coin) {
      if (out.size() >= limit) return;
      const auto& c = coin.out.condition;
      if (c.type == consensus::ConditionType::kKey && c.keys.size() == 1 && c.keys[0] == key) out.push_back({op, coin});
    });
    return out;
  }

  std::optional<crypto::XOnlyPubKey> DecodeAddress(std::string_view text, std::string* error) const override {
    return node::DecodeAddress(text, params().network, error);
  }
  std::string EncodeAddress(const crypto::XOnlyPubKey& key) const override {
    return node::EncodeAddress(key, params().network);
  }

  ledger::Chainstate::CoinStats CoinStats() override { return m_node.chainstate().ComputeCoinStats(); }
  PeerControl* Peers() override { return m_node.network() != nullptr ? &m_peers : nullptr; }
  MarketControl* Market() override { return &m_market; }
  channels::ChannelEngine* Channels() override {
    return m_node.channels() != nullptr ? &m_node.channels()->engine() : nullptr;
  }

  SubmitResult SubmitTransaction(const consensus::TransactionRef& tx) override {
    SubmitResult r;
    r.accepted = m_node.SubmitTransaction(tx, r.reject, &r.fee);
    return r;
  }

  bool HasWallet() const override { return m_node.wallet() != nullptr; }
  bool WalletLocked() const override { return W().IsLocked(); }
  node::WalletBalance WalletBalanceOf() const override { return W().Balance(); }
  node::Wallet::Result WalletNewAddress(std::string& address) override { return W().NewAddress(address); }
  node::Wallet::Result WalletSend(const std::string& address, consensus::Amount amount, std::int64_t fee_rate,
                                  crypto::Hash256& txid) override {
    return W().Send(address, amount, fee_rate, txid);
  }
  std::vector<node::WalletTxRecord> WalletHistory() const override { return W().History(); }
  node::Wallet::Result WalletUnlock(const std::string& passphrase, std::chrono::seconds timeout) override {
    return W().Unlock(passphrase, timeout);
  }
  void WalletLock() override { W().Lock(); }
  node::Wallet::Result WalletChangePassphrase(const std::string& o, const std::string& n) override {
    return m_node.ChangeWalletPassphrase(o, n);
  }
  void WalletRescan() override { W().Rescan(); }
  crypto::XOnlyPubKey WalletDefaultKey() const override { return W().DefaultKey(); }

  bool Generate(std::uint32_t n, const std::optional<crypto::XOnlyPubKey>& payout, std::vector<crypto::Hash256>& hashes,
                std::string& error) override {
    return m_node.Generate(n, payout, hashes, error);
  }
  bool SubmitBlock(const consensus::Block& block, consensus::ValidationState& state, std::uint32_t& height,
                   bool& active) override {
    if (!m_node.SubmitBlock(block, state)) return false;
    const ledger::BlockIndex* idx = m_node.chainstate().LookupBlockIndex(block.Hash());
    height = idx ? idx->height : 0;
    active = idx && m_node.chainstate().IsActive(idx);
    return true;
  }
  bool StartMining(unsigned threads, std::string& error) override { return m_node.StartMining(threads, error); }
  void StopMining() override { m_node.miner().Stop(); }
  MiningInfo Mining() const override {
    const node::MinerInfo m = m_node.miner().Info();
    MiningInfo info;
    info.running = m.running;
    info.threads = m.threads;
    info.hashes_per_second = m.hashes_per_second;
    info.blocks_mined = m.blocks_found;
    return info;
  }

  std::uint64_t SubscribeBlocks(std::function<void(const BlockNotice&)> fn) override {
    return m_node.SubscribeBlocks([fn = std::move(fn)](const node::BlockEvent& e) { fn({e.hash, e.height, e.connected}); });
  }
  std::uint64_t SubscribeTransactions(std::function<void(const consensus::TransactionRef&)> fn) override {
    return m_node.SubscribeTransactions(std::move(fn));
  }
  void Unsubscribe(std::uint64_t id) override { m_node.Unsubscribe(id); }

 private:
  node::Wallet& W() const { return *m_node.wallet(); }  // handlers check HasWallet() first
  node::Node& m_node;
  NetworkControl m_peers;
  NodeMarket m_market;
};

}  // namespace

std::unique_ptr<Backend> MakeNodeBackend(node::Node& node) { return std::make_unique<NodeBackend>(node); }

}  // namespace wattline::rpc
