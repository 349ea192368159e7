#include <algorithm>

#include "rpc/services.h"

namespace wattline::rpc {
namespace {

constexpr std::uint32_t kDefaultHistory = 100;
constexpr std::uint32_t kMaxHistory = 10000;
constexpr std::uint32_t kMaxUnlockSeconds = 365u * 24 * 3600;

RpcError NoWallet() { return {grpc::StatusCode::FAILED_PRECONDITION, "the node runs without a wallet", ""}; }

void FillBalance(const node::WalletBalance& b, v1::GetBalanceResponse* out) {
  out->set_confirmed(b.confirmed.units);
  out->set_immature(b.immature.units);
  out->set_pending(b.pending.units);
}

}  // namespace

#define REQUIRE_WALLET(ctx) \
  if (!m_env.backend.HasWallet()) return Finish(ctx, NoWallet())

grpc::Status WalletServiceImpl::GetBalance(grpc::ServerContext* ctx, const v1::GetBalanceRequest*,
                                           v1::GetBalanceResponse* out) {
  RPC_AUTHORIZE(ctx, "WalletService", "GetBalance");
  REQUIRE_WALLET(ctx);
  FillBalance(m_env.backend.WalletBalanceOf(), out);
  return grpc::Status::OK;
}

grpc::Status WalletServiceImpl::GetNewAddress(grpc::ServerContext* ctx, const v1::GetNewAddressRequest*,
                                              v1::GetNewAddressResponse* out) {
  RPC_AUTHORIZE(ctx, "WalletService", "GetNewAddress");
  REQUIRE_WALLET(ctx);
  std::string address;
  if (auto r = m_env.backend.WalletNewAddress(address); !r.ok()) return Finish(ctx, FromWallet(r));
  out->set_address(address);
  return grpc::Status::OK;
}

grpc::Status WalletServiceImpl::Send(grpc::ServerContext* ctx, const v1::SendRequest* req, v1::SendResponse* out) {
  RPC_AUTHORIZE(ctx, "WalletService", "Send");
  crypto::XOnlyPubKey key;
  const AddressDecoder dec = [this](std::string_view t, std::string* e) { return m_env.backend.DecodeAddress(t, e); };
  if (auto e = ParseAddress(req->address(), "address", dec, key); !e.ok()) return Finish(ctx, e);
  consensus::Amount amount;
  if (auto e = ParseAmount(req->amount(), "amount", amount, 1); !e.ok()) return Finish(ctx, e);
  consensus::Amount fee_rate;
  if (auto e = ParseAmount(req->fee_rate(), "fee_rate", fee_rate, 0); !e.ok()) return Finish(ctx, e);
  REQUIRE_WALLET(ctx);
  crypto::Hash256 txid;
  if (auto r = m_env.backend.WalletSend(req->address(), amount, fee_rate.units, txid); !r.ok()) {
    return Finish(ctx, FromWallet(r));
  }
  out->set_txid(txid.ToHex());
  return grpc::Status::OK;
}

grpc::Status WalletServiceImpl::ListTransactions(grpc::ServerContext* ctx, const v1::ListTransactionsRequest* req,
                                                 v1::ListTransactionsResponse* out) {
  RPC_AUTHORIZE(ctx, "WalletService", "ListTransactions");
  std::uint32_t limit = kDefaultHistory;
  if (req->limit() != 0) {
    if (auto e = ParseCount(req->limit(), "limit", kMaxHistory, limit); !e.ok()) return Finish(ctx, e);
  }
  REQUIRE_WALLET(ctx);
  auto history = m_env.backend.WalletHistory();
  out->set_total(history.size());
  // Newest first: unconfirmed, then by height descending, then by time.
  std::stable_sort(history.begin(), history.end(), [](const node::WalletTxRecord& a, const node::WalletTxRecord& b) {
    const std::uint64_t ha = a.height ? *a.height : UINT64_MAX;
    const std::uint64_t hb = b.height ? *b.height : UINT64_MAX;
    if (ha != hb) return ha > hb;
    return a.time > b.time;
  });
  const std::size_t skip = std::min<std::size_t>(req->skip(), history.size());
  const std::size_t end = std::min<std::size_t>(skip + limit, history.size());
  for (std::size_t i = skip; i < end; ++i) {
    const auto& r = history[i];
    auto* p = out->add_txs();
    p->set_txid(r.txid.ToHex());
    p->set_delta(r.delta);
    p->set_confirmed(r.height.has_value());
    p->set_height(r.height.value_or(0));
    p->set_coinbase(r.coinbase);
    p->set_time(r.time);
  }
  return grpc::Status::OK;
}

grpc::Status WalletServiceImpl::Unlock(grpc::ServerContext* ctx, const v1::UnlockRequest* req, v1::UnlockResponse*) {
  RPC_AUTHORIZE(ctx, "WalletService", "Unlock");
  if (auto e = ParsePassphrase(req->passphrase(), "passphrase"); !e.ok()) return Finish(ctx, e);
  std::uint32_t timeout = 0;
  if (auto e = ParseCount(req->timeout_seconds(), "timeout_seconds", kMaxUnlockSeconds, timeout); !e.ok()) {
    return Finish(ctx, e);
  }
  REQUIRE_WALLET(ctx);
  if (auto r = m_env.backend.WalletUnlock(req->passphrase(), std::chrono::seconds(timeout)); !r.ok()) {
    return Finish(ctx, FromWallet(r));
  }
  return grpc::Status::OK;
}

grpc::Status WalletServiceImpl::Lock(grpc::ServerContext* ctx, const v1::LockRequest*, v1::LockResponse*) {
  RPC_AUTHORIZE(ctx, "WalletService", "Lock");
  REQUIRE_WALLET(ctx);
  m_env.backend.WalletLock();
  return grpc::Status::OK;
}

grpc::Status WalletServiceImpl::ChangePassphrase(grpc::ServerContext* ctx, const v1::ChangePassphraseRequest* req,
                                                 v1::ChangePassphraseResponse*) {
  RPC_AUTHORIZE(ctx, "WalletService", "ChangePassphrase");
  if (auto e = ParsePassphrase(req->old_passphrase(), "old_passphrase"); !e.ok()) return Finish(ctx, e);
  if (auto e = ParsePassphrase(req->new_passphrase(), "new_passphrase"); !e.ok()) return Finish(ctx, e);
  REQUIRE_WALLET(ctx);
  if (auto r = m_env.backend.WalletChangePassphrase(req->old_passphrase(), req->new_passphrase()); !r.ok()) {
    return Finish(ctx, FromWallet(r));
  }
  return grpc::Status::OK;
}

grpc::Status WalletServiceImpl::Rescan(grpc::ServerContext* ctx, const v1::RescanRequest*, v1::RescanResponse*) {
  RPC_AUTHORIZE(ctx, "WalletService", "Rescan");
  REQUIRE_WALLET(ctx);
  m_env.backend.WalletRescan();
  return grpc::Status::OK;
}

grpc::Status WalletServiceImpl::GetWalletInfo(grpc::ServerContext* ctx, const v1::GetWalletInfoRequest*,
                                              v1::GetWalletInfoResponse* out) {
  RPC_AUTHORIZE(ctx, "WalletService", "GetWalletInfo");
  REQUIRE_WALLET(ctx);
  out->set_locked(m_env.backend.WalletLocked());
  out->set_default_address(m_env.backend.EncodeAddress(m_env.backend.WalletDefaultKey()));
  FillBalance(m_env.backend.WalletBalanceOf(), out->mutable_balance());
  out->set_tx_count(m_env.backend.WalletHistory().size());
  return grpc::Status::OK;
}

}  // namespace wattline::rpc
