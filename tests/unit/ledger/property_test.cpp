// Property test: random chains with random forks and reorganisations. After every step the
// coin set equals the one rebuilt from scratch on the active chain, and the value of all
// coins equals the subsidies issued on that chain less what coinbases left unclaimed.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "tests/unit/ledger/ledger_fixture.h"

using namespace wattline;
using namespace wattline::test;
using consensus::Amount;

namespace {

class RandomChains : public LedgerTest, public ::testing::WithParamInterface<std::uint64_t> {
 protected:
  std::map<crypto::Hash256, Amount> unclaimed;  // per block hash

  Amount ExpectedTotal() {
    Amount total = IssuedSubsidy(*cs);
    for (std::uint32_t h = 1; h <= cs->Height(); ++h) {
      auto it = unclaimed.find(cs->ActiveAt(h)->hash);
      if (it != unclaimed.end()) total.units -= it->second.units;
    }
    return total;
  }
};

}  // namespace

TEST_P(RandomChains, UtxoMatchesRebuildAndSupply) {
  const std::uint64_t seed = GetParam();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  ledger::CheckQueue queue(1);
  Open(/*cache_bytes=*/(rng() % 2) ? 2048 : (64u << 20), &queue);
  auto key = TestKey(1);
  std::uint64_t extra = 1;

  // Coins locked to the miner key that are unspent on the current tip and mature.
  auto spendable = [&]() {
    std::vector<Spend> out;
    for (const auto& [op, coin] : ChainstateUtxo(*cs)) {
      if (coin.out.condition != consensus::Condition::Key(miner)) continue;
      if (coin.coinbase && cs->Height() + 1 - coin.height < params.coinbase_maturity) continue;
      out.push_back({op, coin.out});
    }
    return out;
  };

  MineMany(static_cast<int>(params.coinbase_maturity) + 2);
  for (int step = 0; step < 40; ++step) {
    // Pick a parent: mostly the tip, sometimes a block up to 6 back (a fork).
    const ledger::BlockIndex* parent = cs->Tip();
    const std::uint32_t back = (rng() % 4 == 0) ? static_cast<std::uint32_t>(rng() % 7) : 0;
    parent = cs->ActiveAt(parent->height - std::min(back, parent->height));
    // Build a branch of 1..(back+2) blocks on it, each with a few random spends.
    const int length = 1 + static_cast<int>(rng() % (back + 2));
    for (int i = 0; i < length; ++i) {
      std::vector<consensus::TransactionRef> txs;
      Amount fees{0};
      if (parent == cs->Tip()) {
        auto coins = spendable();
        std::shuffle(coins.begin(), coins.end(), rng);
        const std::size_t n = std::min<std::size_t>(coins.size(), rng() % 4);
        for (std::size_t k = 0; k < n; ++k) {
          const std::int64_t value = coins[k].spent.amount.units;
          const std::int64_t fee = static_cast<std::int64_t>(rng() % 1000);
          const std::int64_t first = (value - fee) / 2;
          txs.push_back(MakeSpend(params, {coins[k]}, key,
                                  {{Amount{first}, consensus::Condition::Key(miner)},
                                   {Amount{value - fee - first}, consensus::Condition::Key(miner)}}));
          fees.units += fee;
        }
      }
      const Amount left{(rng() % 5 == 0) ? static_cast<std::int64_t>(rng() % 100000) : 0};
      auto block = MakeBlock(*cs, *parent, txs, fees, miner, extra++, left);
      consensus::ValidationState state;
      ASSERT_TRUE(cs->ProcessBlock(block, kNow, state)) << state.ToString();
      if (left.units) unclaimed[block.Hash()] = left;
      parent = cs->LookupBlockIndex(block.Hash());
    }
    if (rng() % 8 == 0) Open(/*cache_bytes=*/(rng() % 2) ? 2048 : (64u << 20), &queue);
    auto utxo = ChainstateUtxo(*cs);
    ASSERT_EQ(utxo, RebuildUtxo(*cs)) << "step " << step;
    ASSERT_EQ(TotalValue(utxo), ExpectedTotal()) << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomChains, ::testing::Values(1u, 2u, 3u, 20261125u));
