// The market through the node: a regtest node acting as the utility (the documented key)
// registers meters, takes signed readings into the mempool, mines them, pays rewards, funds a
// channel; the mempool replays its records after blocks; supply adds up; restarts keep it all.
#include "node/market.h"

#include <gtest/gtest.h>

#include "consensus/market_rules.h"
#include "node/node.h"
#include "tests/unit/ledger/ledger_fixture.h"

using namespace wattline;
using consensus::Amount;

namespace {

class MarketNodeTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::unique_ptr<node::Node> node;
  crypto::SecretKey meter_key = test::TestKey(11);
  crypto::SecretKey owner_key = test::TestKey(12);
  std::uint64_t import_reg = 0, export_reg = 0, next_start = 0;

  void Start(bool utility = true) {
    node.reset();
    node::NodeOptions o;
    o.datadir = dir.path() / "node";
    o.params = &consensus::GetParams(consensus::Network::kRegtest);
    o.check_workers = 1;
    o.utility = utility;
    std::string error;
    node = node::Node::Start(o, error);
    ASSERT_TRUE(node) << error;
  }
  void Generate(std::uint32_t n) {
    std::vector<crypto::Hash256> hashes;
    std::string error;
    ASSERT_TRUE(node->Generate(n, std::nullopt, hashes, error)) << error;
  }
  consensus::Reading NextReading(std::uint64_t import_wh, std::uint64_t export_wh) {
    consensus::Reading r;
    r.meter = meter_key.PubKey();
    if (next_start == 0) next_start = static_cast<std::uint64_t>(node::Node::Now()) - 3600;
    r.start = next_start;
    r.length = 60;
    r.import_wh = import_wh;
    r.export_wh = export_wh;
    import_reg += import_wh;
    export_reg += export_wh;
    r.import_register = import_reg;
    r.export_register = export_reg;
    r.sig = meter_key.Sign(consensus::ReadingSigHash(node->params(), r));
    next_start += 60;
    return r;
  }
};

}  // namespace

TEST_F(MarketNodeTest, RegistersMetersMintsRewardsAndKeepsSupply) {
  Start();
  ASSERT_TRUE(node->UtilityKey());
  EXPECT_EQ(*node->UtilityKey(), node->params().utility_key);
  Generate(101);
  crypto::Hash256 txid;
  auto e = node->market().RegisterMeter(meter_key.PubKey(), owner_key.PubKey(), consensus::MeterRole::kProsumer,
                                        consensus::Coins(1), 0, txid);
  ASSERT_TRUE(e.ok()) << e.message;
  EXPECT_TRUE(node->mempool().Contains(txid));
  // Readings of a meter whose registration is only in the mempool already fit on top of it.
  consensus::ReadingBatch batch;
  batch.readings = {NextReading(10, 1234), NextReading(0, 766)};
  crypto::Hash256 readings_txid;
  Amount rewards;
  e = node->market().SubmitReadings(batch, readings_txid, rewards);
  ASSERT_TRUE(e.ok()) << e.message;
  EXPECT_EQ(rewards.units, 2000 * 100);  // 100 units per exported Wh
  // The last reading again is a duplicate; the whole batch again overlaps what was counted.
  crypto::Hash256 again;
  consensus::ReadingBatch last;
  last.readings = {batch.readings[1]};
  e = node->market().SubmitReadings(last, again, rewards);
  EXPECT_EQ(e.code, node::MarketError::Code::kRejected);
  EXPECT_EQ(e.reject_reason, "bad-reading-duplicate") << e.message;
  // The same batch again (a meter retrying after a lost reply) is the pending transaction.
  e = node->market().SubmitReadings(batch, again, rewards);
  EXPECT_EQ(e.reject_reason, "txn-already-in-mempool") << e.message;
  EXPECT_EQ(again, readings_txid);
  // Registering the meter again while its registration is pending is refused as such.
  crypto::Hash256 second;
  e = node->market().RegisterMeter(meter_key.PubKey(), owner_key.PubKey(), consensus::MeterRole::kProsumer,
                                   Amount{0}, 0, second);
  EXPECT_EQ(e.code, node::MarketError::Code::kFailedPrecondition) << e.message;
  EXPECT_NE(e.message.find("pending"), std::string::npos) << e.message;

  Generate(1);
  EXPECT_FALSE(node->mempool().Contains(readings_txid));
  auto state = node->market().Meter(meter_key.PubKey());
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->registered);
  EXPECT_EQ(state->readings, 2u);
  EXPECT_EQ(state->rewarded, 200'000u);
  EXPECT_EQ(state->granted, static_cast<std::uint64_t>(consensus::kCoin));
  EXPECT_EQ(node->market().OwnerRewards(owner_key.PubKey()), 200'000u);
  auto indexed = node->readingindex().List(meter_key.PubKey(), 0, 10);
  ASSERT_EQ(indexed.size(), 2u);
  EXPECT_EQ(indexed[0].reading, batch.readings[0]);
  EXPECT_EQ(indexed[1].txid, readings_txid);

  auto stats = node->chainstate().ComputeCoinStats();
  EXPECT_EQ(stats.grants.units, consensus::kCoin);
  EXPECT_EQ(stats.rewards.units, 200'000);
  EXPECT_EQ(stats.total.units, stats.subsidies.units + stats.grants.units + stats.rewards.units);

  // Once the registration is mined, a second one is refused by the chain's state; the same
  // batch again now overlaps what the chain counted.
  e = node->market().RegisterMeter(meter_key.PubKey(), owner_key.PubKey(), consensus::MeterRole::kProsumer,
                                   Amount{0}, 0, second);
  EXPECT_EQ(e.code, node::MarketError::Code::kFailedPrecondition) << e.message;
  EXPECT_NE(e.message.find("registered already"), std::string::npos) << e.message;
  e = node->market().SubmitReadings(batch, again, rewards);
  EXPECT_EQ(e.reject_reason, "bad-reading-overlap") << e.message;

  // A restart keeps the market state and the index.
  Start();
  EXPECT_EQ(node->market().Meter(meter_key.PubKey())->readings, 2u);
  EXPECT_EQ(node->readingindex().List(meter_key.PubKey(), 0, 10).size(), 2u);
  EXPECT_EQ(node->market().Globals().rewards_total, 200'000u);
}

TEST_F(MarketNodeTest, CoefficientsTakeEffectNextSlotAndFundingCountsDemand) {
  Start();
  Generate(101);
  const auto& params = node->params();
  crypto::Hash256 txid;
  // A consumer meter owned by the node wallet's key (A) and a producer meter owned by B.
  const crypto::XOnlyPubKey a = node->wallet()->DefaultKey();
  const crypto::SecretKey b_key = test::TestKey(21);
  const crypto::SecretKey a_meter = test::TestKey(22), b_meter = test::TestKey(23);
  ASSERT_TRUE(node->market().RegisterMeter(a_meter.PubKey(), a, consensus::MeterRole::kConsumer, Amount{0}, 0, txid).ok());
  ASSERT_TRUE(
      node->market().RegisterMeter(b_meter.PubKey(), b_key.PubKey(), consensus::MeterRole::kProducer, Amount{0}, 0, txid).ok());
  auto e = node->market().SetCoefficients(2, 3, 5, 0, txid);
  ASSERT_TRUE(e.ok()) << e.message;
  const std::uint32_t slot = node->market().NextSlot();
  Generate(1);
  EXPECT_EQ(node->market().PriceOfSlot(slot), 1u);  // this slot: a = b = c = 1, no demand before: p = c
  // Move to the start of the next slot: the new coefficients apply.
  while (node->market().NextSlot() == slot) Generate(1);
  const std::uint32_t funding_slot = node->market().NextSlot();
  const std::uint64_t price = node->market().PriceOfSlot(funding_slot);
  EXPECT_EQ(price, 5u);  // 2*0 + 3*0 + 5
  consensus::ChannelFunding f;
  f.consumer = a;
  f.producer = b_key.PubKey();
  f.utility = params.utility_key;
  f.consumer_meter = a_meter.PubKey();
  f.producer_meter = b_meter.PubKey();
  f.energy_wh = 12'500;
  f.slot = funding_slot;
  f.price = price;
  f.cwa = *consensus::EnergyCost(f.energy_wh, price);  // 63 units (62.5 rounded up)
  EXPECT_EQ(f.cwa, 63u);
  f.cwb = 1000;
  f.cwu = 0;
  f.expiry = node->chainstate().Height() + 100;
  f.contest_window = 6;
  f.delivery_start = 1;
  f.delivery_end = 2;
  node::SendRequest req;
  req.outputs.push_back({Amount{static_cast<std::int64_t>(f.cwa + f.cwb + f.cwu)},
                         consensus::Condition::Channel(f.consumer, f.producer, f.utility, f.expiry, f.contest_window)});
  req.record = [&](const consensus::OutPoint&) { return consensus::MakeRecord(f); };
  auto r = node->wallet()->SendTransaction(req, txid);
  ASSERT_TRUE(r.ok()) << r.message;
  // A funding that states another price is refused with its reason.
  f.price = price + 1;
  r = node->wallet()->SendTransaction(req, txid);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.message.find("bad-funding-price"), std::string::npos) << r.message;
  Generate(1);
  EXPECT_EQ(node->market().Demand(funding_slot), 12'500u);
  EXPECT_EQ(node->market().Globals().channels_funded, 1u);
  // The next slot's price comes from that demand: D = 12 kWh -> 2*144 + 3*12 + 5.
  EXPECT_EQ(node->market().PriceOfSlot(funding_slot + 1), 2u * 144 + 3 * 12 + 5);
}

TEST_F(MarketNodeTest, NodeWithoutTheUtilityKeyCannotActAsUtility) {
  Start(/*utility=*/false);
  Generate(101);
  crypto::Hash256 txid;
  auto e = node->market().SetCoefficients(1, 1, 1, 0, txid);
  EXPECT_EQ(e.code, node::MarketError::Code::kFailedPrecondition);
}

// Pending market records depend on each other in the order they were accepted (a registration,
// then each batch on the registers of the one before); they are all accepted within a second.
// A restart (mempool.dat) must replay them in that order, not by entry time, or all but the
// first are refused.
TEST_F(MarketNodeTest, PendingReadingsSurviveARestartInTheirOrder) {
  Start();
  Generate(101);
  crypto::Hash256 txid;
  auto e = node->market().RegisterMeter(meter_key.PubKey(), owner_key.PubKey(), consensus::MeterRole::kProducer,
                                        Amount{0}, 0, txid);
  ASSERT_TRUE(e.ok()) << e.message;
  std::vector<crypto::Hash256> pending{txid};
  for (int i = 0; i < 20; ++i) {
    consensus::ReadingBatch batch;
    batch.readings = {NextReading(0, 10 + static_cast<std::uint64_t>(i))};
    Amount rewards;
    e = node->market().SubmitReadings(batch, txid, rewards);
    ASSERT_TRUE(e.ok()) << i << ": " << e.message;
    pending.push_back(txid);
  }
  const auto all = node->mempool().All();
  ASSERT_EQ(all.size(), pending.size());
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].tx->txid(), pending[i]) << i;
  Start();  // a clean restart: the pool goes through mempool.dat
  for (const auto& t : pending) EXPECT_TRUE(node->mempool().Contains(t)) << t.ToHex();
  Generate(1);
  auto state = node->market().Meter(meter_key.PubKey());
  ASSERT_TRUE(state);
  EXPECT_EQ(state->readings, 20u);
  EXPECT_TRUE(node->mempool().All().empty());
}
