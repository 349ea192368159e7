#include "consensus/tx_verify.h"

#include <bit>

namespace wattline::consensus {

Hash256 SignatureHash(const Params& params, const Hash256& txid, std::uint32_t index, const TxOut& spent) {
  static const crypto::TaggedHasher kSighash("wattline/sighash");
  Bytes buf;
  buf.reserve(4 + 32 + 4 + 8 + 40);
  Writer w(buf);
  w.Raw(params.magic);
  w.Hash(txid);
  w.U32(index);
  w.U64(static_cast<std::uint64_t>(spent.amount.units));
  EncodeCondition(w, spent.condition);
  return kSighash.Hash(buf);
}

namespace {

struct SpendContext {
  bool settlement;  //!< the transaction carries a channel settlement record
  std::uint32_t spend_height;
  std::uint32_t coin_height;
  const Hash256& sighash;
  std::vector<SigCheck>& checks;
};

// Walks the condition along the satisfaction, checking locks and collecting signatures.
bool Satisfy(const Condition& c, const Satisfaction& s, const SpendContext& ctx, ValidationState& state) {
  switch (c.type) {
    case ConditionType::kKey:
      if (s.type != SatisfactionType::kSignature || s.sigs.size() != 1)
        return state.Invalid(Reason::kTxSatisfactionMismatch, "key condition needs a signature");
      ctx.checks.push_back({c.keys[0], ctx.sighash, s.sigs[0]});
      return true;
    case ConditionType::kMultisig: {
      if (s.type != SatisfactionType::kMultisig)
        return state.Invalid(Reason::kTxSatisfactionMismatch, "multisig condition needs a multisig satisfaction");
      const std::size_t n = c.keys.size();
      if (n < 16 && (s.signers >> n) != 0)
        return state.Invalid(Reason::kTxMultisigSigners, "signer index beyond the key count");
      if (static_cast<std::size_t>(std::popcount(s.signers)) != c.threshold)
        return state.Invalid(Reason::kTxMultisigSigners,
                             "needs exactly " + std::to_string(c.threshold) + " signatures");
      // Decoded satisfactions carry one signature per signer bit; one built in memory may not.
      if (s.sigs.size() != c.threshold)
        return state.Invalid(Reason::kTxSatisfactionMismatch, "signature count does not match the signers");
      std::size_t next_sig = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (s.signers & (1u << i)) ctx.checks.push_back({c.keys[i], ctx.sighash, s.sigs[next_sig++]});
      return true;
    }
    case ConditionType::kAfterHeight:
      if (ctx.spend_height < c.lock)
        return state.Invalid(Reason::kTxHeightLocked, "spendable from height " + std::to_string(c.lock));
      return Satisfy(c.branches[0], s, ctx, state);
    case ConditionType::kAfterBlocks:
      if (ctx.spend_height - ctx.coin_height < c.lock)
        return state.Invalid(Reason::kTxRelativeLocked,
                             "spendable " + std::to_string(c.lock) + " blocks after height " +
                                 std::to_string(ctx.coin_height));
      return Satisfy(c.branches[0], s, ctx, state);
    case ConditionType::kChannel:
    case ConditionType::kChannelClose:
      // The settlement record decides the path; its market rule (ApplyMarketRecord) checks
      // that this is the channel's current output, the path's locks, and queues the signers'
      // signatures against the same sighash.
      if (!ctx.settlement)
        return state.Invalid(Reason::kTxChannelPath, "a channel output is spent only by a channel settlement record");
      if (s.type != SatisfactionType::kChannelPath)
        return state.Invalid(Reason::kTxSatisfactionMismatch, "a channel output needs a channel path satisfaction");
      return true;
    case ConditionType::kOr:
      // The decoder guarantees branch <= 1 and one inner satisfaction; in memory, check.
      if (s.type != SatisfactionType::kBranch || s.branch > 1 || s.inner.size() != 1)
        return state.Invalid(Reason::kTxSatisfactionMismatch, "or condition needs a branch selector");
      return Satisfy(c.branches[s.branch], s.inner[0], ctx, state);
  }
  return state.Invalid(Reason::kTxSatisfactionMismatch);
}

}  // namespace

bool CheckTxInputs(const Transaction& tx, std::span<const Coin* const> coins, std::uint32_t spend_height,
                   const Params& params, Amount& fee, ValidationState& state, std::vector<SigCheck>* sink,
                   Amount minted, Amount pooled, crypto::SigCache* cache) {
  Amount in_total{0};
  std::vector<SigCheck> local;
  std::vector<SigCheck>& checks = sink ? *sink : local;
  const std::size_t first_check = checks.size();
  // On any failure, leave the caller's sink as it was.
  struct Rollback {
    std::vector<SigCheck>& checks;
    std::size_t size;
    bool armed = true;
    ~Rollback() {
      if (armed) checks.resize(size);
    }
  } rollback{checks, first_check};
  for (std::size_t i = 0; i < tx.inputs().size(); ++i) {
    const Coin* coin = i < coins.size() ? coins[i] : nullptr;
    if (coin == nullptr) return state.Invalid(Reason::kTxMissingInputs, "input " + std::to_string(i));
    if (coin->coinbase && spend_height - coin->height < params.coinbase_maturity)
      return state.Invalid(Reason::kTxPrematureCoinbaseSpend,
                           "coinbase of height " + std::to_string(coin->height) + " spent at " +
                               std::to_string(spend_height));
    auto sum = CheckedAdd(in_total, coin->out.amount);
    if (!sum) return state.Invalid(Reason::kTxInputValuesOutOfRange);
    in_total = *sum;
    const Hash256 sighash = SignatureHash(params, tx.txid(), static_cast<std::uint32_t>(i), coin->out);
    SpendContext ctx{tx.record().kind == RecordKind::kChannelSettlement, spend_height, coin->height, sighash, checks};
    if (!Satisfy(coin->out.condition, tx.inputs()[i].satisfaction, ctx, state)) {
      state.Invalid(state.reason(), "input " + std::to_string(i) + (state.detail().empty() ? "" : ": ") +
                                        state.detail());
      return false;
    }
  }
  if (minted.units != 0) {
    auto sum = CheckedAdd(in_total, minted);
    if (!sum) return state.Invalid(Reason::kTxInputValuesOutOfRange, "inputs and minted coins");
    in_total = *sum;
  }
  if (pooled.units != 0) {
    auto rest = CheckedSub(in_total, pooled);
    if (!rest) return state.Invalid(Reason::kTxInputValuesOutOfRange, "coins moved to the pool above the inputs");
    in_total = *rest;
  }
  Amount out_total{0};
  for (const auto& out : tx.outputs()) {
    auto sum = CheckedAdd(out_total, out.amount);
    if (!sum) return state.Invalid(Reason::kTxOutputTotalTooLarge);
    out_total = *sum;
  }
  auto diff = CheckedSub(in_total, out_total);
  if (!diff) return state.Invalid(Reason::kTxInBelowOut);
  if (sink == nullptr) {
    for (const auto& c : local)
      if (!c.Verify(cache, crypto::SigCache::Mode::kRemember)) return state.Invalid(Reason::kTxBadSignature);
  }
  fee = *diff;
  rollback.armed = false;
  return true;
}

}  // namespace wattline::consensus
