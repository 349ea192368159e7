// The other direction of the decoder round trip: any object the encoders accept, built from
// fuzz data (conditions and satisfactions of every shape up to the depth limit, transactions,
// blocks), encodes to bytes that decode back to an equal object with the same ids. A decoder
// that rejects some encoder output (a count bound that assumes too large a minimum element,
// say) fails here; the decode_* targets cannot see that, as they start from bytes.
#include <bit>
#include <fuzzer/FuzzedDataProvider.h>

#include "consensus/block.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

namespace {

template <typename T>
T FuzzBytes(FuzzedDataProvider& fdp) {
  T out{};
  const Bytes b = fdp.ConsumeBytes<std::uint8_t>(out.bytes.size());
  std::copy(b.begin(), b.end(), out.bytes.begin());
  return out;
}

Condition MakeCondition(FuzzedDataProvider& fdp, int depth) {
  const int last = depth < kMaxConditionDepth ? 4 : 1;  // only leaves at the depth limit
  switch (fdp.ConsumeIntegralInRange<int>(0, last)) {
    case 0: return Condition::Key(FuzzBytes<XOnlyPubKey>(fdp));
    case 1: {
      std::vector<XOnlyPubKey> keys(fdp.ConsumeIntegralInRange<std::size_t>(0, kMaxMultisigKeys));
      for (auto& k : keys) k = FuzzBytes<XOnlyPubKey>(fdp);
      return Condition::Multisig(fdp.ConsumeIntegral<std::uint8_t>(), std::move(keys));
    }
    case 2: return Condition::AfterHeight(fdp.ConsumeIntegral<std::uint32_t>(), MakeCondition(fdp, depth + 1));
    case 3: return Condition::AfterBlocks(fdp.ConsumeIntegral<std::uint32_t>(), MakeCondition(fdp, depth + 1));
    default: {
      Condition left = MakeCondition(fdp, depth + 1);
      return Condition::Or(std::move(left), MakeCondition(fdp, depth + 1));
    }
  }
}

Satisfaction MakeSatisfaction(FuzzedDataProvider& fdp, int depth) {
  const int last = depth < kMaxConditionDepth ? 2 : 1;
  switch (fdp.ConsumeIntegralInRange<int>(0, last)) {
    case 0: return Satisfaction::Sig(FuzzBytes<Signature>(fdp));
    case 1: {
      const auto signers = fdp.ConsumeIntegralInRange<std::uint16_t>(1, UINT16_MAX);
      std::vector<Signature> sigs(static_cast<std::size_t>(std::popcount(signers)));
      for (auto& s : sigs) s = FuzzBytes<Signature>(fdp);
      return Satisfaction::Multi(signers, std::move(sigs));
    }
    default:
      return Satisfaction::Branch(fdp.ConsumeIntegralInRange<std::uint8_t>(0, 1), MakeSatisfaction(fdp, depth + 1));
  }
}

MutableTransaction MakeTransaction(FuzzedDataProvider& fdp) {
  MutableTransaction tx;
  tx.version = fdp.ConsumeBool() ? kTxVersion : fdp.ConsumeIntegral<std::uint32_t>();
  tx.inputs.resize(fdp.ConsumeIntegralInRange<std::size_t>(0, 4));
  for (auto& in : tx.inputs) {
    in.prevout = {FuzzBytes<Hash256>(fdp), fdp.ConsumeIntegral<std::uint32_t>()};
    in.satisfaction = MakeSatisfaction(fdp, 1);
  }
  tx.outputs.resize(fdp.ConsumeIntegralInRange<std::size_t>(0, 4));
  for (auto& out : tx.outputs) {
    out.amount = Amount{fdp.ConsumeIntegralInRange<std::int64_t>(0, INT64_MAX)};
    out.condition = MakeCondition(fdp, 1);
  }
  if (fdp.ConsumeBool()) {
    tx.record.kind = RecordKind::kCoinbase;
    tx.record.version = fdp.ConsumeIntegral<std::uint32_t>();
    tx.record.payload = fdp.ConsumeBytes<std::uint8_t>(fdp.ConsumeIntegralInRange<std::size_t>(0, 120));
  }
  return tx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);

  const Condition c = MakeCondition(fdp, 1);
  Condition c2;
  FUZZ_CHECK(DecodeCondition(EncodeCondition(c), c2) == DecodeError::kOk && c2 == c);

  const Satisfaction s = MakeSatisfaction(fdp, 1);
  Satisfaction s2;
  FUZZ_CHECK(DecodeSatisfaction(EncodeSatisfaction(s), s2) == DecodeError::kOk && s2 == s);

  Block block;
  const std::size_t n_tx = fdp.ConsumeIntegralInRange<std::size_t>(0, 4);
  for (std::size_t i = 0; i < n_tx; ++i) {
    const TransactionRef tx = MakeTransactionRef(MakeTransaction(fdp));
    const Bytes bytes = EncodeTransaction(*tx);
    FUZZ_CHECK(bytes.size() == tx->size());
    TransactionRef back;
    const DecodeError tx_error = DecodeTransaction(bytes, back);
    if (tx_error != DecodeError::kOk)
      std::fprintf(stderr, "transaction of %zu bytes, %zu outputs -> %s\n", bytes.size(), tx->outputs().size(),
                   std::string(DecodeErrorName(tx_error)).c_str());
    FUZZ_CHECK(tx_error == DecodeError::kOk);
    FUZZ_CHECK(back->data().version == tx->data().version && back->inputs() == tx->inputs() &&
               back->outputs() == tx->outputs() && back->record() == tx->record());
    FUZZ_CHECK(back->txid() == tx->txid() && back->wtxid() == tx->wtxid());
    block.txs.push_back(tx);
  }
  block.header = {fdp.ConsumeIntegral<std::uint32_t>(), FuzzBytes<Hash256>(fdp), BlockMerkleRoot(block),
                  fdp.ConsumeIntegral<std::uint64_t>(), fdp.ConsumeIntegral<std::uint32_t>(),
                  fdp.ConsumeIntegral<std::uint64_t>()};
  const Bytes bytes = EncodeBlock(block);
  Block back;
  const DecodeError block_error = DecodeBlock(bytes, back);
  if (block_error != DecodeError::kOk) {
    std::fprintf(stderr, "block of %zu bytes, %zu txs:", bytes.size(), block.txs.size());
    for (const auto& tx : block.txs) std::fprintf(stderr, " %zu", tx->size());
    std::fprintf(stderr, " -> %s\n", std::string(DecodeErrorName(block_error)).c_str());
  }
  FUZZ_CHECK(block_error == DecodeError::kOk);
  FUZZ_CHECK(back.header == block.header && back.txs.size() == block.txs.size());
  for (std::size_t i = 0; i < block.txs.size(); ++i) FUZZ_CHECK(back.txs[i]->wtxid() == block.txs[i]->wtxid());
  FUZZ_CHECK(BlockMerkleRoot(back) == block.header.merkle_root);
  return 0;
}
