// The crash-test driver (tests/crash/crash_test.sh kills it with SIGKILL at random moments).
//
//   wattline-crash-driver run   <chainstate-dir> <seed> [max-blocks]
//       Opens (or creates) a regtest chainstate and keeps extending it: mostly on the tip,
//       sometimes a longer branch from a few blocks back (a reorg), with signed spends of
//       mature coins. After each block that ProcessBlock reports connected as the new tip it
//       prints "connected <hash> <height>" and flushes stdout.
//   wattline-crash-driver check <chainstate-dir> <log-file>
//       Reopens the chainstate and checks that it is consistent (the coin set equals a
//       rebuild from the active chain's blocks, and its value equals the subsidies issued)
//       and that every block the log says was connected is stored and valid, with the
//       active chain having at least the work of the last one. Exit 0 when all hold.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>

#include "ledger/chainstate.h"
#include "tests/util/chain_builder.h"

using namespace wattline;

namespace {

constexpr std::int64_t kNow = 4'000'000'000;

std::unique_ptr<ledger::Chainstate> OpenOrDie(const std::string& dir, ledger::CheckQueue* queue) {
  ledger::ChainstateOptions opts;
  opts.dir = dir;
  opts.coins_cache_bytes = 16 * 1024;  // small: flushes happen often, so kills land inside them
  opts.check_queue = queue;
  std::unique_ptr<ledger::Chainstate> cs;
  ledger::Status s = ledger::Chainstate::Open(consensus::GetParams(consensus::Network::kRegtest), opts, cs);
  if (!s.ok()) {
    std::cerr << "open failed: " << s.ToString() << "\n";
    std::exit(2);
  }
  return cs;
}

int Run(const std::string& dir, std::uint64_t seed, std::uint64_t max_blocks) {
  ledger::CheckQueue queue(1);
  auto cs = OpenOrDie(dir, &queue);
  const auto& params = cs->params();
  std::mt19937_64 rng(seed);
  auto key = test::TestKey(1);
  auto miner = key.PubKey();
  std::uint64_t extra = seed << 20;

  for (std::uint64_t made = 0; made < max_blocks;) {
    const ledger::BlockIndex* tip = cs->Tip();
    std::uint32_t back = (rng() % 5 == 0) ? static_cast<std::uint32_t>(rng() % 5) : 0;
    back = std::min(back, tip->height);
    const ledger::BlockIndex* parent = cs->ActiveAt(tip->height - back);
    const int length = static_cast<int>(back) + 1 + static_cast<int>(rng() % 2);
    for (int i = 0; i < length; ++i, ++made) {
      std::vector<consensus::TransactionRef> txs;
      consensus::Amount fees{0};
      // Spend a mature coinbase of the active chain when building on the tip.
      if (parent == cs->Tip() && parent->height > params.coinbase_maturity + 1) {
        const std::uint32_t h = 1 + static_cast<std::uint32_t>(rng() % (parent->height - params.coinbase_maturity));
        consensus::Block old;
        if (cs->ReadBlock(*cs->ActiveAt(h), old)) {
          consensus::OutPoint op{old.txs[0]->txid(), 0};
          if (auto coin = cs->GetCoin(op);
              coin && coin->out.amount.units > 1000 && coin->out.condition == consensus::Condition::Key(miner)) {
            const std::int64_t fee = 500;
            const std::int64_t half = (coin->out.amount.units - fee) / 2;
            txs.push_back(test::MakeSpend(params, {{op, coin->out}}, key,
                                          {{consensus::Amount{half}, consensus::Condition::Key(miner)},
                                           {consensus::Amount{coin->out.amount.units - fee - half},
                                            consensus::Condition::Key(miner)}}));
            fees.units += fee;
          }
        }
      }
      auto block = test::MakeBlock(*cs, *parent, txs, fees, miner, ++extra);
      consensus::ValidationState state;
      if (!cs->ProcessBlock(block, kNow, state)) {
        std::cerr << "driver: block rejected: " << state.ToString() << "\n";
        return 3;
      }
      parent = cs->LookupBlockIndex(block.Hash());
      if (cs->Tip() == parent) {
        std::printf("connected %s %u\n", parent->hash.ToHex().c_str(), parent->height);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

int Check(const std::string& dir, const std::string& log_path) {
  auto cs = OpenOrDie(dir, nullptr);
  auto utxo = test::ChainstateUtxo(*cs);
  auto rebuilt = test::RebuildUtxo(*cs);
  if (utxo != rebuilt) {
    std::cerr << "check: coin set (" << utxo.size() << ") differs from rebuild (" << rebuilt.size() << ")\n";
    return 1;
  }
  if (test::TotalValue(utxo) != test::IssuedSubsidy(*cs)) {
    std::cerr << "check: coin total differs from issued subsidy\n";
    return 1;
  }
  std::ifstream log(log_path);
  std::string line, word, hex;
  const ledger::BlockIndex* last = nullptr;
  std::size_t n = 0;
  while (std::getline(log, line)) {
    std::istringstream in(line);
    if (!(in >> word >> hex) || word != "connected") continue;  // a line cut by the kill
    auto hash = crypto::Hash256::FromHex(hex);
    if (!hash) continue;
    const ledger::BlockIndex* index = cs->LookupBlockIndex(*hash);
    if (!index || !index->HaveData() || index->IsFailed()) {
      std::cerr << "check: reported block " << hex << " is lost\n";
      return 1;
    }
    last = index;
    ++n;
  }
  if (last && cs->Tip()->chain_work < last->chain_work) {
    std::cerr << "check: tip has less work than the last reported block " << last->hash.ToHex() << "\n";
    return 1;
  }
  std::printf("ok: height %u, %zu coins, %zu reported blocks present\n", cs->Height(), utxo.size(), n);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "usage: wattline-crash-driver run <dir> <seed> [max-blocks] | check <dir> <log-file>\n";
  if (argc < 4) {
    std::cerr << usage;
    return 64;
  }
  const std::string mode = argv[1];
  try {
    if (mode == "run") return Run(argv[2], std::strtoull(argv[3], nullptr, 10),
                                  argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1'000'000);
    if (mode == "check") return Check(argv[2], argv[3]);
  } catch (const std::exception& e) {
    std::cerr << "driver: " << e.what() << "\n";
    return 4;
  }
  std::cerr << usage;
  return 64;
}
