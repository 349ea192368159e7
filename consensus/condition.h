// Spending conditions: the closed, typed set of locks on an output (no script interpreter),
// and the satisfactions that unlock them. Encodings: docs/encoding.md, "Conditions" and
// "Satisfactions".
//
//   Key(pk)                     one BIP340 signature by pk
//   Multisig(m, [pk1..pkn])     m distinct signatures out of n keys, 1 <= m <= n <= 16
//   AfterHeight(h, inner)       inner, spent in a block of height >= h (absolute lock)
//   AfterBlocks(k, inner)       inner, spent >= k blocks after the spent output confirmed
//   Or(left, right)             either branch
//   Channel(A, B, U, T, w)      a channel's funding output (consensus/market.h); spendable only
//                               by the settlement paths (docs/channels.md)
//   ChannelClose(channel, n, w) a channel's closing output: state n posted, contested for w
//                               blocks; created only by a post, spent by a later post or settle
//
// The settlement paths are not accepted by validation in this version: a Channel or
// ChannelClose output cannot be spent yet, and no transaction may create a ChannelClose output.
//
// so "2-of-3 now, or A after height T" is Or(Multisig(2, [A, B, U]), AfterHeight(T, Key(A))).
// A satisfaction mirrors the condition: a signature for Key, a signer bitmap plus signatures
// for Multisig, a branch selector plus the branch's satisfaction for Or; locks add nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "consensus/serialize.h"
#include "crypto/hash.h"
#include "crypto/schnorr.h"

namespace wattline::consensus {

using crypto::Hash256;
using crypto::Signature;
using crypto::XOnlyPubKey;

/** Nesting limit for conditions and satisfactions (the root is depth 1). */
inline constexpr int kMaxConditionDepth = 4;
inline constexpr std::size_t kMaxMultisigKeys = 16;

/** Tags on the wire; never renumbered. */
enum class ConditionType : std::uint8_t {
  kKey = 1,
  kMultisig = 2,
  kAfterHeight = 3,
  kAfterBlocks = 4,
  kOr = 5,
  kChannel = 6,
  kChannelClose = 7,
};

struct Condition {
  ConditionType type = ConditionType::kKey;
  std::vector<XOnlyPubKey> keys;    //!< kKey: exactly one; kMultisig: n; kChannel: [A, B, U]
  std::uint8_t threshold = 0;       //!< kMultisig: m
  std::uint32_t lock = 0;           //!< kAfterHeight: height; kAfterBlocks: blocks; kChannel: expiry T
  std::uint32_t window = 0;         //!< kChannel, kChannelClose: contest window in blocks
  Hash256 channel_txid{};           //!< kChannelClose: the channel (its funding outpoint)
  std::uint32_t channel_index = 0;
  std::uint64_t state = 0;          //!< kChannelClose: the posted state number n
  std::vector<Condition> branches;  //!< kAfterHeight/kAfterBlocks: [inner]; kOr: [left, right]

  static Condition Key(const XOnlyPubKey& key);
  static Condition Multisig(std::uint8_t m, std::vector<XOnlyPubKey> keys);
  static Condition AfterHeight(std::uint32_t height, Condition inner);
  static Condition AfterBlocks(std::uint32_t blocks, Condition inner);
  static Condition Or(Condition left, Condition right);
  static Condition Channel(const XOnlyPubKey& a, const XOnlyPubKey& b, const XOnlyPubKey& u, std::uint32_t expiry,
                           std::uint32_t window);
  static Condition ChannelClose(const Hash256& channel_txid, std::uint32_t channel_index, std::uint64_t state,
                                std::uint32_t window);

  friend bool operator==(const Condition&, const Condition&) = default;
};

enum class SatisfactionType : std::uint8_t {
  kSignature = 1,
  kMultisig = 2,
  kBranch = 3,
  kChannelPath = 4,  //!< a settlement path's signatures: signer bitmap over [A, B, U] (may be empty)
};

struct Satisfaction {
  SatisfactionType type = SatisfactionType::kSignature;
  std::vector<Signature> sigs;     //!< kSignature: one; kMultisig: one per set bit, in key order
  std::uint16_t signers = 0;       //!< kMultisig, kChannelPath: bit i set = key i signed
  std::uint8_t branch = 0;         //!< kBranch: 0 = left, 1 = right
  std::vector<Satisfaction> inner; //!< kBranch: [the branch's satisfaction]

  static Satisfaction Sig(const Signature& sig);
  static Satisfaction Multi(std::uint16_t signers, std::vector<Signature> sigs);
  static Satisfaction Branch(std::uint8_t branch, Satisfaction inner);
  static Satisfaction ChannelPath(std::uint8_t signers, std::vector<Signature> sigs);

  friend bool operator==(const Satisfaction&, const Satisfaction&) = default;
};

void EncodeCondition(Writer& w, const Condition& c);
bool DecodeCondition(Reader& r, Condition& c);
void EncodeSatisfaction(Writer& w, const Satisfaction& s);
bool DecodeSatisfaction(Reader& r, Satisfaction& s);

Bytes EncodeCondition(const Condition& c);
/** Decodes exactly one condition filling all of bytes. */
DecodeError DecodeCondition(ByteSpan bytes, Condition& c);
Bytes EncodeSatisfaction(const Satisfaction& s);
DecodeError DecodeSatisfaction(ByteSpan bytes, Satisfaction& s);

}  // namespace wattline::consensus
