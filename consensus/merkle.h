// The block merkle root (docs/encoding.md, "Merkle root").
//
// Leaves are the wtxids in block order. Each level pairs neighbours as
// TaggedHash("wattline/merkle", left || right); an odd last node is carried up unchanged.
// CVE-2012-2459: Bitcoin pairs an odd last node with itself, so [a, b, c] and [a, b, c, c]
// share a root and a block can be "mutated" by duplicating transactions without changing its
// hash. Carrying the odd node up gives different roots to lists of different lengths, and the
// tag keeps inner nodes from being confused with leaves (themselves tagged wtxids).
#pragma once

#include <vector>

#include "crypto/hash.h"

namespace wattline::consensus {

/** The root of the given leaves; the zero hash for no leaves. */
crypto::Hash256 ComputeMerkleRoot(std::vector<crypto::Hash256> leaves);

}  // namespace wattline::consensus
