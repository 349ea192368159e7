// The role table: one entry per method of the proto (so a new method fails this test until it
// has a rule), sorted, and the decision for every role x method as the API promises it.
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "rpc/roles.h"
#include "wattline/v1/wattline.pb.h"

namespace wattline::rpc {
namespace {

std::set<std::string> ProtoMethodPaths() {
  // Touch a generated type so the file is registered in the generated pool.
  (void)v1::GetInfoRequest::descriptor();
  const auto* file = google::protobuf::DescriptorPool::generated_pool()->FindFileByName("wattline/v1/wattline.proto");
  EXPECT_NE(file, nullptr);
  std::set<std::string> out;
  if (file == nullptr) return out;
  for (int s = 0; s < file->service_count(); ++s) {
    const auto* svc = file->service(s);
    for (int m = 0; m < svc->method_count(); ++m) out.insert("/" + svc->full_name() + "/" + svc->method(m)->name());
  }
  return out;
}

TEST(Roles, EveryProtoMethodHasARule) {
  const auto paths = ProtoMethodPaths();
  EXPECT_EQ(paths.size(), 59u);  // 7 node + 1 tx + 9 wallet + 5 mining + 6 meter + 9 peer + 2 events + 5 utility + 4 market + 11 channel (reflection is not in this file)
  for (const auto& p : paths) EXPECT_NE(FindMethod(p), nullptr) << "no role rule for " << p;
}

TEST(Roles, EveryRuleNamesARealMethod) {
  const auto paths = ProtoMethodPaths();
  for (const auto& rule : MethodTable()) {
    if (rule.path == kReflectionPath) continue;
    EXPECT_TRUE(paths.count(std::string(rule.path))) << "rule for a method the proto lacks: " << rule.path;
  }
  EXPECT_NE(FindMethod(kReflectionPath), nullptr);
}

TEST(Roles, TableIsSortedAndUnique) {
  const auto t = MethodTable();
  for (std::size_t i = 1; i < t.size(); ++i) EXPECT_LT(t[i - 1].path, t[i].path);
}

TEST(Roles, Names) {
  for (Role r : kAllRoles) EXPECT_EQ(RoleFromName(RoleName(r)), r);
  EXPECT_FALSE(RoleFromName("root").has_value());
  EXPECT_FALSE(RoleFromName("").has_value());
}

TEST(Roles, EveryRoleTimesEveryMethod) {
  // The promise of docs/api.md, written out independently of rpc/roles.cpp: A W M U.
  const std::map<std::string, std::string> expected = {
      {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "AWMU"},
      {"/wattline.v1.ChannelService/CancelChannel", "AW--"},
      {"/wattline.v1.ChannelService/CloseChannel", "AW--"},
      {"/wattline.v1.ChannelService/EvidenceClose", "AW--"},
      {"/wattline.v1.ChannelService/ExpiryClose", "AW-U"},
      {"/wattline.v1.ChannelService/ForceClose", "AW--"},
      {"/wattline.v1.ChannelService/GetChannel", "AW-U"},
      {"/wattline.v1.ChannelService/GetChannelKey", "AW-U"},
      {"/wattline.v1.ChannelService/ListChannels", "AW-U"},
      {"/wattline.v1.ChannelService/OpenChannel", "AW--"},
      {"/wattline.v1.ChannelService/Pay", "AW--"},
      {"/wattline.v1.ChannelService/WatchChannels", "AW-U"},
      {"/wattline.v1.EventService/SubscribeBlocks", "AWMU"},
      {"/wattline.v1.EventService/SubscribeTransactions", "AW-U"},
      {"/wattline.v1.MarketService/GetMarketInfo", "AWMU"},
      {"/wattline.v1.MarketService/GetPrice", "AWMU"},
      {"/wattline.v1.MarketService/GetRewards", "AWMU"},
      {"/wattline.v1.MarketService/GetSchedule", "AWMU"},
      {"/wattline.v1.MeterService/GetBlob", "AW-U"},
      {"/wattline.v1.MeterService/ListReadings", "AW-U"},
      {"/wattline.v1.MeterService/PutBlob", "A-MU"},
      {"/wattline.v1.MeterService/ScheduleHousehold", "AWMU"},
      {"/wattline.v1.MeterService/StreamReadings", "AW-U"},
      {"/wattline.v1.MeterService/SubmitReadings", "A-MU"},
      {"/wattline.v1.MiningService/Generate", "A---"},
      {"/wattline.v1.MiningService/GetInfo", "A--U"},
      {"/wattline.v1.MiningService/Start", "A---"},
      {"/wattline.v1.MiningService/Stop", "A---"},
      {"/wattline.v1.MiningService/SubmitBlock", "A--U"},
      {"/wattline.v1.NodeService/GetBlock", "AWMU"},
      {"/wattline.v1.NodeService/GetBlockHeader", "AWMU"},
      {"/wattline.v1.NodeService/GetBlockHeaders", "AWMU"},
      {"/wattline.v1.NodeService/GetInfo", "AWMU"},
      {"/wattline.v1.NodeService/GetTransaction", "AWMU"},
      {"/wattline.v1.NodeService/GetUtxos", "AW-U"},
      {"/wattline.v1.NodeService/GetCoinStats", "A--U"},
      {"/wattline.v1.PeerService/AddPeer", "A---"},
      {"/wattline.v1.PeerService/Ban", "A---"},
      {"/wattline.v1.PeerService/ClearBans", "A---"},
      {"/wattline.v1.PeerService/DisconnectPeer", "A---"},
      {"/wattline.v1.PeerService/GetNetTotals", "A--U"},
      {"/wattline.v1.PeerService/ListBans", "A--U"},
      {"/wattline.v1.PeerService/ListPeers", "A--U"},
      {"/wattline.v1.PeerService/RemovePeer", "A---"},
      {"/wattline.v1.PeerService/Unban", "A---"},
      {"/wattline.v1.TxService/SubmitTransaction", "AW-U"},
      {"/wattline.v1.UtilityService/DeregisterMeter", "---U"},
      {"/wattline.v1.UtilityService/ListMeters", "A--U"},
      {"/wattline.v1.UtilityService/RegisterMeter", "---U"},
      {"/wattline.v1.UtilityService/RotateKey", "---U"},
      {"/wattline.v1.UtilityService/SetCoefficients", "---U"},
      {"/wattline.v1.WalletService/ChangePassphrase", "A---"},
      {"/wattline.v1.WalletService/GetBalance", "AW--"},
      {"/wattline.v1.WalletService/GetNewAddress", "AW--"},
      {"/wattline.v1.WalletService/GetWalletInfo", "AW--"},
      {"/wattline.v1.WalletService/ListTransactions", "AW--"},
      {"/wattline.v1.WalletService/Lock", "AW--"},
      {"/wattline.v1.WalletService/Rescan", "A---"},
      {"/wattline.v1.WalletService/Send", "AW--"},
      {"/wattline.v1.WalletService/Unlock", "AW--"},
  };
  EXPECT_EQ(expected.size(), MethodTable().size());
  for (const auto& [path, mask] : expected) {
    for (std::size_t i = 0; i < kAllRoles.size(); ++i) {
      EXPECT_EQ(IsAllowed(kAllRoles[i], path), mask[i] != '-') << RoleName(kAllRoles[i]) << " " << path;
    }
  }
  // Unknown methods: admin only.
  EXPECT_TRUE(IsAllowed(Role::kAdmin, "/wattline.v1.NodeService/Nope"));
  for (Role r : {Role::kWallet, Role::kMeter, Role::kUtility}) EXPECT_FALSE(IsAllowed(r, "/wattline.v1.NodeService/Nope"));
}

}  // namespace
}  // namespace wattline::rpc
