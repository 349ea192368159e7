// UtilityService, MarketService and the market side of MeterService against the real server
// serving a real regtest node acting as the utility (the documented regtest utility key).
#include <gtest/gtest.h>

#include "consensus/market.h"
#include "rpc/convert.h"
#include "tests/unit/rpc/server_fixture.h"
#include "wattline/v1/wattline.grpc.pb.h"

namespace wattline::rpc {
namespace {

using grpc::StatusCode;

class MarketTest : public ServerTest {
 protected:
  void UnlockAndFund() {
    ASSERT_TRUE(m_node->wallet()->Unlock(kPassphrase, std::chrono::seconds(600)).ok());
    Generate(Params().coinbase_maturity + 1);
  }
};

TEST_F(MarketTest, RoleTableForTheNewMethods) {
  auto utility = v1::UtilityService::NewStub(m_channel);
  const auto meter_key = test::TestKey(7).PubKey();
  v1::RegisterMeterRequest req;
  req.set_meter(ToHex(meter_key.span()));
  req.set_owner(Address(test::TestKey(8).PubKey()));
  req.set_role(v1::METER_ROLE_PRODUCER);
  for (Role r : {Role::kAdmin, Role::kWallet, Role::kMeter}) {
    grpc::ClientContext ctx;
    Auth(ctx, Token(r));
    v1::UtilityTxResponse resp;
    EXPECT_EQ(utility->RegisterMeter(&ctx, req, &resp).error_code(), StatusCode::PERMISSION_DENIED) << RoleName(r);
  }
  // Meter may submit readings (past the role check: the empty batch is INVALID_ARGUMENT).
  auto meter = v1::MeterService::NewStub(m_channel);
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kMeter));
  v1::SubmitReadingsResponse resp;
  const grpc::Status s = meter->SubmitReadings(&ctx, {}, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("1 to 100"), std::string::npos) << s.error_message();
}

TEST_F(MarketTest, BadInputsAreInvalidArgument) {
  auto utility = v1::UtilityService::NewStub(m_channel);
  auto call = [&](const v1::RegisterMeterRequest& req) {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kUtility));
    v1::UtilityTxResponse resp;
    return utility->RegisterMeter(&ctx, req, &resp);
  };
  v1::RegisterMeterRequest good;
  good.set_meter(ToHex(test::TestKey(7).PubKey().span()));
  good.set_owner(ToHex(test::TestKey(8).PubKey().span()));
  good.set_role(v1::METER_ROLE_PROSUMER);
  auto bad = good;
  bad.set_meter("abcd");
  grpc::Status s = call(bad);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("64 hex digits"), std::string::npos) << s.error_message();
  bad = good;
  bad.set_role(v1::METER_ROLE_UNSPECIFIED);
  s = call(bad);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("role"), std::string::npos) << s.error_message();
  bad = good;
  bad.set_owner("wl1qqqq");
  EXPECT_EQ(call(bad).error_code(), StatusCode::INVALID_ARGUMENT);
  bad = good;
  bad.set_grant(-1);
  EXPECT_EQ(call(bad).error_code(), StatusCode::INVALID_ARGUMENT);

  auto meter = v1::MeterService::NewStub(m_channel);
  v1::SubmitReadingsRequest sr;
  auto* r = sr.add_readings();
  r->set_meter(good.meter());
  r->set_length(900);
  r->set_signature("00");
  grpc::ClientContext ctx;
  Auth(ctx, Token(Role::kMeter));
  v1::SubmitReadingsResponse resp;
  s = meter->SubmitReadings(&ctx, sr, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("readings[0].signature"), std::string::npos) << s.error_message();

  grpc::ClientContext bctx;
  Auth(bctx, Token(Role::kAdmin));
  v1::GetBlobRequest br;
  br.set_cid("bnotacid");
  v1::GetBlobResponse bresp;
  EXPECT_EQ(meter->GetBlob(&bctx, br, &bresp).error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(MarketTest, RegisterMineReadRewardAndBlobs) {
  UnlockAndFund();
  const auto meter_secret = test::TestKey(7);
  const auto meter_key = meter_secret.PubKey();
  const auto owner = test::TestKey(8).PubKey();
  auto utility = v1::UtilityService::NewStub(m_channel);
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kUtility));
    v1::RegisterMeterRequest req;
    req.set_meter(ToHex(meter_key.span()));
    req.set_owner(Address(owner));
    req.set_role(v1::METER_ROLE_PRODUCER);
    v1::UtilityTxResponse resp;
    const grpc::Status s = utility->RegisterMeter(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  Generate(1);
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kAdmin));
    v1::ListMetersResponse resp;
    ASSERT_TRUE(utility->ListMeters(&ctx, {}, &resp).ok());
    ASSERT_EQ(resp.meters_size(), 1);
    EXPECT_EQ(resp.meters(0).meter(), ToHex(meter_key.span()));
    EXPECT_EQ(resp.meters(0).owner(), Address(owner));
    EXPECT_TRUE(resp.meters(0).registered());
  }
  consensus::Reading reading;
  reading.meter = meter_key;
  reading.start = static_cast<std::uint64_t>(m_node->chainstate().Tip()->header.time) - 3600;
  reading.length = 900;
  reading.export_wh = 1500;
  reading.export_register = 1500;
  reading.sig = meter_secret.Sign(consensus::ReadingSigHash(Params(), reading));
  auto meter = v1::MeterService::NewStub(m_channel);
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    v1::SubmitReadingsRequest req;
    ReadingToProto(reading, req.add_readings());
    v1::SubmitReadingsResponse resp;
    const grpc::Status s = meter->SubmitReadings(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.rewards(), 1500 * 100);  // 100 units per exported Wh (1 coin per MWh)
  }
  Generate(1);
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kWallet));
    v1::ListReadingsRequest req;
    req.set_meter(ToHex(meter_key.span()));
    v1::ListReadingsResponse resp;
    ASSERT_TRUE(meter->ListReadings(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.readings_size(), 1);
    EXPECT_EQ(resp.readings(0).reading().export_wh(), 1500u);
  }
  auto market = v1::MarketService::NewStub(m_channel);
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    v1::GetRewardsRequest req;
    req.set_owner(ToHex(owner.span()));
    v1::GetRewardsResponse resp;
    ASSERT_TRUE(market->GetRewards(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.total(), 1500 * 100);
    ASSERT_EQ(resp.meters_size(), 1);
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    v1::GetPriceRequest req;
    req.set_current(true);
    v1::SlotPrice resp;
    ASSERT_TRUE(market->GetPrice(&ctx, req, &resp).ok());
    EXPECT_FALSE(resp.provisional());
    EXPECT_EQ(resp.c(), Params().initial_c);
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    v1::GetScheduleResponse resp;
    ASSERT_TRUE(market->GetSchedule(&ctx, {}, &resp).ok());
    EXPECT_GE(resp.slots_size(), 2);
  }
  std::string cid;
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kMeter));
    v1::PutBlobRequest req;
    req.set_data("per-minute samples");
    v1::PutBlobResponse resp;
    ASSERT_TRUE(meter->PutBlob(&ctx, req, &resp).ok());
    cid = resp.cid();
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kUtility));
    v1::GetBlobRequest req;
    req.set_cid(cid);
    v1::GetBlobResponse resp;
    ASSERT_TRUE(meter->GetBlob(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.data(), "per-minute samples");
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kUtility));
    v1::GetBlobRequest req;
    req.set_cid(consensus::CidToString(consensus::ComputeCid({})));
    v1::GetBlobResponse resp;
    EXPECT_EQ(meter->GetBlob(&ctx, req, &resp).error_code(), StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, Token(Role::kAdmin));
    v1::GetCoinStatsResponse resp;
    ASSERT_TRUE(v1::NodeService::NewStub(m_channel)->GetCoinStats(&ctx, {}, &resp).ok());
    EXPECT_EQ(resp.total_rewards(), 1500 * 100);
    EXPECT_GE(resp.unclaimed(), 0);
  }
}

}  // namespace
}  // namespace wattline::rpc
