#include "bench/block_fixture.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "ledger/chainstate.h"
#include "tests/util/chain_builder.h"

namespace wattline::bench {

namespace fs = std::filesystem;

Fixture::Fixture()
    : root(fs::temp_directory_path() / ("wattline-bench-" + std::to_string(::getpid()))), templ(root / "template") {
  fs::remove_all(root);
  const auto& params = consensus::GetParams(consensus::Network::kRegtest);
  auto key = test::TestKey(1);
  auto miner = key.PubKey();
  ledger::ChainstateOptions opts;
  opts.dir = templ;
  std::unique_ptr<ledger::Chainstate> cs;
  if (!ledger::Chainstate::Open(params, opts, cs).ok()) std::abort();
  // One block whose coinbase has kTxPerBlock outputs would break the subsidy; instead fan out:
  // mine coinbases, then split them in blocks of transactions with many outputs.
  auto mine = [&](std::vector<consensus::TransactionRef> txs, consensus::Amount fees) {
    auto b = test::MakeBlock(*cs, *cs->Tip(), std::move(txs), fees, miner, cs->Height() + 1);
    consensus::ValidationState st;
    if (!cs->ProcessBlock(b, kNow, st)) {
      std::fprintf(stderr, "fixture: %s\n", st.ToString().c_str());
      std::abort();
    }
    return b;
  };
  std::vector<consensus::Block> funding;
  for (int i = 0; i < 10; ++i) funding.push_back(mine({}, consensus::Amount{0}));
  for (std::uint32_t i = 0; i < params.coinbase_maturity; ++i) mine({}, consensus::Amount{0});
  std::vector<test::Spend> coins;
  std::vector<consensus::TransactionRef> splits;
  const std::size_t per_split = kTxPerBlock / funding.size();
  for (const auto& f : funding) {
    const auto& cb = f.txs[0];
    test::Spend in{{cb->txid(), 0}, cb->outputs()[0]};
    const std::int64_t each = (in.spent.amount.units - 10'000) / static_cast<std::int64_t>(per_split);
    std::vector<consensus::TxOut> outs(per_split, {consensus::Amount{each}, consensus::Condition::Key(miner)});
    auto tx = test::MakeSpend(params, {in}, key, outs);
    for (std::uint32_t o = 0; o < per_split; ++o) coins.push_back({{tx->txid(), o}, tx->outputs()[o]});
    splits.push_back(tx);
  }
  consensus::Amount split_fees{0};
  for (const auto& f : funding) split_fees.units += f.txs[0]->outputs()[0].amount.units;
  for (const auto& s : splits)
    for (const auto& o : s->outputs()) split_fees.units -= o.amount.units;
  mine(splits, split_fees);
  cs.reset();  // flushed: the template is complete on disk
  // The measured block: every coin into two outputs.
  std::vector<consensus::TransactionRef> txs;
  consensus::Amount fees{0};
  for (const auto& c : coins) {
    const std::int64_t fee = 200, half = (c.spent.amount.units - fee) / 2;
    txs.push_back(test::MakeSpend(params, {c}, key,
                                  {{consensus::Amount{half}, consensus::Condition::Key(miner)},
                                   {consensus::Amount{c.spent.amount.units - fee - half},
                                    consensus::Condition::Key(test::TestKey(2).PubKey())}}));
    fees.units += fee;
  }
  std::unique_ptr<ledger::Chainstate> reader;
  opts.dir = templ;
  if (!ledger::Chainstate::Open(params, opts, reader).ok()) std::abort();
  block = test::MakeBlock(*reader, *reader->Tip(), std::move(txs), fees, miner, 999);
}

Fixture::~Fixture() { fs::remove_all(root); }

Fixture& GetFixture() {
  static Fixture f;
  return f;
}

}  // namespace wattline::bench
