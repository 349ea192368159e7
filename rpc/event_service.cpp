#include <memory>

#include "rpc/stream.h"

namespace wattline::rpc {
namespace {

/** Unsubscribes on every way out of the handler. */
class Subscription {
 public:
  Subscription(Backend& backend, std::uint64_t id) : m_backend(backend), m_id(id) {}
  ~Subscription() { m_backend.Unsubscribe(m_id); }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

 private:
  Backend& m_backend;
  std::uint64_t m_id;
};

}  // namespace

grpc::Status EventServiceImpl::SubscribeBlocks(grpc::ServerContext* ctx, const v1::SubscribeBlocksRequest* req,
                                               grpc::ServerWriter<v1::BlockEvent>* writer) {
  RPC_AUTHORIZE(ctx, "EventService", "SubscribeBlocks");
  StreamSlot slot(m_env);
  if (!slot.ok()) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "too many open event streams"};
  auto queue = std::make_shared<EventQueue<BlockNotice>>(m_env.stream_queue);
  Subscription sub(m_env.backend, m_env.backend.SubscribeBlocks([queue](const BlockNotice& n) { queue->Push(n); }));
  writer->SendInitialMetadata();  // the client knows it is subscribed before the first event
  return Pump(m_env, ctx, *queue, req->max_events(), writer, [](const BlockNotice& n) {
    v1::BlockEvent e;
    e.set_hash(n.hash.ToHex());
    e.set_height(n.height);
    e.set_connected(n.connected);
    return e;
  });
}

grpc::Status EventServiceImpl::SubscribeTransactions(grpc::ServerContext* ctx,
                                                     const v1::SubscribeTransactionsRequest* req,
                                                     grpc::ServerWriter<v1::TransactionEvent>* writer) {
  RPC_AUTHORIZE(ctx, "EventService", "SubscribeTransactions");
  StreamSlot slot(m_env);
  if (!slot.ok()) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "too many open event streams"};
  auto queue = std::make_shared<EventQueue<consensus::TransactionRef>>(m_env.stream_queue);
  Subscription sub(m_env.backend,
                   m_env.backend.SubscribeTransactions([queue](const consensus::TransactionRef& tx) { queue->Push(tx); }));
  writer->SendInitialMetadata();
  return Pump(m_env, ctx, *queue, req->max_events(), writer, [](const consensus::TransactionRef& tx) {
    v1::TransactionEvent e;
    e.set_txid(tx->txid().ToHex());
    e.set_size(tx->size());
    std::int64_t total = 0;
    for (const auto& o : tx->outputs()) total += o.amount.units;  // a valid tx's sum is <= kMaxMoney
    e.set_output_total(total);
    return e;
  });
}

}  // namespace wattline::rpc

namespace wattline::rpc {

grpc::Status MeterServiceImpl::StreamReadings(grpc::ServerContext* ctx, const v1::StreamReadingsRequest* req,
                                              grpc::ServerWriter<v1::ChainReading>* writer) {
  RPC_AUTHORIZE(ctx, "MeterService", "StreamReadings");
  std::optional<consensus::MeterId> only;
  if (!req->meter().empty()) {
    consensus::MeterId m;
    if (auto e = ParseKey(req->meter(), "meter", m); !e.ok()) return Finish(ctx, e);
    only = m;
  }
  StreamSlot slot(m_env);
  if (!slot.ok()) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "too many open event streams"};
  // The listener only queues the block notice; this thread reads the block and its readings.
  auto queue = std::make_shared<EventQueue<BlockNotice>>(m_env.stream_queue);
  Subscription sub(m_env.backend, m_env.backend.SubscribeBlocks([queue](const BlockNotice& n) {
    if (n.connected) queue->Push(n);
  }));
  writer->SendInitialMetadata();
  std::uint64_t sent = 0;
  const std::uint32_t max_events = req->max_events();
  for (;;) {
    if (ctx->IsCancelled()) return {grpc::StatusCode::CANCELLED, "cancelled by the client"};
    if (m_env.shutting_down.load()) return {grpc::StatusCode::UNAVAILABLE, "server shutting down"};
    auto notice = queue->Pop(kStreamPoll);
    if (!notice) {
      if (queue->overflowed())
        return {grpc::StatusCode::RESOURCE_EXHAUSTED, "blocks arrived faster than the client read their readings"};
      continue;
    }
    consensus::Block block;
    if (!m_env.backend.ReadBlock(notice->hash, block)) continue;  // pruned or gone: nothing to tell
    for (const auto& tx : block.txs) {
      if (tx->record().kind != consensus::RecordKind::kReadings) continue;
      consensus::MarketRecord rec;
      if (consensus::DecodeMarketRecord(tx->record(), rec) != consensus::DecodeError::kOk) continue;
      const auto* batch = std::get_if<consensus::ReadingBatch>(&rec);
      if (batch == nullptr) continue;
      for (const auto& r : batch->readings) {
        if (only && r.meter != *only) continue;
        v1::ChainReading msg;
        ReadingToProto(r, msg.mutable_reading());
        msg.set_height(notice->height);
        msg.set_txid(tx->txid().ToHex());
        if (!writer->Write(msg)) return {grpc::StatusCode::CANCELLED, "client went away"};
        ++sent;
        if (max_events != 0 && sent >= max_events) return grpc::Status::OK;
      }
    }
  }
}

}  // namespace wattline::rpc
