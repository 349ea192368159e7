// An in-memory rpc::Backend for the server tests: the regtest genesis as the only block, a
// wallet that answers from fields, and event hooks the test fires by hand.
#pragma once

#include <map>
#include <mutex>

#include "consensus/params.h"
#include "rpc/backend.h"
#include "rpc/convert.h"

namespace wattline::rpc {

class FakeBackend : public Backend {
 public:
  FakeBackend() : m_params(consensus::GetParams(consensus::Network::kRegtest)) {}

  const consensus::Params& params() const override { return m_params; }
  std::string Version() const override { return "test"; }
  std::int64_t Now() const override { return 1'700'000'000; }
  TipInfo Tip() const override { return {0, m_params.genesis_hash, m_params.genesis.header}; }
  MempoolInfo Mempool() const override { return {0, 0, 1000}; }
  std::optional<BlockInfo> BlockByHash(const crypto::Hash256& hash) const override {
    if (hash != m_params.genesis_hash) return std::nullopt;
    return Genesis();
  }
  std::optional<BlockInfo> BlockAtHeight(std::uint32_t height) const override {
    if (height != 0) return std::nullopt;
    return Genesis();
  }
  bool ReadBlock(const crypto::Hash256& hash, consensus::Block& block) const override {
    if (hash != m_params.genesis_hash) return false;
    block = m_params.genesis;
    return true;
  }
  std::optional<TxLookupResult> FindTransaction(const crypto::Hash256& txid) const override {
    if (txid != m_params.genesis.txs.at(0)->txid()) return std::nullopt;
    TxLookupResult r;
    r.tx = m_params.genesis.txs[0];
    r.block_hash = m_params.genesis_hash;
    return r;
  }
  std::vector<UtxoInfo> UtxosOf(const crypto::XOnlyPubKey&, std::size_t) const override { return {}; }
  std::optional<crypto::XOnlyPubKey> DecodeAddress(std::string_view text, std::string* error) const override {
    if (text.size() == 68 && text.substr(0, 4) == "fake") {
      if (auto h = crypto::Hash256::FromHex(text.substr(4))) {
        crypto::XOnlyPubKey k;
        k.bytes = h->bytes;
        return k;
      }
    }
    if (error) *error = "not a fake address";
    return std::nullopt;
  }
  std::string EncodeAddress(const crypto::XOnlyPubKey& key) const override { return "fake" + ToHex(key.span()); }

  SubmitResult SubmitTransaction(const consensus::TransactionRef&) override {
    SubmitResult r;
    r.reject.state.Invalid(consensus::Reason::kTxMissingInputs, "input 0");
    return r;
  }

  bool HasWallet() const override { return true; }
  bool WalletLocked() const override { return locked; }
  node::WalletBalance WalletBalanceOf() const override { return {consensus::Amount{5}, consensus::Amount{6}, consensus::Amount{7}}; }
  node::Wallet::Result WalletNewAddress(std::string& address) override {
    if (locked) return {node::Wallet::Error::kLocked, ""};
    address = EncodeAddress({});
    return {};
  }
  node::Wallet::Result WalletSend(const std::string&, consensus::Amount amount, std::int64_t, crypto::Hash256& txid) override {
    sends.push_back(amount.units);
    txid = crypto::Hash256{};
    return {};
  }
  std::vector<node::WalletTxRecord> WalletHistory() const override { return {}; }
  node::Wallet::Result WalletUnlock(const std::string& passphrase, std::chrono::seconds) override {
    if (passphrase != "right") return {node::Wallet::Error::kWrongPassphrase, ""};
    locked = false;
    return {};
  }
  void WalletLock() override { locked = true; }
  node::Wallet::Result WalletChangePassphrase(const std::string&, const std::string&) override { return {}; }
  void WalletRescan() override {}
  crypto::XOnlyPubKey WalletDefaultKey() const override { return {}; }

  bool Generate(std::uint32_t, const std::optional<crypto::XOnlyPubKey>&, std::vector<crypto::Hash256>&,
                std::string& error) override {
    error = "not in the fake";
    return false;
  }
  bool SubmitBlock(const consensus::Block&, consensus::ValidationState& state, std::uint32_t&, bool&) override {
    return state.Invalid(consensus::Reason::kBlockPrevMissing, "not in the fake");
  }
  bool StartMining(unsigned, std::string&) override { return true; }
  void StopMining() override {}
  MiningInfo Mining() const override { return {}; }

  std::uint64_t SubscribeBlocks(std::function<void(const BlockNotice&)> fn) override {
    std::lock_guard lock(m_mutex);
    m_block_listeners[++m_next] = std::move(fn);
    return m_next;
  }
  std::uint64_t SubscribeTransactions(std::function<void(const consensus::TransactionRef&)>) override {
    std::lock_guard lock(m_mutex);
    return ++m_next;
  }
  void Unsubscribe(std::uint64_t id) override {
    std::lock_guard lock(m_mutex);
    m_block_listeners.erase(id);
  }
  std::size_t BlockListeners() const {
    std::lock_guard lock(m_mutex);
    return m_block_listeners.size();
  }
  void FireBlock(const BlockNotice& n) {
    std::lock_guard lock(m_mutex);
    for (auto& [id, fn] : m_block_listeners) fn(n);
  }

  bool locked = true;
  std::vector<std::int64_t> sends;

 private:
  BlockInfo Genesis() const {
    BlockInfo b;
    b.header = m_params.genesis.header;
    b.hash = m_params.genesis_hash;
    b.tx_count = 1;
    b.active = true;
    b.have_data = true;
    return b;
  }
  const consensus::Params& m_params;
  mutable std::mutex m_mutex;
  std::map<std::uint64_t, std::function<void(const BlockNotice&)>> m_block_listeners;
  std::uint64_t m_next = 0;
};

}  // namespace wattline::rpc
