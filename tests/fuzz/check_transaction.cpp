// Transaction validation: the parts agree.
//
// Input: one transaction (canonical encoding) followed by bytes that choose the context: the
// network, the spend height, and for each input a coin (or none), whose condition is usually
// shaped to fit the input's satisfaction with keys from a fixed pool, and, when the fuzzer asks,
// the satisfactions re-signed with the pool's secret keys (this leaves the txid unchanged).
//
// Checked: CheckTransaction says why when it rejects; CheckTxInputs gives the same verdict,
// reason and fee whether it runs the signature checks itself or hands them to a sink (then run
// here); a rejecting run leaves the sink as it was; the fee is total in - total out, so never
// above the inputs.
#include <bit>
#include <fuzzer/FuzzedDataProvider.h>

#include "consensus/tx_check.h"
#include "consensus/tx_verify.h"
#include "fuzz_util.h"

using namespace wattline;
using namespace wattline::consensus;

namespace {

constexpr int kPoolSize = 16;

struct KeyPool {
  std::vector<crypto::SecretKey> secrets;
  std::vector<XOnlyPubKey> pubs;
  KeyPool() {
    for (int i = 1; i <= kPoolSize; ++i) {
      std::array<std::uint8_t, 32> b{};
      b[31] = static_cast<std::uint8_t>(i);
      secrets.push_back(*crypto::SecretKey::FromBytes(b));
      pubs.push_back(secrets.back().PubKey());
    }
  }
  int Find(const XOnlyPubKey& k) const {
    for (int i = 0; i < kPoolSize; ++i)
      if (pubs[static_cast<std::size_t>(i)] == k) return i;
    return -1;
  }
};

const KeyPool& Pool() {
  static const KeyPool pool;
  return pool;
}

XOnlyPubKey PoolKey(FuzzedDataProvider& fdp) {
  return Pool().pubs[fdp.ConsumeIntegralInRange<std::size_t>(0, kPoolSize - 1)];
}

// A condition the satisfaction fits, sometimes behind a lock.
Condition Shaped(const Satisfaction& s, FuzzedDataProvider& fdp) {
  Condition c;
  switch (s.type) {
    case SatisfactionType::kSignature:
      c = Condition::Key(PoolKey(fdp));
      break;
    case SatisfactionType::kMultisig: {
      const std::size_t highest = 16 - static_cast<std::size_t>(std::countl_zero(s.signers));
      const std::size_t n = fdp.ConsumeIntegralInRange<std::size_t>(highest, kPoolSize);
      const std::size_t first = fdp.ConsumeIntegralInRange<std::size_t>(0, kPoolSize - 1);
      std::vector<XOnlyPubKey> keys;
      for (std::size_t j = 0; j < n; ++j) keys.push_back(Pool().pubs[(first + j) % kPoolSize]);
      const auto m = fdp.ConsumeBool() ? static_cast<std::uint8_t>(std::popcount(s.signers))
                                       : fdp.ConsumeIntegralInRange<std::uint8_t>(1, static_cast<std::uint8_t>(n));
      c = Condition::Multisig(m, std::move(keys));
      break;
    }
    case SatisfactionType::kBranch: {
      Condition taken = Shaped(s.inner[0], fdp);
      Condition other = Condition::Key(PoolKey(fdp));
      c = s.branch == 0 ? Condition::Or(std::move(taken), std::move(other))
                        : Condition::Or(std::move(other), std::move(taken));
      break;
    }
    case SatisfactionType::kChannelPath:
      // The condition it is made for; no path spends it in this version.
      return Condition::Channel(Pool().pubs[0], Pool().pubs[1], Pool().pubs[2], 100, 6);
  }
  switch (fdp.ConsumeIntegralInRange<int>(0, 5)) {
    case 0: return Condition::AfterHeight(fdp.ConsumeIntegralInRange<std::uint32_t>(0, 1000), std::move(c));
    case 1: return Condition::AfterBlocks(fdp.ConsumeIntegralInRange<std::uint32_t>(0, 1000), std::move(c));
    default: return c;
  }
}

// A condition an unspent output could hold: decodable and passing CheckCondition.
Condition CoinCondition(const Satisfaction& s, FuzzedDataProvider& fdp) {
  Condition c;
  if (fdp.ConsumeIntegralInRange<int>(0, 3) != 0) {
    c = Shaped(s, fdp);
  } else {
    const Bytes raw = fdp.ConsumeBytes<std::uint8_t>(fdp.ConsumeIntegralInRange<std::size_t>(0, 160));
    if (DecodeCondition(raw, c) != DecodeError::kOk) c = Condition::Key(PoolKey(fdp));
  }
  Condition again;
  std::string why;
  if (DecodeCondition(EncodeCondition(c), again) != DecodeError::kOk || !CheckCondition(c, why))
    c = Condition::Key(PoolKey(fdp));
  return c;
}

// Replaces the signatures the spending rules will check with the pool's signatures.
void Sign(const Condition& c, Satisfaction& s, const Hash256& sighash) {
  const crypto::Hash256 aux{};
  switch (c.type) {
    case ConditionType::kKey:
      if (s.type == SatisfactionType::kSignature)
        if (int k = Pool().Find(c.keys[0]); k >= 0) s.sigs[0] = Pool().secrets[static_cast<std::size_t>(k)].Sign(sighash, aux);
      return;
    case ConditionType::kMultisig: {
      if (s.type != SatisfactionType::kMultisig) return;
      std::size_t next = 0;
      for (std::size_t i = 0; i < c.keys.size() && i < 16 && next < s.sigs.size(); ++i) {
        if (!(s.signers & (1u << i))) continue;
        if (int k = Pool().Find(c.keys[i]); k >= 0)
          s.sigs[next] = Pool().secrets[static_cast<std::size_t>(k)].Sign(sighash, aux);
        ++next;
      }
      return;
    }
    case ConditionType::kAfterHeight:
    case ConditionType::kAfterBlocks:
      Sign(c.branches[0], s, sighash);
      return;
    case ConditionType::kOr:
      if (s.type == SatisfactionType::kBranch) Sign(c.branches[s.branch], s.inner[0], sighash);
      return;
    case ConditionType::kChannel:
    case ConditionType::kChannelClose:
      return;  // no settlement path is spendable in this version: nothing to sign
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader r(fuzz::Input(data, size));
  TransactionRef tx;
  if (!DecodeTransaction(r, tx)) return 0;
  FuzzedDataProvider fdp(data + r.offset(), size - r.offset());

  ValidationState state;
  const bool ok = CheckTransaction(*tx, state);
  FUZZ_CHECK(ok == state.IsValid());
  if (!ok) {
    FUZZ_CHECK(!ReasonCode(state.reason()).empty());
    return 0;  // CheckTxInputs requires a transaction that passed CheckTransaction
  }

  const Params& params = GetParams(static_cast<Network>(fdp.ConsumeIntegralInRange<int>(0, 3)));
  const auto spend_height = fdp.ConsumeIntegralInRange<std::uint32_t>(0, 2000);
  std::vector<Coin> coins(tx->inputs().size());
  std::vector<const Coin*> coin_ptrs;
  Amount total_in{0};
  for (std::size_t i = 0; i < coins.size(); ++i) {
    Coin& coin = coins[i];
    const bool missing = fdp.ConsumeIntegralInRange<int>(0, 31) == 0;
    coin.height = fdp.ConsumeIntegralInRange<std::uint32_t>(0, spend_height);
    coin.coinbase = fdp.ConsumeIntegralInRange<int>(0, 7) == 0;
    coin.out.amount = Amount{fdp.ConsumeIntegralInRange<std::int64_t>(0, kMaxMoney.units)};
    coin.out.condition = CoinCondition(tx->inputs()[i].satisfaction, fdp);
    coin_ptrs.push_back(missing ? nullptr : &coin);
    if (!missing) total_in.units += coin.out.amount.units;  // may pass kMaxMoney: checked below
  }

  if (fdp.ConsumeBool()) {
    MutableTransaction m = tx->data();
    for (std::size_t i = 0; i < coins.size(); ++i)
      Sign(coins[i].out.condition, m.inputs[i].satisfaction,
           SignatureHash(params, tx->txid(), static_cast<std::uint32_t>(i), coins[i].out));
    TransactionRef signed_tx = MakeTransactionRef(std::move(m));
    FUZZ_CHECK(signed_tx->txid() == tx->txid());  // signatures never change the id
    tx = signed_tx;
    ValidationState again;
    FUZZ_CHECK(CheckTransaction(*tx, again));
  }

  Amount fee_inline{-1};
  ValidationState inline_state;
  const bool inline_ok =
      CheckTxInputs(*tx, coin_ptrs, spend_height, params, fee_inline, inline_state);
  FUZZ_CHECK(inline_ok == inline_state.IsValid());

  std::vector<SigCheck> sink(1);  // a check queued before: must survive a rejection untouched
  Amount fee_sink{-1};
  ValidationState sink_state;
  const bool sink_ok = CheckTxInputs(*tx, coin_ptrs, spend_height, params, fee_sink, sink_state, &sink);
  FUZZ_CHECK(sink_ok == sink_state.IsValid());

  if (!sink_ok) {
    FUZZ_CHECK(sink.size() == 1);
    FUZZ_CHECK(!inline_ok);
    FUZZ_CHECK(inline_state.reason() == sink_state.reason());
    FUZZ_CHECK(inline_state.detail() == sink_state.detail());
    return 0;
  }
  bool all_verify = true;
  for (std::size_t i = 1; i < sink.size(); ++i) all_verify = all_verify && sink[i].Verify();
  FUZZ_CHECK(inline_ok == all_verify);
  if (!inline_ok) {
    FUZZ_CHECK(inline_state.reason() == Reason::kTxBadSignature);
    return 0;
  }
  FUZZ_CHECK(fee_inline == fee_sink);
  FUZZ_CHECK(MoneyRange(total_in));
  Amount total_out{0};
  for (const auto& out : tx->outputs()) total_out.units += out.amount.units;
  FUZZ_CHECK(fee_sink.units >= 0 && fee_sink <= total_in);
  FUZZ_CHECK(fee_sink.units == total_in.units - total_out.units);
  return 0;
}
