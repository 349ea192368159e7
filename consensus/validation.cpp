#include "consensus/validation.h"

namespace wattline::consensus {

// No default: a new Reason does not build until it has a code and a category.
std::string_view ReasonCode(Reason r) {
  switch (r) {
    case Reason::kOk: return "ok";
    case Reason::kTxDecode: return "bad-txns-encoding";
    case Reason::kBlockDecode: return "bad-blk-encoding";
    case Reason::kTxBadVersion: return "bad-txns-version";
    case Reason::kTxNoInputs: return "bad-txns-vin-empty";
    case Reason::kTxNoOutputs: return "bad-txns-vout-empty";
    case Reason::kTxOversize: return "bad-txns-oversize";
    case Reason::kTxOutputTooLarge: return "bad-txns-vout-toolarge";
    case Reason::kTxOutputTotalTooLarge: return "bad-txns-txouttotal-toolarge";
    case Reason::kTxDuplicateInputs: return "bad-txns-inputs-duplicate";
    case Reason::kTxBadCondition: return "bad-txns-condition";
    case Reason::kTxRecordNotAllowed: return "bad-txns-record";
    case Reason::kTxCoinbaseBadRecord: return "bad-cb-record";
    case Reason::kTxMissingInputs: return "bad-txns-inputs-missingorspent";
    case Reason::kTxPrematureCoinbaseSpend: return "bad-txns-premature-spend-of-coinbase";
    case Reason::kTxInputValuesOutOfRange: return "bad-txns-inputvalues-outofrange";
    case Reason::kTxInBelowOut: return "bad-txns-in-belowout";
    case Reason::kTxHeightLocked: return "bad-txns-height-locked";
    case Reason::kTxRelativeLocked: return "bad-txns-relative-locked";
    case Reason::kTxSatisfactionMismatch: return "bad-txns-satisfaction-mismatch";
    case Reason::kTxMultisigSigners: return "bad-txns-multisig-signers";
    case Reason::kTxBadSignature: return "bad-txns-signature";
    case Reason::kBlockHighHash: return "high-hash";
    case Reason::kBlockBadBits: return "bad-diffbits";
    case Reason::kBlockTimeTooOld: return "time-too-old";
    case Reason::kBlockTimeTooNew: return "time-too-new";
    case Reason::kBlockBadVersion: return "bad-version";
    case Reason::kBlockPrevMissing: return "prev-blk-not-found";
    case Reason::kBlockPrevInvalid: return "bad-prevblk";
    case Reason::kBlockCachedInvalid: return "duplicate-invalid";
    case Reason::kBlockBadMerkleRoot: return "bad-txnmrklroot";
    case Reason::kBlockNoCoinbase: return "bad-cb-missing";
    case Reason::kBlockMultipleCoinbase: return "bad-cb-multiple";
    case Reason::kBlockCoinbaseHeight: return "bad-cb-height";
    case Reason::kBlockCoinbaseAmount: return "bad-cb-amount";
    case Reason::kBlockDuplicateTx: return "bad-txns-duplicate";
    case Reason::kBlockOversize: return "bad-blk-length";
    case Reason::kBlockInvalidTx: return "bad-blk-tx";
  }
  return "unknown-reason";
}

Category ReasonCategory(Reason r) {
  switch (r) {
    case Reason::kOk: return Category::kValid;
    case Reason::kTxDecode:
    case Reason::kBlockDecode:
    case Reason::kBlockBadMerkleRoot:
    case Reason::kBlockOversize:
      return Category::kMalformed;
    case Reason::kTxMissingInputs: return Category::kMissingInputs;
    case Reason::kTxHeightLocked:
    case Reason::kTxRelativeLocked:
    case Reason::kTxPrematureCoinbaseSpend:
    case Reason::kBlockTimeTooNew:
      return Category::kPremature;
    case Reason::kBlockPrevMissing: return Category::kMissingPrev;
    case Reason::kBlockCachedInvalid: return Category::kKnownInvalid;
    case Reason::kTxBadVersion:
    case Reason::kTxNoInputs:
    case Reason::kTxNoOutputs:
    case Reason::kTxOversize:
    case Reason::kTxOutputTooLarge:
    case Reason::kTxOutputTotalTooLarge:
    case Reason::kTxDuplicateInputs:
    case Reason::kTxBadCondition:
    case Reason::kTxRecordNotAllowed:
    case Reason::kTxCoinbaseBadRecord:
    case Reason::kTxInputValuesOutOfRange:
    case Reason::kTxInBelowOut:
    case Reason::kTxSatisfactionMismatch:
    case Reason::kTxMultisigSigners:
    case Reason::kTxBadSignature:
    case Reason::kBlockHighHash:
    case Reason::kBlockBadBits:
    case Reason::kBlockTimeTooOld:
    case Reason::kBlockBadVersion:
    case Reason::kBlockPrevInvalid:
    case Reason::kBlockNoCoinbase:
    case Reason::kBlockMultipleCoinbase:
    case Reason::kBlockCoinbaseHeight:
    case Reason::kBlockCoinbaseAmount:
    case Reason::kBlockDuplicateTx:
    case Reason::kBlockInvalidTx:
      return Category::kInvalid;
  }
  return Category::kInvalid;
}

bool ValidationState::Invalid(Reason reason, std::string detail) {
  m_reason = reason;
  m_detail = std::move(detail);
  return false;
}

bool ValidationState::DecodeFailed(Reason reason, DecodeError error) {
  return Invalid(reason, std::string(DecodeErrorName(error)));
}

std::string ValidationState::ToString() const {
  std::string s(ReasonCode(m_reason));
  if (!m_detail.empty()) s += ": " + m_detail;
  return s;
}

}  // namespace wattline::consensus
