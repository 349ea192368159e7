// Blocks: decode -> encode -> decode round trip; a failed decode leaves no transactions.
#include "consensus/block.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

namespace {
bool SameBlock(const Block& a, const Block& b) {
  if (!(a.header == b.header) || a.txs.size() != b.txs.size()) return false;
  for (std::size_t i = 0; i < a.txs.size(); ++i) {
    const MutableTransaction& x = a.txs[i]->data();
    const MutableTransaction& y = b.txs[i]->data();
    if (!(x.version == y.version && x.inputs == y.inputs && x.outputs == y.outputs && x.record == y.record &&
          a.txs[i]->wtxid() == b.txs[i]->wtxid()))
      return false;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan in = fuzz::Input(data, size);
  Block b;
  const bool ok = fuzz::CheckRoundTrip(
      in, b, [](ByteSpan bytes, Block& x) { return DecodeBlock(bytes, x); },
      [](const Block& x) { return EncodeBlock(x); }, SameBlock);
  if (!ok) {
    FUZZ_CHECK(b.txs.empty());
    return 0;
  }
  FUZZ_CHECK(size <= kMaxBlockSize);
  std::size_t total = kHeaderSize;
  for (const auto& tx : b.txs) {
    FUZZ_CHECK(tx != nullptr);
    total += tx->size();
  }
  FUZZ_CHECK(total < size && size - total <= 9);  // header + count varint + transactions
  (void)BlockMerkleRoot(b);
  return 0;
}
