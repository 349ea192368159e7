// The one mapping from wattline errors to gRPC status codes (STYLE.md section 5).
//
//   decode error (bad encoding)                      INVALID_ARGUMENT
//   consensus Category kMalformed/kInvalid/kKnownInvalid  INVALID_ARGUMENT  + reject reason
//   consensus kMissingInputs/kPremature/kMissingPrev  FAILED_PRECONDITION + reject reason
//   mempool policy: conflict, fee too low, full       FAILED_PRECONDITION + reject reason
//   mempool policy: already in the pool               ALREADY_EXISTS      + reject reason
//   wallet: locked, insufficient funds, refused       FAILED_PRECONDITION
//   wallet: bad address, bad amount, wrong passphrase INVALID_ARGUMENT
//   wallet: not found / disabled                      NOT_FOUND / FAILED_PRECONDITION
//   wallet: corrupt file                              DATA_LOSS
//   wallet: I/O                                       INTERNAL
//   object not found (block, tx, height)              NOT_FOUND
//   market: invalid / precondition / not found        INVALID_ARGUMENT / FAILED_PRECONDITION / NOT_FOUND
//   market: rejected                                  as the consensus category or mempool policy + reason
//   market: storage or wallet-file failure            INTERNAL
//   credentials: missing or wrong / other role        UNAUTHENTICATED / PERMISSION_DENIED
//   rate limit, stream queue overflow, too many streams  RESOURCE_EXHAUSTED
//   server shutting down                              UNAVAILABLE
//
// A rejection's stable reason code (e.g. "bad-txns-inputs-missingorspent") is in the message
// and in the trailing metadata key `wattline-reject-reason`.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <string>

#include "consensus/serialize.h"
#include "consensus/validation.h"
#include "node/market.h"
#include "node/mempool.h"
#include "node/wallet.h"

namespace wattline::rpc {

inline constexpr char kRejectReasonKey[] = "wattline-reject-reason";

/** An error on its way to the client: code, message, and the reject code (may be empty). */
struct RpcError {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  std::string reject_reason;
  bool ok() const { return code == grpc::StatusCode::OK; }
  grpc::Status ToStatus() const { return ok() ? grpc::Status::OK : grpc::Status(code, message); }
};

RpcError FromDecodeError(consensus::DecodeError error, std::string_view what);
grpc::StatusCode CodeForCategory(consensus::Category category);
RpcError FromValidation(const consensus::ValidationState& state);
RpcError FromMempoolReject(const node::MempoolReject& reject);
grpc::StatusCode CodeForWalletError(node::Wallet::Error error);
RpcError FromWallet(const node::Wallet::Result& result);
/** node::MarketError: invalid argument, failed precondition, not found, rejected (by the reason's
 *  category, like a transaction, with the reason in `wattline-reject-reason`), unavailable (INTERNAL). */
RpcError FromMarket(const node::MarketError& error);
RpcError NotFound(std::string message);
RpcError Invalid(std::string message);

/** The status to return from a handler; sets the reject reason in the trailing metadata. */
grpc::Status Finish(grpc::ServerContext* ctx, const RpcError& error);

}  // namespace wattline::rpc
