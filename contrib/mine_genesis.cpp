// Finds the nonce of each network's genesis block (consensus/params.cpp, kGenesisNonces).
// Run after changing a genesis field: prints the nonces to paste back and the hashes.
#include <cstdio>

#include "consensus/params.h"

using namespace wattline::consensus;

int main() {
  for (Network net : {Network::kMain, Network::kTestnet, Network::kDevnet, Network::kRegtest}) {
    Block genesis = GetParams(net).genesis;
    const Params& params = GetParams(net);
    auto target = CompactToTarget(genesis.header.bits);
    if (!target || *target > params.pow_limit) {
      std::printf("%s: genesis bits invalid\n", params.name.c_str());
      return 1;
    }
    for (genesis.header.nonce = 0;; ++genesis.header.nonce)
      if (HashToNumber(genesis.header.Hash()) <= *target) break;
    std::printf("%-8s nonce %llu hash %s\n", params.name.c_str(),
                static_cast<unsigned long long>(genesis.header.nonce), genesis.header.Hash().ToHex().c_str());
  }
  return 0;
}
