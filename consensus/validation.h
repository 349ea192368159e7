// Why a transaction or block is rejected: one Reason per failure, each with a stable text
// code (the table in docs/chain-rules.md), and a Category that tells the caller how to treat
// the sender and whether to remember the object as invalid.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "consensus/serialize.h"

namespace wattline::consensus {

/** Values are stable (they may be stored and sent); never renumber, only append. */
enum class Reason : std::uint16_t {
  kOk = 0,
  // Encoding.
  kTxDecode = 1,     //!< "bad-txns-encoding"; detail names the DecodeError
  kBlockDecode = 2,  //!< "bad-blk-encoding"; detail names the DecodeError
  // Transactions, context-free.
  kTxBadVersion = 10,
  kTxNoInputs = 11,
  kTxNoOutputs = 12,
  kTxOversize = 13,
  kTxOutputTooLarge = 14,
  kTxOutputTotalTooLarge = 15,
  kTxDuplicateInputs = 16,
  kTxBadCondition = 17,
  kTxRecordNotAllowed = 18,
  kTxCoinbaseBadRecord = 19,
  kTxRecordPayload = 20,   //!< "bad-txns-record-payload": a market record that does not decode
  kTxReadingsInputs = 21,  //!< "bad-readings-inputs": a readings transaction spends coins
  // Transactions, against the UTXO set.
  kTxMissingInputs = 30,
  kTxPrematureCoinbaseSpend = 31,
  kTxInputValuesOutOfRange = 32,
  kTxInBelowOut = 33,
  kTxHeightLocked = 34,
  kTxRelativeLocked = 35,
  kTxSatisfactionMismatch = 36,
  kTxMultisigSigners = 37,
  kTxBadSignature = 38,
  kTxChannelPath = 39,     //!< "bad-txns-channel-path": no settlement path of this version fits
  // Headers.
  kBlockHighHash = 50,
  kBlockBadBits = 51,
  kBlockTimeTooOld = 52,
  kBlockTimeTooNew = 53,
  kBlockBadVersion = 54,
  kBlockPrevMissing = 55,
  kBlockPrevInvalid = 56,
  kBlockCachedInvalid = 57,
  // Blocks.
  kBlockBadMerkleRoot = 60,
  kBlockNoCoinbase = 61,
  kBlockMultipleCoinbase = 62,
  kBlockCoinbaseHeight = 63,
  kBlockCoinbaseAmount = 64,
  kBlockDuplicateTx = 65,
  kBlockOversize = 66,
  kBlockInvalidTx = 67,  //!< a transaction failed: detail has its reason and txid
  // The energy market (docs/market.md, "Rejections").
  kUtilityBadSignature = 80,
  kUtilityBadKey = 81,
  kMeterAlreadyRegistered = 82,
  kMeterUnregistered = 83,
  kMeterBadKey = 84,
  kMeterGrantTooLarge = 85,
  kMeterGrantTotal = 86,
  kMeterGrantOutput = 87,
  kReadingUnknownMeter = 90,
  kReadingDeregisteredMeter = 91,
  kReadingBadSignature = 92,
  kReadingRegisterDecrease = 93,
  kReadingEnergyMismatch = 94,
  kReadingOverlap = 95,
  kReadingDuplicate = 96,
  kReadingFuture = 97,
  kReadingInterval = 98,
  kReadingReward = 99,
  kReadingRewardOverflow = 100,
  kFundingKeys = 110,
  kFundingSlot = 111,
  kFundingPrice = 112,
  kFundingUnderpaid = 113,
  kFundingExpiry = 114,
  kFundingWindow = 115,
  kFundingOutput = 116,
  kFundingAmount = 117,
  kFundingMeter = 118,
  kFundingEnergy = 119,
  kFundingInterval = 120,
  kFundingMeterBusy = 121,
  kChannelShape = 130,
  kChannelUnknown = 131,
  kChannelInput = 132,
  kChannelStatus = 133,
  kChannelSigners = 134,
  kChannelCommitmentSig = 135,
  kChannelStaleState = 136,
  kChannelWindow = 137,
  kChannelNotExpired = 138,
  kChannelDeliveryOpen = 139,
  kChannelAmount = 140,
  kChannelFee = 141,
  kChannelOutputs = 142,
  kChannelNoShortfall = 143,
  kEvidenceOtherMeter = 150,
  kEvidenceUnsigned = 151,
  kEvidenceOutsideInterval = 152,
  kEvidenceUncounted = 153,
  kEvidenceArithmetic = 154,
};

/** How the caller should treat a rejection. */
enum class Category : std::uint8_t {
  kValid,
  kMalformed,     //!< not the canonical encoding, or the content does not match its commitment
                  //!< (merkle root): the sender misbehaved, but the hash is not known invalid
  kInvalid,       //!< breaks a consensus rule: invalid forever, remember the hash
  kMissingInputs, //!< spends coins we do not have (may be an orphan or a double spend)
  kPremature,     //!< not valid yet (a lock, a timestamp ahead of our clock): may become valid
  kMissingPrev,   //!< the previous block is unknown
  kKnownInvalid,  //!< already known to be invalid
};

/** The stable text code of a reason, e.g. "bad-txns-inputs-duplicate". */
std::string_view ReasonCode(Reason r);
Category ReasonCategory(Reason r);

class ValidationState {
 public:
  ValidationState() = default;

  /** Records a failure; always returns false so checks can `return state.Invalid(...)`. */
  bool Invalid(Reason reason, std::string detail = {});
  bool DecodeFailed(Reason reason, DecodeError error);

  bool IsValid() const { return m_reason == Reason::kOk; }
  Reason reason() const { return m_reason; }
  Category category() const { return ReasonCategory(m_reason); }
  const std::string& detail() const { return m_detail; }
  /** "code" or "code: detail". */
  std::string ToString() const;

 private:
  Reason m_reason = Reason::kOk;
  std::string m_detail;
};

}  // namespace wattline::consensus
