// ChannelService: this node's channels (docs/channels.md, "API and CLI"). Open builds the
// funding fields from the chain (the next block's slot and price, the utility key, an expiry
// and window within the chain's limits) and hands them to the channel engine; Pay proposes the
// next state and waits (bounded) for the other side's signature.
#include <chrono>
#include <ctime>
#include <thread>

#include "consensus/market.h"
#include "crypto/hex.h"
#include "net/netaddr.h"
#include "rpc/services.h"
#include "rpc/stream.h"

namespace wattline::rpc {
namespace {

using channels::ChannelRecord;
using channels::EngineResult;

RpcError NoChannels() {
  return {grpc::StatusCode::FAILED_PRECONDITION,
          "this node runs no channel engine (it needs the wallet and the P2P network; --channels=1)", ""};
}

RpcError FromEngine(const EngineResult& r) {
  using C = EngineResult::Code;
  switch (r.code) {
    case C::kOk: return {};
    case C::kInvalidArgument: return {grpc::StatusCode::INVALID_ARGUMENT, r.message, ""};
    case C::kNotFound: return {grpc::StatusCode::NOT_FOUND, r.message, ""};
    case C::kFailedPrecondition: return {grpc::StatusCode::FAILED_PRECONDITION, r.message, ""};
    case C::kInternal: return {grpc::StatusCode::INTERNAL, r.message, ""};
  }
  return {grpc::StatusCode::INTERNAL, r.message, ""};
}

RpcError ParseId(const std::string& text, crypto::Hash256& id) {
  if (text.empty()) return Invalid("id: the channel's id (64 hex digits) is required");
  return ParseHash(text, "id", id);
}

std::string_view StatusName(channels::ChannelEngine::Arbitration::Status s) {
  using S = channels::ChannelEngine::Arbitration::Status;
  switch (s) {
    case S::kWaiting: return "waiting";
    case S::kBroadcast: return "broadcast";
    case S::kRefused: return "refused";
  }
  return "";
}

void Fill(const ChannelRecord& r, Backend& backend, v1::ChannelInfo* out) {
  const auto& f = r.funding;
  out->set_id(r.temp_id.ToHex());
  if (r.HasChannelId()) out->set_channel(r.channel.txid.ToHex() + ":" + std::to_string(r.channel.index));
  out->set_role(r.role == channels::Role::kConsumer ? "consumer" : "producer");
  out->set_phase(std::string(channels::PhaseName(r.phase)));
  out->set_peer(r.peer);
  out->set_state(r.state);
  out->set_cc(r.cc);
  out->set_pending(r.pending);
  out->set_pending_cc(r.pending_cc);
  out->set_cwa(f.cwa);
  out->set_cwb(f.cwb);
  out->set_cwu(f.cwu);
  out->set_energy_wh(f.energy_wh);
  out->set_price(f.price);
  out->set_expiry(f.expiry);
  out->set_contest_window(f.contest_window);
  out->set_commit_fee(r.commit_fee);
  out->set_consumer(crypto::HexEncode(f.consumer.span()));
  out->set_producer(crypto::HexEncode(f.producer.span()));
  out->set_delivery_start(f.delivery_start);
  out->set_delivery_end(f.delivery_end);
  std::optional<consensus::ChannelState> onchain;
  if (r.HasChannelId())
    if (auto* e = backend.Channels()) onchain = e->Host().OnChain(r.channel);
  if (onchain) {
    const bool closing = onchain->status == consensus::ChannelStatus::kClosing;
    out->set_onchain(closing ? "closing" : "open");
    if (closing) {
      out->set_posted_state(onchain->posted_state);
      out->set_posted_height(onchain->posted_height);
    }
  } else {
    const bool was_funded = r.phase == channels::Phase::kOpen || r.phase == channels::Phase::kClosing ||
                            r.phase == channels::Phase::kClosed;
    out->set_onchain(was_funded ? "settled" : "unfunded");
  }
  if (auto* e = backend.Channels())
    if (auto a = e->ArbitrationOf(r.temp_id)) {
      out->set_arbitration(std::string(StatusName(a->status)));
      out->set_arbitration_text(a->text);
      out->set_arbitration_txid(a->txid.ToHex());
    }
}

RpcError ParseWait(std::uint32_t wait_ms, std::chrono::milliseconds& out) {
  if (wait_ms > 60'000) return Invalid("wait_ms: at most 60000");
  out = std::chrono::milliseconds(wait_ms == 0 ? 10'000 : wait_ms);
  return {};
}

/** Unsubscribes from the engine on every way out of the stream. */
class EngineSubscription {
 public:
  EngineSubscription(channels::ChannelEngine& engine, std::function<void(const channels::ChannelEngine::Event&)> fn)
      : m_engine(engine), m_id(engine.Subscribe(std::move(fn))) {}
  ~EngineSubscription() { m_engine.Unsubscribe(m_id); }
  EngineSubscription(const EngineSubscription&) = delete;
  EngineSubscription& operator=(const EngineSubscription&) = delete;

 private:
  channels::ChannelEngine& m_engine;
  std::uint64_t m_id;
};

}  // namespace

grpc::Status ChannelServiceImpl::OpenChannel(grpc::ServerContext* ctx, const v1::OpenChannelRequest* req,
                                             v1::OpenChannelResponse* out) {
  RPC_AUTHORIZE(ctx, "ChannelService", "OpenChannel");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  MarketControl* market = m_env.backend.Market();
  if (!engine || !market) return Finish(ctx, NoChannels());
  auto peer = net::Service::Parse(req->peer());
  if (!peer || peer->port == 0)
    return Finish(ctx, Invalid("peer: the producer's node as ip:port (its P2P address), got '" + req->peer() + "'"));
  channels::OpenRequest open;
  open.peer = peer->ToString();
  consensus::ChannelFunding& f = open.funding;
  if (RpcError e = ParseKey(req->producer(), "producer", f.producer); !e.ok()) return Finish(ctx, e);
  if (RpcError e = ParseKey(req->producer_meter(), "producer_meter", f.producer_meter); !e.ok()) return Finish(ctx, e);
  if (RpcError e = ParseKey(req->consumer_meter(), "consumer_meter", f.consumer_meter); !e.ok()) return Finish(ctx, e);
  if (req->energy_wh() == 0) return Finish(ctx, Invalid("energy_wh: the energy asked must be above 0"));
  if (req->cwb() == 0) return Finish(ctx, Invalid("cwb: the producer's collateral must be above 0"));
  const consensus::Params& params = m_env.backend.params();
  const std::uint32_t height = m_env.backend.Tip().height;
  const consensus::MarketGlobals g = market->Globals();
  f.consumer = engine->Host().Key();
  f.utility = g.UtilityKeyAt(height + 1);
  f.energy_wh = req->energy_wh();
  f.slot = market->NextSlot();
  f.price = market->PriceOfSlot(f.slot);
  const auto cost = consensus::EnergyCost(f.energy_wh, f.price);
  if (!cost) return Finish(ctx, Invalid("energy_wh: the energy costs more than all money"));
  f.cwa = req->cwa() == 0 ? std::max<std::uint64_t>(*cost, 1) : req->cwa();
  if (f.cwa < *cost)
    return Finish(ctx, Invalid("cwa: " + std::to_string(f.cwa) + " is below the energy's cost " + std::to_string(*cost) +
                               " at the price of slot " + std::to_string(f.slot) + " (" + std::to_string(f.price) +
                               " units per kWh)"));
  f.cwb = req->cwb();
  const std::uint32_t lifetime = req->lifetime() == 0 ? 1000 : req->lifetime();
  if (lifetime > params.max_channel_lifetime)
    return Finish(ctx, Invalid("lifetime: at most " + std::to_string(params.max_channel_lifetime) + " blocks"));
  f.expiry = height + 1 + lifetime;
  f.contest_window = req->contest_window() == 0 ? 6 : req->contest_window();
  if (f.contest_window > params.max_contest_window)
    return Finish(ctx, Invalid("contest_window: at most " + std::to_string(params.max_contest_window) + " blocks"));
  f.delivery_start = req->delivery_start() == 0 ? static_cast<std::uint64_t>(std::time(nullptr)) : req->delivery_start();
  f.delivery_end = req->delivery_end() == 0 ? f.delivery_start + 86'400 : req->delivery_end();
  if (f.delivery_end <= f.delivery_start) return Finish(ctx, Invalid("delivery_end must be after delivery_start"));
  if (req->commit_fee() != 0) open.commit_fee = req->commit_fee();
  if (req->funding_fee() != 0) open.funding_fee = req->funding_fee();
  crypto::Hash256 id;
  if (RpcError e = FromEngine(engine->Open(open, id)); !e.ok()) return Finish(ctx, e);
  out->set_id(id.ToHex());
  return grpc::Status::OK;
}

grpc::Status ChannelServiceImpl::ListChannels(grpc::ServerContext* ctx, const v1::ListChannelsRequest*,
                                              v1::ListChannelsResponse* out) {
  RPC_AUTHORIZE(ctx, "ChannelService", "ListChannels");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  if (!engine) return Finish(ctx, NoChannels());
  for (const auto& r : engine->List()) Fill(r, m_env.backend, out->add_channels());
  return grpc::Status::OK;
}

grpc::Status ChannelServiceImpl::GetChannel(grpc::ServerContext* ctx, const v1::GetChannelRequest* req,
                                            v1::ChannelInfo* out) {
  RPC_AUTHORIZE(ctx, "ChannelService", "GetChannel");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  if (!engine) return Finish(ctx, NoChannels());
  crypto::Hash256 id;
  if (RpcError e = ParseId(req->id(), id); !e.ok()) return Finish(ctx, e);
  auto r = engine->Get(id);
  if (!r) return Finish(ctx, NotFound("no channel " + req->id()));
  Fill(*r, m_env.backend, out);
  return grpc::Status::OK;
}

grpc::Status ChannelServiceImpl::Pay(grpc::ServerContext* ctx, const v1::PayRequest* req, v1::PayResponse* out) {
  RPC_AUTHORIZE(ctx, "ChannelService", "Pay");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  if (!engine) return Finish(ctx, NoChannels());
  crypto::Hash256 id;
  if (RpcError e = ParseId(req->id(), id); !e.ok()) return Finish(ctx, e);
  if (req->amount() == 0) return Finish(ctx, Invalid("amount: the units to move must be above 0"));
  if (req->wait_ms() > 60'000) return Finish(ctx, Invalid("wait_ms: at most 60000"));
  auto r = engine->Get(id);
  if (!r) return Finish(ctx, NotFound("no channel " + req->id()));
  if (req->amount() > r->funding.cwa - std::min(r->cc, r->funding.cwa))
    return Finish(ctx, Invalid("amount: at most " + std::to_string(r->funding.cwa - r->cc) + " units are left of CwA"));
  const std::uint64_t cc = r->cc + req->amount();
  if (RpcError e = FromEngine(engine->Pay(id, cc)); !e.ok()) return Finish(ctx, e);
  out->set_state(r->state + 1);
  out->set_cc(cc);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(req->wait_ms() == 0 ? 10'000 : req->wait_ms());
  for (;;) {
    auto now = engine->Get(id);
    if (now && !now->pending && now->state >= r->state + 1) {
      out->set_signed_(true);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline || ctx->IsCancelled()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return grpc::Status::OK;
}

grpc::Status ChannelServiceImpl::CloseChannel(grpc::ServerContext* ctx, const v1::CloseChannelRequest* req,
                                              v1::CloseChannelResponse*) {
  RPC_AUTHORIZE(ctx, "ChannelService", "CloseChannel");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  if (!engine) return Finish(ctx, NoChannels());
  crypto::Hash256 id;
  if (RpcError e = ParseId(req->id(), id); !e.ok()) return Finish(ctx, e);
  return Finish(ctx, FromEngine(engine->Close(id, req->fee())));
}

grpc::Status ChannelServiceImpl::ForceClose(grpc::ServerContext* ctx, const v1::ForceCloseRequest* req,
                                            v1::ForceCloseResponse* out) {
  RPC_AUTHORIZE(ctx, "ChannelService", "ForceClose");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  if (!engine) return Finish(ctx, NoChannels());
  crypto::Hash256 id;
  if (RpcError e = ParseId(req->id(), id); !e.ok()) return Finish(ctx, e);
  crypto::Hash256 txid;
  if (RpcError e = FromEngine(engine->ForceClose(id, txid)); !e.ok()) return Finish(ctx, e);
  out->set_txid(txid.ToHex());
  return grpc::Status::OK;
}

grpc::Status ChannelServiceImpl::CancelChannel(grpc::ServerContext* ctx, const v1::CancelChannelRequest* req,
                                               v1::CancelChannelResponse*) {
  RPC_AUTHORIZE(ctx, "ChannelService", "CancelChannel");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  if (!engine) return Finish(ctx, NoChannels());
  crypto::Hash256 id;
  if (RpcError e = ParseId(req->id(), id); !e.ok()) return Finish(ctx, e);
  return Finish(ctx, FromEngine(engine->Cancel(id)));
}

grpc::Status ChannelServiceImpl::GetChannelKey(grpc::ServerContext* ctx, const v1::GetChannelKeyRequest*,
                                               v1::GetChannelKeyResponse* out) {
  RPC_AUTHORIZE(ctx, "ChannelService", "GetChannelKey");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  if (!engine) return Finish(ctx, NoChannels());
  out->set_key(crypto::HexEncode(engine->Host().Key().span()));
  return grpc::Status::OK;
}

grpc::Status ChannelServiceImpl::EvidenceClose(grpc::ServerContext* ctx, const v1::EvidenceCloseRequest* req,
                                               v1::EvidenceCloseResponse* out) {
  RPC_AUTHORIZE(ctx, "ChannelService", "EvidenceClose");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  if (!engine) return Finish(ctx, NoChannels());
  crypto::Hash256 id;
  if (RpcError e = ParseId(req->id(), id); !e.ok()) return Finish(ctx, e);
  std::chrono::milliseconds wait{};
  if (RpcError e = ParseWait(req->wait_ms(), wait); !e.ok()) return Finish(ctx, e);
  auto r = engine->Get(id);
  if (!r) return Finish(ctx, NotFound("no channel " + req->id()));
  crypto::Hash256 txid;
  if (RpcError e = FromEngine(engine->RequestArbitration(id, req->fee(), txid)); !e.ok()) return Finish(ctx, e);
  out->set_txid(txid.ToHex());
  out->set_path(r->role == channels::Role::kConsumer ? "penalty" : "delivered");
  using S = channels::ChannelEngine::Arbitration::Status;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto a = engine->ArbitrationOf(id);
    if (a && a->txid == txid && a->status == S::kBroadcast) return grpc::Status::OK;
    if (a && a->txid == txid && a->status == S::kRefused)
      return Finish(ctx, {grpc::StatusCode::FAILED_PRECONDITION, "the utility refused: " + a->text, ""});
    if (ctx->IsCancelled()) return Finish(ctx, {grpc::StatusCode::CANCELLED, "cancelled by the client", ""});
    if (std::chrono::steady_clock::now() >= deadline)
      return Finish(ctx, {grpc::StatusCode::DEADLINE_EXCEEDED,
                          "no answer from the utility's node in " +
                              std::to_string(wait.count()) + " ms; the request stands (see GetChannel or WatchChannels)",
                          ""});
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

grpc::Status ChannelServiceImpl::ExpiryClose(grpc::ServerContext* ctx, const v1::ExpiryCloseRequest* req,
                                             v1::ExpiryCloseResponse* out) {
  RPC_AUTHORIZE(ctx, "ChannelService", "ExpiryClose");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  if (!engine) return Finish(ctx, NoChannels());
  consensus::ChannelId channel;
  const std::string& text = req->id();
  const auto colon = text.find(':');
  crypto::Hash256 id;
  if (RpcError e = ParseId(text.substr(0, colon), id); !e.ok()) return Finish(ctx, e);
  if (colon != std::string::npos) {
    const std::string index = text.substr(colon + 1);
    if (index.empty() || index.size() > 5 || index.find_first_not_of("0123456789") != std::string::npos)
      return Finish(ctx, Invalid("id: a channel outpoint is txid:index, got '" + text + "'"));
    channel = {id, static_cast<std::uint32_t>(std::stoul(index))};
  } else if (auto r = engine->Get(id); r && r->HasChannelId()) {
    channel = r->channel;
  } else {
    channel = {id, 0};  // the funding output is output 0 of its transaction
  }
  crypto::Hash256 txid;
  if (RpcError e = FromEngine(engine->ExpiryClose(channel, req->fee(), txid)); !e.ok()) return Finish(ctx, e);
  out->set_txid(txid.ToHex());
  return grpc::Status::OK;
}

grpc::Status ChannelServiceImpl::WatchChannels(grpc::ServerContext* ctx, const v1::WatchChannelsRequest* req,
                                               grpc::ServerWriter<v1::ChannelEvent>* writer) {
  RPC_AUTHORIZE(ctx, "ChannelService", "WatchChannels");
  channels::ChannelEngine* engine = m_env.backend.Channels();
  if (!engine) return Finish(ctx, NoChannels());
  std::optional<crypto::Hash256> only;
  if (!req->id().empty()) {
    crypto::Hash256 id;
    if (RpcError e = ParseId(req->id(), id); !e.ok()) return Finish(ctx, e);
    auto r = engine->Get(id);
    if (!r) return Finish(ctx, NotFound("no channel " + req->id()));
    only = r->temp_id;
  }
  StreamSlot slot(m_env);
  if (!slot.ok()) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "too many open event streams"};
  using Event = channels::ChannelEngine::Event;
  auto queue = std::make_shared<EventQueue<Event>>(m_env.stream_queue);
  EngineSubscription sub(*engine, [queue, only](const Event& e) {
    if (!only || e.record.temp_id == *only) queue->Push(e);
  });
  writer->SendInitialMetadata();  // subscribed before the first event
  return Pump(m_env, ctx, *queue, req->max_events(), writer, [this](const Event& e) {
    v1::ChannelEvent out;
    Fill(e.record, m_env.backend, out.mutable_channel());
    out.set_arbitration_changed(e.arbitration.has_value());
    return out;
  });
}

}  // namespace wattline::rpc
