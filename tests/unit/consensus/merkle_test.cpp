#include "consensus/merkle.h"

#include <gtest/gtest.h>

#include "test_util.h"

using namespace wattline::consensus;
using namespace wattline::consensus::test;
namespace crypto = wattline::crypto;

namespace {

Hash256 Node(const Hash256& l, const Hash256& r) {
  Bytes b(l.bytes.begin(), l.bytes.end());
  b.insert(b.end(), r.bytes.begin(), r.bytes.end());
  return crypto::TaggedHash("wattline/merkle", b);
}

std::vector<Hash256> Leaves(int n) {
  std::vector<Hash256> v;
  for (int i = 0; i < n; ++i) v.push_back(Filled(static_cast<std::uint8_t>(i + 1)));
  return v;
}

}  // namespace

TEST(Merkle, SmallTreesByHand) {
  auto l = Leaves(7);
  EXPECT_EQ(ComputeMerkleRoot({}), Hash256{});
  EXPECT_EQ(ComputeMerkleRoot({l[0]}), l[0]);
  EXPECT_EQ(ComputeMerkleRoot({l[0], l[1]}), Node(l[0], l[1]));
  // Odd counts: the last node is carried up unchanged.
  EXPECT_EQ(ComputeMerkleRoot({l[0], l[1], l[2]}), Node(Node(l[0], l[1]), l[2]));
  EXPECT_EQ(ComputeMerkleRoot({l[0], l[1], l[2], l[3]}), Node(Node(l[0], l[1]), Node(l[2], l[3])));
  EXPECT_EQ(ComputeMerkleRoot({l[0], l[1], l[2], l[3], l[4]}),
            Node(Node(Node(l[0], l[1]), Node(l[2], l[3])), l[4]));
  EXPECT_EQ(ComputeMerkleRoot(std::vector<Hash256>(l.begin(), l.begin() + 7)),
            Node(Node(Node(l[0], l[1]), Node(l[2], l[3])), Node(Node(l[4], l[5]), l[6])));
}

// CVE-2012-2459: with Bitcoin's rule (pair an odd node with itself) [a, b, c] and [a, b, c, c]
// share a root. Here they do not, nor do [a..e] and [a..e, e], nor any list and its
// last-element-duplicated variant up to 64 leaves.
TEST(Merkle, DuplicatedTailChangesRoot) {
  auto l = Leaves(65);
  EXPECT_NE(ComputeMerkleRoot({l[0], l[1], l[2]}), ComputeMerkleRoot({l[0], l[1], l[2], l[2]}));
  for (int n = 1; n <= 64; ++n) {
    std::vector<Hash256> a(l.begin(), l.begin() + n);
    std::vector<Hash256> b = a;
    b.push_back(a.back());
    EXPECT_NE(ComputeMerkleRoot(a), ComputeMerkleRoot(b)) << n;
    // Duplicating the last pair (Bitcoin's other mutation) also changes it.
    if (n >= 2) {
      std::vector<Hash256> c = a;
      c.push_back(a[static_cast<std::size_t>(n - 2)]);
      c.push_back(a[static_cast<std::size_t>(n - 1)]);
      EXPECT_NE(ComputeMerkleRoot(a), ComputeMerkleRoot(c)) << n;
    }
  }
}

TEST(Merkle, OrderAndEveryLeafMatter) {
  auto l = Leaves(9);
  const Hash256 root = ComputeMerkleRoot(l);
  auto swapped = l;
  std::swap(swapped[3], swapped[4]);
  EXPECT_NE(ComputeMerkleRoot(swapped), root);
  for (std::size_t i = 0; i < l.size(); ++i) {
    auto changed = l;
    changed[i].bytes[0] ^= 1;
    EXPECT_NE(ComputeMerkleRoot(changed), root) << i;
  }
}

TEST(Merkle, BlockRootIsOverWtxids) {
  Block b = Regtest().genesis;
  EXPECT_EQ(BlockMerkleRoot(b), b.txs[0]->wtxid());
  EXPECT_EQ(b.header.merkle_root, b.txs[0]->wtxid());
}
