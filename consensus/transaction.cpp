#include "consensus/transaction.h"

namespace wattline::consensus {

namespace {

const crypto::TaggedHasher& TxidHasher() {
  static const crypto::TaggedHasher h("wattline/txid");
  return h;
}
const crypto::TaggedHasher& WtxidHasher() {
  static const crypto::TaggedHasher h("wattline/wtxid");
  return h;
}

// Smallest encodings, used to bound counts by the input that is left.
constexpr std::size_t kMinInputSize = 32 + 4;
// An output is an amount and a condition; the smallest condition is a multisig with no keys
// (3 bytes). Invalid (CheckCondition), but encodable: the bound must not reject its encoding.
constexpr std::size_t kMinOutputSize = 8 + 3;
constexpr std::size_t kMaxIoCount = kMaxTxSize / kMinInputSize;

}  // namespace

void EncodeTransactionBase(Writer& w, const MutableTransaction& tx) {
  w.U32(tx.version);
  w.VarInt(tx.inputs.size());
  for (const auto& in : tx.inputs) {
    w.Hash(in.prevout.txid);
    w.U32(in.prevout.index);
  }
  w.VarInt(tx.outputs.size());
  for (const auto& out : tx.outputs) {
    w.U64(static_cast<std::uint64_t>(out.amount.units));
    EncodeCondition(w, out.condition);
  }
  EncodeRecord(w, tx.record);
}

void EncodeTransaction(Writer& w, const MutableTransaction& tx) {
  EncodeTransactionBase(w, tx);
  for (const auto& in : tx.inputs) EncodeSatisfaction(w, in.satisfaction);
}

Bytes EncodeTransaction(const Transaction& tx) {
  Bytes out;
  Writer w(out);
  EncodeTransaction(w, tx.data());
  return out;
}

Hash256 MutableTransaction::ComputeTxid() const {
  Bytes base;
  Writer w(base);
  EncodeTransactionBase(w, *this);
  return TxidHasher().Hash(base);
}

Transaction::Transaction(MutableTransaction tx) : m_tx(std::move(tx)) {
  Bytes bytes;
  Writer w(bytes);
  EncodeTransactionBase(w, m_tx);
  std::size_t base_size = bytes.size();
  for (const auto& in : m_tx.inputs) EncodeSatisfaction(w, in.satisfaction);
  m_txid = TxidHasher().Hash(ByteSpan(bytes).first(base_size));
  m_wtxid = WtxidHasher().Hash(bytes);
  m_size = bytes.size();
}

Transaction::Transaction(MutableTransaction tx, const Hash256& txid, const Hash256& wtxid, std::size_t size)
    : m_tx(std::move(tx)), m_txid(txid), m_wtxid(wtxid), m_size(size) {}

bool DecodeTransaction(Reader& r, TransactionRef& out) {
  const std::size_t start = r.offset();
  MutableTransaction tx;
  std::size_t n_in = 0, n_out = 0;
  if (!r.U32(tx.version)) return false;
  if (!r.Count(n_in, kMaxIoCount, kMinInputSize)) return false;
  tx.inputs.resize(n_in);
  for (auto& in : tx.inputs)
    if (!r.Hash(in.prevout.txid) || !r.U32(in.prevout.index)) return false;
  if (!r.Count(n_out, kMaxIoCount, kMinOutputSize)) return false;
  tx.outputs.resize(n_out);
  for (auto& o : tx.outputs) {
    std::uint64_t amount;
    if (!r.U64(amount)) return false;
    if (amount > static_cast<std::uint64_t>(INT64_MAX)) return r.Fail(DecodeError::kAmountOutOfRange);
    o.amount = Amount{static_cast<std::int64_t>(amount)};
    if (!DecodeCondition(r, o.condition)) return false;
  }
  if (!DecodeRecord(r, tx.record)) return false;
  const ByteSpan base = r.consumed_since(start);
  for (auto& in : tx.inputs)
    if (!DecodeSatisfaction(r, in.satisfaction)) return false;
  const ByteSpan full = r.consumed_since(start);
  if (full.size() > kMaxTxSize) return r.Fail(DecodeError::kObjectTooLarge);
  out.reset(new Transaction(std::move(tx), TxidHasher().Hash(base), WtxidHasher().Hash(full), full.size()));
  return true;
}

DecodeError DecodeTransaction(ByteSpan bytes, TransactionRef& out) {
  Reader r(bytes);
  DecodeTransaction(r, out) && r.ExpectEnd();
  return r.error();
}

}  // namespace wattline::consensus
