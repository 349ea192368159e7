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
    case Reason::kTxRecordPayload: return "bad-txns-record-payload";
    case Reason::kTxReadingsInputs: return "bad-readings-inputs";
    case Reason::kTxChannelPath: return "bad-txns-channel-path";
    case Reason::kUtilityBadSignature: return "bad-utility-sig";
    case Reason::kUtilityBadKey: return "bad-utility-key";
    case Reason::kMeterAlreadyRegistered: return "bad-meter-registered";
    case Reason::kMeterUnregistered: return "bad-meter-unregistered";
    case Reason::kMeterBadKey: return "bad-meter-key";
    case Reason::kMeterGrantTooLarge: return "bad-meter-grant";
    case Reason::kMeterGrantTotal: return "bad-meter-grant-total";
    case Reason::kMeterGrantOutput: return "bad-meter-grant-output";
    case Reason::kReadingUnknownMeter: return "bad-reading-meter-unknown";
    case Reason::kReadingDeregisteredMeter: return "bad-reading-meter-deregistered";
    case Reason::kReadingBadSignature: return "bad-reading-sig";
    case Reason::kReadingRegisterDecrease: return "bad-reading-register-decrease";
    case Reason::kReadingEnergyMismatch: return "bad-reading-energy-mismatch";
    case Reason::kReadingOverlap: return "bad-reading-overlap";
    case Reason::kReadingDuplicate: return "bad-reading-duplicate";
    case Reason::kReadingFuture: return "bad-reading-future";
    case Reason::kReadingInterval: return "bad-reading-interval";
    case Reason::kReadingReward: return "bad-reading-reward";
    case Reason::kReadingRewardOverflow: return "bad-reading-reward-overflow";
    case Reason::kFundingKeys: return "bad-funding-keys";
    case Reason::kFundingSlot: return "bad-funding-slot";
    case Reason::kFundingPrice: return "bad-funding-price";
    case Reason::kFundingUnderpaid: return "bad-funding-underpaid";
    case Reason::kFundingExpiry: return "bad-funding-expiry";
    case Reason::kFundingWindow: return "bad-funding-window";
    case Reason::kFundingOutput: return "bad-funding-output";
    case Reason::kFundingAmount: return "bad-funding-amount";
    case Reason::kFundingMeter: return "bad-funding-meter";
    case Reason::kFundingEnergy: return "bad-funding-energy";
    case Reason::kFundingInterval: return "bad-funding-interval";
    case Reason::kFundingMeterBusy: return "bad-funding-meter-busy";
    case Reason::kChannelShape: return "bad-channel-shape";
    case Reason::kChannelUnknown: return "bad-channel-unknown";
    case Reason::kChannelInput: return "bad-channel-input";
    case Reason::kChannelStatus: return "bad-channel-status";
    case Reason::kChannelSigners: return "bad-channel-signers";
    case Reason::kChannelCommitmentSig: return "bad-channel-commitment-sig";
    case Reason::kChannelStaleState: return "bad-channel-stale-state";
    case Reason::kChannelWindow: return "bad-channel-window";
    case Reason::kChannelNotExpired: return "bad-channel-not-expired";
    case Reason::kChannelDeliveryOpen: return "bad-channel-delivery-open";
    case Reason::kChannelAmount: return "bad-channel-amount";
    case Reason::kChannelFee: return "bad-channel-fee";
    case Reason::kChannelOutputs: return "bad-channel-outputs";
    case Reason::kChannelNoShortfall: return "bad-channel-no-shortfall";
    case Reason::kEvidenceOtherMeter: return "bad-evidence-meter";
    case Reason::kEvidenceUnsigned: return "bad-evidence-sig";
    case Reason::kEvidenceOutsideInterval: return "bad-evidence-interval";
    case Reason::kEvidenceUncounted: return "bad-evidence-uncounted";
    case Reason::kEvidenceArithmetic: return "bad-evidence-arithmetic";
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
    // A reading ahead of the clock, or a funding for a slot that is over, may be an honest
    // race with the chain (or another clock): never a reason to punish the sender.
    case Reason::kReadingFuture:
    case Reason::kFundingSlot:
    case Reason::kFundingPrice:
    // A close before its window, its expiry or the end of its delivery interval becomes
    // valid later.
    case Reason::kChannelWindow:
    case Reason::kChannelNotExpired:
    case Reason::kChannelDeliveryOpen:
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
    case Reason::kTxRecordPayload:
    case Reason::kTxReadingsInputs:
    case Reason::kTxChannelPath:
    case Reason::kUtilityBadSignature:
    case Reason::kUtilityBadKey:
    case Reason::kMeterAlreadyRegistered:
    case Reason::kMeterUnregistered:
    case Reason::kMeterBadKey:
    case Reason::kMeterGrantTooLarge:
    case Reason::kMeterGrantTotal:
    case Reason::kMeterGrantOutput:
    case Reason::kReadingUnknownMeter:
    case Reason::kReadingDeregisteredMeter:
    case Reason::kReadingBadSignature:
    case Reason::kReadingRegisterDecrease:
    case Reason::kReadingEnergyMismatch:
    case Reason::kReadingOverlap:
    case Reason::kReadingDuplicate:
    case Reason::kReadingInterval:
    case Reason::kReadingReward:
    case Reason::kReadingRewardOverflow:
    case Reason::kFundingKeys:
    case Reason::kFundingUnderpaid:
    case Reason::kFundingExpiry:
    case Reason::kFundingWindow:
    case Reason::kFundingOutput:
    case Reason::kFundingAmount:
    case Reason::kFundingMeter:
    case Reason::kFundingEnergy:
    case Reason::kFundingInterval:
    case Reason::kFundingMeterBusy:
    case Reason::kChannelShape:
    case Reason::kChannelUnknown:
    case Reason::kChannelInput:
    case Reason::kChannelStatus:
    case Reason::kChannelSigners:
    case Reason::kChannelCommitmentSig:
    case Reason::kChannelStaleState:
    case Reason::kChannelAmount:
    case Reason::kChannelFee:
    case Reason::kChannelOutputs:
    case Reason::kChannelNoShortfall:
    case Reason::kEvidenceOtherMeter:
    case Reason::kEvidenceUnsigned:
    case Reason::kEvidenceOutsideInterval:
    case Reason::kEvidenceUncounted:
    case Reason::kEvidenceArithmetic:
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
