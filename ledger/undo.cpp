#include "ledger/undo.h"

namespace wattline::ledger {

consensus::Bytes EncodeUndo(const BlockUndo& undo) {
  consensus::Bytes out;
  consensus::Writer w(out);
  w.VarInt(undo.spent.size());
  for (const auto& c : undo.spent) EncodeCoin(w, c);
  return out;
}

consensus::DecodeError DecodeUndo(consensus::ByteSpan bytes, BlockUndo& undo) {
  consensus::Reader r(bytes);
  std::size_t n = 0;
  undo.spent.clear();
  // A coin takes at least 1 + 8 + 33 bytes.
  if (r.Count(n, consensus::kMaxBlockSize, 42)) {
    undo.spent.resize(n);
    for (auto& c : undo.spent)
      if (!DecodeCoin(r, c)) break;
  }
  r.ExpectEnd();
  return r.error();
}

}  // namespace wattline::ledger
