#include "rpc/services.h"

namespace wattline::rpc {
namespace {
constexpr std::uint32_t kMaxGenerate = 1000;
constexpr std::uint32_t kMaxThreads = 64;
}  // namespace

grpc::Status MiningServiceImpl::Generate(grpc::ServerContext* ctx, const v1::GenerateRequest* req,
                                         v1::GenerateResponse* out) {
  RPC_AUTHORIZE(ctx, "MiningService", "Generate");
  std::uint32_t count = 0;
  if (auto e = ParseCount(req->count(), "count", kMaxGenerate, count); !e.ok()) return Finish(ctx, e);
  std::optional<crypto::XOnlyPubKey> payout;
  if (!req->address().empty()) {
    crypto::XOnlyPubKey key;
    const AddressDecoder dec = [this](std::string_view t, std::string* e) { return m_env.backend.DecodeAddress(t, e); };
    if (auto e = ParseAddress(req->address(), "address", dec, key); !e.ok()) return Finish(ctx, e);
    payout = key;
  } else if (!m_env.backend.HasWallet()) {
    return Finish(ctx, Invalid("address: required when the node runs without a wallet"));
  }
  std::vector<crypto::Hash256> hashes;
  std::string error;
  const bool ok = m_env.backend.Generate(count, payout, hashes, error);
  for (const auto& h : hashes) out->add_hashes(h.ToHex());
  if (!ok) {
    return Finish(ctx, {grpc::StatusCode::FAILED_PRECONDITION,
                        "generate stopped after " + std::to_string(hashes.size()) + " blocks: " + error, ""});
  }
  return grpc::Status::OK;
}

grpc::Status MiningServiceImpl::SubmitBlock(grpc::ServerContext* ctx, const v1::SubmitBlockRequest* req,
                                            v1::SubmitBlockResponse* out) {
  RPC_AUTHORIZE(ctx, "MiningService", "SubmitBlock");
  consensus::Block block;
  if (auto e = ParseRawBlock(req->block(), block); !e.ok()) return Finish(ctx, e);
  consensus::ValidationState state;
  std::uint32_t height = 0;
  bool active = false;
  if (!m_env.backend.SubmitBlock(block, state, height, active)) return Finish(ctx, FromValidation(state));
  out->set_hash(block.Hash().ToHex());
  out->set_height(height);
  out->set_active(active);
  return grpc::Status::OK;
}

grpc::Status MiningServiceImpl::Start(grpc::ServerContext* ctx, const v1::StartMiningRequest* req,
                                      v1::StartMiningResponse*) {
  RPC_AUTHORIZE(ctx, "MiningService", "Start");
  std::uint32_t threads = 1;
  if (req->threads() != 0) {
    if (auto e = ParseCount(req->threads(), "threads", kMaxThreads, threads); !e.ok()) return Finish(ctx, e);
  }
  std::string error;
  if (!m_env.backend.StartMining(threads, error)) {
    return Finish(ctx, {grpc::StatusCode::FAILED_PRECONDITION, "cannot start mining: " + error, ""});
  }
  return grpc::Status::OK;
}

grpc::Status MiningServiceImpl::Stop(grpc::ServerContext* ctx, const v1::StopMiningRequest*, v1::StopMiningResponse*) {
  RPC_AUTHORIZE(ctx, "MiningService", "Stop");
  m_env.backend.StopMining();
  return grpc::Status::OK;
}

grpc::Status MiningServiceImpl::GetInfo(grpc::ServerContext* ctx, const v1::GetMiningInfoRequest*,
                                        v1::GetMiningInfoResponse* out) {
  RPC_AUTHORIZE(ctx, "MiningService", "GetInfo");
  const MiningInfo m = m_env.backend.Mining();
  const TipInfo tip = m_env.backend.Tip();
  out->set_running(m.running);
  out->set_threads(m.threads);
  out->set_height(tip.height);
  out->set_bits(tip.header.bits);
  out->set_hashes_per_second(m.hashes_per_second);
  out->set_blocks_mined(m.blocks_mined);
  out->set_mempool_count(m_env.backend.Mempool().count);
  return grpc::Status::OK;
}

}  // namespace wattline::rpc
