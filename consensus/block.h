// Block headers and blocks (docs/encoding.md, "Blocks").
//
// The header is a fixed 88 bytes: version u32, previous block hash, merkle root, time u64
// (seconds since the Unix epoch), bits u32 (compact target), nonce u64. The block hash is
// SHA256(SHA256(header)); read as a 256-bit big-endian number it must not exceed the target.
// A block is its header, a varint count and that many transactions (full encoding).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "consensus/transaction.h"

namespace wattline::consensus {

inline constexpr std::size_t kHeaderSize = 88;
/** A block's full encoding may not exceed this (a decode error past it). */
inline constexpr std::size_t kMaxBlockSize = 1'000'000;
inline constexpr std::uint32_t kBlockVersion = 1;

struct BlockHeader {
  std::uint32_t version = kBlockVersion;
  Hash256 prev_hash;
  Hash256 merkle_root;
  std::uint64_t time = 0;
  std::uint32_t bits = 0;
  std::uint64_t nonce = 0;

  Hash256 Hash() const;
  std::array<std::uint8_t, kHeaderSize> Encode() const;
  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

struct Block {
  BlockHeader header;
  std::vector<TransactionRef> txs;

  Hash256 Hash() const { return header.Hash(); }
};

void EncodeHeader(Writer& w, const BlockHeader& h);
bool DecodeHeader(Reader& r, BlockHeader& h);
DecodeError DecodeHeader(ByteSpan bytes, BlockHeader& h);

void EncodeBlock(Writer& w, const Block& b);
Bytes EncodeBlock(const Block& b);
/** Decodes exactly one block filling all of bytes (at most kMaxBlockSize of them). */
DecodeError DecodeBlock(ByteSpan bytes, Block& b);

/** The merkle root over the block's wtxids (consensus/merkle.h). */
Hash256 BlockMerkleRoot(const Block& b);

}  // namespace wattline::consensus
