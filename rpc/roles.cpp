#include "rpc/roles.h"

#include <algorithm>

namespace wattline::rpc {
namespace {

constexpr RoleMask kAdmin = Mask(Role::kAdmin);
constexpr RoleMask kWallet = Mask(Role::kWallet);
constexpr RoleMask kMeter = Mask(Role::kMeter);
constexpr RoleMask kUtility = Mask(Role::kUtility);
constexpr RoleMask kEveryone = kAdmin | kWallet | kMeter | kUtility;

// THE table. Keep it sorted by path (a test checks) and in step with wattline.proto (a test
// checks that too). docs/api.md prints the same table for people.
constexpr MethodRule kTable[] = {
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", kEveryone},
    {"/wattline.v1.ChannelService/CancelChannel", kAdmin | kWallet},
    {"/wattline.v1.ChannelService/CloseChannel", kAdmin | kWallet},
    {"/wattline.v1.ChannelService/EvidenceClose", kAdmin | kWallet},
    {"/wattline.v1.ChannelService/ExpiryClose", kAdmin | kWallet | kUtility},
    {"/wattline.v1.ChannelService/ForceClose", kAdmin | kWallet},
    {"/wattline.v1.ChannelService/GetChannel", kAdmin | kWallet | kUtility},
    {"/wattline.v1.ChannelService/GetChannelKey", kAdmin | kWallet | kUtility},
    {"/wattline.v1.ChannelService/ListChannels", kAdmin | kWallet | kUtility},
    {"/wattline.v1.ChannelService/OpenChannel", kAdmin | kWallet},
    {"/wattline.v1.ChannelService/Pay", kAdmin | kWallet},
    {"/wattline.v1.ChannelService/WatchChannels", kAdmin | kWallet | kUtility},
    {"/wattline.v1.EventService/SubscribeBlocks", kEveryone},
    {"/wattline.v1.EventService/SubscribeTransactions", kAdmin | kWallet | kUtility},
    {"/wattline.v1.MarketService/GetMarketInfo", kEveryone},
    {"/wattline.v1.MarketService/GetPrice", kEveryone},
    {"/wattline.v1.MarketService/GetRewards", kEveryone},
    {"/wattline.v1.MarketService/GetSchedule", kEveryone},
    {"/wattline.v1.MeterService/GetBlob", kAdmin | kWallet | kUtility},
    {"/wattline.v1.MeterService/ListReadings", kAdmin | kWallet | kUtility},
    {"/wattline.v1.MeterService/PutBlob", kAdmin | kMeter | kUtility},
    {"/wattline.v1.MeterService/ScheduleHousehold", kEveryone},
    {"/wattline.v1.MeterService/StreamReadings", kAdmin | kWallet | kUtility},
    {"/wattline.v1.MeterService/SubmitReadings", kAdmin | kMeter | kUtility},
    {"/wattline.v1.MiningService/Generate", kAdmin},
    {"/wattline.v1.MiningService/GetInfo", kAdmin | kUtility},
    {"/wattline.v1.MiningService/Start", kAdmin},
    {"/wattline.v1.MiningService/Stop", kAdmin},
    {"/wattline.v1.MiningService/SubmitBlock", kAdmin | kUtility},
    {"/wattline.v1.NodeService/GetBlock", kEveryone},
    {"/wattline.v1.NodeService/GetBlockHeader", kEveryone},
    {"/wattline.v1.NodeService/GetBlockHeaders", kEveryone},
    {"/wattline.v1.NodeService/GetCoinStats", kAdmin | kUtility},
    {"/wattline.v1.NodeService/GetInfo", kEveryone},
    {"/wattline.v1.NodeService/GetTransaction", kEveryone},
    {"/wattline.v1.NodeService/GetUtxos", kAdmin | kWallet | kUtility},
    {"/wattline.v1.PeerService/AddPeer", kAdmin},
    {"/wattline.v1.PeerService/Ban", kAdmin},
    {"/wattline.v1.PeerService/ClearBans", kAdmin},
    {"/wattline.v1.PeerService/DisconnectPeer", kAdmin},
    {"/wattline.v1.PeerService/GetNetTotals", kAdmin | kUtility},
    {"/wattline.v1.PeerService/ListBans", kAdmin | kUtility},
    {"/wattline.v1.PeerService/ListPeers", kAdmin | kUtility},
    {"/wattline.v1.PeerService/RemovePeer", kAdmin},
    {"/wattline.v1.PeerService/Unban", kAdmin},
    {"/wattline.v1.TxService/SubmitTransaction", kAdmin | kWallet | kUtility},
    {"/wattline.v1.UtilityService/DeregisterMeter", kUtility},
    {"/wattline.v1.UtilityService/ListMeters", kAdmin | kUtility},
    {"/wattline.v1.UtilityService/RegisterMeter", kUtility},
    {"/wattline.v1.UtilityService/RotateKey", kUtility},
    {"/wattline.v1.UtilityService/SetCoefficients", kUtility},
    {"/wattline.v1.WalletService/ChangePassphrase", kAdmin},
    {"/wattline.v1.WalletService/GetBalance", kAdmin | kWallet},
    {"/wattline.v1.WalletService/GetNewAddress", kAdmin | kWallet},
    {"/wattline.v1.WalletService/GetWalletInfo", kAdmin | kWallet},
    {"/wattline.v1.WalletService/ListTransactions", kAdmin | kWallet},
    {"/wattline.v1.WalletService/Lock", kAdmin | kWallet},
    {"/wattline.v1.WalletService/Rescan", kAdmin},
    {"/wattline.v1.WalletService/Send", kAdmin | kWallet},
    {"/wattline.v1.WalletService/Unlock", kAdmin | kWallet},
};

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kWallet: return "wallet";
    case Role::kMeter: return "meter";
    case Role::kUtility: return "utility";
  }
  return "unknown";
}

std::optional<Role> RoleFromName(std::string_view name) {
  for (Role r : kAllRoles) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::span<const MethodRule> MethodTable() { return kTable; }

const MethodRule* FindMethod(std::string_view path) {
  const auto* it = std::lower_bound(std::begin(kTable), std::end(kTable), path,
                                    [](const MethodRule& r, std::string_view p) { return r.path < p; });
  if (it == std::end(kTable) || it->path != path) return nullptr;
  return it;
}

bool IsAllowed(Role role, std::string_view path) {
  const MethodRule* rule = FindMethod(path);
  // Not in the table: admin only. In the table: the mask decides, for admin too (the utility's
  // write methods leave admin out: the utility credential is distinct from admin).
  if (rule == nullptr) return role == Role::kAdmin;
  return (rule->allowed & Mask(role)) != 0;
}

}  // namespace wattline::rpc
