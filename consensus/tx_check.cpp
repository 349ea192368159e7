#include "consensus/tx_check.h"

#include "consensus/market_rules.h"

#include <algorithm>
#include <vector>

namespace wattline::consensus {

namespace {

bool CheckConditionAt(const Condition& c, int depth, std::string& why) {
  // A condition built in memory can break the limits the decoder enforces; such an output
  // would encode to bytes no node decodes, so it is invalid, not just undecodable.
  if (depth > kMaxConditionDepth) {
    why = "nested deeper than " + std::to_string(kMaxConditionDepth);
    return false;
  }
  switch (c.type) {
    case ConditionType::kKey:
      return true;
    case ConditionType::kMultisig: {
      if (c.keys.size() > kMaxMultisigKeys) {
        why = "multisig with more than " + std::to_string(kMaxMultisigKeys) + " keys";
        return false;
      }
      if (c.keys.empty() || c.threshold == 0 || c.threshold > c.keys.size()) {
        why = "multisig threshold " + std::to_string(c.threshold) + " of " + std::to_string(c.keys.size());
        return false;
      }
      std::vector<XOnlyPubKey> sorted = c.keys;
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        why = "multisig with a repeated key";
        return false;
      }
      return true;
    }
    case ConditionType::kAfterHeight:
    case ConditionType::kAfterBlocks:
      return CheckConditionAt(c.branches.at(0), depth + 1, why);
    case ConditionType::kOr:
      return CheckConditionAt(c.branches.at(0), depth + 1, why) && CheckConditionAt(c.branches.at(1), depth + 1, why);
    case ConditionType::kChannel:
      // Only as an output of its own: a settlement path is a whole-output rule, not a branch.
      if (depth != 1) {
        why = "a channel condition cannot be nested";
        return false;
      }
      if (c.keys.size() != 3 || c.keys[0] == c.keys[1] || c.keys[0] == c.keys[2] || c.keys[1] == c.keys[2]) {
        why = "a channel needs three different keys";
        return false;
      }
      if (c.window == 0) {
        why = "a channel needs a contest window";
        return false;
      }
      return true;
    case ConditionType::kChannelClose:
      if (depth != 1) {
        why = "a closing condition cannot be nested";
        return false;
      }
      if (c.window == 0) {
        why = "a closing output needs a contest window";
        return false;
      }
      return true;
  }
  why = "unknown condition";
  return false;
}

}  // namespace

bool CheckCondition(const Condition& c, std::string& why) { return CheckConditionAt(c, 1, why); }

bool CheckTransaction(const Transaction& tx, ValidationState& state) {
  if (tx.version() != kTxVersion) return state.Invalid(Reason::kTxBadVersion, "version " + std::to_string(tx.version()));
  // A readings transaction whose meters earned nothing has no output.
  if (tx.outputs().empty() && tx.record().kind != RecordKind::kReadings) return state.Invalid(Reason::kTxNoOutputs);
  if (tx.size() > kMaxTxSize) return state.Invalid(Reason::kTxOversize);

  Amount total{0};
  for (std::size_t i = 0; i < tx.outputs().size(); ++i) {
    const TxOut& out = tx.outputs()[i];
    if (!MoneyRange(out.amount)) return state.Invalid(Reason::kTxOutputTooLarge, "output " + std::to_string(i));
    auto sum = CheckedAdd(total, out.amount);
    if (!sum) return state.Invalid(Reason::kTxOutputTotalTooLarge);
    total = *sum;
    std::string why;
    if (!CheckCondition(out.condition, why))
      return state.Invalid(Reason::kTxBadCondition, "output " + std::to_string(i) + ": " + why);
    // Only a channel post (a settlement record, whose shape CheckMarketShape checks) creates a
    // closing output: one made by anything else would hold coins that no rule pays out.
    if (out.condition.type == ConditionType::kChannelClose && tx.record().kind != RecordKind::kChannelSettlement)
      return state.Invalid(Reason::kTxBadCondition,
                           "output " + std::to_string(i) + ": a closing output is created only by a channel post");
  }

  if (tx.inputs().empty()) {
    // Only a coinbase, which must say which height it belongs to, and a readings transaction
    // (a meter has no coins) have no inputs.
    if (tx.record().kind == RecordKind::kReadings) return CheckMarketShape(tx, state);
    if (tx.record().kind != RecordKind::kCoinbase) return state.Invalid(Reason::kTxNoInputs);
    if (!CoinbaseHeight(tx.record())) return state.Invalid(Reason::kTxCoinbaseBadRecord);
    return true;
  }

  switch (tx.record().kind) {
    case RecordKind::kNone:
      break;
    case RecordKind::kCoinbase:
      return state.Invalid(Reason::kTxRecordNotAllowed, "coinbase record on a transaction with inputs");
    case RecordKind::kMeterRegistration:
    case RecordKind::kReadings:
    case RecordKind::kPriceCoefficients:
    case RecordKind::kChannelFunding:
    case RecordKind::kChannelSettlement:
    case RecordKind::kUtilityKeyRotation:
    case RecordKind::kMeterDeregistration:
      if (!CheckMarketShape(tx, state)) return false;
      break;
  }

  // CVE-2018-17144: the same coin twice in one transaction.
  std::vector<OutPoint> prevouts;
  prevouts.reserve(tx.inputs().size());
  for (const auto& in : tx.inputs()) prevouts.push_back(in.prevout);
  std::sort(prevouts.begin(), prevouts.end());
  if (std::adjacent_find(prevouts.begin(), prevouts.end()) != prevouts.end())
    return state.Invalid(Reason::kTxDuplicateInputs);
  return true;
}

}  // namespace wattline::consensus
