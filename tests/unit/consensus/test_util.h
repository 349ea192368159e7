// Helpers shared by the consensus unit tests: fixed keys, signing, coinbases, mined regtest
// blocks and a printed, replayable seed for randomised tests.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "consensus/block.h"
#include "consensus/merkle.h"
#include "consensus/params.h"
#include "consensus/pow.h"
#include "consensus/transaction.h"
#include "consensus/tx_verify.h"
#include "crypto/hash.h"
#include "crypto/hex.h"
#include "crypto/schnorr.h"

namespace wattline::consensus::test {

/** The secret key whose 32 bytes are 00..00 i (i > 0). */
inline crypto::SecretKey TestKey(std::uint8_t i) {
  std::array<std::uint8_t, 32> b{};
  b[31] = i;
  return *crypto::SecretKey::FromBytes(b);
}
inline XOnlyPubKey TestPub(std::uint8_t i) { return TestKey(i).PubKey(); }

inline const Params& Regtest() { return GetParams(Network::kRegtest); }

/** A hash whose every byte is fill. */
inline Hash256 Filled(std::uint8_t fill) {
  Hash256 h;
  h.bytes.fill(fill);
  return h;
}

inline Bytes FromHex(std::string_view hex) { return *crypto::HexDecode(hex); }
inline std::string ToHex(ByteSpan b) { return crypto::HexEncode(b); }

/** A BIP340 signature with all-zero aux randomness (deterministic). */
inline Signature SignWith(std::uint8_t key, const Hash256& msg) { return TestKey(key).Sign(msg, Hash256{}); }

/** The message input `index` of tx signs when spending `spent` on regtest. */
inline Hash256 Sighash(const MutableTransaction& tx, std::uint32_t index, const TxOut& spent,
                       const Params& params = Regtest()) {
  return SignatureHash(params, tx.ComputeTxid(), index, spent);
}

inline MutableTransaction MakeCoinbase(std::uint32_t height, Amount amount, const Condition& cond) {
  MutableTransaction tx;
  tx.record = Record::Coinbase(height);
  tx.outputs.push_back({amount, cond});
  return tx;
}

/** A one-input spend of prevout paying `amount` to key 9; the satisfaction is left for the caller. */
inline MutableTransaction MakeSpend(const OutPoint& prevout, Amount amount, const Condition& to = Condition::Key(TestPub(9))) {
  MutableTransaction tx;
  tx.inputs.push_back({prevout, Satisfaction::Sig(Signature{})});
  tx.outputs.push_back({amount, to});
  return tx;
}

/** Sets the nonce so that the header meets its own bits (bits must be valid). */
inline void Mine(BlockHeader& h) {
  auto target = CompactToTarget(h.bits);
  ASSERT_TRUE(target);
  while (HashToNumber(h.Hash()) > *target) ++h.nonce;
}

/** Sets a nonce for which the header does NOT meet its bits. */
inline void MineFailing(BlockHeader& h) {
  auto target = CompactToTarget(h.bits);
  ASSERT_TRUE(target);
  while (HashToNumber(h.Hash()) <= *target) ++h.nonce;
}

/** A regtest block over txs, on top of genesis, with its merkle root set and mined. */
inline Block MakeBlock(std::vector<TransactionRef> txs, const Params& params = Regtest()) {
  Block b;
  b.txs = std::move(txs);
  b.header.prev_hash = params.genesis_hash;
  b.header.time = params.genesis.header.time + 1;
  b.header.bits = params.genesis.header.bits;
  b.header.merkle_root = BlockMerkleRoot(b);
  Mine(b.header);
  return b;
}

/** The seed for randomised tests: WATTLINE_TEST_SEED if set, otherwise from the clock; printed. */
inline std::uint64_t TestSeed() {
  std::uint64_t seed;
  if (const char* env = std::getenv("WATTLINE_TEST_SEED")) {
    seed = std::strtoull(env, nullptr, 0);
  } else {
    seed = std::random_device{}();
    seed = (seed << 32) ^ std::random_device{}();
  }
  std::printf("random seed: %llu (replay with WATTLINE_TEST_SEED=%llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

}  // namespace wattline::consensus::test
