#include "rpc/status.h"

namespace wattline::rpc {

RpcError FromDecodeError(consensus::DecodeError error, std::string_view what) {
  return {grpc::StatusCode::INVALID_ARGUMENT,
          std::string(what) + " is not a canonical encoding: " + std::string(consensus::DecodeErrorName(error)),
          ""};
}

grpc::StatusCode CodeForCategory(consensus::Category category) {
  switch (category) {
    case consensus::Category::kValid: return grpc::StatusCode::OK;
    case consensus::Category::kMalformed: return grpc::StatusCode::INVALID_ARGUMENT;
    case consensus::Category::kInvalid: return grpc::StatusCode::INVALID_ARGUMENT;
    case consensus::Category::kKnownInvalid: return grpc::StatusCode::INVALID_ARGUMENT;
    case consensus::Category::kMissingInputs: return grpc::StatusCode::FAILED_PRECONDITION;
    case consensus::Category::kPremature: return grpc::StatusCode::FAILED_PRECONDITION;
    case consensus::Category::kMissingPrev: return grpc::StatusCode::FAILED_PRECONDITION;
  }
  return grpc::StatusCode::INTERNAL;
}

RpcError FromValidation(const consensus::ValidationState& state) {
  if (state.IsValid()) return {};
  RpcError e;
  e.code = CodeForCategory(state.category());
  e.reject_reason = std::string(consensus::ReasonCode(state.reason()));
  e.message = "rejected: " + state.ToString() + " (reason " +
              std::to_string(static_cast<unsigned>(state.reason())) + ")";
  return e;
}

RpcError FromMempoolReject(const node::MempoolReject& reject) {
  if (!reject.state.IsValid()) return FromValidation(reject.state);
  if (reject.policy.empty()) return {};
  RpcError e;
  e.reject_reason = reject.policy;
  e.code = reject.policy == "txn-already-in-mempool" || reject.policy == "txn-already-known"
               ? grpc::StatusCode::ALREADY_EXISTS
               : grpc::StatusCode::FAILED_PRECONDITION;
  e.message = "rejected by mempool policy: " + reject.policy + (reject.detail.empty() ? "" : ": " + reject.detail);
  return e;
}

grpc::StatusCode CodeForWalletError(node::Wallet::Error error) {
  using E = node::Wallet::Error;
  switch (error) {
    case E::kNone: return grpc::StatusCode::OK;
    case E::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case E::kCorrupt: return grpc::StatusCode::DATA_LOSS;
    case E::kWrongPassphrase: return grpc::StatusCode::INVALID_ARGUMENT;
    case E::kLocked: return grpc::StatusCode::FAILED_PRECONDITION;
    case E::kInsufficientFunds: return grpc::StatusCode::FAILED_PRECONDITION;
    case E::kBadAddress: return grpc::StatusCode::INVALID_ARGUMENT;
    case E::kBadAmount: return grpc::StatusCode::INVALID_ARGUMENT;
    case E::kRejected: return grpc::StatusCode::FAILED_PRECONDITION;
    case E::kIo: return grpc::StatusCode::INTERNAL;
    case E::kExists: return grpc::StatusCode::ALREADY_EXISTS;
  }
  return grpc::StatusCode::INTERNAL;
}

RpcError FromWallet(const node::Wallet::Result& result) {
  if (result.ok()) return {};
  std::string message = result.message;
  if (message.empty()) {
    using E = node::Wallet::Error;
    switch (result.error) {
      case E::kLocked: message = "wallet is locked (walletunlock first)"; break;
      case E::kWrongPassphrase: message = "wrong passphrase"; break;
      case E::kInsufficientFunds: message = "insufficient funds"; break;
      default: message = "wallet error"; break;
    }
  }
  return {CodeForWalletError(result.error), "wallet: " + message, ""};
}

RpcError FromMarket(const node::MarketError& error) {
  using C = node::MarketError::Code;
  RpcError e;
  e.message = error.message;
  e.reject_reason = error.reject_reason;
  switch (error.code) {
    case C::kNone: return {};
    case C::kInvalidArgument: e.code = grpc::StatusCode::INVALID_ARGUMENT; return e;
    case C::kFailedPrecondition: e.code = grpc::StatusCode::FAILED_PRECONDITION; return e;
    case C::kNotFound: e.code = grpc::StatusCode::NOT_FOUND; return e;
    case C::kUnavailable: e.code = grpc::StatusCode::INTERNAL; return e;
    case C::kRejected: {
      // A consensus reason code maps by its category, as for SubmitTransaction; a mempool
      // policy code as FromMempoolReject does.
      e.code = grpc::StatusCode::FAILED_PRECONDITION;
      if (e.reject_reason == "txn-already-in-mempool" || e.reject_reason == "txn-already-known") {
        e.code = grpc::StatusCode::ALREADY_EXISTS;
      } else if (!e.reject_reason.empty()) {
        for (unsigned i = 1; i < 256; ++i) {
          const auto reason = static_cast<consensus::Reason>(i);
          if (consensus::ReasonCode(reason) == e.reject_reason) {
            e.code = CodeForCategory(consensus::ReasonCategory(reason));
            if (e.code == grpc::StatusCode::OK) e.code = grpc::StatusCode::FAILED_PRECONDITION;
            break;
          }
        }
      }
      return e;
    }
  }
  e.code = grpc::StatusCode::INTERNAL;
  return e;
}

RpcError NotFound(std::string message) { return {grpc::StatusCode::NOT_FOUND, std::move(message), ""}; }
RpcError Invalid(std::string message) { return {grpc::StatusCode::INVALID_ARGUMENT, std::move(message), ""}; }

grpc::Status Finish(grpc::ServerContext* ctx, const RpcError& error) {
  if (ctx != nullptr && !error.reject_reason.empty()) ctx->AddTrailingMetadata(kRejectReasonKey, error.reject_reason);
  return error.ToStatus();
}

}  // namespace wattline::rpc
