#include "consensus/block.h"

#include "consensus/merkle.h"

namespace wattline::consensus {

void EncodeHeader(Writer& w, const BlockHeader& h) {
  w.U32(h.version);
  w.Hash(h.prev_hash);
  w.Hash(h.merkle_root);
  w.U64(h.time);
  w.U32(h.bits);
  w.U64(h.nonce);
}

std::array<std::uint8_t, kHeaderSize> BlockHeader::Encode() const {
  Bytes out;
  out.reserve(kHeaderSize);
  Writer w(out);
  EncodeHeader(w, *this);
  std::array<std::uint8_t, kHeaderSize> a;
  std::copy(out.begin(), out.end(), a.begin());
  return a;
}

Hash256 BlockHeader::Hash() const {
  auto bytes = Encode();
  return crypto::Sha256d(bytes);
}

bool DecodeHeader(Reader& r, BlockHeader& h) {
  return r.U32(h.version) && r.Hash(h.prev_hash) && r.Hash(h.merkle_root) && r.U64(h.time) && r.U32(h.bits) &&
         r.U64(h.nonce);
}

DecodeError DecodeHeader(ByteSpan bytes, BlockHeader& h) {
  Reader r(bytes);
  DecodeHeader(r, h) && r.ExpectEnd();
  return r.error();
}

void EncodeBlock(Writer& w, const Block& b) {
  EncodeHeader(w, b.header);
  w.VarInt(b.txs.size());
  for (const auto& tx : b.txs) EncodeTransaction(w, tx->data());
}

Bytes EncodeBlock(const Block& b) {
  Bytes out;
  Writer w(out);
  EncodeBlock(w, b);
  return out;
}

DecodeError DecodeBlock(ByteSpan bytes, Block& b) {
  if (bytes.size() > kMaxBlockSize) return DecodeError::kObjectTooLarge;
  Reader r(bytes);
  b = Block{};
  std::size_t n = 0;
  // The smallest encodable transaction (version, 0 inputs, 0 outputs, no record) is 7 bytes.
  // The bound must hold for everything EncodeBlock writes, valid or not, or a block whose
  // transactions are merely invalid would fail to decode as "count-too-large".
  if (DecodeHeader(r, b.header) && r.Count(n, kMaxBlockSize, 7)) {
    b.txs.resize(n);
    for (auto& tx : b.txs)
      if (!DecodeTransaction(r, tx)) break;
  }
  r.ExpectEnd();
  if (!r.ok()) b.txs.clear();
  return r.error();
}

Hash256 BlockMerkleRoot(const Block& b) {
  std::vector<Hash256> leaves;
  leaves.reserve(b.txs.size());
  for (const auto& tx : b.txs) leaves.push_back(tx->wtxid());
  return ComputeMerkleRoot(std::move(leaves));
}

}  // namespace wattline::consensus
