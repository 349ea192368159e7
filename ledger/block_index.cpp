#include "ledger/block_index.h"

namespace wattline::ledger {

const BlockIndex* BlockIndex::Ancestor(std::uint32_t h) const {
  if (h > height) return nullptr;
  const BlockIndex* p = this;
  while (p && p->height > h) p = p->prev;
  return p;
}

consensus::Bytes EncodeBlockIndex(const BlockIndex& index) {
  consensus::Bytes out;
  consensus::Writer w(out);
  consensus::EncodeHeader(w, index.header);
  w.U32(index.height);
  w.U32(index.status);
  w.U32(index.tx_count);
  w.U64(index.sequence);
  return out;
}

bool DecodeBlockIndex(consensus::ByteSpan bytes, BlockIndex& index) {
  consensus::Reader r(bytes);
  return consensus::DecodeHeader(r, index.header) && r.U32(index.height) && r.U32(index.status) &&
         r.U32(index.tx_count) && r.U64(index.sequence) && r.ExpectEnd();
}

const BlockIndex* FindFork(const BlockIndex* a, const BlockIndex* b) {
  while (a && b && a != b) {
    if (a->height > b->height) {
      a = a->prev;
    } else if (b->height > a->height) {
      b = b->prev;
    } else {
      a = a->prev;
      b = b->prev;
    }
  }
  return a == b ? a : nullptr;
}

}  // namespace wattline::ledger
