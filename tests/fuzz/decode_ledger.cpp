// The ledger's stored records, read back from a database that may be damaged: coins, undo
// data and block index entries. Decoding never crashes; what decodes re-encodes to the same
// bytes (one encoding per record), so a record read and rewritten is unchanged.
#include "fuzz_util.h"
#include "ledger/block_index.h"
#include "ledger/coins.h"
#include "ledger/undo.h"

using namespace wattline;
using namespace wattline::consensus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan in = fuzz::Input(data, size);
  {
    ledger::Coin coin;
    Reader r(in);
    if (ledger::DecodeCoin(r, coin) && r.ExpectEnd()) {
      FUZZ_CHECK(fuzz::SameBytes(ledger::EncodeCoin(coin), in));
    } else {
      FUZZ_CHECK(r.error() != DecodeError::kOk);
    }
  }
  {
    ledger::BlockUndo undo;
    const DecodeError e = ledger::DecodeUndo(in, undo);
    if (e == DecodeError::kOk) FUZZ_CHECK(fuzz::SameBytes(ledger::EncodeUndo(undo), in));
  }
  {
    ledger::BlockIndex index;
    if (ledger::DecodeBlockIndex(in, index)) FUZZ_CHECK(fuzz::SameBytes(ledger::EncodeBlockIndex(index), in));
  }
  return 0;
}
