#include "ledger/chainstate.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/ledger/ledger_fixture.h"

using namespace wattline;
using namespace wattline::test;
using consensus::Amount;
using consensus::Reason;
using consensus::ValidationState;

namespace {
consensus::TxOut PayTo(const crypto::XOnlyPubKey& key, std::int64_t units) {
  return {Amount{units}, consensus::Condition::Key(key)};
}
}  // namespace

TEST_F(LedgerTest, NewChainstateStartsAtGenesis) {
  EXPECT_EQ(cs->Height(), 0u);
  EXPECT_EQ(cs->Tip()->hash, params.genesis_hash);
  EXPECT_TRUE(ChainstateUtxo(*cs).empty());
}

TEST_F(LedgerTest, ConnectsBlocksAndSurvivesReopen) {
  MineMany(5);
  const auto tip = cs->Tip()->hash;
  auto utxo = ChainstateUtxo(*cs);
  EXPECT_EQ(utxo.size(), 5u);
  EXPECT_EQ(TotalValue(utxo), IssuedSubsidy(*cs));
  Open();
  EXPECT_EQ(cs->Height(), 5u);
  EXPECT_EQ(cs->Tip()->hash, tip);
  EXPECT_EQ(ChainstateUtxo(*cs), utxo);
}

TEST_F(LedgerTest, DuplicateBlockIsAcceptedOnce) {
  auto block = Mine();
  ValidationState state;
  EXPECT_TRUE(cs->ProcessBlock(block, kNow, state));
  EXPECT_EQ(cs->Height(), 1u);
}

TEST_F(LedgerTest, SpendsMatureCoinbaseWithFee) {
  MineMany(static_cast<int>(params.coinbase_maturity) + 1);
  Spend s = CoinbaseSpend(1);
  auto recipient = TestKey(2).PubKey();
  auto tx = MakeSpend(params, {s}, miner_key, {PayTo(recipient, s.spent.amount.units - 1000)});
  Mine(nullptr, {tx}, Amount{1000});
  EXPECT_FALSE(cs->GetCoin(s.prevout));
  auto coin = cs->GetCoin({tx->txid(), 0});
  ASSERT_TRUE(coin);
  EXPECT_EQ(coin->out.amount.units, s.spent.amount.units - 1000);
  EXPECT_EQ(TotalValue(ChainstateUtxo(*cs)), IssuedSubsidy(*cs));
  EXPECT_EQ(ChainstateUtxo(*cs), RebuildUtxo(*cs));
}

namespace {
// Submits a block that should be rejected and returns its state.
ValidationState Reject(ledger::Chainstate& cs, const consensus::Block& block) {
  ValidationState state;
  EXPECT_FALSE(cs.ProcessBlock(block, LedgerTest::kNow, state));
  return state;
}
}  // namespace

TEST_F(LedgerTest, RejectsImmatureCoinbaseSpend) {
  MineMany(10);
  Spend s = CoinbaseSpend(1);
  auto tx = MakeSpend(params, {s}, miner_key, {PayTo(miner, 1)});
  auto block = MakeBlock(*cs, *cs->Tip(), {tx}, Amount{s.spent.amount.units - 1}, miner);
  auto state = Reject(*cs, block);
  EXPECT_EQ(state.reason(), Reason::kBlockInvalidTx);
  EXPECT_NE(state.detail().find("bad-txns-premature-spend-of-coinbase"), std::string::npos) << state.ToString();
  EXPECT_EQ(cs->Height(), 10u);
}

TEST_F(LedgerTest, RejectsMissingAndDoubleSpentInputs) {
  MineMany(static_cast<int>(params.coinbase_maturity) + 1);
  Spend s = CoinbaseSpend(1);
  auto tx1 = MakeSpend(params, {s}, miner_key, {PayTo(miner, 100)});
  auto tx2 = MakeSpend(params, {s}, miner_key, {PayTo(miner, 200)});  // same coin, other tx
  auto state = Reject(*cs, MakeBlock(*cs, *cs->Tip(), {tx1, tx2}, Amount{0}, miner));
  EXPECT_EQ(state.reason(), Reason::kBlockInvalidTx);
  EXPECT_NE(state.detail().find("bad-txns-inputs-missingorspent"), std::string::npos) << state.ToString();

  Spend nowhere{{crypto::Sha256Of(miner.span()), 0}, s.spent};
  auto tx3 = MakeSpend(params, {nowhere}, miner_key, {PayTo(miner, 1)});
  state = Reject(*cs, MakeBlock(*cs, *cs->Tip(), {tx3}, Amount{0}, miner, 1));
  EXPECT_NE(state.detail().find("bad-txns-inputs-missingorspent"), std::string::npos);
}

TEST_F(LedgerTest, RejectsBadSignatureWithQueue) {
  ledger::CheckQueue queue(1);
  Open(64u << 20, &queue);
  MineMany(static_cast<int>(params.coinbase_maturity) + 1);
  Spend s = CoinbaseSpend(1);
  auto tx = MakeSpend(params, {s}, TestKey(9), {PayTo(miner, 100)});  // wrong key
  auto state = Reject(*cs, MakeBlock(*cs, *cs->Tip(), {tx}, Amount{0}, miner));
  EXPECT_EQ(state.reason(), Reason::kBlockInvalidTx);
  EXPECT_NE(state.detail().find("bad-txns-signature"), std::string::npos) << state.ToString();
}

TEST_F(LedgerTest, RejectsCoinbaseClaimingTooMuch) {
  auto block = MakeBlock(*cs, *cs->Tip(), {}, Amount{1}, miner);  // claims a fee that does not exist
  auto state = Reject(*cs, block);
  EXPECT_EQ(state.reason(), Reason::kBlockCoinbaseAmount);
  // Remembered as invalid.
  state = Reject(*cs, block);
  EXPECT_EQ(state.reason(), Reason::kBlockCachedInvalid);
}

TEST_F(LedgerTest, RejectsUnknownParentBadBitsAndTimes) {
  auto block = MakeBlock(*cs, *cs->Tip(), {}, Amount{0}, miner);
  auto orphan = block;
  orphan.header.prev_hash = crypto::Sha256Of(miner.span());
  Solve(orphan, params);
  EXPECT_EQ(Reject(*cs, orphan).reason(), Reason::kBlockPrevMissing);

  auto bad_bits = block;
  bad_bits.header.bits = consensus::TargetToCompact(params.pow_limit >> 1);
  Solve(bad_bits, params);
  EXPECT_EQ(Reject(*cs, bad_bits).reason(), Reason::kBlockBadBits);

  auto old = block;
  old.header.time = cs->Tip()->header.time;  // not after the median time past
  Solve(old, params);
  EXPECT_EQ(Reject(*cs, old).reason(), Reason::kBlockTimeTooOld);

  auto future = block;
  future.header.time = static_cast<std::uint64_t>(kNow + params.max_future_block_time + 1);
  Solve(future, params);
  EXPECT_EQ(Reject(*cs, future).reason(), Reason::kBlockTimeTooNew);
  // Premature, not invalid: accepted once the clock has caught up.
  ValidationState later;
  EXPECT_TRUE(cs->ProcessBlock(future, kNow + params.max_future_block_time + 1, later)) << later.ToString();
}

TEST_F(LedgerTest, RejectsHighHashAndMutatedMerkleWithoutRememberingThem) {
  auto block = MakeBlock(*cs, *cs->Tip(), {}, Amount{0}, miner);
  auto high = block;
  while (consensus::CheckProofOfWork(high.header.Hash(), high.header.bits, params)) ++high.header.nonce;
  EXPECT_EQ(Reject(*cs, high).reason(), Reason::kBlockHighHash);

  auto mutated = block;
  mutated.txs[0] = MakeCoinbase(1, Amount{1}, miner);  // header unchanged: merkle mismatch
  EXPECT_EQ(Reject(*cs, mutated).reason(), Reason::kBlockBadMerkleRoot);
  // The honest block with the same header is still accepted.
  ValidationState state;
  EXPECT_TRUE(cs->ProcessBlock(block, kNow, state)) << state.ToString();
}

TEST_F(LedgerTest, FollowsMostWorkAndReorganises) {
  MineMany(3);
  const ledger::BlockIndex* fork_point = cs->ActiveAt(1);
  const auto old_tip = cs->Tip()->hash;
  // A side branch from height 1, longer than the main one.
  const ledger::BlockIndex* side = fork_point;
  for (int i = 0; i < 3; ++i) {
    auto b = Mine(side, {}, Amount{0}, /*extra=*/100 + static_cast<std::uint64_t>(i));
    side = cs->LookupBlockIndex(b.Hash());
    ASSERT_NE(side, nullptr);
  }
  EXPECT_EQ(cs->Tip(), side);
  EXPECT_EQ(cs->Height(), 4u);
  EXPECT_FALSE(cs->IsActive(cs->LookupBlockIndex(old_tip)));
  EXPECT_EQ(ChainstateUtxo(*cs), RebuildUtxo(*cs));
  EXPECT_EQ(TotalValue(ChainstateUtxo(*cs)), IssuedSubsidy(*cs));
  const auto side_hash = side->hash;
  Open();
  EXPECT_EQ(cs->Tip()->hash, side_hash);
}

TEST_F(LedgerTest, EqualWorkKeepsTheFirstSeen) {
  MineMany(2);
  const auto tip = cs->Tip()->hash;
  Mine(cs->ActiveAt(1), {}, Amount{0}, 7);
  EXPECT_EQ(cs->Tip()->hash, tip);
}

TEST_F(LedgerTest, InvalidBlockInLongerForkMarksDescendantsAndKeepsChain) {
  MineMany(static_cast<int>(params.coinbase_maturity) + 2);
  const auto good_tip = cs->Tip()->hash;
  const ledger::BlockIndex* base = cs->ActiveAt(cs->Height() - 1);
  // Side block spending with a bad signature: valid header, fails at connect.
  Spend s = CoinbaseSpend(1);
  auto bad_tx = MakeSpend(params, {s}, TestKey(5), {PayTo(miner, 1)});
  auto bad = MakeBlock(*cs, *base, {bad_tx}, Amount{0}, miner, 55);
  ValidationState state;
  EXPECT_TRUE(cs->ProcessBlock(bad, kNow, state));  // stored, equal work: not connected yet
  const ledger::BlockIndex* bad_index = cs->LookupBlockIndex(bad.Hash());
  auto child = MakeBlock(*cs, *bad_index, {}, Amount{0}, miner, 56);
  EXPECT_FALSE(cs->ProcessBlock(child, kNow, state));  // more work: tried, fails, reorg back
  EXPECT_EQ(cs->Tip()->hash, good_tip);
  EXPECT_TRUE(cs->LookupBlockIndex(bad.Hash())->IsFailed());
  EXPECT_TRUE(cs->LookupBlockIndex(child.Hash())->IsFailed());
  auto grandchild = MakeBlock(*cs, *cs->LookupBlockIndex(child.Hash()), {}, Amount{0}, miner, 57);
  EXPECT_EQ(Reject(*cs, grandchild).reason(), Reason::kBlockPrevInvalid);
  EXPECT_EQ(ChainstateUtxo(*cs), RebuildUtxo(*cs));
  // Remembered across restarts.
  Open();
  EXPECT_TRUE(cs->LookupBlockIndex(child.Hash())->IsFailed());
  EXPECT_EQ(Reject(*cs, bad).reason(), Reason::kBlockCachedInvalid);
}

TEST_F(LedgerTest, WrongNetworkDatadirIsRefused) {
  cs.reset();
  ledger::ChainstateOptions opts;
  opts.dir = dir.path() / "chainstate";
  std::unique_ptr<ledger::Chainstate> other;
  auto s = ledger::Chainstate::Open(consensus::GetParams(consensus::Network::kMain), opts, other);
  EXPECT_EQ(s.code(), ledger::Status::Code::kWrongNetwork);
  EXPECT_NE(s.message().find("regtest"), std::string::npos) << s.message();
}

TEST_F(LedgerTest, TinyCacheFlushesOftenAndStaysConsistent) {
  Open(/*cache_bytes=*/512);
  MineMany(static_cast<int>(params.coinbase_maturity) + 5);
  for (std::uint32_t h = 1; h <= 5; ++h) {
    Spend s = CoinbaseSpend(h);
    auto tx = MakeSpend(params, {s}, miner_key, {PayTo(miner, 1000), PayTo(TestKey(3).PubKey(), 2000)});
    Mine(nullptr, {tx}, Amount{s.spent.amount.units - 3000});
  }
  EXPECT_LE(cs->CoinsCacheUsage(), 4096u);
  EXPECT_EQ(ChainstateUtxo(*cs), RebuildUtxo(*cs));
}

// A process that dies without flushing its coin cache: the next open replays from the coins
// on disk to the tip it had reported.
TEST_F(LedgerTest, CrashWithoutFlushIsReplayedOnOpen) {
  cs.reset();
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipefd[0]);
    Open();
    MineMany(4);
    const ledger::BlockIndex* side = cs->ActiveAt(2);
    for (int i = 0; i < 4; ++i) side = cs->LookupBlockIndex(Mine(side, {}, Amount{0}, 900 + i).Hash());
    auto tip = cs->Tip()->hash;
    (void)!write(pipefd[1], tip.data(), 32);
    _exit(0);  // no destructors: the coin cache is lost
  }
  close(pipefd[1]);
  crypto::Hash256 reported;
  ASSERT_EQ(read(pipefd[0], reported.data(), 32), 32);
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  Open();
  EXPECT_EQ(cs->Tip()->hash, reported);
  EXPECT_EQ(cs->Height(), 6u);
  EXPECT_EQ(ChainstateUtxo(*cs), RebuildUtxo(*cs));
}

TEST_F(LedgerTest, TestBlockValidityChecksWithoutConnecting) {
  MineMany(static_cast<int>(params.coinbase_maturity) + 1);
  Spend s = CoinbaseSpend(1);
  auto good = MakeSpend(params, {s}, miner_key, {PayTo(miner, 1000)});
  auto block = MakeBlock(*cs, *cs->Tip(), {good}, Amount{s.spent.amount.units - 1000}, miner);
  ValidationState state;
  EXPECT_TRUE(cs->TestBlockValidity(block, kNow, /*check_pow=*/true, state)) << state.ToString();
  EXPECT_TRUE(cs->GetCoin(s.prevout));  // nothing applied
  EXPECT_EQ(cs->Height(), params.coinbase_maturity + 1);
  // Unsolved template: fine without the proof of work, refused with it (most of the time).
  auto unsolved = block;
  unsolved.header.nonce += 1;
  while (consensus::CheckProofOfWork(unsolved.header.Hash(), unsolved.header.bits, params)) ++unsolved.header.nonce;
  EXPECT_TRUE(cs->TestBlockValidity(unsolved, kNow, /*check_pow=*/false, state)) << state.ToString();
  EXPECT_FALSE(cs->TestBlockValidity(unsolved, kNow, /*check_pow=*/true, state));
  EXPECT_EQ(state.reason(), Reason::kBlockHighHash);
  auto bad = MakeSpend(params, {s}, TestKey(8), {PayTo(miner, 1000)});
  auto bad_block = MakeBlock(*cs, *cs->Tip(), {bad}, Amount{s.spent.amount.units - 1000}, miner);
  ValidationState bad_state;
  EXPECT_FALSE(cs->TestBlockValidity(bad_block, kNow, true, bad_state));
  EXPECT_NE(bad_state.detail().find("bad-txns-signature"), std::string::npos);
  // Not remembered as invalid: TestBlockValidity stores nothing.
  EXPECT_EQ(cs->LookupBlockIndex(bad_block.Hash()), nullptr);
}

TEST_F(LedgerTest, ReindexChainstateRebuildsDamagedCoinsFromTheStoredBlocks) {
  MineMany(static_cast<int>(params.coinbase_maturity) + 5);
  for (std::uint32_t h = 1; h <= 4; ++h) {
    Spend s = CoinbaseSpend(h);
    Mine(nullptr, {MakeSpend(params, {s}, miner_key, {PayTo(TestKey(3).PubKey(), s.spent.amount.units - 1000)})},
         Amount{1000});
  }
  const auto before = cs->ComputeCoinStats();
  const auto utxo = ChainstateUtxo(*cs);
  cs->Flush();
  cs.reset();

  // Damage the coins as a failing disk or a bad tool might: coin records gone, the coins' best
  // block gone. The blocks are intact.
  {
    std::unique_ptr<ledger::Database> db;
    ASSERT_TRUE(ledger::Database::Open(dir.path() / "chainstate", 1 << 20, db).ok());
    std::vector<std::string> coins;
    db->ForEachWithPrefix("c", [&](std::string_view k, std::string_view) {
      coins.emplace_back(k);
      return true;
    });
    ASSERT_GT(coins.size(), 3u);
    leveldb::WriteBatch batch;
    for (std::size_t i = 0; i < coins.size(); i += 2) batch.Delete(coins[i]);
    batch.Delete("C");
    db->Write(batch, /*sync=*/true);
  }
  ledger::ChainstateOptions opts;
  opts.dir = dir.path() / "chainstate";
  ledger::Status s = ledger::Chainstate::Open(params, opts, cs);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ledger::Status::Code::kCorruption);

  std::vector<std::pair<std::uint32_t, std::uint32_t>> progress;
  opts.reindex_chainstate = true;
  opts.progress = [&](std::uint32_t h, std::uint32_t tip) { progress.emplace_back(h, tip); };
  s = ledger::Chainstate::Open(params, opts, cs);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const auto after = cs->ComputeCoinStats();
  EXPECT_EQ(after.height, before.height);
  EXPECT_EQ(after.tip, before.tip);
  EXPECT_EQ(after.coins, before.coins);
  EXPECT_EQ(after.total.units, before.total.units);
  EXPECT_EQ(ChainstateUtxo(*cs), utxo);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), std::make_pair(before.height, before.height));
  // It survives a reopen without the flag, and the chain goes on.
  cs.reset();
  Open();
  EXPECT_EQ(ChainstateUtxo(*cs), utxo);
  Mine();
  EXPECT_EQ(cs->Height(), before.height + 1);
}
