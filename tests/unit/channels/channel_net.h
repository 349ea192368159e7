// Channel nodes over a real regtest chainstate, for the engine's unit tests: each party is a
// real ChannelEngine with its own ChannelStore (LevelDB in a temp dir) and keys; the chain is
// a real ledger::Chainstate that every block goes through (ProcessBlock, all rules and
// signatures). Messages travel as their canonical bytes through a queue the test delivers (so
// a test can lose, reorder or replay them); a broadcast is checked the way the node's mempool
// checks it (CheckTransaction, ApplyMarketRecord and CheckTxInputs at the next height) and
// refused on a conflict with a pending transaction; Mine() puts the pending ones in a block.
// A party can be restarted (engine and store closed and reopened from disk) at any point.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "channels/arbiter.h"
#include "channels/engine.h"
#include "channels/messages.h"
#include "channels/tower.h"
#include "consensus/market.h"
#include "consensus/market_rules.h"
#include "consensus/tx_check.h"
#include "consensus/tx_verify.h"
#include "tests/unit/ledger/ledger_fixture.h"

namespace wattline::test {

class ChannelNet;

class Party final : public channels::ChannelHost {
 public:
  Party(ChannelNet& net, std::string name, crypto::SecretKey key, std::filesystem::path dir,
        channels::EngineOptions options = {})
      : m_net(net), m_name(std::move(name)), m_key(std::move(key)), m_dir(std::move(dir)), m_options(std::move(options)) {
    Start();
  }

  void Start() {
    std::string why;
    ASSERT_TRUE(channels::ChannelStore::Open(m_dir / "channels", m_store, why)) << why;
    m_engine = std::make_unique<channels::ChannelEngine>(*this, *m_store, m_options);
    ASSERT_TRUE(channels::Watchtower::Open(m_dir / "tower", *this, m_tower, why)) << why;
  }
  /** kill -9 and start: the engine and its memory go; only what the store synced stays. */
  void Restart() {
    m_engine.reset();
    m_store.reset();
    m_tower.reset();
    Start();
  }

  channels::ChannelEngine& engine() { return *m_engine; }
  channels::Watchtower& tower() { return *m_tower; }
  channels::Arbiter& arbiter() { return m_arbiter; }
  channels::ChannelStore& store() { return *m_store; }
  /** An offline party receives nothing and sees no block. */
  bool offline = false;
  /** Its broadcasts are refused (as when its coins were spent elsewhere). */
  bool refuse_broadcasts = false;
  const std::string& name() const { return m_name; }
  crypto::XOnlyPubKey pub() const { return m_key.PubKey(); }
  const std::filesystem::path& dir() const { return m_dir; }

  // ChannelHost
  const consensus::Params& params() const override;
  std::uint32_t TipHeight() const override;
  std::uint64_t TipTime() const override;
  std::vector<consensus::Reading> CountedReadings(const consensus::MeterId& meter, std::uint64_t from_start,
                                                  std::size_t limit) const override;
  consensus::MarketGlobals Globals() const override;
  std::optional<consensus::ChannelState> OnChain(const consensus::ChannelId& id) const override;
  bool Broadcast(const consensus::MutableTransaction& tx, std::string& why) override;
  void Send(const std::string& peer, const channels::ChannelMessage& msg) override;
  crypto::XOnlyPubKey Key() const override { return m_key.PubKey(); }
  std::optional<consensus::Signature> Sign(const consensus::Hash256& msg) override { return m_key.Sign(msg); }
  // Each party's one key plays every role it is named for (u's is the utility key).
  std::optional<crypto::XOnlyPubKey> UtilityKey() const override { return m_key.PubKey(); }
  std::optional<consensus::Signature> SignAsUtility(const consensus::Hash256& msg) override { return m_key.Sign(msg); }
  bool SelectFunding(std::uint64_t amount, std::vector<channels::FundingInput>& inputs,
                     std::optional<consensus::TxOut>& change, std::string& why) override;
  bool SignInputs(const consensus::MutableTransaction& tx, std::size_t first, std::size_t count,
                  std::vector<consensus::Signature>& sigs, std::string& why) override;

  void ReleaseFunding(const std::vector<channels::FundingInput>& inputs) override {
    for (const auto& in : inputs) m_reserved.erase(in.prevout);
  }
  std::size_t Reserved() const { return m_reserved.size(); }

  /** The coins Key(this party) holds on chain. */
  std::int64_t Balance() const;

 private:
  ChannelNet& m_net;
  std::string m_name;
  crypto::SecretKey m_key;
  std::filesystem::path m_dir;
  channels::EngineOptions m_options;
  std::set<consensus::OutPoint> m_reserved;
  channels::Arbiter m_arbiter{*this};
  std::unique_ptr<channels::ChannelStore> m_store;
  std::unique_ptr<channels::ChannelEngine> m_engine;
  std::unique_ptr<channels::Watchtower> m_tower;
};

struct InFlight {
  std::string from, to;
  consensus::Bytes bytes;
};

class ChannelNet : public LedgerTest {
  friend class Party;

 public:
  crypto::SecretKey utility = *crypto::SecretKey::FromBytes(consensus::DocumentedUtilitySecret(params.network).span());
  crypto::SecretKey meter_a = TestKey(21), meter_b = TestKey(22);
  channels::EngineOptions options;  //!< A's and B's: the tower is "u"
  std::unique_ptr<Party> a, b, u;  //!< u: the utility's node, running the watchtower
  std::deque<InFlight> queue;
  std::vector<consensus::TransactionRef> pending;
  std::size_t delivered = 0;

  void SetUp() override;

  Party* ByName(const std::string& name) {
    return name == "a" ? a.get() : name == "b" ? b.get() : name == "u" ? u.get() : nullptr;
  }
  /** Tower verdicts, in the order the updates arrived. */
  std::vector<channels::Watchtower::Verdict> verdicts;

  /** Stops side "a" or "b", copies its datadir to "<side>-backup" (an operator's backup), starts it again. */
  void BackUp(const std::string& side);
  /** Stops the side and starts it again from its backup, which takes the datadir's place. */
  void RestoreFromBackUp(const std::string& side);

  /** Delivers queued messages (and the replies they cause) until none is left or `limit` were delivered. */
  void Deliver(std::size_t limit = 1'000'000);
  /** Drops every queued message (a lost connection). */
  void Drop() { queue.clear(); }
  /** Puts the pending transactions into a block (each that still fits), then tells every party that is online. */
  void MineBlock();
  void MineBlocks(int n) {
    for (int i = 0; i < n; ++i) MineBlock();
  }

  /** A opens the default channel to B and its funding confirms; returns the temp id. */
  consensus::Hash256 OpenFunded();

  /** The funding A proposes to B: CwA 500,000, CwB 300,000, a window of 3 blocks, expiry +60. */
  consensus::ChannelFunding Funding() const;

  /** A's meter's signed reading of [start, start + length) importing import_wh, counted on chain in the next block. */
  void CountImport(std::uint64_t start, std::uint32_t length, std::uint64_t import_wh);
  /** B's meter's signed reading of [start, start + length) exporting export_wh, counted in the next block. */
  void CountExport(std::uint64_t start, std::uint32_t length, std::uint64_t export_wh);

  /** Validates tx as the mempool would at the next height; sets why. */
  bool CheckLikeMempool(const consensus::TransactionRef& tx, std::string& why, consensus::Amount* fee = nullptr) const;

  consensus::MarketReader Reader() const;

 private:
  void Fund(const crypto::XOnlyPubKey& to, int coins, consensus::Amount each);
  void Register(const crypto::SecretKey& meter, const crypto::XOnlyPubKey& owner, consensus::MeterRole role);
  std::unique_ptr<ledger::ChainMarketStore> m_market;
  std::vector<Spend> m_miner_coins;
  void Count(const crypto::SecretKey& meter, std::uint64_t start, std::uint32_t length, std::uint64_t import_wh,
             std::uint64_t export_wh);
  std::uint64_t m_import_register = 0, m_export_register = 0;
};

}  // namespace wattline::test
