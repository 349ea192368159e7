#include "node/mempool.h"
#include "node/mempool_journal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/ledger/ledger_fixture.h"
#include "tests/unit/node/forward_to_mempool.h"

using namespace wattline;
using namespace wattline::test;
using consensus::Amount;
using consensus::Reason;

namespace {

consensus::TxOut PayTo(const crypto::XOnlyPubKey& key, std::int64_t units) {
  return {Amount{units}, consensus::Condition::Key(key)};
}


class MempoolTest : public LedgerTest {
 protected:
  ForwardToMempool forward;
  std::unique_ptr<node::Mempool> pool;
  static constexpr std::int64_t kT = 1'800'000'000;

  void SetUp() override {
    LedgerTest::SetUp();
    MineMany(static_cast<int>(params.coinbase_maturity) + 10);
    Reopen(node::MempoolOptions{});
  }
  void Reopen(node::MempoolOptions opts) {
    cs.reset();
    ledger::ChainstateOptions o;
    o.dir = dir.path() / "chainstate";
    o.notifications = &forward;
    ASSERT_TRUE(ledger::Chainstate::Open(params, o, cs).ok());
    pool = std::make_unique<node::Mempool>(*cs, opts);
    forward.pool = pool.get();
  }
  // A payment from coinbase h: value - fee to `to`.
  consensus::TransactionRef Pay(std::uint32_t h, std::int64_t fee, std::uint32_t to = 2) {
    Spend s = CoinbaseSpend(h);
    return MakeSpend(params, {s}, miner_key, {PayTo(TestKey(to).PubKey(), s.spent.amount.units - fee)});
  }
  bool Accept(const consensus::TransactionRef& tx, node::MempoolReject& r, std::int64_t now = kT) {
    r = {};
    return pool->Accept(tx, now, r);
  }
};

}  // namespace

TEST_F(MempoolTest, AcceptsValidAndReportsFee) {
  auto tx = Pay(1, 5000);
  node::MempoolReject r;
  Amount fee;
  ASSERT_TRUE(pool->Accept(tx, kT, r, &fee)) << r.ToString();
  EXPECT_EQ(fee.units, 5000);
  EXPECT_TRUE(pool->Contains(tx->txid()));
  EXPECT_EQ(pool->Count(), 1u);
  EXPECT_EQ(pool->Bytes(), tx->size());
}

TEST_F(MempoolTest, RejectsEachPolicyAndConsensusFailure) {
  node::MempoolReject r;
  auto tx = Pay(1, 5000);
  ASSERT_TRUE(Accept(tx, r));
  EXPECT_FALSE(Accept(tx, r));
  EXPECT_EQ(r.policy, "txn-already-in-mempool");
  EXPECT_FALSE(Accept(Pay(1, 6000), r));  // same coin, another transaction
  EXPECT_EQ(r.policy, "txn-mempool-conflict");
  EXPECT_FALSE(Accept(MakeCoinbase(cs->Height() + 1, Amount{1}, miner), r));
  EXPECT_EQ(r.policy, "coinbase");
  EXPECT_FALSE(Accept(Pay(2, 10), r));  // 10 units for ~150 bytes: below 1000 units/kB
  EXPECT_EQ(r.policy, "mempool-min-fee-not-met");
  Spend s = CoinbaseSpend(3);
  EXPECT_FALSE(Accept(MakeSpend(params, {s}, TestKey(9), {PayTo(miner, 1000)}), r));
  EXPECT_EQ(r.state.reason(), Reason::kTxBadSignature);
  Spend nowhere{{crypto::Sha256Of(miner.span()), 0}, s.spent};
  EXPECT_FALSE(Accept(MakeSpend(params, {nowhere}, miner_key, {PayTo(miner, 1000)}), r));
  EXPECT_EQ(r.state.reason(), Reason::kTxMissingInputs);
  Spend young = CoinbaseSpend(cs->Height());  // not mature
  EXPECT_FALSE(Accept(MakeSpend(params, {young}, miner_key, {PayTo(miner, 1000)}), r));
  EXPECT_EQ(r.state.reason(), Reason::kTxPrematureCoinbaseSpend);
  EXPECT_EQ(pool->Count(), 1u);
}

TEST_F(MempoolTest, ChainedTransactionsAndPackageOrder) {
  node::MempoolReject r;
  Spend s = CoinbaseSpend(1);
  auto parent = MakeSpend(params, {s}, miner_key, {PayTo(miner, s.spent.amount.units - 1000)});
  auto child = MakeSpend(params, {{{parent->txid(), 0}, parent->outputs()[0]}}, miner_key,
                         {PayTo(miner, s.spent.amount.units - 1000 - 50000)});
  auto other = Pay(2, 20000);
  ASSERT_TRUE(Accept(parent, r)) << r.ToString();
  ASSERT_TRUE(Accept(child, r)) << r.ToString();
  ASSERT_TRUE(Accept(other, r)) << r.ToString();
  auto selected = pool->SelectForBlock(1'000'000);
  ASSERT_EQ(selected.size(), 3u);
  // The parent+child package pays (1000 + 50000) / 2 tx: more than `other`, parent first.
  EXPECT_EQ(selected[0].tx->txid(), parent->txid());
  EXPECT_EQ(selected[1].tx->txid(), child->txid());
  EXPECT_EQ(selected[2].tx->txid(), other->txid());
  // A size limit that fits one transaction takes the best one that fits alone.
  auto one = pool->SelectForBlock(other->size());
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].tx->txid(), other->txid());
}

TEST_F(MempoolTest, EvictsLowestFeeRateAndRaisesMinimum) {
  auto a = Pay(1, 2000), b = Pay(2, 9000), c = Pay(3, 5000);
  node::MempoolOptions opts;
  opts.max_bytes = a->size() + b->size() + 10;  // room for two
  Reopen(opts);
  node::MempoolReject r;
  ASSERT_TRUE(Accept(a, r));
  ASSERT_TRUE(Accept(b, r));
  EXPECT_EQ(pool->MinFeeRate(kT), 1000);
  ASSERT_TRUE(Accept(c, r));  // evicts a, the lowest fee rate
  EXPECT_FALSE(pool->Contains(a->txid()));
  EXPECT_TRUE(pool->Contains(b->txid()));
  EXPECT_TRUE(pool->Contains(c->txid()));
  EXPECT_EQ(pool->TakeRemoved(), std::vector<crypto::Hash256>{a->txid()});
  const std::int64_t raised = pool->MinFeeRate(kT);
  EXPECT_GT(raised, a->size() ? 2000 * 1000 / static_cast<std::int64_t>(a->size()) : 0);
  // a again: now below the raised minimum.
  EXPECT_FALSE(Accept(a, r));
  EXPECT_EQ(r.policy, "mempool-min-fee-not-met");
  // The minimum decays back toward the floor.
  EXPECT_LT(pool->MinFeeRate(kT + 600), raised);
  EXPECT_EQ(pool->MinFeeRate(kT + 600 * 40), 1000);
  // A transaction paying less than everything in a full pool does not get in.
  auto d = Pay(4, static_cast<std::int64_t>(raised) * static_cast<std::int64_t>(a->size()) / 1000 + 10);
  EXPECT_FALSE(Accept(d, r));
  EXPECT_EQ(r.policy, "mempool-full");
}

TEST_F(MempoolTest, ExpiresOldTransactionsWithDescendants) {
  node::MempoolOptions opts;
  opts.expiry_seconds = 100;
  Reopen(opts);
  node::MempoolReject r;
  Spend s = CoinbaseSpend(1);
  auto parent = MakeSpend(params, {s}, miner_key, {PayTo(miner, s.spent.amount.units - 1000)});
  auto child = MakeSpend(params, {{{parent->txid(), 0}, parent->outputs()[0]}}, miner_key,
                         {PayTo(miner, s.spent.amount.units - 3000)});
  ASSERT_TRUE(Accept(parent, r, kT));
  ASSERT_TRUE(Accept(child, r, kT + 90));
  pool->Expire(kT + 101);
  EXPECT_EQ(pool->Count(), 0u);
}

TEST_F(MempoolTest, BlockRemovesIncludedAndConflicting) {
  node::MempoolReject r;
  auto in_block = Pay(1, 5000);
  auto conflicting = Pay(2, 5000, 3);
  auto block_version = Pay(2, 7000, 4);  // spends the same coin as `conflicting`
  ASSERT_TRUE(Accept(in_block, r));
  ASSERT_TRUE(Accept(conflicting, r));
  Mine(nullptr, {in_block, block_version}, Amount{12000});
  EXPECT_EQ(pool->Count(), 0u);
}

TEST_F(MempoolTest, ReorgReturnsTransactionsAndDropsInvalidOnes) {
  node::MempoolReject r;
  auto tx1 = Pay(1, 5000);
  auto tx2 = Pay(2, 5000);
  const ledger::BlockIndex* fork = cs->Tip();
  Mine(nullptr, {tx1, tx2}, Amount{10000});
  EXPECT_EQ(pool->Count(), 0u);
  // A longer branch without tx1 and with another spend of tx2's coin.
  auto tx2_rival = Pay(2, 8000, 5);
  const ledger::BlockIndex* side = cs->LookupBlockIndex(Mine(fork, {tx2_rival}, Amount{8000}, 77).Hash());
  Mine(side, {}, Amount{0}, 78);
  pool->Reorged(kT);
  EXPECT_TRUE(pool->Contains(tx1->txid()));    // came back
  EXPECT_FALSE(pool->Contains(tx2->txid()));   // its coin is spent on the new chain
  EXPECT_FALSE(pool->Contains(tx2_rival->txid()));
}

TEST_F(MempoolTest, SavesAndLoads) {
  node::MempoolReject r;
  auto a = Pay(1, 5000), b = Pay(2, 6000);
  ASSERT_TRUE(Accept(a, r));
  ASSERT_TRUE(Accept(b, r));
  const auto path = dir.path() / "mempool.dat";
  ASSERT_TRUE(pool->Save(path));
  Reopen(node::MempoolOptions{});
  EXPECT_EQ(pool->Load(path, kT), 2u);
  EXPECT_TRUE(pool->Contains(a->txid()));
  EXPECT_TRUE(pool->Contains(b->txid()));
  // A damaged tail: what comes before is loaded, and the damage is named.
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "\xff\xff garbage";
  }
  Reopen(node::MempoolOptions{});
  std::string damaged;
  EXPECT_EQ(pool->Load(path, kT, &damaged), 2u);
  EXPECT_NE(damaged.find("record 2"), std::string::npos) << damaged;
  // Not a mempool file at all: nothing loaded, no crash.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "garbage";
  }
  Reopen(node::MempoolOptions{});
  EXPECT_EQ(pool->Load(path, kT, &damaged), 0u);
  EXPECT_NE(damaged.find("bad magic"), std::string::npos) << damaged;
  EXPECT_EQ(pool->Load(dir.path() / "missing.dat", kT), 0u);
}

namespace {

std::vector<crypto::Hash256> Ids(const std::vector<consensus::TransactionRef>& txs) {
  std::vector<crypto::Hash256> out;
  for (const auto& tx : txs) out.push_back(tx->txid());
  return out;
}

std::uintmax_t FileSize(const std::filesystem::path& p) { return std::filesystem::file_size(p); }

}  // namespace

TEST_F(MempoolTest, JournalKeepsEveryAppendAndOpeningWritesNothing) {
  const auto path = dir.path() / "mempool.journal";
  std::unique_ptr<node::MempoolJournal> j;
  std::vector<consensus::TransactionRef> records;
  std::string damage, error;
  ASSERT_TRUE(node::MempoolJournal::Open(path, j, records, damage, error)) << error;
  EXPECT_TRUE(records.empty());
  EXPECT_FALSE(std::filesystem::exists(path));  // nothing written until the first append
  auto a = Pay(1, 5000), b = Pay(2, 6000), c = Pay(3, 7000);
  ASSERT_TRUE(j->Append(*a, error)) << error;
  ASSERT_TRUE(j->Append(*b, error)) << error;
  EXPECT_EQ(j->Records(), 2u);
  j.reset();

  ASSERT_TRUE(node::MempoolJournal::Open(path, j, records, damage, error)) << error;
  EXPECT_EQ(Ids(records), (std::vector{a->txid(), b->txid()}));
  EXPECT_TRUE(damage.empty()) << damage;
  // Reading changed no byte; a torn last record (a crash mid-append) keeps what came before.
  const auto whole = FileSize(path);
  j.reset();
  std::filesystem::resize_file(path, whole - 3);
  ASSERT_TRUE(node::MempoolJournal::Open(path, j, records, damage, error)) << error;
  EXPECT_EQ(Ids(records), (std::vector{a->txid()}));
  EXPECT_NE(damage.find("record 1"), std::string::npos) << damage;
  EXPECT_EQ(FileSize(path), whole - 3);
  // The next append goes after the last good record: the torn bytes are gone.
  ASSERT_TRUE(j->Append(*c, error)) << error;
  j.reset();
  ASSERT_TRUE(node::MempoolJournal::Open(path, j, records, damage, error)) << error;
  EXPECT_EQ(Ids(records), (std::vector{a->txid(), c->txid()}));
  EXPECT_TRUE(damage.empty()) << damage;
  // A flipped byte fails the record's checksum.
  j.reset();
  {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(-1, std::ios::end);
    f.put('\x5a');
  }
  ASSERT_TRUE(node::MempoolJournal::Open(path, j, records, damage, error)) << error;
  EXPECT_EQ(Ids(records), (std::vector{a->txid()}));
  EXPECT_NE(damage.find("checksum"), std::string::npos) << damage;
}

TEST_F(MempoolTest, JournalRewriteKeepsExactlyWhatIsPending) {
  const auto path = dir.path() / "mempool.journal";
  std::unique_ptr<node::MempoolJournal> j;
  std::vector<consensus::TransactionRef> records;
  std::string damage, error;
  ASSERT_TRUE(node::MempoolJournal::Open(path, j, records, damage, error)) << error;
  auto a = Pay(1, 5000), b = Pay(2, 6000), c = Pay(3, 7000);
  for (const auto& tx : {a, b, c}) ASSERT_TRUE(j->Append(*tx, error)) << error;
  ASSERT_TRUE(j->Rewrite({c}, error)) << error;
  EXPECT_EQ(j->Txids(), (std::vector{c->txid()}));
  ASSERT_TRUE(j->Append(*a, error)) << error;  // appends continue after a rewrite
  j.reset();
  ASSERT_TRUE(node::MempoolJournal::Open(path, j, records, damage, error)) << error;
  EXPECT_EQ(Ids(records), (std::vector{c->txid(), a->txid()}));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "mempool.journal.tmp"));
  // Not a journal at all: nothing read, and the first append starts the file over.
  j.reset();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "garbage, not a journal";
  }
  ASSERT_TRUE(node::MempoolJournal::Open(path, j, records, damage, error)) << error;
  EXPECT_TRUE(records.empty());
  EXPECT_NE(damage.find("bad magic"), std::string::npos) << damage;
  ASSERT_TRUE(j->Append(*b, error)) << error;
  j.reset();
  ASSERT_TRUE(node::MempoolJournal::Open(path, j, records, damage, error)) << error;
  EXPECT_EQ(Ids(records), (std::vector{b->txid()}));
}
