// Property test of the market in the ledger: random chains with meter registrations, grants,
// readings and production rewards, random forks, reorganisations and restarts. After every
// step:
//   - the coin set equals the one rebuilt from the active chain;
//   - the coins' total == subsidies + grants + rewards - what coinbases left unclaimed;
//   - the chainstate's market state equals the one rebuilt by replaying the active chain's
//     records from an empty state (so undo on reorg restores it exactly, to the byte).
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "consensus/market_rules.h"
#include "tests/unit/ledger/ledger_fixture.h"

using namespace wattline;
using namespace wattline::test;
using consensus::Amount;

namespace {

class RandomMarketChains : public LedgerTest, public ::testing::WithParamInterface<std::uint64_t> {
 protected:
  crypto::SecretKey utility = *crypto::SecretKey::FromBytes(consensus::DocumentedUtilitySecret(params.network).span());
  std::vector<crypto::SecretKey> meters;
  std::vector<crypto::XOnlyPubKey> owners;
  std::map<crypto::Hash256, Amount> unclaimed;

  std::vector<Spend> Spendable() {
    std::vector<Spend> out;
    for (const auto& [op, coin] : ChainstateUtxo(*cs)) {
      if (coin.out.condition != consensus::Condition::Key(miner)) continue;
      if (coin.coinbase && cs->Height() + 1 - coin.height < params.coinbase_maturity) continue;
      out.push_back({op, coin.out});
    }
    return out;
  }

  // A registration paid by one miner coin: output 0 the grant (if any), then the change.
  consensus::TransactionRef Registration(const Spend& spend, std::size_t meter, Amount grant, std::int64_t fee) {
    consensus::MeterRegistration reg;
    reg.meter = meters[meter].PubKey();
    reg.owner = owners[meter];
    reg.role = meter % 3 == 1 ? consensus::MeterRole::kConsumer : consensus::MeterRole::kProsumer;
    reg.grant = static_cast<std::uint64_t>(grant.units);
    consensus::MarketRecord rec = reg;
    consensus::SetUtilitySignature(rec, utility.Sign(consensus::UtilitySigHash(params, spend.prevout, rec)));
    consensus::MutableTransaction m;
    m.inputs.push_back({spend.prevout, {}});
    if (grant.units > 0) m.outputs.push_back({grant, consensus::Condition::Key(owners[meter])});
    m.outputs.push_back({Amount{spend.spent.amount.units - fee}, consensus::Condition::Key(miner)});
    m.record = consensus::MakeRecord(rec);
    const auto txid = m.ComputeTxid();
    m.inputs[0].satisfaction =
        consensus::Satisfaction::Sig(miner_key.Sign(consensus::SignatureHash(params, txid, 0, spend.spent)));
    return consensus::MakeTransactionRef(std::move(m));
  }

  // Readings of some meters for a block at block_time, continuing each meter's registers.
  consensus::TransactionRef Readings(std::mt19937_64& rng, std::uint64_t block_time) {
    ledger::ChainMarketStore store(*cs);
    consensus::MarketReader reader(store, params);
    consensus::ReadingBatch batch;
    for (std::size_t i = 0; i < meters.size(); ++i) {
      if (rng() % 2) continue;
      auto state = reader.Meter(meters[i].PubKey());
      if (!state || !state->registered) continue;
      consensus::Reading r;
      r.meter = meters[i].PubKey();
      r.start = state->has_reading ? state->last_end : block_time - 100;
      r.length = 1 + static_cast<std::uint32_t>(rng() % 3);
      if (r.start + r.length > block_time + params.max_reading_future) continue;
      r.import_wh = rng() % 2000;
      r.export_wh = rng() % 5000;
      r.import_register = state->import_register + r.import_wh;
      r.export_register = state->export_register + r.export_wh;
      r.sig = meters[i].Sign(consensus::ReadingSigHash(params, r));
      batch.readings.push_back(r);
    }
    if (batch.readings.empty()) return nullptr;
    consensus::MutableTransaction m;
    consensus::ValidationState state;
    EXPECT_TRUE(consensus::ComputeReadingOutputs(batch, store, params, m.outputs, state)) << state.ToString();
    m.record = consensus::MakeRecord(batch);
    return consensus::MakeTransactionRef(std::move(m));
  }

  // The market state rebuilt by replaying the active chain's records from nothing.
  std::map<std::string, consensus::Bytes> RebuildMarket() {
    consensus::EmptyMarketStore empty;
    consensus::MarketOverlay state(&empty);
    for (std::uint32_t h = 1; h <= cs->Height(); ++h) {
      consensus::Block block;
      EXPECT_TRUE(cs->ReadBlock(*cs->ActiveAt(h), block));
      for (const auto& tx : block.txs) {
        Amount minted;
        consensus::ValidationState vs;
        EXPECT_TRUE(consensus::ApplyMarketRecord(*tx, {h, block.header.time}, params, state, minted, vs)) << vs.ToString();
      }
    }
    std::map<std::string, consensus::Bytes> out;
    for (const auto& [key, value] : state.Writes())
      if (value) out.emplace(key, *value);
    return out;
  }

  std::map<std::string, consensus::Bytes> StoredMarket() {
    std::map<std::string, consensus::Bytes> out;
    cs->ForEachMarket("", [&](const std::string& key, consensus::ByteSpan value) {
      out.emplace(key, consensus::Bytes(value.begin(), value.end()));
    });
    return out;
  }
};

}  // namespace

TEST_P(RandomMarketChains, SupplyAndMarketStateMatchRebuildAcrossReorgs) {
  const std::uint64_t seed = GetParam();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: --gtest_filter=*RandomMarketChains*)");
  ledger::CheckQueue queue(1);
  Open(/*cache_bytes=*/(rng() % 2) ? 2048 : (64u << 20), &queue);
  for (std::uint32_t i = 0; i < 6; ++i) {
    meters.push_back(TestKey(100 + i));
    owners.push_back(TestKey(200 + i % 3).PubKey());  // owners share meters
  }
  std::uint64_t extra = 1;
  MineMany(static_cast<int>(params.coinbase_maturity) + 8);
  for (int step = 0; step < 40; ++step) {
    const ledger::BlockIndex* parent = cs->Tip();
    const std::uint32_t back = (rng() % 4 == 0) ? static_cast<std::uint32_t>(rng() % 7) : 0;
    parent = cs->ActiveAt(parent->height - std::min(back, parent->height));
    const int length = 1 + static_cast<int>(rng() % (back + 2));
    for (int i = 0; i < length; ++i) {
      std::vector<consensus::TransactionRef> txs;
      Amount fees{0};
      const std::uint64_t block_time = parent->header.time + static_cast<std::uint64_t>(params.target_spacing);
      if (parent == cs->Tip()) {
        auto coins = Spendable();
        std::shuffle(coins.begin(), coins.end(), rng);
        // The first meter the tip has not registered (a reorg may have dropped a registration).
        std::size_t next_meter = meters.size();
        {
          ledger::ChainMarketStore store(*cs);
          consensus::MarketReader reader(store, params);
          for (std::size_t m = 0; m < meters.size() && next_meter == meters.size(); ++m)
            if (!reader.Meter(meters[m].PubKey())) next_meter = m;
        }
        if (!coins.empty() && next_meter < meters.size() && rng() % 2) {
          const Amount grant{static_cast<std::int64_t>(rng() % 3) * consensus::kCoin / 2};
          const std::int64_t fee = 1000;
          txs.push_back(Registration(coins[0], next_meter, grant, fee));
          fees.units += fee;
        }
        if (auto r = Readings(rng, block_time)) txs.push_back(r);
      }
      const Amount left{(rng() % 5 == 0) ? static_cast<std::int64_t>(rng() % 100000) : 0};
      auto block = MakeBlock(*cs, *parent, txs, fees, miner, extra++, left);
      ASSERT_EQ(block.header.time, block_time);
      consensus::ValidationState state;
      ASSERT_TRUE(cs->ProcessBlock(block, kNow, state)) << state.ToString();
      if (left.units) unclaimed[block.Hash()] = left;
      parent = cs->LookupBlockIndex(block.Hash());
    }
    if (rng() % 8 == 0) Open(/*cache_bytes=*/(rng() % 2) ? 2048 : (64u << 20), &queue);
    auto utxo = ChainstateUtxo(*cs);
    ASSERT_EQ(utxo, RebuildUtxo(*cs)) << "step " << step;
    const auto stats = cs->ComputeCoinStats();
    Amount left_total{0};
    for (std::uint32_t h = 1; h <= cs->Height(); ++h) {
      auto it = unclaimed.find(cs->ActiveAt(h)->hash);
      if (it != unclaimed.end()) left_total.units += it->second.units;
    }
    ASSERT_EQ(TotalValue(utxo).units,
              IssuedSubsidy(*cs).units + stats.grants.units + stats.rewards.units - left_total.units)
        << "step " << step;
    ASSERT_EQ(StoredMarket(), RebuildMarket()) << "step " << step;
  }
  EXPECT_GT(cs->ComputeCoinStats().rewards.units, 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomMarketChains, ::testing::Values(1u, 2u, 3u, 20261205u));
