// MeterService: the demand-response scheduler of meter/ served to meters and wallets. The
// request is checked here (sizes, finiteness, the enum) and again by meter/ (windows, caps,
// energy that cannot fit), whose message names the appliance.
#include <cmath>

#include "meter/serve.h"
#include "rpc/services.h"

namespace wattline::rpc {

namespace {
constexpr int kMaxSlots = 288;
constexpr int kMaxAppliances = 256;

bool AllFinite(const google::protobuf::RepeatedField<double>& v) {
  for (double x : v)
    if (!std::isfinite(x) || x < 0) return false;
  return true;
}
}  // namespace

grpc::Status MeterServiceImpl::ScheduleHousehold(grpc::ServerContext* ctx, const v1::ScheduleHouseholdRequest* req,
                                                 v1::ScheduleHouseholdResponse* out) {
  RPC_AUTHORIZE(ctx, "MeterService", "ScheduleHousehold");
  if (req->slots() < 1 || req->slots() > kMaxSlots)
    return Finish(ctx, Invalid("slots: must be between 1 and " + std::to_string(kMaxSlots)));
  if (req->appliances_size() < 1 || req->appliances_size() > kMaxAppliances)
    return Finish(ctx, Invalid("appliances: between 1 and " + std::to_string(kMaxAppliances) + " needed"));
  meter::MeterRequest request;
  request.slots = req->slots();
  if (!req->prices().empty()) {
    if (req->prices_size() != req->slots()) return Finish(ctx, Invalid("prices: one per slot needed"));
    if (!AllFinite(req->prices())) return Finish(ctx, Invalid("prices: must be finite and >= 0"));
    request.prices.assign(req->prices().begin(), req->prices().end());
  } else {
    if (req->others_load_kwh_size() != req->slots())
      return Finish(ctx, Invalid("others_load_kwh: one per slot needed when prices is empty"));
    if (!AllFinite(req->others_load_kwh())) return Finish(ctx, Invalid("others_load_kwh: must be finite and >= 0"));
    request.others_load.assign(req->others_load_kwh().begin(), req->others_load_kwh().end());
    switch (req->objective()) {
      case v1::SCHEDULE_OBJECTIVE_OWN_BILL: request.objective = meter::MeterRequest::Objective::kOwnBill; break;
      case v1::SCHEDULE_OBJECTIVE_SHARE_OF_COST:
        request.objective = meter::MeterRequest::Objective::kShareOfCost;
        break;
      default: return Finish(ctx, Invalid("objective: OWN_BILL or SHARE_OF_COST needed"));
    }
  }
  if (!std::isfinite(req->a()) || !std::isfinite(req->b()) || !std::isfinite(req->c()))
    return Finish(ctx, Invalid("a, b, c: must be finite"));
  request.price.a = req->a();
  request.price.b = req->b();
  request.price.c = req->c();
  std::vector<meter::Appliance> appliances;
  for (const auto& a : req->appliances()) {
    meter::Appliance app;
    app.energy = a.energy_kwh();
    app.first = a.first_slot();
    app.last = a.last_slot();
    if (a.cap_kwh() != 0) app.cap = a.cap_kwh();
    appliances.push_back(app);
  }
  auto result = meter::ScheduleHousehold(appliances, request);
  if (!result.ok()) return Finish(ctx, Invalid(result.error()));
  const meter::MeterSchedule& s = result.value();
  for (const auto& per_app : s.appliances) {
    auto* a = out->add_appliances();
    for (double x : per_app) a->add_kwh(x);
  }
  for (double x : s.household) out->add_household_kwh(x);
  out->set_expected_bill(s.expected_bill);
  out->set_rounds(s.rounds);
  return grpc::Status::OK;
}

}  // namespace wattline::rpc

// --- The market side of MeterService: readings and blobs ----------------------------------------

namespace wattline::rpc {
namespace {
constexpr std::uint32_t kDefaultReadings = 1000;
constexpr std::uint32_t kMaxReadings = 1000;
}  // namespace

RpcError NoMarket() { return {grpc::StatusCode::FAILED_PRECONDITION, "this node serves no energy market", ""}; }

grpc::Status MeterServiceImpl::SubmitReadings(grpc::ServerContext* ctx, const v1::SubmitReadingsRequest* req,
                                              v1::SubmitReadingsResponse* out) {
  RPC_AUTHORIZE(ctx, "MeterService", "SubmitReadings");
  consensus::ReadingBatch batch;
  if (auto e = ParseReadingBatch(*req, batch); !e.ok()) return Finish(ctx, e);
  MarketControl* market = m_env.backend.Market();
  if (market == nullptr) return Finish(ctx, NoMarket());
  crypto::Hash256 txid;
  consensus::Amount rewards{0};
  if (auto e = market->SubmitReadings(batch, txid, rewards); !e.ok()) return Finish(ctx, FromMarket(e));
  out->set_txid(txid.ToHex());
  out->set_rewards(rewards.units);
  return grpc::Status::OK;
}

grpc::Status MeterServiceImpl::ListReadings(grpc::ServerContext* ctx, const v1::ListReadingsRequest* req,
                                            v1::ListReadingsResponse* out) {
  RPC_AUTHORIZE(ctx, "MeterService", "ListReadings");
  consensus::MeterId meter;
  if (auto e = ParseKey(req->meter(), "meter", meter); !e.ok()) return Finish(ctx, e);
  std::uint32_t limit = kDefaultReadings;
  if (req->limit() != 0) {
    if (auto e = ParseCount(req->limit(), "limit", kMaxReadings, limit); !e.ok()) return Finish(ctx, e);
  }
  MarketControl* market = m_env.backend.Market();
  if (market == nullptr) return Finish(ctx, NoMarket());
  for (const auto& r : market->ListReadings(meter, req->from_start(), limit)) {
    auto* c = out->add_readings();
    ReadingToProto(r.reading, c->mutable_reading());
    c->set_height(r.height);
    c->set_txid(r.txid.ToHex());
  }
  return grpc::Status::OK;
}

grpc::Status MeterServiceImpl::PutBlob(grpc::ServerContext* ctx, const v1::PutBlobRequest* req,
                                       v1::PutBlobResponse* out) {
  RPC_AUTHORIZE(ctx, "MeterService", "PutBlob");
  if (req->data().empty()) return Finish(ctx, Invalid("data: empty blob"));
  if (req->data().size() > node::BlobStore::kMaxBlobSize) {
    return Finish(ctx, Invalid("data: " + std::to_string(req->data().size()) + " bytes, more than the maximum " +
                                   std::to_string(node::BlobStore::kMaxBlobSize)));
  }
  MarketControl* market = m_env.backend.Market();
  if (market == nullptr) return Finish(ctx, NoMarket());
  consensus::Cid cid{};
  std::string error;
  const consensus::ByteSpan data(reinterpret_cast<const std::uint8_t*>(req->data().data()), req->data().size());
  if (!market->PutBlob(data, cid, error)) return Finish(ctx, {grpc::StatusCode::INTERNAL, error, ""});
  out->set_cid(consensus::CidToString(cid));
  return grpc::Status::OK;
}

grpc::Status MeterServiceImpl::GetBlob(grpc::ServerContext* ctx, const v1::GetBlobRequest* req,
                                       v1::GetBlobResponse* out) {
  RPC_AUTHORIZE(ctx, "MeterService", "GetBlob");
  consensus::Cid cid{};
  if (auto e = ParseCid(req->cid(), "cid", cid); !e.ok()) return Finish(ctx, e);
  MarketControl* market = m_env.backend.Market();
  if (market == nullptr) return Finish(ctx, NoMarket());
  bool absent = false;
  std::string error;
  auto data = market->GetBlob(cid, absent, error);
  if (!data) return Finish(ctx, {absent ? grpc::StatusCode::NOT_FOUND : grpc::StatusCode::DATA_LOSS, error, ""});
  out->set_data(std::string(data->begin(), data->end()));
  return grpc::Status::OK;
}

}  // namespace wattline::rpc
