// The signature cache through real validation (issue 13, point 3): transactions accepted by the
// mempool, then the block holding them connected by the chainstate (with its check queue),
// sharing one crypto::SigCache as the node does.
#include "crypto/sig_cache.h"

#include <gtest/gtest.h>

#include "node/mempool.h"
#include "tests/unit/ledger/ledger_fixture.h"
#include "tests/unit/node/forward_to_mempool.h"

using namespace wattline;
using namespace wattline::test;
using consensus::Amount;

namespace {


class SigCacheValidationTest : public LedgerTest {
 protected:
  static constexpr std::int64_t kT = 1'800'000'000;
  // More transactions than one chunk of the check queue, so that its worker takes part.
  static constexpr std::uint32_t kTxs = 20;

  crypto::SigCache cache{crypto::Sha256Of(miner.span()), 1u << 20};
  ledger::CheckQueue queue{1};
  ForwardToMempool forward;
  std::unique_ptr<node::Mempool> pool;

  void SetUp() override {
    LedgerTest::SetUp();
    MineMany(static_cast<int>(params.coinbase_maturity) + kTxs + 5);
    cs.reset();
    ledger::ChainstateOptions o;
    o.dir = dir.path() / "chainstate";
    o.notifications = &forward;
    o.check_queue = &queue;
    o.sig_cache = &cache;
    ASSERT_TRUE(ledger::Chainstate::Open(params, o, cs).ok());
    node::MempoolOptions mo;
    mo.sig_cache = &cache;
    pool = std::make_unique<node::Mempool>(*cs, mo);
    forward.pool = pool.get();
  }

  consensus::TransactionRef Pay(std::uint32_t h, std::int64_t fee = 5000) {
    Spend s = CoinbaseSpend(h);
    return MakeSpend(params, {s}, miner_key,
                     {{Amount{s.spent.amount.units - fee}, consensus::Condition::Key(TestKey(2).PubKey())}});
  }

  std::vector<consensus::TransactionRef> AcceptAll(std::uint32_t first_height) {
    std::vector<consensus::TransactionRef> txs;
    for (std::uint32_t i = 0; i < kTxs; ++i) {
      txs.push_back(Pay(first_height + i));
      node::MempoolReject r;
      EXPECT_TRUE(pool->Accept(txs.back(), kT, r)) << r.ToString();
    }
    return txs;
  }

  // The same transaction with one bit of its signature changed (same txid, other wtxid).
  static consensus::TransactionRef Tampered(const consensus::TransactionRef& tx) {
    consensus::MutableTransaction m = tx->data();
    m.inputs[0].satisfaction.sigs[0].bytes[7] ^= 0x10;
    return consensus::MakeTransactionRef(std::move(m));
  }

  consensus::ValidationState Submit(const consensus::Block& b) {
    consensus::ValidationState state;
    cs->ProcessBlock(b, kNow, state);
    return state;
  }
};

}  // namespace

TEST_F(SigCacheValidationTest, BlockOfPoolTransactionsConnectsWithoutVerifying) {
  auto txs = AcceptAll(1);
  EXPECT_EQ(cache.GetStats().verifications, kTxs);
  EXPECT_EQ(cache.GetStats().inserts, kTxs);
  ASSERT_EQ(pool->Count(), kTxs);

  cache.ResetStats();
  const std::uint32_t height = cs->Height();
  // A miner checks its template first, then the block connects: neither verifies.
  auto block = MakeBlock(*cs, *cs->Tip(), txs, Amount{5000 * kTxs}, miner);
  consensus::ValidationState state;
  ASSERT_TRUE(cs->TestBlockValidity(block, kNow, /*check_pow=*/true, state)) << state.ToString();
  ASSERT_TRUE(Submit(block).IsValid());
  EXPECT_EQ(cs->Height(), height + 1);
  EXPECT_EQ(cache.GetStats().verifications, 0u);
  EXPECT_EQ(cache.GetStats().hits, 2 * kTxs);
  EXPECT_EQ(pool->Count(), 0u);
  EXPECT_EQ(RebuildUtxo(*cs), ChainstateUtxo(*cs));
}

TEST_F(SigCacheValidationTest, BlockWithAChangedSignatureIsStillRejected) {
  auto txs = AcceptAll(1);
  cache.ResetStats();
  const ledger::BlockIndex* tip = cs->Tip();
  for (std::size_t bad : {std::size_t{0}, std::size_t{kTxs / 2}, std::size_t{kTxs - 1}}) {
    auto tampered = txs;
    tampered[bad] = Tampered(txs[bad]);
    ASSERT_EQ(tampered[bad]->txid(), txs[bad]->txid());
    auto state = Submit(MakeBlock(*cs, *tip, tampered, Amount{5000 * kTxs}, miner, /*extra=*/100 + bad));
    EXPECT_EQ(state.reason(), consensus::Reason::kBlockInvalidTx);
    EXPECT_NE(state.detail().find("bad-txns-signature in tx " + txs[bad]->txid().ToHex()), std::string::npos)
        << state.ToString();
    EXPECT_EQ(cs->Tip(), tip);
  }
  EXPECT_GE(cache.GetStats().verifications, 3u);  // the changed ones missed and were verified
  // The genuine block still connects, from the cache.
  cache.ResetStats();
  ASSERT_TRUE(Submit(MakeBlock(*cs, *tip, txs, Amount{5000 * kTxs}, miner, /*extra=*/1)).IsValid());
  EXPECT_EQ(cache.GetStats().verifications, 0u);
  EXPECT_EQ(cs->Tip()->prev, tip);
}

TEST_F(SigCacheValidationTest, ReorganisationsValidateCorrectly) {
  auto txs = AcceptAll(1);
  const ledger::BlockIndex* fork = cs->Tip();
  // Branch A: the pool's transactions in one block.
  auto a1 = MakeBlock(*cs, *fork, txs, Amount{5000 * kTxs}, miner, /*extra=*/1);
  ASSERT_TRUE(Submit(a1).IsValid());
  ASSERT_EQ(pool->Count(), 0u);

  // Branch B, longer and empty: A1 is disconnected and its transactions return to the pool,
  // from the cache (their entries were retired by A1's connect, not erased).
  auto b1 = MakeBlock(*cs, *fork, {}, Amount{0}, miner, /*extra=*/2);
  ASSERT_TRUE(Submit(b1).IsValid());
  const ledger::BlockIndex* b1_index = cs->LookupBlockIndex(b1.Hash());
  auto b2 = MakeBlock(*cs, *b1_index, {}, Amount{0}, miner, /*extra=*/3);
  ASSERT_TRUE(Submit(b2).IsValid());
  ASSERT_EQ(cs->Tip()->hash, b2.Hash());
  cache.ResetStats();
  pool->Reorged(kT);
  EXPECT_EQ(pool->Count(), kTxs);
  EXPECT_EQ(cache.GetStats().verifications, 0u);
  EXPECT_EQ(cache.GetStats().hits, kTxs);

  // On branch B, a block with one changed signature is rejected; the genuine one connects
  // without verifying.
  const ledger::BlockIndex* b2_index = cs->Tip();
  auto tampered = txs;
  tampered[3] = Tampered(txs[3]);
  auto state = Submit(MakeBlock(*cs, *b2_index, tampered, Amount{5000 * kTxs}, miner, /*extra=*/4));
  EXPECT_NE(state.detail().find("bad-txns-signature"), std::string::npos) << state.ToString();
  cache.ResetStats();
  auto b3 = MakeBlock(*cs, *b2_index, txs, Amount{5000 * kTxs}, miner, /*extra=*/5);
  ASSERT_TRUE(Submit(b3).IsValid());
  EXPECT_EQ(cs->Tip()->hash, b3.Hash());
  EXPECT_EQ(cache.GetStats().verifications, 0u);

  // Back to branch A, now the longest: B3, B2, B1 leave, A1 connects again (cached) with
  // three new blocks on top.
  const ledger::BlockIndex* a_tip = cs->LookupBlockIndex(a1.Hash());
  for (std::uint64_t extra = 10; extra < 13; ++extra) {
    auto b = MakeBlock(*cs, *a_tip, {}, Amount{0}, miner, extra);
    ASSERT_TRUE(Submit(b).IsValid());
    a_tip = cs->LookupBlockIndex(b.Hash());
  }
  EXPECT_EQ(cs->Tip(), a_tip);
  EXPECT_TRUE(cs->IsActive(cs->LookupBlockIndex(a1.Hash())));
  EXPECT_FALSE(cs->IsActive(cs->LookupBlockIndex(b3.Hash())));
  for (const auto& tx : txs) EXPECT_FALSE(cs->GetCoin(tx->inputs()[0].prevout)) << "spent on branch A";
  EXPECT_EQ(RebuildUtxo(*cs), ChainstateUtxo(*cs));
  EXPECT_EQ(TotalValue(ChainstateUtxo(*cs)).units, IssuedSubsidy(*cs).units);
}

TEST_F(SigCacheValidationTest, ABadSignatureNeverEntersTheCache) {
  auto good = Pay(1);
  auto bad = Tampered(good);
  node::MempoolReject r;
  EXPECT_FALSE(pool->Accept(bad, kT, r));
  EXPECT_EQ(r.state.reason(), consensus::Reason::kTxBadSignature);
  EXPECT_FALSE(pool->Accept(bad, kT, r));  // verified again, refused again
  EXPECT_EQ(cache.GetStats().verifications, 2u);
  EXPECT_EQ(cache.Count(), 0u);
  ASSERT_TRUE(pool->Accept(good, kT, r)) << r.ToString();
  EXPECT_EQ(cache.Count(), 1u);
}
