// Transactions: UTXO inputs and outputs, a record slot, and one satisfaction per input.
//
// Encoding (docs/encoding.md, "Transactions"): the base part (version, inputs, outputs,
// record) followed by the witness part (one satisfaction per input). The transaction id
// covers the base part only, so that signatures never change it; the witness id covers both.
//
//   txid  = TaggedHash("wattline/txid",  base)
//   wtxid = TaggedHash("wattline/wtxid", base || witness)
//
// Transaction is immutable and hashes itself once, at construction; share it as TransactionRef.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "consensus/amount.h"
#include "consensus/condition.h"
#include "consensus/record.h"
#include "consensus/serialize.h"
#include "crypto/hash.h"

namespace wattline::consensus {

using crypto::Hash256;

inline constexpr std::uint32_t kTxVersion = 1;
/** A transaction's full encoding may not exceed this (a decode error past it). */
inline constexpr std::size_t kMaxTxSize = 100'000;

struct OutPoint {
  Hash256 txid;
  std::uint32_t index = 0;
  friend auto operator<=>(const OutPoint&, const OutPoint&) = default;
  friend bool operator==(const OutPoint&, const OutPoint&) = default;
};

struct TxIn {
  OutPoint prevout;
  Satisfaction satisfaction;
  friend bool operator==(const TxIn&, const TxIn&) = default;
};

struct TxOut {
  Amount amount;
  Condition condition;
  friend bool operator==(const TxOut&, const TxOut&) = default;
};

/** A transaction being built; freeze it into a Transaction to hash and share it. */
struct MutableTransaction {
  std::uint32_t version = kTxVersion;
  std::vector<TxIn> inputs;
  std::vector<TxOut> outputs;
  Record record;

  /** The id the frozen transaction will have (hashes the base encoding). */
  Hash256 ComputeTxid() const;
};

class Transaction {
 public:
  explicit Transaction(MutableTransaction tx);

  std::uint32_t version() const { return m_tx.version; }
  const std::vector<TxIn>& inputs() const { return m_tx.inputs; }
  const std::vector<TxOut>& outputs() const { return m_tx.outputs; }
  const Record& record() const { return m_tx.record; }
  const MutableTransaction& data() const { return m_tx; }

  const Hash256& txid() const { return m_txid; }
  const Hash256& wtxid() const { return m_wtxid; }
  /** Bytes of the full encoding. */
  std::size_t size() const { return m_size; }
  /** A coinbase has no inputs and a coinbase record (a readings transaction has no inputs either). */
  bool IsCoinbase() const { return m_tx.inputs.empty() && m_tx.record.kind == RecordKind::kCoinbase; }

 private:
  friend bool DecodeTransaction(Reader& r, std::shared_ptr<const Transaction>& out);
  Transaction(MutableTransaction tx, const Hash256& txid, const Hash256& wtxid, std::size_t size);

  MutableTransaction m_tx;
  Hash256 m_txid;
  Hash256 m_wtxid;
  std::size_t m_size = 0;
};

using TransactionRef = std::shared_ptr<const Transaction>;

inline TransactionRef MakeTransactionRef(MutableTransaction tx) {
  return std::make_shared<const Transaction>(std::move(tx));
}

/** Appends the base part only (what the txid covers). */
void EncodeTransactionBase(Writer& w, const MutableTransaction& tx);
/** Appends the full encoding. */
void EncodeTransaction(Writer& w, const MutableTransaction& tx);
Bytes EncodeTransaction(const Transaction& tx);

/** Decodes one transaction at the reader's position (computing its ids from the input bytes). */
bool DecodeTransaction(Reader& r, TransactionRef& out);
/** Decodes exactly one transaction filling all of bytes. */
DecodeError DecodeTransaction(ByteSpan bytes, TransactionRef& out);

}  // namespace wattline::consensus
