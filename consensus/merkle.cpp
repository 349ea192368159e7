#include "consensus/merkle.h"

namespace wattline::consensus {

crypto::Hash256 ComputeMerkleRoot(std::vector<crypto::Hash256> leaves) {
  static const crypto::TaggedHasher kNode("wattline/merkle");
  if (leaves.empty()) return {};
  while (leaves.size() > 1) {
    std::size_t out = 0;
    for (std::size_t i = 0; i + 1 < leaves.size(); i += 2)
      leaves[out++] = kNode.Start().Write(leaves[i].span()).Write(leaves[i + 1].span()).Finalize();
    if (leaves.size() % 2 == 1) leaves[out++] = leaves.back();  // carried up, never duplicated
    leaves.resize(out);
  }
  return leaves[0];
}

}  // namespace wattline::consensus
