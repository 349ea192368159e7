// UtilityService: the node acting as the utility (node::Market's utility actions) and the
// meter registry. The write methods need the node to hold the utility key in force and an
// unlocked wallet (it pays the fees); both refusals are FAILED_PRECONDITION.
#include "rpc/services.h"

namespace wattline::rpc {

#define REQUIRE_MARKET(ctx, var)                      \
  MarketControl* var = m_env.backend.Market();        \
  if (var == nullptr) return Finish(ctx, NoMarket())

namespace {
RpcError ParseFeeRate(std::int64_t units, std::int64_t& out) {
  consensus::Amount a;
  if (auto e = ParseAmount(units, "fee_rate", a, 0); !e.ok()) return e;
  out = a.units;
  return {};
}
}  // namespace

grpc::Status UtilityServiceImpl::RegisterMeter(grpc::ServerContext* ctx, const v1::RegisterMeterRequest* req,
                                               v1::UtilityTxResponse* out) {
  RPC_AUTHORIZE(ctx, "UtilityService", "RegisterMeter");
  consensus::MeterId meter;
  if (auto e = ParseKey(req->meter(), "meter", meter); !e.ok()) return Finish(ctx, e);
  crypto::XOnlyPubKey owner;
  const AddressDecoder dec = [this](std::string_view t, std::string* e) { return m_env.backend.DecodeAddress(t, e); };
  if (auto e = ParseOwner(req->owner(), "owner", dec, owner); !e.ok()) return Finish(ctx, e);
  consensus::MeterRole role{};
  if (auto e = ParseMeterRole(req->role(), "role", role); !e.ok()) return Finish(ctx, e);
  consensus::Amount grant{0};
  if (auto e = ParseAmount(req->grant(), "grant", grant, 0); !e.ok()) return Finish(ctx, e);
  const consensus::Amount max_grant = m_env.backend.params().max_grant_per_meter;
  if (grant > max_grant) {
    return Finish(ctx, Invalid("grant: at most " + std::to_string(max_grant.units) + " units per meter, got " +
                                   std::to_string(grant.units)));
  }
  std::int64_t fee_rate = 0;
  if (auto e = ParseFeeRate(req->fee_rate(), fee_rate); !e.ok()) return Finish(ctx, e);
  REQUIRE_MARKET(ctx, market);
  crypto::Hash256 txid;
  if (auto e = market->RegisterMeter(meter, owner, role, grant, fee_rate, txid); !e.ok()) return Finish(ctx, FromMarket(e));
  out->set_txid(txid.ToHex());
  return grpc::Status::OK;
}

grpc::Status UtilityServiceImpl::DeregisterMeter(grpc::ServerContext* ctx, const v1::DeregisterMeterRequest* req,
                                                 v1::UtilityTxResponse* out) {
  RPC_AUTHORIZE(ctx, "UtilityService", "DeregisterMeter");
  consensus::MeterId meter;
  if (auto e = ParseKey(req->meter(), "meter", meter); !e.ok()) return Finish(ctx, e);
  std::int64_t fee_rate = 0;
  if (auto e = ParseFeeRate(req->fee_rate(), fee_rate); !e.ok()) return Finish(ctx, e);
  REQUIRE_MARKET(ctx, market);
  crypto::Hash256 txid;
  if (auto e = market->DeregisterMeter(meter, fee_rate, txid); !e.ok()) return Finish(ctx, FromMarket(e));
  out->set_txid(txid.ToHex());
  return grpc::Status::OK;
}

grpc::Status UtilityServiceImpl::SetCoefficients(grpc::ServerContext* ctx, const v1::SetCoefficientsRequest* req,
                                                 v1::SetCoefficientsResponse* out) {
  RPC_AUTHORIZE(ctx, "UtilityService", "SetCoefficients");
  for (auto [name, v] : {std::pair{"a", req->a()}, std::pair{"b", req->b()}, std::pair{"c", req->c()}}) {
    if (v > consensus::kMaxPrice) {
      return Finish(ctx, Invalid(std::string(name) + ": at most " + std::to_string(consensus::kMaxPrice) +
                                     " (the price cap), got " + std::to_string(v)));
    }
  }
  std::int64_t fee_rate = 0;
  if (auto e = ParseFeeRate(req->fee_rate(), fee_rate); !e.ok()) return Finish(ctx, e);
  REQUIRE_MARKET(ctx, market);
  crypto::Hash256 txid;
  if (auto e = market->SetCoefficients(req->a(), req->b(), req->c(), fee_rate, txid); !e.ok())
    return Finish(ctx, FromMarket(e));
  out->set_txid(txid.ToHex());
  out->set_effective_slot(market->NextSlot() + 1);
  return grpc::Status::OK;
}

grpc::Status UtilityServiceImpl::RotateKey(grpc::ServerContext* ctx, const v1::RotateKeyRequest* req,
                                           v1::UtilityTxResponse* out) {
  RPC_AUTHORIZE(ctx, "UtilityService", "RotateKey");
  crypto::XOnlyPubKey key;
  if (auto e = ParseKey(req->new_key(), "new_key", key); !e.ok()) return Finish(ctx, e);
  std::int64_t fee_rate = 0;
  if (auto e = ParseFeeRate(req->fee_rate(), fee_rate); !e.ok()) return Finish(ctx, e);
  REQUIRE_MARKET(ctx, market);
  crypto::Hash256 txid;
  if (auto e = market->RotateKey(key, fee_rate, txid); !e.ok()) return Finish(ctx, FromMarket(e));
  out->set_txid(txid.ToHex());
  return grpc::Status::OK;
}

grpc::Status UtilityServiceImpl::ListMeters(grpc::ServerContext* ctx, const v1::ListMetersRequest* req,
                                            v1::ListMetersResponse* out) {
  RPC_AUTHORIZE(ctx, "UtilityService", "ListMeters");
  std::optional<crypto::XOnlyPubKey> owner;
  if (!req->owner().empty()) {
    crypto::XOnlyPubKey k;
    const AddressDecoder dec = [this](std::string_view t, std::string* e) { return m_env.backend.DecodeAddress(t, e); };
    if (auto e = ParseOwner(req->owner(), "owner", dec, k); !e.ok()) return Finish(ctx, e);
    owner = k;
  }
  REQUIRE_MARKET(ctx, market);
  const AddressEncoder enc = [this](const crypto::XOnlyPubKey& k) { return m_env.backend.EncodeAddress(k); };
  for (const auto& [id, state] : market->Meters()) {
    if (owner && state.owner != *owner) continue;
    if (req->limit() != 0 && static_cast<std::uint32_t>(out->meters_size()) >= req->limit()) break;
    MeterInfoToProto(id, state, enc, out->add_meters());
  }
  return grpc::Status::OK;
}

}  // namespace wattline::rpc
