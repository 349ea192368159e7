#include "consensus/params.h"

#include <gtest/gtest.h>

#include <set>

#include "consensus/block_check.h"
#include "test_util.h"

using namespace wattline::consensus;
using namespace wattline::consensus::test;

namespace {
constexpr Network kAll[] = {Network::kMain, Network::kTestnet, Network::kDevnet, Network::kRegtest};
}

TEST(Params, GenesisSatisfiesItsOwnRules) {
  for (Network n : kAll) {
    const Params& p = GetParams(n);
    SCOPED_TRACE(p.name);
    EXPECT_EQ(p.network, n);
    EXPECT_EQ(p.genesis_hash, p.genesis.Hash());
    EXPECT_TRUE(CheckProofOfWork(p.genesis_hash, p.genesis.header.bits, p));
    EXPECT_LE(*CompactToTarget(p.genesis.header.bits), p.pow_limit);
    ValidationState state;
    EXPECT_TRUE(CheckBlock(p.genesis, p, state)) << state.ToString();
    EXPECT_TRUE(CheckCoinbaseHeight(p.genesis, 0, state)) << state.ToString();
    EXPECT_TRUE(p.genesis.header.prev_hash.IsZero());
    ASSERT_EQ(p.genesis.txs.size(), 1u);
    EXPECT_EQ(p.genesis.txs[0]->outputs().at(0).amount, Amount{0});
    // The genesis block survives a round trip through its encoding.
    Block back;
    ASSERT_EQ(DecodeBlock(EncodeBlock(p.genesis), back), DecodeError::kOk);
    EXPECT_EQ(back.Hash(), p.genesis_hash);
    EXPECT_GE(p.retarget_interval, 2u);
  }
}

TEST(Params, NetworksAreDistinct) {
  std::set<std::array<std::uint8_t, 4>> magics;
  std::set<Hash256> hashes;
  std::set<std::uint16_t> ports;
  for (Network n : kAll) {
    magics.insert(GetParams(n).magic);
    hashes.insert(GetParams(n).genesis_hash);
    ports.insert(GetParams(n).default_port);
  }
  EXPECT_EQ(magics.size(), 4u);
  EXPECT_EQ(hashes.size(), 4u);
  EXPECT_EQ(ports.size(), 4u);
}

TEST(Params, RegtestIsMinimalDifficulty) {
  const Params& r = Regtest();
  EXPECT_FALSE(r.retargeting);
  EXPECT_EQ(r.pow_limit, std::numeric_limits<uint256>::max() >> 1);
  EXPECT_EQ(r.genesis.header.bits, 0x207fffffu);
}

TEST(Params, NetworkFromName) {
  for (Network n : kAll) {
    EXPECT_EQ(NetworkFromName(NetworkName(n)), n);
    EXPECT_EQ(GetParams(n).name, NetworkName(n));
  }
  EXPECT_EQ(NetworkFromName("main"), Network::kMain);
  EXPECT_EQ(NetworkFromName("regtest"), Network::kRegtest);
  EXPECT_FALSE(NetworkFromName(""));
  EXPECT_FALSE(NetworkFromName("Main"));
  EXPECT_FALSE(NetworkFromName("mainnet"));
  EXPECT_FALSE(NetworkFromName("regtest "));
}

TEST(Params, SubsidyHalving) {
  const Params& main = GetParams(Network::kMain);
  EXPECT_EQ(BlockSubsidy(0, main), Amount{0});  // genesis issues nothing
  EXPECT_EQ(BlockSubsidy(1, main), Coins(50));
  EXPECT_EQ(BlockSubsidy(210'000, main), Coins(50));
  EXPECT_EQ(BlockSubsidy(210'001, main), Coins(25));
  EXPECT_EQ(BlockSubsidy(420'001, main), Amount{Coins(25).units / 2});
  EXPECT_EQ(BlockSubsidy(1 + 63u * 210'000, main), Amount{0});
  EXPECT_EQ(BlockSubsidy(UINT32_MAX, main), Amount{0});
  const Params& r = Regtest();
  EXPECT_EQ(BlockSubsidy(150, r), Coins(50));
  EXPECT_EQ(BlockSubsidy(151, r), Coins(25));
}

TEST(Params, TotalSupplyWithinMaxMoney) {
  for (Network n : kAll) {
    const Params& p = GetParams(n);
    Amount total{0};
    // Sum period by period: the subsidy is constant within a halving period.
    for (std::uint64_t first = 1; first <= UINT32_MAX; first += p.halving_interval) {
      const Amount s = BlockSubsidy(static_cast<std::uint32_t>(first), p);
      if (s.units == 0) break;
      const std::uint64_t blocks = std::min<std::uint64_t>(p.halving_interval, UINT32_MAX - first + 1);
      auto add = CheckedAdd(total, Amount{s.units * static_cast<std::int64_t>(blocks)});
      ASSERT_TRUE(add) << p.name;
      total = *add;
    }
    EXPECT_LE(total, kMaxMoney) << p.name;
    if (n == Network::kMain) EXPECT_EQ(total.units, 2'099'999'997'690'000);
  }
}
