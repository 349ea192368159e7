#include "consensus/condition.h"

#include <bit>

namespace wattline::consensus {

Condition Condition::Key(const XOnlyPubKey& key) {
  Condition c;
  c.type = ConditionType::kKey;
  c.keys = {key};
  return c;
}

Condition Condition::Multisig(std::uint8_t m, std::vector<XOnlyPubKey> keys) {
  Condition c;
  c.type = ConditionType::kMultisig;
  c.threshold = m;
  c.keys = std::move(keys);
  return c;
}

Condition Condition::AfterHeight(std::uint32_t height, Condition inner) {
  Condition c;
  c.type = ConditionType::kAfterHeight;
  c.lock = height;
  c.branches.push_back(std::move(inner));
  return c;
}

Condition Condition::AfterBlocks(std::uint32_t blocks, Condition inner) {
  Condition c;
  c.type = ConditionType::kAfterBlocks;
  c.lock = blocks;
  c.branches.push_back(std::move(inner));
  return c;
}

Condition Condition::Or(Condition left, Condition right) {
  Condition c;
  c.type = ConditionType::kOr;
  c.branches.push_back(std::move(left));
  c.branches.push_back(std::move(right));
  return c;
}

Condition Condition::Channel(const XOnlyPubKey& a, const XOnlyPubKey& b, const XOnlyPubKey& u, std::uint32_t expiry,
                             std::uint32_t window) {
  Condition c;
  c.type = ConditionType::kChannel;
  c.keys = {a, b, u};
  c.lock = expiry;
  c.window = window;
  return c;
}

Condition Condition::ChannelClose(const Hash256& channel_txid, std::uint32_t channel_index, std::uint64_t state,
                                  std::uint32_t window) {
  Condition c;
  c.type = ConditionType::kChannelClose;
  c.channel_txid = channel_txid;
  c.channel_index = channel_index;
  c.state = state;
  c.window = window;
  return c;
}

Satisfaction Satisfaction::ChannelPath(std::uint8_t signers, std::vector<Signature> sigs) {
  Satisfaction s;
  s.type = SatisfactionType::kChannelPath;
  s.signers = signers;
  s.sigs = std::move(sigs);
  return s;
}

Satisfaction Satisfaction::Sig(const Signature& sig) {
  Satisfaction s;
  s.type = SatisfactionType::kSignature;
  s.sigs = {sig};
  return s;
}

Satisfaction Satisfaction::Multi(std::uint16_t signers, std::vector<Signature> sigs) {
  Satisfaction s;
  s.type = SatisfactionType::kMultisig;
  s.signers = signers;
  s.sigs = std::move(sigs);
  return s;
}

Satisfaction Satisfaction::Branch(std::uint8_t branch, Satisfaction inner) {
  Satisfaction s;
  s.type = SatisfactionType::kBranch;
  s.branch = branch;
  s.inner.push_back(std::move(inner));
  return s;
}

// --- Conditions -------------------------------------------------------------------------------

void EncodeCondition(Writer& w, const Condition& c) {
  w.U8(static_cast<std::uint8_t>(c.type));
  switch (c.type) {
    case ConditionType::kKey:
      w.Raw(c.keys.at(0).span());
      return;
    case ConditionType::kMultisig:
      w.U8(c.threshold);
      w.U8(static_cast<std::uint8_t>(c.keys.size()));
      for (const auto& k : c.keys) w.Raw(k.span());
      return;
    case ConditionType::kAfterHeight:
    case ConditionType::kAfterBlocks:
      w.U32(c.lock);
      EncodeCondition(w, c.branches.at(0));
      return;
    case ConditionType::kOr:
      EncodeCondition(w, c.branches.at(0));
      EncodeCondition(w, c.branches.at(1));
      return;
    case ConditionType::kChannel:
      for (std::size_t i = 0; i < 3; ++i) w.Raw(c.keys.at(i).span());
      w.U32(c.lock);
      w.U32(c.window);
      return;
    case ConditionType::kChannelClose:
      w.Hash(c.channel_txid);
      w.U32(c.channel_index);
      w.U64(c.state);
      w.U32(c.window);
      return;
  }
}

namespace {

bool DecodeConditionAt(Reader& r, Condition& c, int depth) {
  if (depth > kMaxConditionDepth) return r.Fail(DecodeError::kTooDeep);
  std::uint8_t tag;
  if (!r.U8(tag)) return false;
  c = Condition{};
  switch (tag) {
    case static_cast<std::uint8_t>(ConditionType::kKey): {
      c.type = ConditionType::kKey;
      c.keys.resize(1);
      return r.Raw(c.keys[0].bytes);
    }
    case static_cast<std::uint8_t>(ConditionType::kMultisig): {
      c.type = ConditionType::kMultisig;
      std::uint8_t n;
      if (!r.U8(c.threshold) || !r.U8(n)) return false;
      if (n > kMaxMultisigKeys) return r.Fail(DecodeError::kCountTooLarge);
      c.keys.resize(n);
      for (auto& k : c.keys)
        if (!r.Raw(k.bytes)) return false;
      return true;
    }
    case static_cast<std::uint8_t>(ConditionType::kAfterHeight):
    case static_cast<std::uint8_t>(ConditionType::kAfterBlocks): {
      c.type = static_cast<ConditionType>(tag);
      c.branches.resize(1);
      return r.U32(c.lock) && DecodeConditionAt(r, c.branches[0], depth + 1);
    }
    case static_cast<std::uint8_t>(ConditionType::kOr): {
      c.type = ConditionType::kOr;
      c.branches.resize(2);
      return DecodeConditionAt(r, c.branches[0], depth + 1) && DecodeConditionAt(r, c.branches[1], depth + 1);
    }
    case static_cast<std::uint8_t>(ConditionType::kChannel): {
      c.type = ConditionType::kChannel;
      c.keys.resize(3);
      for (auto& k : c.keys)
        if (!r.Raw(k.bytes)) return false;
      return r.U32(c.lock) && r.U32(c.window);
    }
    case static_cast<std::uint8_t>(ConditionType::kChannelClose): {
      c.type = ConditionType::kChannelClose;
      return r.Hash(c.channel_txid) && r.U32(c.channel_index) && r.U64(c.state) && r.U32(c.window);
    }
    default:
      return r.Fail(DecodeError::kUnknownConditionType);
  }
}

bool DecodeSatisfactionAt(Reader& r, Satisfaction& s, int depth) {
  if (depth > kMaxConditionDepth) return r.Fail(DecodeError::kTooDeep);
  std::uint8_t tag;
  if (!r.U8(tag)) return false;
  s = Satisfaction{};
  switch (tag) {
    case static_cast<std::uint8_t>(SatisfactionType::kSignature): {
      s.type = SatisfactionType::kSignature;
      s.sigs.resize(1);
      return r.Raw(s.sigs[0].bytes);
    }
    case static_cast<std::uint8_t>(SatisfactionType::kMultisig): {
      s.type = SatisfactionType::kMultisig;
      if (!r.U16(s.signers)) return false;
      if (s.signers == 0) return r.Fail(DecodeError::kEmptyMultisigSigners);
      s.sigs.resize(static_cast<std::size_t>(std::popcount(s.signers)));
      for (auto& sig : s.sigs)
        if (!r.Raw(sig.bytes)) return false;
      return true;
    }
    case static_cast<std::uint8_t>(SatisfactionType::kBranch): {
      s.type = SatisfactionType::kBranch;
      if (!r.U8(s.branch)) return false;
      if (s.branch > 1) return r.Fail(DecodeError::kBadBranch);
      s.inner.resize(1);
      return DecodeSatisfactionAt(r, s.inner[0], depth + 1);
    }
    case static_cast<std::uint8_t>(SatisfactionType::kChannelPath): {
      s.type = SatisfactionType::kChannelPath;
      std::uint8_t signers;
      if (!r.U8(signers)) return false;
      if (signers > 0b111) return r.Fail(DecodeError::kBadFieldValue);
      s.signers = signers;
      s.sigs.resize(static_cast<std::size_t>(std::popcount(s.signers)));
      for (auto& sig : s.sigs)
        if (!r.Raw(sig.bytes)) return false;
      return true;
    }
    default:
      return r.Fail(DecodeError::kUnknownSatisfactionType);
  }
}

}  // namespace

bool DecodeCondition(Reader& r, Condition& c) { return DecodeConditionAt(r, c, 1); }

void EncodeSatisfaction(Writer& w, const Satisfaction& s) {
  w.U8(static_cast<std::uint8_t>(s.type));
  switch (s.type) {
    case SatisfactionType::kSignature:
      w.Raw(s.sigs.at(0).span());
      return;
    case SatisfactionType::kMultisig:
      w.U16(s.signers);
      for (const auto& sig : s.sigs) w.Raw(sig.span());
      return;
    case SatisfactionType::kBranch:
      w.U8(s.branch);
      EncodeSatisfaction(w, s.inner.at(0));
      return;
    case SatisfactionType::kChannelPath:
      w.U8(static_cast<std::uint8_t>(s.signers));
      for (const auto& sig : s.sigs) w.Raw(sig.span());
      return;
  }
}

bool DecodeSatisfaction(Reader& r, Satisfaction& s) { return DecodeSatisfactionAt(r, s, 1); }

Bytes EncodeCondition(const Condition& c) {
  Bytes out;
  Writer w(out);
  EncodeCondition(w, c);
  return out;
}

DecodeError DecodeCondition(ByteSpan bytes, Condition& c) {
  Reader r(bytes);
  DecodeCondition(r, c) && r.ExpectEnd();
  return r.error();
}

Bytes EncodeSatisfaction(const Satisfaction& s) {
  Bytes out;
  Writer w(out);
  EncodeSatisfaction(w, s);
  return out;
}

DecodeError DecodeSatisfaction(ByteSpan bytes, Satisfaction& s) {
  Reader r(bytes);
  DecodeSatisfaction(r, s) && r.ExpectEnd();
  return r.error();
}

}  // namespace wattline::consensus
