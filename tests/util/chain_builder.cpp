#include "tests/util/chain_builder.h"

#include <stdexcept>

#include "consensus/tx_verify.h"

namespace wattline::test {

crypto::SecretKey TestKey(std::uint32_t n) {
  std::array<std::uint8_t, 32> raw{};
  raw[28] = static_cast<std::uint8_t>(n >> 24);
  raw[29] = static_cast<std::uint8_t>(n >> 16);
  raw[30] = static_cast<std::uint8_t>(n >> 8);
  raw[31] = static_cast<std::uint8_t>(n);
  raw[0] = 0x11;  // keep the key far from zero
  return *crypto::SecretKey::FromBytes(raw);
}

TransactionRef MakeCoinbase(std::uint32_t height, Amount amount, const crypto::XOnlyPubKey& payee,
                            std::uint64_t extra) {
  consensus::MutableTransaction tx;
  std::array<std::uint8_t, 8> e;
  for (int i = 0; i < 8; ++i) e[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(extra >> (8 * i));
  tx.record = consensus::Record::Coinbase(height, extra ? consensus::ByteSpan(e) : consensus::ByteSpan{});
  tx.outputs.push_back({amount, consensus::Condition::Key(payee)});
  return consensus::MakeTransactionRef(std::move(tx));
}

TransactionRef MakeSpend(const consensus::Params& params, const std::vector<Spend>& inputs,
                         const crypto::SecretKey& key, std::vector<consensus::TxOut> outputs) {
  consensus::MutableTransaction tx;
  for (const auto& in : inputs) tx.inputs.push_back({in.prevout, {}});
  tx.outputs = std::move(outputs);
  const crypto::Hash256 txid = tx.ComputeTxid();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto msg = consensus::SignatureHash(params, txid, static_cast<std::uint32_t>(i), inputs[i].spent);
    tx.inputs[i].satisfaction = consensus::Satisfaction::Sig(key.Sign(msg, crypto::Hash256{}));
  }
  return consensus::MakeTransactionRef(std::move(tx));
}

void Solve(Block& block, const consensus::Params& params) {
  block.header.merkle_root = consensus::BlockMerkleRoot(block);
  auto target = consensus::CompactToTarget(block.header.bits);
  if (!target) throw std::runtime_error("Solve: invalid bits");
  for (block.header.nonce = 0;; ++block.header.nonce)
    if (consensus::HashToNumber(block.header.Hash()) <= *target) return;
  (void)params;
}

Block MakeBlock(const ledger::Chainstate& cs, const ledger::BlockIndex& prev, std::vector<TransactionRef> txs,
                Amount fees, const crypto::XOnlyPubKey& payee, std::uint64_t extra, Amount unclaimed) {
  const auto& params = cs.params();
  const std::uint32_t height = prev.height + 1;
  Amount reward{consensus::BlockSubsidy(height, params).units + fees.units - unclaimed.units};
  Block block;
  block.txs.push_back(MakeCoinbase(height, reward, payee, extra));
  for (auto& tx : txs) block.txs.push_back(std::move(tx));
  auto ctx = cs.ContextFor(prev, /*now=*/-1);
  block.header.prev_hash = prev.hash;
  block.header.bits = ctx.expected_bits;
  block.header.time = std::max<std::uint64_t>(prev.header.time + static_cast<std::uint64_t>(params.target_spacing),
                                              ctx.median_time_past + 1);
  Solve(block, params);
  return block;
}

std::map<OutPoint, Coin> RebuildUtxo(const ledger::Chainstate& cs) {
  std::map<OutPoint, Coin> utxo;
  for (std::uint32_t h = 1; h <= cs.Height(); ++h) {
    const ledger::BlockIndex* index = cs.ActiveAt(h);
    Block block;
    if (!cs.ReadBlock(*index, block)) throw std::runtime_error("RebuildUtxo: block missing");
    for (const auto& tx : block.txs) {
      for (const auto& in : tx->inputs())
        if (utxo.erase(in.prevout) != 1) throw std::runtime_error("RebuildUtxo: spends a missing coin");
      for (std::uint32_t i = 0; i < tx->outputs().size(); ++i)
        utxo[{tx->txid(), i}] = Coin{tx->outputs()[i], h, tx->IsCoinbase()};
    }
  }
  return utxo;
}

std::map<OutPoint, Coin> ChainstateUtxo(ledger::Chainstate& cs) {
  std::map<OutPoint, Coin> utxo;
  cs.ForEachCoin([&](const OutPoint& op, const Coin& c) { utxo[op] = c; });
  return utxo;
}

Amount TotalValue(const std::map<OutPoint, Coin>& utxo) {
  Amount total{0};
  for (const auto& [op, c] : utxo) total.units += c.out.amount.units;
  return total;
}

Amount IssuedSubsidy(const ledger::Chainstate& cs) {
  Amount total{0};
  for (std::uint32_t h = 1; h <= cs.Height(); ++h) total.units += consensus::BlockSubsidy(h, cs.params()).units;
  return total;
}

}  // namespace wattline::test
