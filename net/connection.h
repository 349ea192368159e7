// One TCP connection to a peer (docs/p2p.md, "Transport").
//
// A Connection owns a socket whose executor is a strand of the shared io_context: every
// handler of one connection (reads, writes, timers, close) runs on that strand, one at a
// time, while different connections run in parallel on the pool's threads. Incoming bytes go
// into a FrameParser, so an oversize frame is refused from its header before any payload is
// buffered. Outgoing frames wait in a send queue bounded in bytes: a Send that would take the
// queue past the bound disconnects the peer ("send-queue-full") instead of buffering more.
//
// Two deadlines, checked by one steady_timer: until MarkHandshakeDone(), the handshake must end
// within handshake_timeout of Start() ("handshake-timeout"); and at any time, a peer that sends
// nothing for idle_timeout is dropped ("idle-timeout").
//
// Thread-safety: Send, Close, MarkHandshakeDone and the counters may be called from any thread.
// The callbacks run on the connection's strand; on_closed runs exactly once, last.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/frame.h"
#include "net/netaddr.h"
#include "net/protocol.h"

namespace wattline::net {

struct ConnectionOptions {
  /** Bytes of frames queued and not yet written; a Send past this disconnects the peer. The
   *  default holds two of the largest frames. */
  std::size_t max_send_queue_bytes = 2 * (kFrameHeaderSize + kMaxInvPayload) + 4096;
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds{60}};
  std::chrono::milliseconds idle_timeout{std::chrono::minutes{20}};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using FrameHandler = std::function<void(Frame&&)>;
  /** A frame error: the connection closes right after with the error's name as reason. */
  using FrameErrorHandler = std::function<void(FrameError, const std::string& detail)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  /** socket: connected, with a strand of the io_context as its executor. */
  Connection(boost::asio::ip::tcp::socket socket, const Magic& magic, const ConnectionOptions& options);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  /** Starts reading and the timers. Call once; the handlers are kept until the close. */
  void Start(FrameHandler on_frame, FrameErrorHandler on_frame_error, CloseHandler on_closed);

  /**
   * Queues an encoded frame. False if the connection is closed or closing, or if the frame
   * would take the queue past max_send_queue_bytes (then the connection is closed with
   * "send-queue-full"). Frames are written in the order of the Send calls.
   */
  bool Send(Bytes frame);

  /** Closes the connection (idempotent); on_closed gets the first reason. */
  void Close(std::string reason);

  /** Stops the handshake deadline; the idle deadline stays. */
  void MarkHandshakeDone() { m_handshake_done.store(true); }

  const Service& remote() const { return m_remote; }
  bool closed() const { return m_closing.load(); }
  std::uint64_t bytes_sent() const { return m_bytes_sent.load(); }
  std::uint64_t bytes_received() const { return m_bytes_received.load(); }
  std::size_t send_queue_bytes() const { return m_queued_bytes.load(); }
  /** The most the send queue has held (never above max_send_queue_bytes). */
  std::size_t peak_send_queue_bytes() const { return m_peak_queued_bytes.load(); }

 private:
  void DoRead();
  void DoWrite();
  void ArmTimer();
  void OnTimer();
  /** Records reason if first; true if this call started the close. */
  bool BeginClose(std::string reason);
  /** On the strand: closes the socket, cancels the timer, runs on_closed once. */
  void FinishClose();

  boost::asio::ip::tcp::socket m_socket;
  boost::asio::steady_timer m_timer;
  const ConnectionOptions m_options;
  Service m_remote;
  FrameParser m_parser;
  std::array<std::uint8_t, 64 * 1024> m_read_buffer{};

  FrameHandler m_on_frame;
  FrameErrorHandler m_on_frame_error;
  CloseHandler m_on_closed;

  // Strand-only state.
  std::deque<Bytes> m_send_queue;
  bool m_writing = false;
  bool m_closed = false;  //!< on_closed has run
  std::chrono::steady_clock::time_point m_handshake_deadline;
  std::chrono::steady_clock::time_point m_last_receive;

  // Any thread.
  std::atomic<bool> m_closing{false};
  std::atomic<bool> m_handshake_done{false};
  std::atomic<std::size_t> m_queued_bytes{0};
  std::atomic<std::size_t> m_peak_queued_bytes{0};
  std::atomic<std::uint64_t> m_bytes_sent{0};
  std::atomic<std::uint64_t> m_bytes_received{0};
  std::mutex m_reason_mutex;
  std::string m_close_reason;  //!< the first reason, under m_reason_mutex
};

/** The NetAddress of an Asio address (IPv4-mapped IPv6 becomes IPv4). */
NetAddress FromAsio(const boost::asio::ip::address& addr);

}  // namespace wattline::net
