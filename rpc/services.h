// The gRPC services. Each handler starts with RPC_AUTHORIZE (the role check of rpc/auth.h
// on the call's own metadata, for the handler's own method), converts the request with
// rpc/convert.h, calls the Backend, and maps failures with rpc/status.h.
#pragma once

#include <atomic>
#include <cstdint>

#include "rpc/auth.h"
#include "rpc/backend.h"
#include "rpc/convert.h"
#include "rpc/credentials.h"
#include "rpc/status.h"
#include "wattline/v1/wattline.grpc.pb.h"

namespace wattline::rpc {

/** What every service shares: the backend, the credentials, and the server's shutdown state. */
struct ServiceEnv {
  Backend& backend;
  const Credentials& credentials;
  std::atomic<bool> shutting_down{false};
  std::atomic<unsigned> active_streams{0};
  unsigned max_streams = 32;
  std::size_t stream_queue = 256;  //!< events buffered per stream before RESOURCE_EXHAUSTED
};

/** The second per-call check (the first is TokenAuthProcessor): role of this call's token. */
grpc::Status CheckCall(const ServiceEnv& env, const grpc::ServerContext* ctx, std::string_view path);

#define WATTLINE_RPC_PATH(service, method) "/wattline.v1." service "/" method
#define RPC_AUTHORIZE(ctx, service, method)                                                      \
  do {                                                                                          \
    if (grpc::Status s_ = CheckCall(m_env, ctx, WATTLINE_RPC_PATH(service, method)); !s_.ok()) \
      return s_;                                                                                \
  } while (false)

class NodeServiceImpl final : public v1::NodeService::Service {
 public:
  explicit NodeServiceImpl(ServiceEnv& env) : m_env(env) {}
  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetInfoRequest*, v1::GetInfoResponse*) override;
  grpc::Status GetBlock(grpc::ServerContext*, const v1::GetBlockRequest*, v1::GetBlockResponse*) override;
  grpc::Status GetBlockHeader(grpc::ServerContext*, const v1::GetBlockHeaderRequest*,
                              v1::GetBlockHeaderResponse*) override;
  grpc::Status GetBlockHeaders(grpc::ServerContext*, const v1::GetBlockHeadersRequest*,
                               v1::GetBlockHeadersResponse*) override;
  grpc::Status GetTransaction(grpc::ServerContext*, const v1::GetTransactionRequest*,
                              v1::GetTransactionResponse*) override;
  grpc::Status GetUtxos(grpc::ServerContext*, const v1::GetUtxosRequest*, v1::GetUtxosResponse*) override;
  grpc::Status GetCoinStats(grpc::ServerContext*, const v1::GetCoinStatsRequest*, v1::GetCoinStatsResponse*) override;

 private:
  ServiceEnv& m_env;
};

class TxServiceImpl final : public v1::TxService::Service {
 public:
  explicit TxServiceImpl(ServiceEnv& env) : m_env(env) {}
  grpc::Status SubmitTransaction(grpc::ServerContext*, const v1::SubmitTransactionRequest*,
                                 v1::SubmitTransactionResponse*) override;

 private:
  ServiceEnv& m_env;
};

class WalletServiceImpl final : public v1::WalletService::Service {
 public:
  explicit WalletServiceImpl(ServiceEnv& env) : m_env(env) {}
  grpc::Status GetBalance(grpc::ServerContext*, const v1::GetBalanceRequest*, v1::GetBalanceResponse*) override;
  grpc::Status GetNewAddress(grpc::ServerContext*, const v1::GetNewAddressRequest*,
                             v1::GetNewAddressResponse*) override;
  grpc::Status Send(grpc::ServerContext*, const v1::SendRequest*, v1::SendResponse*) override;
  grpc::Status ListTransactions(grpc::ServerContext*, const v1::ListTransactionsRequest*,
                                v1::ListTransactionsResponse*) override;
  grpc::Status Unlock(grpc::ServerContext*, const v1::UnlockRequest*, v1::UnlockResponse*) override;
  grpc::Status Lock(grpc::ServerContext*, const v1::LockRequest*, v1::LockResponse*) override;
  grpc::Status ChangePassphrase(grpc::ServerContext*, const v1::ChangePassphraseRequest*,
                                v1::ChangePassphraseResponse*) override;
  grpc::Status Rescan(grpc::ServerContext*, const v1::RescanRequest*, v1::RescanResponse*) override;
  grpc::Status GetWalletInfo(grpc::ServerContext*, const v1::GetWalletInfoRequest*,
                             v1::GetWalletInfoResponse*) override;

 private:
  ServiceEnv& m_env;
};

class MiningServiceImpl final : public v1::MiningService::Service {
 public:
  explicit MiningServiceImpl(ServiceEnv& env) : m_env(env) {}
  grpc::Status Generate(grpc::ServerContext*, const v1::GenerateRequest*, v1::GenerateResponse*) override;
  grpc::Status SubmitBlock(grpc::ServerContext*, const v1::SubmitBlockRequest*, v1::SubmitBlockResponse*) override;
  grpc::Status Start(grpc::ServerContext*, const v1::StartMiningRequest*, v1::StartMiningResponse*) override;
  grpc::Status Stop(grpc::ServerContext*, const v1::StopMiningRequest*, v1::StopMiningResponse*) override;
  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetMiningInfoRequest*, v1::GetMiningInfoResponse*) override;

 private:
  ServiceEnv& m_env;
};

class MeterServiceImpl final : public v1::MeterService::Service {
 public:
  explicit MeterServiceImpl(ServiceEnv& env) : m_env(env) {}
  grpc::Status ScheduleHousehold(grpc::ServerContext*, const v1::ScheduleHouseholdRequest*,
                                 v1::ScheduleHouseholdResponse*) override;
  grpc::Status SubmitReadings(grpc::ServerContext*, const v1::SubmitReadingsRequest*,
                              v1::SubmitReadingsResponse*) override;
  grpc::Status ListReadings(grpc::ServerContext*, const v1::ListReadingsRequest*, v1::ListReadingsResponse*) override;
  /** In event_service.cpp, beside the other streams. */
  grpc::Status StreamReadings(grpc::ServerContext*, const v1::StreamReadingsRequest*,
                              grpc::ServerWriter<v1::ChainReading>*) override;
  grpc::Status PutBlob(grpc::ServerContext*, const v1::PutBlobRequest*, v1::PutBlobResponse*) override;
  grpc::Status GetBlob(grpc::ServerContext*, const v1::GetBlobRequest*, v1::GetBlobResponse*) override;

 private:
  ServiceEnv& m_env;
};

class UtilityServiceImpl final : public v1::UtilityService::Service {
 public:
  explicit UtilityServiceImpl(ServiceEnv& env) : m_env(env) {}
  grpc::Status RegisterMeter(grpc::ServerContext*, const v1::RegisterMeterRequest*, v1::UtilityTxResponse*) override;
  grpc::Status DeregisterMeter(grpc::ServerContext*, const v1::DeregisterMeterRequest*, v1::UtilityTxResponse*) override;
  grpc::Status SetCoefficients(grpc::ServerContext*, const v1::SetCoefficientsRequest*,
                               v1::SetCoefficientsResponse*) override;
  grpc::Status RotateKey(grpc::ServerContext*, const v1::RotateKeyRequest*, v1::UtilityTxResponse*) override;
  grpc::Status ListMeters(grpc::ServerContext*, const v1::ListMetersRequest*, v1::ListMetersResponse*) override;

 private:
  ServiceEnv& m_env;
};

class MarketServiceImpl final : public v1::MarketService::Service {
 public:
  explicit MarketServiceImpl(ServiceEnv& env) : m_env(env) {}
  grpc::Status GetMarketInfo(grpc::ServerContext*, const v1::GetMarketInfoRequest*, v1::GetMarketInfoResponse*) override;
  grpc::Status GetPrice(grpc::ServerContext*, const v1::GetPriceRequest*, v1::SlotPrice*) override;
  grpc::Status GetSchedule(grpc::ServerContext*, const v1::GetScheduleRequest*, v1::GetScheduleResponse*) override;
  grpc::Status GetRewards(grpc::ServerContext*, const v1::GetRewardsRequest*, v1::GetRewardsResponse*) override;

 private:
  ServiceEnv& m_env;
};

class ChannelServiceImpl final : public v1::ChannelService::Service {
 public:
  explicit ChannelServiceImpl(ServiceEnv& env) : m_env(env) {}
  grpc::Status OpenChannel(grpc::ServerContext*, const v1::OpenChannelRequest*, v1::OpenChannelResponse*) override;
  grpc::Status ListChannels(grpc::ServerContext*, const v1::ListChannelsRequest*, v1::ListChannelsResponse*) override;
  grpc::Status GetChannel(grpc::ServerContext*, const v1::GetChannelRequest*, v1::ChannelInfo*) override;
  grpc::Status Pay(grpc::ServerContext*, const v1::PayRequest*, v1::PayResponse*) override;
  grpc::Status CloseChannel(grpc::ServerContext*, const v1::CloseChannelRequest*, v1::CloseChannelResponse*) override;
  grpc::Status ForceClose(grpc::ServerContext*, const v1::ForceCloseRequest*, v1::ForceCloseResponse*) override;
  grpc::Status CancelChannel(grpc::ServerContext*, const v1::CancelChannelRequest*, v1::CancelChannelResponse*) override;
  grpc::Status GetChannelKey(grpc::ServerContext*, const v1::GetChannelKeyRequest*, v1::GetChannelKeyResponse*) override;
  grpc::Status EvidenceClose(grpc::ServerContext*, const v1::EvidenceCloseRequest*, v1::EvidenceCloseResponse*) override;
  grpc::Status ExpiryClose(grpc::ServerContext*, const v1::ExpiryCloseRequest*, v1::ExpiryCloseResponse*) override;
  grpc::Status WatchChannels(grpc::ServerContext*, const v1::WatchChannelsRequest*,
                             grpc::ServerWriter<v1::ChannelEvent>*) override;

 private:
  ServiceEnv& m_env;
};

/** FAILED_PRECONDITION when the backend has no market. */
RpcError NoMarket();

class PeerServiceImpl final : public v1::PeerService::Service {
 public:
  explicit PeerServiceImpl(ServiceEnv& env) : m_env(env) {}
  grpc::Status ListPeers(grpc::ServerContext*, const v1::ListPeersRequest*, v1::ListPeersResponse*) override;
  grpc::Status GetNetTotals(grpc::ServerContext*, const v1::GetNetTotalsRequest*, v1::GetNetTotalsResponse*) override;
  grpc::Status AddPeer(grpc::ServerContext*, const v1::AddPeerRequest*, v1::AddPeerResponse*) override;
  grpc::Status RemovePeer(grpc::ServerContext*, const v1::RemovePeerRequest*, v1::RemovePeerResponse*) override;
  grpc::Status DisconnectPeer(grpc::ServerContext*, const v1::DisconnectPeerRequest*,
                              v1::DisconnectPeerResponse*) override;
  grpc::Status Ban(grpc::ServerContext*, const v1::BanRequest*, v1::BanResponse*) override;
  grpc::Status Unban(grpc::ServerContext*, const v1::UnbanRequest*, v1::UnbanResponse*) override;
  grpc::Status ListBans(grpc::ServerContext*, const v1::ListBansRequest*, v1::ListBansResponse*) override;
  grpc::Status ClearBans(grpc::ServerContext*, const v1::ClearBansRequest*, v1::ClearBansResponse*) override;

 private:
  ServiceEnv& m_env;
};

class EventServiceImpl final : public v1::EventService::Service {
 public:
  explicit EventServiceImpl(ServiceEnv& env) : m_env(env) {}
  grpc::Status SubscribeBlocks(grpc::ServerContext*, const v1::SubscribeBlocksRequest*,
                               grpc::ServerWriter<v1::BlockEvent>*) override;
  grpc::Status SubscribeTransactions(grpc::ServerContext*, const v1::SubscribeTransactionsRequest*,
                                     grpc::ServerWriter<v1::TransactionEvent>*) override;

 private:
  ServiceEnv& m_env;
};

}  // namespace wattline::rpc
