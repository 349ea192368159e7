// Headers-first sync in the chainstate: AcceptHeaders, BestHeader, MissingBlocks, Locator,
// HeadersAfter, and blocks arriving for stored headers in any order.
#include <algorithm>
#include <random>

#include "tests/unit/ledger/ledger_fixture.h"

namespace wattline::test {
namespace {

using consensus::BlockHeader;
using consensus::Category;
using consensus::ValidationState;

class HeadersTest : public LedgerTest {
 protected:
  TempDir source_dir;
  std::unique_ptr<ledger::Chainstate> source;
  std::vector<consensus::Block> blocks;  // the source's chain, heights 1..n

  void OpenSource() {
    ledger::ChainstateOptions opts;
    opts.dir = source_dir.path() / "chainstate";
    ASSERT_TRUE(ledger::Chainstate::Open(params, opts, source).ok());
  }

  /** Mines n blocks on the source's tip (extra makes forks differ). */
  void Grow(int n, std::uint64_t extra = 0) {
    for (int i = 0; i < n; ++i) {
      auto block = MakeBlock(*source, *source->Tip(), {}, consensus::Amount{0}, miner, extra);
      ValidationState state;
      ASSERT_TRUE(source->ProcessBlock(block, kNow, state)) << state.ToString();
      blocks.push_back(block);
    }
  }

  std::vector<BlockHeader> Headers(std::size_t from, std::size_t to) const {
    std::vector<BlockHeader> out;
    for (std::size_t i = from; i < to; ++i) out.push_back(blocks[i].header);
    return out;
  }
};

TEST_F(HeadersTest, StoresAHeaderChainThenAcceptsItsBlocksInAnyOrder) {
  OpenSource();
  Grow(40);
  ValidationState state;
  ledger::Chainstate::HeadersResult r;
  auto headers = Headers(0, 40);
  ASSERT_TRUE(cs->AcceptHeaders(headers, kNow, state, r)) << state.ToString();
  EXPECT_EQ(r.new_headers, 40u);
  EXPECT_FALSE(r.low_work);
  ASSERT_NE(r.last, nullptr);
  EXPECT_EQ(r.last->hash, blocks.back().Hash());
  EXPECT_EQ(cs->BestHeader()->hash, blocks.back().Hash());
  EXPECT_EQ(cs->Height(), 0u);  // no data yet

  // Sending them again stores nothing new.
  ASSERT_TRUE(cs->AcceptHeaders(headers, kNow, state, r));
  EXPECT_EQ(r.new_headers, 0u);
  EXPECT_EQ(r.last->hash, blocks.back().Hash());

  // The download list respects the window and the skip set.
  auto missing = cs->MissingBlocks(cs->BestHeader(), 16, 100, [](const crypto::Hash256&) { return false; });
  ASSERT_EQ(missing.size(), 16u);
  EXPECT_EQ(missing.front()->height, 1u);
  auto skip_first = cs->MissingBlocks(cs->BestHeader(), 1024, 5,
                                      [&](const crypto::Hash256& h) { return h == blocks[0].Hash(); });
  ASSERT_EQ(skip_first.size(), 5u);
  EXPECT_EQ(skip_first.front()->height, 2u);

  // Blocks arrive shuffled (parallel download): the tip follows once the gaps fill.
  std::vector<std::size_t> order(blocks.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937 rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  for (std::size_t i : order) {
    ValidationState s;
    ASSERT_TRUE(cs->ProcessBlock(blocks[i], kNow, s)) << s.ToString();
  }
  EXPECT_EQ(cs->Height(), 40u);
  EXPECT_EQ(cs->Tip()->hash, blocks.back().Hash());
  EXPECT_TRUE(cs->MissingBlocks(cs->BestHeader(), 1024, 100, [](const crypto::Hash256&) { return false; }).empty());
  EXPECT_EQ(RebuildUtxo(*cs), ChainstateUtxo(*cs));
}

TEST_F(HeadersTest, HeadersSurviveARestartAndSyncResumes) {
  OpenSource();
  Grow(20);
  ValidationState state;
  ledger::Chainstate::HeadersResult r;
  ASSERT_TRUE(cs->AcceptHeaders(Headers(0, 20), kNow, state, r));
  for (std::size_t i = 0; i < 8; ++i) ASSERT_TRUE(cs->ProcessBlock(blocks[i], kNow, state));
  Open();  // restart mid-sync
  EXPECT_EQ(cs->Height(), 8u);
  ASSERT_NE(cs->BestHeader(), nullptr);
  EXPECT_EQ(cs->BestHeader()->hash, blocks.back().Hash());
  auto missing = cs->MissingBlocks(cs->BestHeader(), 1024, 100, [](const crypto::Hash256&) { return false; });
  ASSERT_EQ(missing.size(), 12u);
  EXPECT_EQ(missing.front()->height, 9u);
  for (const auto* b : missing) ASSERT_TRUE(cs->ProcessBlock(blocks[b->height - 1], kNow, state));
  EXPECT_EQ(cs->Height(), 20u);
}

TEST_F(HeadersTest, RefusesALowWorkChainWithoutStoringIt) {
  MineMany(10);  // our chain: 10 blocks
  OpenSource();
  Grow(4, /*extra=*/99);  // a fork from genesis with less work
  ValidationState state;
  ledger::Chainstate::HeadersResult r;
  ASSERT_TRUE(cs->AcceptHeaders(Headers(0, 4), kNow, state, r)) << state.ToString();
  EXPECT_TRUE(r.low_work);
  EXPECT_EQ(r.last, nullptr);
  EXPECT_EQ(r.fork_height, 0u);
  EXPECT_EQ(r.last_height, 4u);
  for (const auto& b : blocks) EXPECT_EQ(cs->LookupBlockIndex(b.Hash()), nullptr);
  Open();
  for (const auto& b : blocks) EXPECT_EQ(cs->LookupBlockIndex(b.Hash()), nullptr);
}

TEST_F(HeadersTest, EqualWorkForkIsStored) {
  MineMany(3);
  OpenSource();
  Grow(3, /*extra=*/5);
  ValidationState state;
  ledger::Chainstate::HeadersResult r;
  ASSERT_TRUE(cs->AcceptHeaders(Headers(0, 3), kNow, state, r));
  EXPECT_FALSE(r.low_work);
  EXPECT_NE(cs->LookupBlockIndex(blocks.back().Hash()), nullptr);
}

TEST_F(HeadersTest, RefusesBrokenHeaderChains) {
  OpenSource();
  Grow(5);
  ValidationState state;
  ledger::Chainstate::HeadersResult r;
  // Not a chain.
  std::vector<BlockHeader> gap{blocks[0].header, blocks[2].header};
  EXPECT_FALSE(cs->AcceptHeaders(gap, kNow, state, r));
  EXPECT_EQ(state.category(), Category::kMissingPrev);
  // Unknown parent.
  state = {};
  EXPECT_FALSE(cs->AcceptHeaders(Headers(1, 5), kNow, state, r));
  EXPECT_EQ(state.reason(), consensus::Reason::kBlockPrevMissing);
  // Bad proof of work in the middle: nothing is stored, not even the valid prefix.
  auto headers = Headers(0, 5);
  headers[3].bits = 0x1d00ffff;
  state = {};
  EXPECT_FALSE(cs->AcceptHeaders(headers, kNow, state, r));
  EXPECT_EQ(state.category(), Category::kInvalid);
  EXPECT_EQ(cs->LookupBlockIndex(blocks[0].Hash()), nullptr);
  // A timestamp far in the future is premature.
  headers = Headers(0, 1);
  state = {};
  EXPECT_FALSE(cs->AcceptHeaders(headers, blocks[0].header.time - 3 * 3600, state, r));
  EXPECT_EQ(state.category(), Category::kPremature);
}

TEST_F(HeadersTest, MalformedBlockForAStoredHeaderIsNotRemembered) {
  OpenSource();
  Grow(6);
  ValidationState state;
  ledger::Chainstate::HeadersResult r;
  ASSERT_TRUE(cs->AcceptHeaders(Headers(0, 6), kNow, state, r));
  ASSERT_TRUE(cs->ProcessBlock(blocks[0], kNow, state));
  // The real header with other content: the merkle root no longer matches, so the block is
  // malformed (a peer's fault), and the header is not marked invalid.
  auto bad = blocks[1];
  bad.txs[0] = MakeCoinbase(2, consensus::Amount{consensus::BlockSubsidy(2, params).units + 1}, miner);
  state = {};
  EXPECT_FALSE(cs->ProcessBlock(bad, kNow, state));
  EXPECT_EQ(state.category(), Category::kMalformed);
  // The real block still connects.
  state = {};
  ASSERT_TRUE(cs->ProcessBlock(blocks[1], kNow, state)) << state.ToString();
  EXPECT_EQ(cs->Height(), 2u);
}

TEST_F(HeadersTest, LocatorAndHeadersAfter) {
  MineMany(50);
  auto locator = cs->Locator();
  ASSERT_FALSE(locator.empty());
  EXPECT_EQ(locator.front(), cs->Tip()->hash);
  EXPECT_EQ(locator.back(), params.genesis_hash);
  EXPECT_LT(locator.size(), 25u);
  // Answering a peer at height 20.
  std::vector<crypto::Hash256> peer{cs->ActiveAt(20)->hash, params.genesis_hash};
  auto headers = cs->HeadersAfter(peer, crypto::Hash256{}, 2000);
  ASSERT_EQ(headers.size(), 30u);
  EXPECT_EQ(headers.front().Hash(), cs->ActiveAt(21)->hash);
  // A stop hash and a count bound.
  headers = cs->HeadersAfter(peer, cs->ActiveAt(25)->hash, 2000);
  EXPECT_EQ(headers.size(), 5u);
  headers = cs->HeadersAfter(peer, crypto::Hash256{}, 3);
  EXPECT_EQ(headers.size(), 3u);
  // An unknown locator starts after genesis.
  std::vector<crypto::Hash256> unknown{crypto::Hash256{}};
  EXPECT_EQ(cs->HeadersAfter(unknown, crypto::Hash256{}, 2000).size(), 50u);
}

}  // namespace
}  // namespace wattline::test
