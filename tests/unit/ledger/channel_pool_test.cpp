// The incentive pool through the real chainstate (channel_net.h: regtest, LevelDB, every block
// through ProcessBlock with all rules and signatures): a penalty close moves B's collateral into
// the pool, the next slot's coinbases claim it in equal shares with the remainder in the slot's
// last block, a reorg undoes the close and the shares exactly and a reorg back redoes them, and
// random chains of fundings, closes, posts, settles and penalties with random reorgs conserve
// supply (coins + pool == subsidies + grants + rewards) and undo to the genesis state.
//
// Closes are built with channels/builder.h and signed by A (key 11), B (key 12) and U (the
// regtest utility key); A's meter (21) only imports, B's (22) only exports. Regtest: 10 blocks
// per slot, price 1 unit per kWh while no slot before had demand.
#include <gtest/gtest.h>

#include <iostream>

#include <algorithm>
#include <map>
#include <ostream>
#include <random>

#include "channels/builder.h"
#include "tests/unit/channels/channel_net.h"

namespace wattline::consensus {
// Failures name the pool's fields, not 224 bytes.
void PrintTo(const MarketGlobals& g, std::ostream* os) {
  *os << "{pool_slot " << g.pool_slot << ", accrued " << g.pool_accrued << ", paying " << g.pool_paying << ", in "
      << g.pool_in_total << ", out " << g.pool_out_total << ", funded " << g.channels_funded << ", settled "
      << g.channels_settled << ", readings " << g.readings_total << ", rewards " << g.rewards_total << "}";
}
}  // namespace wattline::consensus

using namespace wattline;
using namespace wattline::test;
using namespace wattline::consensus;

namespace {

using Market = std::map<std::string, Bytes>;

struct Snapshot {
  std::map<OutPoint, Coin> utxo;
  Market market;
  MarketGlobals globals;
};

class ChannelPoolTest : public ChannelNet {
 protected:
  crypto::SecretKey key_a = TestKey(11), key_b = TestKey(12);
  // The globals after each block built here, so that a block on a branch that is not active
  // can claim its pool share: only the pool moves the globals in a block without transactions.
  std::map<Hash256, MarketGlobals> globals_after;
  std::uint64_t extra = 1;

  void SetUp() override {
    ChannelNet::SetUp();
    globals_after[params.genesis_hash] = InitialGlobals(params);
    globals_after[cs->Tip()->hash] = TipGlobals();
  }

  MarketGlobals TipGlobals() const {
    ledger::ChainMarketStore store(*cs);
    return MarketReader(store, params).Globals();
  }
  std::optional<ChannelState> TipChannel(const ChannelId& id) const {
    ledger::ChainMarketStore store(*cs);
    return MarketReader(store, params).Channel(id);
  }
  std::uint64_t BlockTime(const ledger::BlockIndex& parent) const {
    return parent.header.time + static_cast<std::uint64_t>(params.target_spacing);
  }

  Market StoredMarket() {
    Market out;
    cs->ForEachMarket(
        "", [&](const std::string& key, ByteSpan value) { out.emplace(key, Bytes(value.begin(), value.end())); });
    return out;
  }
  // The market state replayed from nothing over the active chain, the pool's roll included:
  // what undo must leave behind after any sequence of reorganisations.
  Market RebuildMarket() {
    EmptyMarketStore empty;
    MarketOverlay state(&empty);
    for (std::uint32_t h = 1; h <= cs->Height(); ++h) {
      Block block;
      EXPECT_TRUE(cs->ReadBlock(*cs->ActiveAt(h), block));
      ConnectBlockPool(h, params, state);
      for (const auto& tx : block.txs) {
        Amount minted, pooled;
        ValidationState vs;
        EXPECT_TRUE(ApplyMarketRecord(*tx, {h, block.header.time}, params, state, minted, vs, nullptr, &pooled))
            << vs.ToString();
      }
    }
    Market out;
    for (const auto& [key, value] : state.Writes())
      if (value) out.emplace(key, *value);
    return out;
  }

  Snapshot Take() { return {ChainstateUtxo(*cs), StoredMarket(), TipGlobals()}; }

  /** coins + pool == subsidies + grants + rewards (every block here claims all it may). */
  void ExpectSupply(const std::string& where) {
    const auto stats = cs->ComputeCoinStats();
    EXPECT_EQ(stats.total.units + stats.pool.units, stats.subsidies.units + stats.grants.units + stats.rewards.units)
        << where << " at height " << stats.height;
  }

  std::vector<Spend> MatureMinerCoins() {
    std::vector<Spend> out;
    for (const auto& [op, coin] : ChainstateUtxo(*cs)) {
      if (coin.out.condition != Condition::Key(miner)) continue;
      if (coin.coinbase && cs->Height() + 1 - coin.height < params.coinbase_maturity) continue;
      out.push_back({op, coin.out});
    }
    return out;
  }

  /**
   * A block on parent claiming subsidy + fees + the pool share, exactly. Transactions only on
   * the tip: they are checked against its state here to learn their fees (what CheckTxInputs
   * leaves after the pooled coins). `over` claims that much more.
   */
  Block Build(const ledger::BlockIndex* parent, std::vector<TransactionRef> txs, std::int64_t over = 0) {
    const std::uint32_t height = parent->height + 1;
    const std::uint64_t time = BlockTime(*parent);
    EmptyMarketStore empty;
    MarketOverlay from_globals(&empty);
    ledger::ChainMarketStore store(*cs);
    const bool on_tip = parent == cs->Tip();
    EXPECT_TRUE(on_tip || txs.empty()) << "transactions need the parent's full state";
    if (!on_tip) WriteGlobals(from_globals, globals_after.at(parent->hash));
    MarketOverlay ov(on_tip ? static_cast<const MarketStore*>(&store) : &from_globals);
    Amount claim = ConnectBlockPool(height, params, ov);
    for (const auto& tx : txs) {
      std::vector<Coin> coins;
      for (const auto& in : tx->inputs()) {
        auto c = cs->GetCoin(in.prevout);
        EXPECT_TRUE(c) << "input not on chain";
        coins.push_back(c.value_or(Coin{}));
      }
      std::vector<const Coin*> ptrs;
      for (const auto& c : coins) ptrs.push_back(&c);
      ValidationState s;
      Amount minted, pooled, fee;
      EXPECT_TRUE(CheckTransaction(*tx, s) &&
                  ApplyMarketRecord(*tx, {height, time}, params, ov, minted, s, nullptr, &pooled) &&
                  CheckTxInputs(*tx, ptrs, height, params, fee, s, nullptr, minted, pooled))
          << s.ToString();
      claim.units += fee.units;
    }
    Block block = MakeBlock(*cs, *parent, std::move(txs), Amount{claim.units + over}, miner, extra++);
    EXPECT_EQ(block.header.time, time);
    if (!on_tip) globals_after[block.Hash()] = MarketReader(ov, params).Globals();
    return block;
  }

  /** Submits a block; when it becomes the tip, checks the globals the pool roll was expected to leave. */
  const ledger::BlockIndex* Submit(const Block& block) {
    ValidationState state;
    EXPECT_TRUE(cs->ProcessBlock(block, kNow, state)) << state.ToString();
    const Hash256 hash = block.Hash();
    if (cs->Tip()->hash == hash) {
      auto it = globals_after.find(hash);
      if (it != globals_after.end()) EXPECT_EQ(TipGlobals(), it->second) << "height " << cs->Height();
      globals_after[hash] = TipGlobals();
    }
    return cs->LookupBlockIndex(hash);
  }
  const ledger::BlockIndex* MineTip(std::vector<TransactionRef> txs = {}) {
    return Submit(Build(cs->Tip(), std::move(txs)));
  }

  /** A funding paid by one mature miner coin (fee 1,000, change to the miner). */
  TransactionRef FundingTx(const ChannelFunding& f, const Spend& coin) {
    const std::int64_t amount = static_cast<std::int64_t>(f.cwa + f.cwb + f.cwu);
    MutableTransaction m;
    m.inputs.push_back({coin.prevout, {}});
    m.outputs.push_back(
        {Amount{amount}, Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window)});
    m.outputs.push_back({Amount{coin.spent.amount.units - amount - 1'000}, Condition::Key(miner)});
    m.record = MakeRecord(f);
    m.inputs[0].satisfaction = Satisfaction::Sig(miner_key.Sign(SignatureHash(params, m.ComputeTxid(), 0, coin.spent)));
    return MakeTransactionRef(std::move(m));
  }

  struct Meterage {
    const crypto::SecretKey* meter;
    std::uint64_t start;
    std::uint32_t length;
    std::uint64_t import_wh, export_wh;
  };
  /** A readings transaction continuing each meter's registers from the tip, with its rewards. */
  TransactionRef ReadingsTx(const std::vector<Meterage>& list) {
    ledger::ChainMarketStore store(*cs);
    MarketReader reader(store, params);
    std::map<MeterId, std::pair<std::uint64_t, std::uint64_t>> registers;
    ReadingBatch batch;
    for (const auto& x : list) {
      Reading r;
      r.meter = x.meter->PubKey();
      if (!registers.contains(r.meter)) {
        auto m = reader.Meter(r.meter);
        registers[r.meter] = {m->import_register, m->export_register};
      }
      auto& [imp, exp] = registers[r.meter];
      r.start = x.start;
      r.length = x.length;
      r.import_wh = x.import_wh;
      r.export_wh = x.export_wh;
      r.import_register = imp += x.import_wh;
      r.export_register = exp += x.export_wh;
      r.sig = x.meter->Sign(ReadingSigHash(params, r));
      batch.readings.push_back(r);
    }
    MutableTransaction m;
    ValidationState s;
    EXPECT_TRUE(ComputeReadingOutputs(batch, store, params, m.outputs, s)) << s.ToString();
    m.record = MakeRecord(batch);
    return MakeTransactionRef(std::move(m));
  }

  /**
   * The evidence of a channel: the readings of its meters in its delivery interval that the
   * active chain counted after its funding, in chain order (consensus folds the same ones).
   */
  std::vector<Reading> Evidence(const ChannelId& id, const ChannelState& ch) {
    std::uint32_t funded = cs->Height();
    for (;; --funded) {
      Block b;
      EXPECT_TRUE(cs->ReadBlock(*cs->ActiveAt(funded), b));
      if (std::any_of(b.txs.begin(), b.txs.end(), [&](const TransactionRef& t) { return t->txid() == id.txid; })) break;
      if (funded == 0) return {};
    }
    const ChannelFunding& f = ch.funding;
    std::vector<Reading> out;
    std::size_t count_a = 0, count_b = 0;
    for (std::uint32_t h = funded; h <= cs->Height(); ++h) {
      Block b;
      EXPECT_TRUE(cs->ReadBlock(*cs->ActiveAt(h), b));
      bool after = h > funded;
      for (const auto& tx : b.txs) {
        if (tx->txid() == id.txid) after = true;
        MarketRecord rec;
        if (!after || tx->record().kind != RecordKind::kReadings ||
            DecodeMarketRecord(tx->record(), rec) != DecodeError::kOk)
          continue;
        for (const Reading& r : std::get<ReadingBatch>(rec).readings) {
          const bool of_a = r.meter == f.consumer_meter;
          if ((!of_a && r.meter != f.producer_meter) || !InDeliveryInterval(r, f.delivery_start, f.delivery_end))
            continue;
          std::size_t& count = of_a ? count_a : count_b;
          if (count >= kMaxReadingsPerBatch) continue;
          ++count;
          out.push_back(r);
        }
      }
    }
    EXPECT_EQ(count_a, ch.count_a);
    EXPECT_EQ(count_b, ch.count_b);
    return out;
  }

  /** The penalty close (U + A) of the channel as the tip holds it, paying the fee floor of the next height. */
  TransactionRef PenaltyTx(const ChannelId& id, const ChannelState& ch, std::vector<Reading> evidence) {
    std::string why;
    const std::uint64_t fee = channels::FeeFloor(TipGlobals(), cs->Height() + 1, params, ch.amount);
    auto tx = channels::BuildEvidenceClose(id, ch, SettlementPath::kPenalty, std::move(evidence), fee,
                                           static_cast<std::uint64_t>(params.channel_dust.units), why);
    EXPECT_TRUE(tx) << why;
    if (!tx) return nullptr;
    const Hash256 msg = channels::CloseSighash(params, *tx, id, ch);
    channels::AttachSignatures(
        *tx, static_cast<std::uint8_t>(SignerBit(consensus::Party::kA) | SignerBit(consensus::Party::kU)),
        {key_a.Sign(msg), utility.Sign(msg)});
    return MakeTransactionRef(std::move(*tx));
  }
  TransactionRef CooperativeTx(const ChannelId& id, const ChannelState& ch, std::uint64_t cc) {
    std::string why;
    const std::uint64_t fee = channels::FeeFloor(TipGlobals(), cs->Height() + 1, params, ch.amount);
    auto tx = channels::BuildCooperative(id, ch, cc, fee, static_cast<std::uint64_t>(params.channel_dust.units), why);
    EXPECT_TRUE(tx) << why;
    if (!tx) return nullptr;
    const Hash256 msg = channels::CloseSighash(params, *tx, id, ch);
    channels::AttachSignatures(
        *tx, static_cast<std::uint8_t>(SignerBit(consensus::Party::kA) | SignerBit(consensus::Party::kB)),
        {key_a.Sign(msg), key_b.Sign(msg)});
    return MakeTransactionRef(std::move(*tx));
  }
};

// The channel of the first two tests: 2,000 kWh asked at 1 unit per kWh; B's collateral is
// not a multiple of the slot's 10 blocks, so the last block of the paying slot gets 7 more.
constexpr std::uint64_t kCwA = 500'000, kCwB = 300'007, kCwU = 50'000;

class PenaltyPool : public ChannelPoolTest {
 protected:
  ChannelId id;
  ChannelState opened;  //!< as the chain holds it once the evidence is counted

  /** Funds the channel at height 110 (slot 11) and counts both meters' readings at 111. */
  void SetUp() override {
    ChannelPoolTest::SetUp();
    ASSERT_EQ(cs->Height(), 109u);
    ChannelFunding f = Funding();
    ASSERT_EQ(f.price, 1u);
    f.energy_wh = 2'000'000;
    f.cwa = kCwA;
    f.cwb = kCwB;
    f.cwu = kCwU;
    const auto funding = FundingTx(f, MatureMinerCoins().at(0));
    MineTip({funding});
    id = OutPoint{funding->txid(), 0};
    // A's meter took 1,800 kWh, B's delivered 1,200 kWh of the 2,000 asked: a shortfall.
    MineTip({ReadingsTx({{&meter_a, 1'000, 300, 1'000'000, 0},
                         {&meter_a, 1'300, 300, 800'000, 0},
                         {&meter_b, 1'000, 300, 0, 700'000},
                         {&meter_b, 1'300, 300, 0, 500'000}})});
    ASSERT_EQ(cs->Height(), 111u);
    opened = *TipChannel(id);
    ASSERT_EQ(opened.count_a, 2u);
    ASSERT_EQ(opened.export_b_wh, 1'200'000u);
  }

  /** The block's coinbase claims exactly subsidy + fees + share. */
  void ExpectCoinbase(const ledger::BlockIndex* index, std::int64_t fees_and_share) {
    Block b;
    ASSERT_TRUE(cs->ReadBlock(*index, b));
    ASSERT_EQ(b.txs[0]->outputs().size(), 1u);
    EXPECT_EQ(b.txs[0]->outputs()[0].amount.units, BlockSubsidy(index->height, params).units + fees_and_share)
        << "height " << index->height;
  }
};

// The share of block h of the paying slot 12 (heights 120..129): 300,007 / 10, the remainder last.
std::int64_t Share(std::uint32_t h) { return h < 120 || h > 129 ? 0 : h == 129 ? 30'007 : 30'000; }

}  // namespace

TEST_F(PenaltyPool, CollateralGoesToThePoolAndTheNextSlotsCoinbasesClaimItExactly) {
  ExpectSupply("before the penalty");
  const auto penalty = PenaltyTx(id, opened, Evidence(id, opened));
  ASSERT_TRUE(penalty);
  // A pays cost(1,800 kWh) = 1,800 and the 1% fee floor (8,500 of 850,007); B gets cost(1,200
  // kWh); U its deposit plus the 600 of the shortfall it supplied; CwB goes to the pool.
  const std::vector<TxOut> want{{Amount{489'700}, Condition::Key(a->pub())},
                                {Amount{1'200}, Condition::Key(b->pub())},
                                {Amount{50'600}, Condition::Key(utility.PubKey())}};
  EXPECT_EQ(penalty->outputs(), want);
  const auto* at = MineTip({penalty});
  ASSERT_EQ(cs->Height(), 112u);
  ExpectCoinbase(at, 8'500);
  EXPECT_FALSE(TipChannel(id));
  MarketGlobals g = TipGlobals();
  EXPECT_EQ(g.pool_slot, 11u);
  EXPECT_EQ(g.pool_accrued, kCwB);
  EXPECT_EQ(g.pool_paying, 0u);
  EXPECT_EQ(g.PoolOutstanding(), kCwB);
  EXPECT_EQ(cs->ComputeCoinStats().pool.units, static_cast<std::int64_t>(kCwB));
  ExpectSupply("after the penalty");

  std::int64_t paid = 0;
  for (std::uint32_t h = 113; h <= 131; ++h) {
    if (h == 120 || h == 129 || h == 130) {
      // One unit above the share is a block the chain refuses.
      ValidationState state;
      EXPECT_FALSE(cs->ProcessBlock(Build(cs->Tip(), {}, /*over=*/1), kNow, state)) << h;
      EXPECT_EQ(state.reason(), Reason::kBlockCoinbaseAmount) << h;
    }
    // While the pool pays, a close owes miners no settlement fee.
    EXPECT_EQ(channels::FeeFloor(TipGlobals(), h, params, kCwA), Share(h) ? 0u : kCwA / 100) << h;
    at = MineTip();
    ASSERT_EQ(at->height, h);
    ExpectCoinbase(at, Share(h));
    paid += Share(h);
    EXPECT_EQ(cs->ComputeCoinStats().pool.units, static_cast<std::int64_t>(kCwB) - paid) << h;
    ExpectSupply("payout");
  }
  EXPECT_EQ(paid, static_cast<std::int64_t>(kCwB));
  g = TipGlobals();
  EXPECT_EQ(g.pool_in_total, kCwB);
  EXPECT_EQ(g.pool_out_total, kCwB);
  EXPECT_EQ(g.pool_accrued + g.pool_paying, 0u);
  EXPECT_EQ(Take().market, RebuildMarket());
}

TEST_F(PenaltyPool, AReorgUndoesThePenaltyAndItsSharesExactlyAndAReorgBackRedoesThem) {
  const Snapshot before = Take();  // at 111: the channel open, the pool empty
  const auto* fork = cs->Tip();
  MineTip({PenaltyTx(id, opened, Evidence(id, opened))});
  for (std::uint32_t h = 113; h <= 122; ++h) MineTip();  // 120..122 claim a share each
  const auto* penalty_tip = cs->Tip();
  const Snapshot penalised = Take();
  ASSERT_EQ(penalised.globals.pool_out_total, 90'000u);

  // A competing branch of empty blocks from 111, one longer: nothing pooled, nothing to share.
  const ledger::BlockIndex* alt = fork;
  std::map<OutPoint, Coin> alt_coinbases;
  for (std::uint32_t h = 112; h <= 123; ++h) {
    const Block block = Build(alt, {});
    alt = Submit(block);
    alt_coinbases[{block.txs[0]->txid(), 0}] = Coin{block.txs[0]->outputs()[0], h, true};
    EXPECT_EQ(block.txs[0]->outputs()[0].amount, BlockSubsidy(h, params)) << h;
    EXPECT_EQ(cs->Tip(), h < 123 ? penalty_tip : alt) << h;
  }
  // Disconnected to 111 and the branch connected: the coins are those of 111 plus the branch's
  // coinbases, and the market state (pool, channel, meters) is 111's to the byte.
  const Snapshot restored = Take();
  std::map<OutPoint, Coin> without = restored.utxo;
  for (const auto& [op, coin] : alt_coinbases) {
    ASSERT_EQ(without.count(op), 1u);
    EXPECT_EQ(without.at(op), coin);
    without.erase(op);
  }
  EXPECT_EQ(without, before.utxo);
  EXPECT_EQ(restored.market, before.market);
  EXPECT_EQ(restored.globals, before.globals);
  EXPECT_EQ(cs->ComputeCoinStats().pool.units, 0);
  EXPECT_EQ(TipChannel(id), opened);
  EXPECT_EQ(restored.utxo, RebuildUtxo(*cs));
  ExpectSupply("on the branch");

  // On the branch the channel closes cooperatively instead (state Cc = 1,800): no pool.
  const auto coop = CooperativeTx(id, opened, 1'800);
  ASSERT_TRUE(coop);
  const std::vector<TxOut> shares{{Amount{500'000 - 1'800 - 8'500}, Condition::Key(a->pub())},
                                  {Amount{300'007 + 1'800}, Condition::Key(b->pub())},
                                  {Amount{50'000}, Condition::Key(utility.PubKey())}};
  EXPECT_EQ(coop->outputs(), shares);
  const auto* coop_tip = MineTip({coop});
  ExpectCoinbase(coop_tip, 8'500);
  EXPECT_FALSE(TipChannel(id));
  EXPECT_EQ(TipGlobals().pool_in_total, 0u);
  EXPECT_EQ(TipGlobals().channels_settled, before.globals.channels_settled + 1);
  ExpectSupply("after the cooperative close");

  // The penalty branch grows heavier: the penalty and its shares are connected again from disk.
  const ledger::BlockIndex* back = penalty_tip;
  std::map<OutPoint, Coin> more;
  for (std::uint32_t h = 123; h <= 125; ++h) {
    const Block block = Build(back, {});
    back = Submit(block);
    more[{block.txs[0]->txid(), 0}] = Coin{block.txs[0]->outputs()[0], h, true};
    EXPECT_EQ(block.txs[0]->outputs()[0].amount.units, BlockSubsidy(h, params).units + Share(h)) << h;
    EXPECT_EQ(cs->Tip(), h < 125 ? coop_tip : back) << h;
  }
  const Snapshot redone = Take();
  without = redone.utxo;
  for (const auto& [op, coin] : more) {
    ASSERT_EQ(without.count(op), 1u);
    without.erase(op);
  }
  EXPECT_EQ(without, penalised.utxo);
  MarketGlobals g = penalised.globals;
  g.pool_out_total += 90'000;
  EXPECT_EQ(redone.globals, g);
  Market market = redone.market;
  market.erase(market_keys::Globals());
  Market penalised_market = penalised.market;
  penalised_market.erase(market_keys::Globals());
  EXPECT_EQ(market, penalised_market);
  EXPECT_EQ(redone.market, RebuildMarket());
  EXPECT_EQ(cs->ComputeCoinStats().pool.units, 300'007 - 180'000);
  ExpectSupply("back on the penalty branch");

  // The rest of the slot pays the rest of the pool, remainder last.
  for (std::uint32_t h = 126; h <= 130; ++h) ExpectCoinbase(MineTip(), Share(h));
  EXPECT_EQ(cs->ComputeCoinStats().pool.units, 0);
  ExpectSupply("after the slot");
}

namespace {

class RandomChannelChains : public ChannelPoolTest, public ::testing::WithParamInterface<std::uint64_t> {
 protected:
  std::vector<ChannelId> funded;     // every channel ever funded; the tip says which are unsettled
  std::map<std::string, int> mined;  // transactions by path, and blocks claiming a pool share

  // As ChannelNet::Funding, but read through a store of the current chainstate: a restart
  // replaces the one ChannelNet reads.
  ChannelFunding NewFunding(std::uint32_t height) const {
    ledger::ChainMarketStore store(*cs);
    MarketReader reader(store, params);
    ChannelFunding f;
    f.consumer = a->pub();
    f.producer = b->pub();
    f.utility = reader.Globals().utility_key;
    f.consumer_meter = meter_a.PubKey();
    f.producer_meter = meter_b.PubKey();
    f.slot = SlotOfHeight(height, params);
    f.price = reader.PriceOfSlot(f.slot);
    f.expiry = height + 1'000;
    return f;
  }

  /** One block on the tip: closes, posts and settles of some channels, maybe a funding, maybe readings. */
  void Step(std::mt19937_64& rng) {
    const std::uint32_t height = cs->Height() + 1;
    const std::uint64_t time = BlockTime(*cs->Tip());
    const std::uint64_t dust = static_cast<std::uint64_t>(params.channel_dust.units);
    const MarketGlobals g = TipGlobals();
    std::vector<TransactionRef> txs;
    std::size_t open = 0;
    for (const ChannelId& id : funded) {
      auto ch = TipChannel(id);
      if (!ch) continue;
      ++open;
      const ChannelFunding& f = ch->funding;
      std::string why;
      switch (rng() % 8) {
        case 0:
          if (ch->status == ChannelStatus::kOpen) {
            txs.push_back(CooperativeTx(id, *ch, rng() % (f.cwa + 1)));
            ++mined["cooperative"];
          }
          break;
        case 1: {
          const std::uint64_t n = ch->posted_state + 1 + rng() % 3;
          const Commitment c{id, n, rng() % (f.cwa / 2 + 1), rng() % 2'000};
          const Hash256 msg = CommitmentSigHash(params, c);
          if (auto tx = channels::BuildPost(id, *ch, c, key_a.Sign(msg), key_b.Sign(msg), why)) {
            txs.push_back(MakeTransactionRef(std::move(*tx)));
            ++mined["post"];
          }
          break;
        }
        case 2:
        case 6:
          if (ch->status == ChannelStatus::kClosing && height >= ch->posted_height + f.contest_window) {
            auto tx = channels::BuildSettle(id, *ch, channels::FeeFloor(g, height, params, ch->amount), dust, why);
            ASSERT_TRUE(tx) << why;
            txs.push_back(MakeTransactionRef(std::move(*tx)));
            ++mined["settle"];
          }
          break;
        case 3:
        case 4:
        case 5:
          if (time >= f.delivery_end && ch->export_b_wh < f.energy_wh && ch->count_a + ch->count_b > 0) {
            txs.push_back(PenaltyTx(id, *ch, Evidence(id, *ch)));
            ++mined["penalty"];
          }
          break;
      }
    }
    if (open < 4 && rng() % 2) {
      auto coins = MatureMinerCoins();
      ChannelFunding f = NewFunding(height);
      f.energy_wh = 1'000 + rng() % 20'000;
      f.cwa = *EnergyCost(f.energy_wh, f.price) + rng() % 200'000;
      f.cwb = 1'000 + rng() % 500'000;
      f.cwu = rng() % 100'000;
      f.contest_window = 1 + static_cast<std::uint32_t>(rng() % 3);
      f.delivery_start = 0;  // every reading counted after the funding, until the end
      f.delivery_end = time + 1 + rng() % 5;
      const auto tx = FundingTx(f, coins.at(rng() % coins.size()));
      txs.push_back(tx);
      funded.push_back({tx->txid(), 0});
      ++mined["funding"];
    }
    std::vector<Meterage> readings;
    for (const crypto::SecretKey* m : {&meter_a, &meter_b}) {
      if (rng() % 2) continue;
      ledger::ChainMarketStore store(*cs);
      const auto state = *MarketReader(store, params).Meter(m->PubKey());
      const std::uint64_t start = state.has_reading ? state.last_end : time - 50;
      const std::uint64_t wh = rng() % 3'000;
      readings.push_back(
          {m, start, static_cast<std::uint32_t>(time - start), m == &meter_a ? wh : 0, m == &meter_b ? wh : 0});
    }
    if (!readings.empty()) txs.push_back(ReadingsTx(readings));
    for (const auto& tx : txs) ASSERT_TRUE(tx);
    if (PoolShareAt(ledger::ChainMarketStore(*cs), params, height).units > 0) ++mined["pool share"];
    MineTip(std::move(txs));
    ASSERT_EQ(cs->Height(), height);
  }

  /** A branch of empty blocks from `back` blocks below the tip, one longer than what it replaces. */
  void Reorg(std::uint32_t back, std::uint32_t longer) {
    const ledger::BlockIndex* parent = cs->ActiveAt(cs->Height() - back);
    for (std::uint32_t i = 0; i < back + longer; ++i) {
      const Block block = Build(parent, {});
      if (block.txs[0]->outputs()[0].amount != BlockSubsidy(parent->height + 1, params)) ++mined["pool share"];
      parent = Submit(block);
    }
    ASSERT_EQ(cs->Tip(), parent);
  }
};

}  // namespace

TEST_P(RandomChannelChains, PoolAndCoinsConservedAcrossReorgsAndUndoneToGenesis) {
  const std::uint64_t seed = GetParam();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: --gtest_filter=*RandomChannelChains*)");
  const std::uint32_t base = cs->Height();
  for (int round = 0; round < 20; ++round) {
    const std::uint32_t above = cs->Height() - base;
    if (above > 0 && rng() % 4 == 0) {
      ++mined["reorg"];
      Reorg(1 + static_cast<std::uint32_t>(rng() % std::min<std::uint32_t>(above, 6)),
            1 + static_cast<std::uint32_t>(rng() % 2));
    } else {
      for (int i = 1 + static_cast<int>(rng() % 4); i > 0; --i) Step(rng);
    }
    if (HasFatalFailure()) return;
    // A restart, with a cache small enough to flush every block or large enough for none.
    if (rng() % 6 == 0) {
      Open(/*cache_bytes=*/(rng() % 2) ? 2048 : (64u << 20));
      ++mined["restart"];
    }
    const auto utxo = ChainstateUtxo(*cs);
    ASSERT_EQ(utxo, RebuildUtxo(*cs)) << "round " << round;
    ASSERT_EQ(StoredMarket(), RebuildMarket()) << "round " << round;
    ExpectSupply("round " + std::to_string(round));
  }
  // What the seed exercised. Signatures take fresh randomness, so a seed's path differs between
  // builds (a CI run under ASan once saw no settle): told, not asserted, so the test cannot flake;
  // the fixed tests above cover every kind deterministically.
  for (const char* what : {"funding", "cooperative", "post", "settle", "penalty", "pool share", "reorg", "restart"})
    if (mined[what] == 0) std::cout << "note: this run did not exercise " << what << "\n";
  EXPECT_GT(mined["funding"], 0);

  // A branch of empty blocks from genesis, one longer, disconnects every block above.
  const std::uint32_t tip = cs->Height();
  const ledger::BlockIndex* parent = cs->ActiveAt(0);
  std::map<OutPoint, Coin> coinbases;
  for (std::uint32_t h = 1; h <= tip + 1; ++h) {
    const Block block = Build(parent, {});
    parent = Submit(block);
    coinbases[{block.txs[0]->txid(), 0}] = Coin{block.txs[0]->outputs()[0], h, true};
  }
  ASSERT_EQ(cs->Tip(), parent);
  EXPECT_EQ(ChainstateUtxo(*cs), coinbases);
  EXPECT_TRUE(StoredMarket().empty());
  EXPECT_EQ(TipGlobals(), InitialGlobals(params));
  EXPECT_EQ(cs->ComputeCoinStats().pool.units, 0);
  ExpectSupply("after undoing everything");
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomChannelChains, ::testing::Values(1u, 20260301u));
