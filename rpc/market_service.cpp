// MarketService: the market state at the tip, for everyone: globals, the consensus price of a
// slot (p = a*D^2 + b*D + c over the demand of the slot before), a schedule of slots, and an
// owner's production rewards.
#include <algorithm>

#include "consensus/market_rules.h"
#include "rpc/services.h"

namespace wattline::rpc {
namespace {

constexpr std::uint32_t kMaxScheduleSlots = 1000;
constexpr std::uint32_t kDefaultBefore = 10;

void FillSlot(const MarketControl& m, const consensus::MarketGlobals& g, std::uint32_t next_slot, std::uint32_t slot,
              v1::SlotPrice* out) {
  const consensus::Coefficients& k = g.CoefficientsAt(slot);
  out->set_slot(slot);
  out->set_price(m.PriceOfSlot(slot));
  out->set_demand_wh(m.Demand(slot));
  out->set_previous_demand_wh(slot == 0 ? 0 : m.Demand(slot - 1));
  out->set_a(k.a);
  out->set_b(k.b);
  out->set_c(k.c);
  out->set_provisional(slot > next_slot);
}

}  // namespace

grpc::Status MarketServiceImpl::GetMarketInfo(grpc::ServerContext* ctx, const v1::GetMarketInfoRequest*,
                                              v1::GetMarketInfoResponse* out) {
  RPC_AUTHORIZE(ctx, "MarketService", "GetMarketInfo");
  MarketControl* m = m_env.backend.Market();
  if (m == nullptr) return Finish(ctx, NoMarket());
  const consensus::Params& params = m_env.backend.params();
  const std::uint32_t height = m_env.backend.Tip().height;
  const consensus::MarketGlobals g = m->Globals();
  const std::uint32_t slot = m->NextSlot();
  out->set_height(height);
  out->set_slot(slot);
  out->set_slot_blocks(params.slot_blocks);
  out->set_utility_key(ToHex(g.UtilityKeyAt(height + 1).span()));
  if (g.has_pending_key && g.pending_key_height > height + 1) {
    out->set_pending_utility_key(ToHex(g.pending_key.span()));
    out->set_pending_key_height(g.pending_key_height);
  }
  const consensus::Coefficients& k = g.CoefficientsAt(slot);
  out->set_a(k.a);
  out->set_b(k.b);
  out->set_c(k.c);
  if (g.has_pending_coefficients && g.pending_slot > slot) {
    out->set_coefficients_pending(true);
    out->set_pending_a(g.pending_coefficients.a);
    out->set_pending_b(g.pending_coefficients.b);
    out->set_pending_c(g.pending_coefficients.c);
    out->set_pending_slot(g.pending_slot);
  }
  out->set_grants_total(static_cast<std::int64_t>(g.grants_total));
  out->set_rewards_total(static_cast<std::int64_t>(g.rewards_total));
  out->set_meters_registered(g.meters_registered);
  out->set_readings_total(g.readings_total);
  out->set_channels_funded(g.channels_funded);
  out->set_channels_settled(g.channels_settled);
  out->set_pool(static_cast<std::int64_t>(g.PoolOutstanding()));
  out->set_pool_paying(static_cast<std::int64_t>(consensus::PoolPayingAt(g, height + 1, params)));
  out->set_settlement_fee_percent(params.settlement_fee_percent);
  out->set_reward_units_per_mwh(static_cast<std::int64_t>(params.reward_units_per_mwh));
  return grpc::Status::OK;
}

grpc::Status MarketServiceImpl::GetPrice(grpc::ServerContext* ctx, const v1::GetPriceRequest* req, v1::SlotPrice* out) {
  RPC_AUTHORIZE(ctx, "MarketService", "GetPrice");
  MarketControl* m = m_env.backend.Market();
  if (m == nullptr) return Finish(ctx, NoMarket());
  const std::uint32_t next = m->NextSlot();
  FillSlot(*m, m->Globals(), next, req->current() ? next : req->slot(), out);
  return grpc::Status::OK;
}

grpc::Status MarketServiceImpl::GetSchedule(grpc::ServerContext* ctx, const v1::GetScheduleRequest* req,
                                            v1::GetScheduleResponse* out) {
  RPC_AUTHORIZE(ctx, "MarketService", "GetSchedule");
  std::uint32_t count = 0;
  if (req->count() != 0) {
    if (auto e = ParseCount(req->count(), "count", kMaxScheduleSlots, count); !e.ok()) return Finish(ctx, e);
    if (std::uint64_t{req->from_slot()} + count - 1 > 0xffffffffull)
      return Finish(ctx, Invalid("from_slot + count: beyond the last slot"));
  }
  MarketControl* m = m_env.backend.Market();
  if (m == nullptr) return Finish(ctx, NoMarket());
  const std::uint32_t next = m->NextSlot();
  std::uint32_t from = req->from_slot();
  if (count == 0) {
    from = next >= kDefaultBefore ? next - kDefaultBefore : 0;
    count = next - from + 2;  // the slots before, the current one and the next
  }
  const consensus::MarketGlobals g = m->Globals();
  for (std::uint32_t i = 0; i < count; ++i) FillSlot(*m, g, next, from + i, out->add_slots());
  return grpc::Status::OK;
}

grpc::Status MarketServiceImpl::GetRewards(grpc::ServerContext* ctx, const v1::GetRewardsRequest* req,
                                           v1::GetRewardsResponse* out) {
  RPC_AUTHORIZE(ctx, "MarketService", "GetRewards");
  crypto::XOnlyPubKey owner;
  const AddressDecoder dec = [this](std::string_view t, std::string* e) { return m_env.backend.DecodeAddress(t, e); };
  if (auto e = ParseOwner(req->owner(), "owner", dec, owner); !e.ok()) return Finish(ctx, e);
  MarketControl* m = m_env.backend.Market();
  if (m == nullptr) return Finish(ctx, NoMarket());
  out->set_total(static_cast<std::int64_t>(m->OwnerRewards(owner)));
  const AddressEncoder enc = [this](const crypto::XOnlyPubKey& k) { return m_env.backend.EncodeAddress(k); };
  for (const auto& [id, state] : m->Meters()) {
    if (state.owner == owner) MeterInfoToProto(id, state, enc, out->add_meters());
  }
  return grpc::Status::OK;
}

}  // namespace wattline::rpc
