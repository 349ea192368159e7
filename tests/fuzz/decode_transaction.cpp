// Transactions: decode -> encode -> decode round trip; the ids computed from the input bytes
// while decoding equal the ids of the same transaction built and hashed from its fields; the
// base encoding is a prefix of the full one.
#include "consensus/transaction.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

namespace {
bool SameTx(const TransactionRef& a, const TransactionRef& b) {
  const MutableTransaction& x = a->data();
  const MutableTransaction& y = b->data();
  return x.version == y.version && x.inputs == y.inputs && x.outputs == y.outputs && x.record == y.record &&
         a->txid() == b->txid() && a->wtxid() == b->wtxid() && a->size() == b->size();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan in = fuzz::Input(data, size);
  TransactionRef tx;
  const bool ok = fuzz::CheckRoundTrip(
      in, tx, [](ByteSpan b, TransactionRef& x) { return DecodeTransaction(b, x); },
      [](const TransactionRef& x) { return EncodeTransaction(*x); }, SameTx);
  TransactionRef scratch;
  fuzz::CheckStreamAgrees(in, ok ? DecodeError::kOk : DecodeTransaction(in, scratch), [](Reader& r) {
    TransactionRef x;
    return DecodeTransaction(r, x);
  });
  if (!ok) return 0;
  FUZZ_CHECK(tx->size() == size && size <= kMaxTxSize);
  // Hashed from the fields (the constructor) == hashed from the input bytes (the decoder).
  const TransactionRef rebuilt = MakeTransactionRef(tx->data());
  FUZZ_CHECK(SameTx(tx, rebuilt));
  FUZZ_CHECK(tx->data().ComputeTxid() == tx->txid());
  Bytes base;
  Writer w(base);
  EncodeTransactionBase(w, tx->data());
  FUZZ_CHECK(base.size() <= size && fuzz::SameBytes(base, in.first(base.size())));
  return 0;
}
