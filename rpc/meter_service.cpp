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
