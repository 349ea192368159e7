#include <algorithm>

#include "rpc/services.h"

namespace wattline::rpc {
namespace {

constexpr std::uint32_t kMaxHeaders = 2000;
constexpr std::uint32_t kMaxUtxos = 1000;

std::uint32_t Confirmations(const BlockInfo& b, std::uint32_t tip_height) {
  return b.active && tip_height >= b.height ? tip_height - b.height + 1 : 0;
}

void FillHeader(const BlockInfo& b, std::uint32_t tip_height, v1::BlockHeader* out) {
  HeaderToProto(b.header, out);
  out->set_height(b.height);
  out->set_active(b.active);
  out->set_confirmations(Confirmations(b, tip_height));
  out->set_tx_count(b.tx_count);
}

std::optional<BlockInfo> Lookup(const Backend& backend, const BlockSelector& sel) {
  if (const auto* h = std::get_if<crypto::Hash256>(&sel)) return backend.BlockByHash(*h);
  return backend.BlockAtHeight(std::get<std::uint32_t>(sel));
}

std::string Describe(const BlockSelector& sel) {
  if (const auto* h = std::get_if<crypto::Hash256>(&sel)) return "block " + h->ToHex();
  return "block at height " + std::to_string(std::get<std::uint32_t>(sel));
}

}  // namespace

grpc::Status CheckCall(const ServiceEnv& env, const grpc::ServerContext* ctx, std::string_view path) {
  return Authorize(env.credentials, nullptr, path, ctx->client_metadata());
}

grpc::Status NodeServiceImpl::GetInfo(grpc::ServerContext* ctx, const v1::GetInfoRequest*, v1::GetInfoResponse* out) {
  RPC_AUTHORIZE(ctx, "NodeService", "GetInfo");
  const Backend& b = m_env.backend;
  const TipInfo tip = b.Tip();
  const MempoolInfo mp = b.Mempool();
  out->set_network(NetworkToProto(b.params().network));
  out->set_network_name(b.params().name);
  out->set_version(b.Version());
  out->set_height(tip.height);
  out->set_tip_hash(tip.hash.ToHex());
  out->set_tip_time(tip.header.time);
  out->set_tip_bits(tip.header.bits);
  out->set_mempool_count(mp.count);
  out->set_mempool_bytes(mp.bytes);
  out->set_mempool_min_fee_rate(mp.min_fee_rate);
  out->set_wallet_enabled(b.HasWallet());
  out->set_mining(b.Mining().running);
  out->set_time(b.Now());
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetBlock(grpc::ServerContext* ctx, const v1::GetBlockRequest* req,
                                       v1::GetBlockResponse* out) {
  RPC_AUTHORIZE(ctx, "NodeService", "GetBlock");
  BlockSelector sel;
  if (auto e = ParseBlockId(req->block(), sel); !e.ok()) return Finish(ctx, e);
  v1::BlockFormat format{};
  if (auto e = ParseBlockFormat(req->format(), format); !e.ok()) return Finish(ctx, e);
  const auto info = Lookup(m_env.backend, sel);
  if (!info) return Finish(ctx, NotFound(Describe(sel) + " not found"));
  consensus::Block block;
  if (!info->have_data || !m_env.backend.ReadBlock(info->hash, block)) {
    return Finish(ctx, NotFound("data of block " + info->hash.ToHex() + " is not stored"));
  }
  FillHeader(*info, m_env.backend.Tip().height, out->mutable_header());
  const consensus::Bytes raw = consensus::EncodeBlock(block);
  out->set_size(raw.size());
  if (format == v1::BLOCK_FORMAT_DECODED || format == v1::BLOCK_FORMAT_FULL) {
    const AddressEncoder enc = [this](const crypto::XOnlyPubKey& k) { return m_env.backend.EncodeAddress(k); };
    for (const auto& tx : block.txs) TransactionToProto(*tx, enc, out->add_txs());
  }
  if (format == v1::BLOCK_FORMAT_RAW || format == v1::BLOCK_FORMAT_FULL) out->set_raw_hex(ToHex(raw));
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetBlockHeader(grpc::ServerContext* ctx, const v1::GetBlockHeaderRequest* req,
                                             v1::GetBlockHeaderResponse* out) {
  RPC_AUTHORIZE(ctx, "NodeService", "GetBlockHeader");
  BlockSelector sel;
  if (auto e = ParseBlockId(req->block(), sel); !e.ok()) return Finish(ctx, e);
  const auto info = Lookup(m_env.backend, sel);
  if (!info) return Finish(ctx, NotFound(Describe(sel) + " not found"));
  FillHeader(*info, m_env.backend.Tip().height, out->mutable_header());
  const auto raw = info->header.Encode();
  out->set_raw_hex(ToHex(raw));
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetBlockHeaders(grpc::ServerContext* ctx, const v1::GetBlockHeadersRequest* req,
                                              v1::GetBlockHeadersResponse* out) {
  RPC_AUTHORIZE(ctx, "NodeService", "GetBlockHeaders");
  std::uint32_t count = 0;
  if (auto e = ParseCount(req->count(), "count", kMaxHeaders, count); !e.ok()) return Finish(ctx, e);
  const std::uint32_t tip = m_env.backend.Tip().height;
  if (req->start_height() > tip) {
    return Finish(ctx, {grpc::StatusCode::OUT_OF_RANGE,
                        "start_height " + std::to_string(req->start_height()) + " is above the tip " +
                            std::to_string(tip),
                        ""});
  }
  const std::uint64_t end = std::min<std::uint64_t>(std::uint64_t{req->start_height()} + count, std::uint64_t{tip} + 1);
  for (std::uint64_t h = req->start_height(); h < end; ++h) {
    const auto info = m_env.backend.BlockAtHeight(static_cast<std::uint32_t>(h));
    if (!info) break;  // the chain shrank under us (a reorganisation): return what we have
    FillHeader(*info, tip, out->add_headers());
  }
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetTransaction(grpc::ServerContext* ctx, const v1::GetTransactionRequest* req,
                                             v1::GetTransactionResponse* out) {
  RPC_AUTHORIZE(ctx, "NodeService", "GetTransaction");
  crypto::Hash256 txid;
  if (auto e = ParseHash(req->txid(), "txid", txid); !e.ok()) return Finish(ctx, e);
  const auto found = m_env.backend.FindTransaction(txid);
  if (!found || !found->tx) return Finish(ctx, NotFound("transaction " + txid.ToHex() + " not found"));
  const AddressEncoder enc = [this](const crypto::XOnlyPubKey& k) { return m_env.backend.EncodeAddress(k); };
  TransactionToProto(*found->tx, enc, out->mutable_tx());
  out->set_raw_hex(ToHex(consensus::EncodeTransaction(*found->tx)));
  out->set_in_mempool(found->in_mempool);
  if (found->in_mempool) out->set_fee(found->fee.units);
  if (found->block_hash) {
    out->set_block_hash(found->block_hash->ToHex());
    out->set_height(found->height);
    if (const auto b = m_env.backend.BlockByHash(*found->block_hash)) {
      out->set_height(b->height);
      out->set_confirmations(Confirmations(*b, m_env.backend.Tip().height));
    }
  }
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetUtxos(grpc::ServerContext* ctx, const v1::GetUtxosRequest* req,
                                       v1::GetUtxosResponse* out) {
  RPC_AUTHORIZE(ctx, "NodeService", "GetUtxos");
  crypto::XOnlyPubKey key;
  const AddressDecoder dec = [this](std::string_view t, std::string* e) { return m_env.backend.DecodeAddress(t, e); };
  if (auto e = ParseAddress(req->address(), "address", dec, key); !e.ok()) return Finish(ctx, e);
  std::uint32_t limit = kMaxUtxos;
  if (req->limit() != 0) {
    if (auto e = ParseCount(req->limit(), "limit", kMaxUtxos, limit); !e.ok()) return Finish(ctx, e);
  }
  const std::uint32_t tip = m_env.backend.Tip().height;
  auto utxos = m_env.backend.UtxosOf(key, std::size_t{limit} + 1);
  if (utxos.size() > limit) {
    utxos.resize(limit);
    out->set_truncated(true);
  }
  std::int64_t total = 0;
  for (const auto& u : utxos) {
    auto* p = out->add_utxos();
    p->mutable_outpoint()->set_txid(u.outpoint.txid.ToHex());
    p->mutable_outpoint()->set_index(u.outpoint.index);
    p->set_amount(u.coin.out.amount.units);
    p->set_height(u.coin.height);
    p->set_coinbase(u.coin.coinbase);
    p->set_confirmations(tip >= u.coin.height ? tip - u.coin.height + 1 : 0);
    total += u.coin.out.amount.units;  // each <= kMaxMoney, at most 1000: cannot overflow
  }
  out->set_total(total);
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetCoinStats(grpc::ServerContext* ctx, const v1::GetCoinStatsRequest*,
                                           v1::GetCoinStatsResponse* out) {
  RPC_AUTHORIZE(ctx, "NodeService", "GetCoinStats");
  const ledger::Chainstate::CoinStats stats = m_env.backend.CoinStats();
  out->set_height(stats.height);
  out->set_tip_hash(stats.tip.ToHex());
  out->set_coins(stats.coins);
  out->set_total_amount(stats.total.units);
  out->set_total_subsidy(stats.subsidies.units);
  out->set_total_grants(stats.grants.units);
  out->set_total_rewards(stats.rewards.units);
  out->set_pool(stats.pool.units);
  // What coinbases left unclaimed; each term is <= kMaxMoney, so the sum fits.
  out->set_unclaimed(stats.subsidies.units + stats.grants.units + stats.rewards.units - stats.pool.units -
                     stats.total.units);
  return grpc::Status::OK;
}

}  // namespace wattline::rpc
