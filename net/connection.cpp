// One TCP connection: a strand, a FrameParser, a bounded send queue and two deadlines.
#include "net/connection.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace wattline::net {

namespace asio = boost::asio;
using boost::system::error_code;

NetAddress FromAsio(const asio::ip::address& addr) {
  if (addr.is_v4()) return NetAddress::FromIPv4(addr.to_v4().to_bytes());
  return NetAddress::FromIPv6(addr.to_v6().to_bytes());  // an IPv4-mapped address stays IPv4
}

Connection::Connection(asio::ip::tcp::socket socket, const Magic& magic, const ConnectionOptions& options)
    : m_socket(std::move(socket)), m_timer(m_socket.get_executor()), m_options(options), m_parser(magic) {
  error_code ec;
  const auto ep = m_socket.remote_endpoint(ec);
  if (!ec) m_remote = Service{FromAsio(ep.address()), ep.port()};
  m_socket.set_option(asio::ip::tcp::no_delay(true), ec);  // small frames (ping, verack) go at once
}

Connection::~Connection() {
  error_code ec;
  m_socket.close(ec);
}

void Connection::Start(FrameHandler on_frame, FrameErrorHandler on_frame_error, CloseHandler on_closed) {
  m_on_frame = std::move(on_frame);
  m_on_frame_error = std::move(on_frame_error);
  m_on_closed = std::move(on_closed);
  asio::post(m_socket.get_executor(), [self = shared_from_this()] {
    const auto now = std::chrono::steady_clock::now();
    self->m_handshake_deadline = now + self->m_options.handshake_timeout;
    self->m_last_receive = now;
    if (self->m_closing.load()) {
      self->FinishClose();
      return;
    }
    self->ArmTimer();
    self->DoRead();
  });
}

bool Connection::BeginClose(std::string reason) {
  if (m_closing.exchange(true)) return false;
  std::lock_guard lock(m_reason_mutex);
  m_close_reason = std::move(reason);
  return true;
}

void Connection::Close(std::string reason) {
  if (!BeginClose(std::move(reason))) return;
  asio::post(m_socket.get_executor(), [self = shared_from_this()] { self->FinishClose(); });
}

bool Connection::Send(Bytes frame) {
  if (m_closing.load()) return false;
  const std::size_t size = frame.size();
  std::size_t cur = m_queued_bytes.load();
  do {
    if (size > m_options.max_send_queue_bytes || cur > m_options.max_send_queue_bytes - size) {
      // The peer does not read fast enough: drop it rather than buffer without end.
      Close("send-queue-full");
      return false;
    }
  } while (!m_queued_bytes.compare_exchange_weak(cur, cur + size));
  std::size_t peak = m_peak_queued_bytes.load();
  while (cur + size > peak && !m_peak_queued_bytes.compare_exchange_weak(peak, cur + size)) {
  }
  asio::post(m_socket.get_executor(), [self = shared_from_this(), f = std::move(frame)]() mutable {
    if (self->m_closed) {
      self->m_queued_bytes.fetch_sub(f.size());
      return;
    }
    self->m_send_queue.push_back(std::move(f));
    if (!self->m_writing) self->DoWrite();
  });
  return true;
}

void Connection::DoWrite() {
  if (m_send_queue.empty() || m_closed) {
    m_writing = false;
    return;
  }
  m_writing = true;
  asio::async_write(m_socket, asio::buffer(m_send_queue.front()),
                    [self = shared_from_this()](const error_code& ec, std::size_t n) {
                      if (self->m_closed) return;
                      if (ec) {
                        self->BeginClose("write: " + ec.message());
                        self->FinishClose();
                        return;
                      }
                      self->m_bytes_sent.fetch_add(n);
                      self->m_queued_bytes.fetch_sub(self->m_send_queue.front().size());
                      self->m_send_queue.pop_front();
                      self->DoWrite();
                    });
}

void Connection::DoRead() {
  m_socket.async_read_some(
      asio::buffer(m_read_buffer), [self = shared_from_this()](const error_code& ec, std::size_t n) {
        if (self->m_closed) return;
        if (ec) {
          self->BeginClose(ec == asio::error::eof ? std::string{"peer-closed"} : "read: " + ec.message());
          self->FinishClose();
          return;
        }
        self->m_bytes_received.fetch_add(n);
        self->m_last_receive = std::chrono::steady_clock::now();
        std::vector<Frame> frames;
        const FrameError err = self->m_parser.Feed(ByteSpan(self->m_read_buffer.data(), n), frames);
        for (Frame& f : frames) {
          if (self->m_closing.load()) break;
          self->m_on_frame(std::move(f));
        }
        if (err != FrameError::kOk) {
          if (!self->m_closing.load()) self->m_on_frame_error(err, self->m_parser.error_detail());
          self->BeginClose(std::string(FrameErrorName(err)));
          self->FinishClose();
          return;
        }
        if (self->m_closing.load()) {
          self->FinishClose();
          return;
        }
        self->DoRead();
      });
}

void Connection::ArmTimer() {
  auto deadline = m_last_receive + m_options.idle_timeout;
  if (!m_handshake_done.load()) deadline = std::min(deadline, m_handshake_deadline);
  m_timer.expires_at(deadline);
  m_timer.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->m_closed) return;  // cancelled by the close
    self->OnTimer();
  });
}

void Connection::OnTimer() {
  const auto now = std::chrono::steady_clock::now();
  if (!m_handshake_done.load() && now >= m_handshake_deadline) {
    BeginClose("handshake-timeout");
    FinishClose();
    return;
  }
  if (now - m_last_receive >= m_options.idle_timeout) {
    BeginClose("idle-timeout");
    FinishClose();
    return;
  }
  ArmTimer();
}

void Connection::FinishClose() {
  if (m_closed) return;
  m_closed = true;
  error_code ec;
  m_socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  m_socket.close(ec);
  m_timer.cancel();
  for (const Bytes& f : m_send_queue) m_queued_bytes.fetch_sub(f.size());
  m_send_queue.clear();
  std::string reason;
  {
    std::lock_guard lock(m_reason_mutex);
    reason = m_close_reason;
  }
  if (m_on_closed) {
    CloseHandler h = std::move(m_on_closed);
    m_on_frame = nullptr;
    m_on_frame_error = nullptr;
    h(reason);
  }
}

}  // namespace wattline::net
