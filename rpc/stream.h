// What every server stream shares (EventService, MeterService.StreamReadings,
// ChannelService.WatchChannels): a slot among the server's open streams, and the pump from a
// bounded queue to the writer, which ends a stream on cancel, shutdown, overflow or max events.
#pragma once

#include <chrono>

#include "rpc/event_queue.h"
#include "rpc/services.h"

namespace wattline::rpc {

inline constexpr std::chrono::milliseconds kStreamPoll{200};

/** Counts the stream in env.active_streams for its lifetime; refuses past max_streams. */
class StreamSlot {
 public:
  explicit StreamSlot(ServiceEnv& env) : m_env(env) { m_ok = m_env.active_streams.fetch_add(1) < m_env.max_streams; }
  ~StreamSlot() { m_env.active_streams.fetch_sub(1); }
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;
  bool ok() const { return m_ok; }

 private:
  ServiceEnv& m_env;
  bool m_ok;
};

/** Pumps queue -> writer until max events, cancel, shutdown or overflow. */
template <class Event, class Msg, class ToMsg>
grpc::Status Pump(ServiceEnv& env, grpc::ServerContext* ctx, EventQueue<Event>& queue, std::uint32_t max_events,
                  grpc::ServerWriter<Msg>* writer, ToMsg to_msg) {
  std::uint64_t sent = 0;
  // Ends when the client cancels, the server shuts down, the queue overflows, a write fails
  // (client gone) or max_events are sent: each wait is bounded by kStreamPoll.
  for (;;) {
    if (ctx->IsCancelled()) return {grpc::StatusCode::CANCELLED, "cancelled by the client"};
    if (env.shutting_down.load()) return {grpc::StatusCode::UNAVAILABLE, "server shutting down"};
    auto item = queue.Pop(kStreamPoll);
    if (!item) {
      if (queue.overflowed()) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "events arrived faster than the client read them"};
      continue;
    }
    if (!writer->Write(to_msg(*item))) return {grpc::StatusCode::CANCELLED, "client went away"};
    ++sent;
    if (max_events != 0 && sent >= max_events) return grpc::Status::OK;
  }
}

}  // namespace wattline::rpc
