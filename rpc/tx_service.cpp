#include "rpc/services.h"

namespace wattline::rpc {

grpc::Status TxServiceImpl::SubmitTransaction(grpc::ServerContext* ctx, const v1::SubmitTransactionRequest* req,
                                              v1::SubmitTransactionResponse* out) {
  RPC_AUTHORIZE(ctx, "TxService", "SubmitTransaction");
  consensus::TransactionRef tx;
  if (auto e = ParseRawTransaction(req->raw_tx(), tx); !e.ok()) return Finish(ctx, e);
  const SubmitResult r = m_env.backend.SubmitTransaction(tx);
  if (!r.accepted) {
    RpcError e = FromMempoolReject(r.reject);
    if (e.ok()) e = {grpc::StatusCode::INTERNAL, "transaction refused without a reason", ""};
    return Finish(ctx, e);
  }
  out->set_txid(tx->txid().ToHex());
  out->set_fee(r.fee.units);
  return grpc::Status::OK;
}

}  // namespace wattline::rpc
