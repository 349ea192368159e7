// A fresh regtest chainstate in a temporary directory, removed afterwards.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>

#include "ledger/chainstate.h"
#include "tests/util/chain_builder.h"
#include "tests/util/temp_dir.h"

namespace wattline::test {


class LedgerTest : public ::testing::Test {
 public:
  static constexpr std::int64_t kNow = 4'000'000'000;

 protected:
  const consensus::Params& params = consensus::GetParams(consensus::Network::kRegtest);
  TempDir dir;
  std::unique_ptr<ledger::Chainstate> cs;
  crypto::SecretKey miner_key = TestKey(1);
  crypto::XOnlyPubKey miner = miner_key.PubKey();

  void SetUp() override { Open(); }

  void Open(std::size_t cache_bytes = 64u << 20, ledger::CheckQueue* queue = nullptr) {
    cs.reset();
    ledger::ChainstateOptions opts;
    opts.dir = dir.path() / "chainstate";
    opts.coins_cache_bytes = cache_bytes;
    opts.check_queue = queue;
    ledger::Status s = ledger::Chainstate::Open(params, opts, cs);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  /** Builds a block on prev (default: tip), submits it, expects acceptance. */
  consensus::Block Mine(const ledger::BlockIndex* prev = nullptr, std::vector<consensus::TransactionRef> txs = {},
                        consensus::Amount fees = consensus::Amount{0}, std::uint64_t extra = 0) {
    if (!prev) prev = cs->Tip();
    auto block = MakeBlock(*cs, *prev, std::move(txs), fees, miner, extra);
    consensus::ValidationState state;
    EXPECT_TRUE(cs->ProcessBlock(block, kNow, state)) << state.ToString();
    return block;
  }

  void MineMany(int n) {
    for (int i = 0; i < n; ++i) Mine();
  }

  /** Output 0 of the coinbase of the active block at height. */
  Spend CoinbaseSpend(std::uint32_t height) {
    consensus::Block b;
    EXPECT_TRUE(cs->ReadBlock(*cs->ActiveAt(height), b));
    return {{b.txs[0]->txid(), 0}, b.txs[0]->outputs()[0]};
  }

};

}  // namespace wattline::test
