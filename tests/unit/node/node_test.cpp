// The Node facade with real components in a temporary regtest datadir: generation, templates
// (fee order, parents first), wallet payments, restarts, the datadir lock, the network check.
#include "node/node.h"

#include <gtest/gtest.h>

#include "node/address.h"
#include "node/miner.h"
#include "node/tx_index.h"
#include "tests/unit/ledger/ledger_fixture.h"

using namespace wattline;
using consensus::Amount;

namespace {

class NodeTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::unique_ptr<node::Node> node;

  node::NodeOptions Options(consensus::Network net = consensus::Network::kRegtest) {
    node::NodeOptions o;
    o.datadir = dir.path() / "node";
    o.params = &consensus::GetParams(net);
    o.check_workers = 1;
    return o;
  }
  void Start() {
    node.reset();
    std::string error;
    node = node::Node::Start(Options(), error);
    ASSERT_TRUE(node) << error;
  }
  std::vector<crypto::Hash256> Generate(std::uint32_t n) {
    std::vector<crypto::Hash256> hashes;
    std::string error;
    EXPECT_TRUE(node->Generate(n, std::nullopt, hashes, error)) << error;
    return hashes;
  }
};

}  // namespace

TEST_F(NodeTest, GeneratesFundsWalletAndSurvivesRestart) {
  Start();
  ASSERT_NE(node->wallet(), nullptr);
  EXPECT_FALSE(node->wallet()->IsLocked());  // generated passphrase, auto-unlocked
  auto hashes = Generate(101);
  ASSERT_EQ(hashes.size(), 101u);
  EXPECT_EQ(node->chainstate().Height(), 101u);
  auto balance = node->wallet()->Balance();
  // Spendable in the next block (height 102): the coinbases of heights 1 and 2.
  EXPECT_EQ(balance.confirmed.units, 2 * consensus::BlockSubsidy(1, node->params()).units);
  EXPECT_GT(balance.immature.units, 0);

  std::string to;
  ASSERT_TRUE(node->wallet()->NewAddress(to).ok());
  crypto::Hash256 txid;
  auto r = node->wallet()->Send(to, consensus::Coins(1), 0, txid);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(node->mempool().Contains(txid));
  Generate(1);
  EXPECT_FALSE(node->mempool().Contains(txid));
  auto in_block = node->txindex().Lookup(txid);
  ASSERT_TRUE(in_block);
  EXPECT_EQ(*in_block, node->chainstate().Tip()->hash);
  const auto tip = node->chainstate().Tip()->hash;
  const auto before = node->wallet()->Balance();
  const auto history = node->wallet()->History().size();

  Start();  // restart
  EXPECT_EQ(node->chainstate().Tip()->hash, tip);
  EXPECT_EQ(node->wallet()->Balance().confirmed, before.confirmed);
  EXPECT_EQ(node->wallet()->History().size(), history);
  EXPECT_TRUE(node->txindex().Lookup(txid));
}

TEST_F(NodeTest, TemplateOrdersByFeeRateWithParentsFirst) {
  Start();
  Generate(103);
  auto* wallet = node->wallet();
  std::string a, b;
  ASSERT_TRUE(wallet->NewAddress(a).ok());
  ASSERT_TRUE(wallet->NewAddress(b).ok());
  crypto::Hash256 low, high;
  ASSERT_TRUE(wallet->Send(a, consensus::Coins(1), 2000, low).ok());
  ASSERT_TRUE(wallet->Send(b, consensus::Coins(1), 50000, high).ok());
  node::BlockTemplate tmpl;
  std::string error;
  ASSERT_TRUE(node::CreateBlockTemplate(*node, consensus::Condition::Key(wallet->DefaultKey()), 1, tmpl, error))
      << error;
  ASSERT_GE(tmpl.block.txs.size(), 3u);
  // Every transaction comes after the in-block transactions it spends.
  std::set<crypto::Hash256> seen;
  for (const auto& tx : tmpl.block.txs) {
    for (const auto& in : tx->inputs())
      if (node->mempool().Contains(in.prevout.txid)) EXPECT_TRUE(seen.count(in.prevout.txid));
    seen.insert(tx->txid());
  }
  EXPECT_EQ(tmpl.fees.units, node->mempool().Get(low)->fee.units + node->mempool().Get(high)->fee.units);
  // The template pays subsidy + fees and is valid as it stands.
  EXPECT_EQ(tmpl.block.txs[0]->outputs()[0].amount.units,
            consensus::BlockSubsidy(tmpl.height, node->params()).units + tmpl.fees.units);
  ASSERT_TRUE(node::SolveHeader(tmpl.block.header, 1u << 20));
  consensus::ValidationState state;
  EXPECT_TRUE(node->SubmitBlock(tmpl.block, state)) << state.ToString();
  EXPECT_EQ(node->mempool().Count(), 0u);
}

TEST_F(NodeTest, MinerThreadsMineAndStopCleanly) {
  Start();
  node->miner().Start(2, consensus::Condition::Key(node->wallet()->DefaultKey()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (node->chainstate().Height() < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(node->chainstate().Height(), 5u);
  EXPECT_TRUE(node->miner().Info().running);
  node->miner().Stop();
  EXPECT_FALSE(node->miner().Info().running);
  const auto h = node->chainstate().Height();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(node->chainstate().Height(), h);
}

TEST_F(NodeTest, DatadirLockAndNetworkAreChecked) {
  Start();
  std::string error;
  auto second = node::Node::Start(Options(), error);
  EXPECT_FALSE(second);
  EXPECT_NE(error.find("in use by another wattlined"), std::string::npos) << error;
  node.reset();
  auto wrong = node::Node::Start(Options(consensus::Network::kDevnet), error);
  EXPECT_FALSE(wrong);
  EXPECT_NE(error.find("regtest"), std::string::npos) << error;
}

TEST_F(NodeTest, BlockAndTransactionListenersFire) {
  Start();
  std::atomic<int> blocks{0}, txs{0};
  auto b = node->SubscribeBlocks([&](const node::BlockEvent& e) { blocks += e.connected ? 1 : 0; });
  auto t = node->SubscribeTransactions([&](const consensus::TransactionRef&) { ++txs; });
  Generate(102);
  EXPECT_EQ(blocks.load(), 102);
  std::string to;
  ASSERT_TRUE(node->wallet()->NewAddress(to).ok());
  crypto::Hash256 txid;
  ASSERT_TRUE(node->wallet()->Send(to, consensus::Coins(2), 0, txid).ok());
  EXPECT_EQ(txs.load(), 1);
  node->Unsubscribe(b);
  node->Unsubscribe(t);
  Generate(1);
  EXPECT_EQ(blocks.load(), 102);
}
