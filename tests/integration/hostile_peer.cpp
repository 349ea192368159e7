// wattline-hostile-peer: a misbehaving P2P client for the multi-process tests
// (tests/integration/test_hostile_peer.py, docs/testing.md).
//
// It connects to a node over plain blocking POSIX sockets, does the version/verack handshake
// of the chosen network correctly, then runs one attack and prints one JSON line:
//
//   {"attack":"garbage","source":"127.0.0.2","handshake":true,"sent_bytes":..,"sent_messages":..,
//    "disconnected":true,"close":"reset","after_seconds":0.01,...}
//
// Attacks (docs/p2p.md says what each should cost the attacker):
//   garbage            our magic, then random bytes (frame-malformed-command: 100, banned)
//   garbage-nomagic    random bytes from the first byte (frame-bad-magic: disconnected, no score)
//   oversize           a `block` header announcing one byte over its limit (frame-oversize: 100)
//   bad-checksum       a `ping` frame whose checksum is wrong (frame-bad-checksum: 50, disconnected)
//   invalid-block      a block on the node's tip with valid proof of work and a wrong merkle root
//                      (bad-txnmrklroot, malformed: 100)
//   bad-pow-block      a block on the node's tip whose hash misses its target (high-hash: 100)
//   mutated-block      a valid block on the node's tip, sent with another coinbase (same hash,
//                      wrong merkle root: block-malformed, 100), then the real block from
//                      --bind + 1, which the node must still accept ("real_block_accepted")
//   unrequested-flood  unrequested `tx` and `block` messages, alternating, as fast as possible
//                      (unrequested-tx 10, unrequested-block 20: banned after a few)
//   inv-flood          `inv` messages of --items random transaction ids, as fast as possible
//                      (more than the token bucket allows: inv-flood 20 each)
//   low-work-headers   a header chain forking from genesis with valid proof of work and less
//                      work than the node's chain (low-work-headers: more than 100 deep, banned)
//   orphan-flood       --count large blocks (--block-kb) with valid proof of work whose parent
//                      is unknown: kept in the bounded orphan pool, not punished; for memory
//   slow-frame         announce a maximal `inv` frame, send all of it but its last byte and hold
//                      the connection for --hold seconds (what one connection can pin)
//   stall              headers of three valid blocks on the node's tip, then no block when the
//                      node asks (block-download-stall: disconnected after --blockstalltimeout)
//   all-in-turn        each scored attack above on its own connection, one after the other; with
//                      --bind A.B.C.D the k-th attack binds A.B.C.(D+k), so bans do not stack
//
// Exit status: 0 the node disconnected us (for all-in-turn: every attack was disconnected);
// 1 it did not within --timeout (default 20 s); 2 usage error, or we could not connect;
// 3 the node closed the connection before the handshake completed (e.g. our address is banned).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "consensus/block.h"
#include "consensus/params.h"
#include "consensus/pow.h"
#include "consensus/record.h"
#include "consensus/transaction.h"
#include "net/frame.h"
#include "net/messages.h"
#include "net/protocol.h"

namespace {

using namespace wattline;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string bind;  // source address; empty: the kernel's choice
  std::string network = "regtest";
  std::string attack;
  double timeout = 20;
  long count = -1;     // messages for floods; -1: the attack's default
  long items = 5000;   // inv items per message
  long block_kb = 900; // orphan-flood block size
  double hold = 10;    // slow-frame: seconds to hold the connection
  std::uint64_t seed = 0;
  bool seed_set = false;
};


std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

struct Result {
  std::string attack;
  std::string source;
  bool connected = false;   // TCP connect succeeded
  bool handshake = false;   // version and verack received
  std::uint32_t victim_height = 0;
  std::uint64_t sent_bytes = 0;
  std::uint64_t sent_messages = 0;
  std::uint64_t received_bytes = 0;
  bool disconnected = false;
  std::string close;        // eof, reset, write-error, timeout
  double after_seconds = -1;  // from the first attack byte to the disconnect
  std::string error;        // why the attack could not run
  std::string note;
  std::string extra_json;   // more fields, each ",\"name\":value"

  std::string Json() const {
    std::ostringstream o;
    o << "{\"attack\":\"" << JsonEscape(attack) << "\",\"source\":\"" << JsonEscape(source)
      << "\",\"connected\":" << (connected ? "true" : "false") << ",\"handshake\":" << (handshake ? "true" : "false")
      << ",\"victim_height\":" << victim_height << ",\"sent_bytes\":" << sent_bytes
      << ",\"sent_messages\":" << sent_messages << ",\"received_bytes\":" << received_bytes
      << ",\"disconnected\":" << (disconnected ? "true" : "false") << ",\"close\":\"" << JsonEscape(close) << "\"";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", after_seconds);
    o << ",\"after_seconds\":" << buf;
    if (!error.empty()) o << ",\"error\":\"" << JsonEscape(error) << "\"";
    if (!note.empty()) o << ",\"note\":\"" << JsonEscape(note) << "\"";
    o << extra_json << "}";
    return o.str();
  }
};

/** One TCP connection to the victim: a writer (the caller) and a reader thread. */
class Peer {
 public:
  Peer(const consensus::Params& params, std::mt19937_64& rng) : m_params(params), m_rng(rng) {}
  ~Peer() { Close(); }

  bool Connect(const Options& opt, std::string& error) {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (m_fd < 0) return Fail(error, "socket");
    if (!opt.bind.empty()) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      if (::inet_pton(AF_INET, opt.bind.c_str(), &src.sin_addr) != 1) {
        error = "bad --bind address " + opt.bind;
        return false;
      }
      if (::bind(m_fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return Fail(error, "bind " + opt.bind);
    }
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<std::uint16_t>(opt.port));
    if (::inet_pton(AF_INET, opt.host.c_str(), &dst.sin_addr) != 1) {
      error = "bad host " + opt.host;
      return false;
    }
    timeval tv{2, 0};
    ::setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(m_fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) return Fail(error, "connect");
    tv = {0, 200'000};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    tv = {0, 500'000};
    ::setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    m_reader = std::thread([this] { ReadLoop(); });
    return true;
  }

  void Close() {
    m_stop = true;
    if (m_reader.joinable()) m_reader.join();
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }

  /** Sends all of data unless the connection closes or the deadline passes. */
  bool SendRaw(consensus::ByteSpan data, Clock::time_point deadline) {
    std::size_t off = 0;
    while (off < data.size()) {
      if (Disconnected()) return false;
      if (Clock::now() > deadline) return false;
      const ssize_t n = ::send(m_fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
        m_sent_bytes += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;  // back-pressure
      MarkClosed(errno == ECONNRESET ? "reset" : "write-error");
      return false;
    }
    return true;
  }

  /** Sends one whole frame (counted as a message). */
  bool SendFrame(consensus::ByteSpan frame, Clock::time_point deadline) {
    const bool ok = SendRaw(frame, deadline);
    if (ok) ++m_sent_messages;
    return ok;
  }

  bool Send(const net::Message& msg, Clock::time_point deadline) {
    return SendFrame(net::EncodeMessage(m_params.magic, msg), deadline);
  }

  /** Sends our version and verack and waits for the node's version and verack. */
  bool Handshake(Clock::time_point deadline) {
    net::VersionMsg v;
    v.protocol_version = net::kProtocolVersion;
    v.network_magic = m_params.magic;
    v.best_height = 0;  // so that the node does not ask us for headers
    v.services = 0;
    v.nonce = m_rng();
    v.user_agent = "/wattline-hostile-peer:1/";
    v.timestamp = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    v.listen_port = 0;
    if (!Send(v, deadline)) return false;
    // The node answers our version with its version and a verack; our verack completes it.
    if (!WaitFor([this] { return m_got_version.load(); }, deadline)) return false;
    if (!Send(net::VerackMsg{}, deadline)) return false;
    if (!WaitFor([this] { return m_got_verack.load(); }, deadline)) return false;
    // The node sends a ping once it counts us connected: then our messages reach its handler.
    WaitFor([this] { return m_got_ping.load(); }, std::min(deadline, Clock::now() + std::chrono::seconds(2)));
    return true;
  }

  /** The node's active chain after genesis (asks with getheaders until a short answer). */
  std::optional<std::vector<consensus::BlockHeader>> ActiveChain(Clock::time_point deadline) {
    std::vector<consensus::BlockHeader> chain;
    consensus::Hash256 from = m_params.genesis_hash;
    for (int round = 0; round < 1000; ++round) {
      const std::uint64_t before = m_headers_replies;
      net::GetHeadersMsg gh;
      gh.locator = {from};
      if (!Send(gh, deadline)) return std::nullopt;
      if (!WaitFor([&] { return m_headers_replies > before; }, deadline)) return std::nullopt;
      std::vector<consensus::BlockHeader> got;
      {
        std::lock_guard lock(m_mutex);
        got = m_last_headers;
      }
      if (!got.empty() && got.front().prev_hash != from) continue;  // an announcement raced us
      chain.insert(chain.end(), got.begin(), got.end());
      if (got.size() < net::kMaxHeaders) return chain;
      from = got.back().Hash();
    }
    return std::nullopt;
  }

  template <typename Pred>
  bool WaitFor(Pred pred, Clock::time_point deadline) {
    for (;;) {
      if (pred()) return true;
      if (Disconnected() || Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  /** Waits until the node closes the connection; false at the deadline. */
  bool WaitClosed(Clock::time_point deadline) {
    while (Clock::now() <= deadline) {
      if (Disconnected()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Disconnected();
  }

  bool Disconnected() const { return m_closed.load(); }
  Clock::time_point closed_at() {
    std::lock_guard lock(m_mutex);
    return m_closed_at;
  }
  std::string close_kind() {
    std::lock_guard lock(m_mutex);
    return m_close_kind;
  }
  bool handshake_seen() const { return m_got_version && m_got_verack; }
  std::uint32_t victim_height() const { return m_victim_height; }
  std::uint64_t sent_bytes() const { return m_sent_bytes; }
  std::uint64_t sent_messages() const { return m_sent_messages; }
  std::uint64_t received_bytes() const { return m_received_bytes; }

 private:
  bool Fail(std::string& error, const std::string& what) {
    error = what + ": " + std::strerror(errno);
    return false;
  }

  void MarkClosed(const std::string& kind) {
    std::lock_guard lock(m_mutex);
    if (m_closed) return;
    m_close_kind = kind;
    m_closed_at = Clock::now();
    m_closed = true;
  }

  void ReadLoop() {
    net::FrameParser parser(m_params.magic);
    std::vector<std::uint8_t> buf(64 * 1024);
    while (!m_stop && !m_closed) {
      const ssize_t n = ::recv(m_fd, buf.data(), buf.size(), 0);
      if (n == 0) {
        MarkClosed("eof");
        return;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        MarkClosed(errno == ECONNRESET ? "reset" : "read-error");
        return;
      }
      m_received_bytes += static_cast<std::uint64_t>(n);
      if (parser.error() != net::FrameError::kOk) continue;  // keep draining, stop parsing
      std::vector<net::Frame> frames;
      parser.Feed(consensus::ByteSpan(buf.data(), static_cast<std::size_t>(n)), frames);
      for (auto& f : frames) {
        net::Message msg;
        if (!net::DecodeMessage(f.command, f.payload, msg).ok()) continue;
        if (auto* v = std::get_if<net::VersionMsg>(&msg)) {
          m_victim_height = v->best_height;
          m_got_version = true;
        } else if (std::holds_alternative<net::VerackMsg>(msg)) {
          m_got_verack = true;
        } else if (std::holds_alternative<net::PingMsg>(msg)) {
          m_got_ping = true;  // not answered: the reader never writes (the writer may be blocked)
        } else if (auto* h = std::get_if<net::HeadersMsg>(&msg)) {
          std::lock_guard lock(m_mutex);
          m_last_headers = std::move(h->headers);
          ++m_headers_replies;
        }
      }
    }
  }

  const consensus::Params& m_params;
  std::mt19937_64& m_rng;
  int m_fd = -1;
  std::thread m_reader;
  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_closed{false};
  std::atomic<bool> m_got_version{false};
  std::atomic<bool> m_got_verack{false};
  std::atomic<bool> m_got_ping{false};
  std::atomic<std::uint32_t> m_victim_height{0};
  std::atomic<std::uint64_t> m_sent_bytes{0};
  std::atomic<std::uint64_t> m_sent_messages{0};
  std::atomic<std::uint64_t> m_received_bytes{0};
  std::atomic<std::uint64_t> m_headers_replies{0};
  std::mutex m_mutex;
  std::vector<consensus::BlockHeader> m_last_headers;
  std::string m_close_kind;
  Clock::time_point m_closed_at{};
};

// ---------------------------------------------------------------------------------------------
// Building objects

consensus::Hash256 RandomHash(std::mt19937_64& rng) {
  consensus::Hash256 h;
  for (auto& b : h.bytes) b = static_cast<std::uint8_t>(rng());
  return h;
}

consensus::Bytes RandomBytes(std::mt19937_64& rng, std::size_t n) {
  consensus::Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

/** A coinbase-shaped transaction (decodes canonically; ids vary with the random extra bytes). */
consensus::TransactionRef MakeTx(std::mt19937_64& rng, std::uint32_t height, std::size_t outputs = 1) {
  consensus::MutableTransaction tx;
  const auto extra = RandomBytes(rng, 16);
  tx.record = consensus::Record::Coinbase(height, extra);
  crypto::XOnlyPubKey burn;
  burn.bytes.fill(0xff);
  for (std::size_t i = 0; i < outputs; ++i) tx.outputs.push_back({consensus::Amount{1}, consensus::Condition::Key(burn)});
  return consensus::MakeTransactionRef(std::move(tx));
}

/** Sets the nonce so that the header's proof of work holds (want_valid) or fails. */
bool Mine(consensus::BlockHeader& h, const consensus::Params& params, bool want_valid, std::mt19937_64& rng,
          Clock::time_point deadline) {
  h.nonce = rng();
  for (std::uint64_t i = 0;; ++i, ++h.nonce) {
    if (consensus::CheckProofOfWork(h.Hash(), h.bits, params) == want_valid) return true;
    if ((i & 0xff) == 0 && Clock::now() > deadline) return false;
  }
}

std::uint64_t NowSeconds() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

/** A block on top of `prev` (at height) with one coinbase. */
consensus::Block BlockOn(const consensus::BlockHeader& prev, std::uint32_t height, const consensus::Params& params,
                         std::mt19937_64& rng) {
  consensus::Block b;
  consensus::MutableTransaction cb;
  cb.record = consensus::Record::Coinbase(height, RandomBytes(rng, 8));
  // Pays the x coordinate of the secp256k1 generator: a valid key nobody uses.
  crypto::XOnlyPubKey key;
  static constexpr std::uint8_t kGx[32] = {0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62,
                                           0x95, 0xce, 0x87, 0x0b, 0x07, 0x02, 0x9b, 0xfc, 0xdb, 0x2d, 0xce,
                                           0x28, 0xd9, 0x59, 0xf2, 0x81, 0x5b, 0x16, 0xf8, 0x17, 0x98};
  std::copy(std::begin(kGx), std::end(kGx), key.bytes.begin());
  cb.outputs.push_back({consensus::BlockSubsidy(height, params), consensus::Condition::Key(key)});
  b.txs.push_back(consensus::MakeTransactionRef(std::move(cb)));
  b.header.version = consensus::kBlockVersion;
  b.header.prev_hash = prev.Hash();
  b.header.time = std::max<std::uint64_t>(NowSeconds(), prev.time + 1);
  b.header.bits = prev.bits;
  b.header.merkle_root = consensus::BlockMerkleRoot(b);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Attacks. Each runs on a handshaken peer and returns when it has sent everything it means to
// (or the node closed the connection); the caller then waits for the close.

struct Ctx {
  const Options& opt;
  const consensus::Params& params;
  std::mt19937_64& rng;
  Peer& peer;
  Result& res;
  Clock::time_point deadline;
};

void AttackGarbage(Ctx& c, bool with_magic) {
  auto bytes = RandomBytes(c.rng, 4096);
  if (with_magic) {
    std::copy(c.params.magic.begin(), c.params.magic.end(), bytes.begin());
    bytes[4] = 0xfe;  // a command byte outside [a-z]: never a valid frame header
  } else if (std::equal(c.params.magic.begin(), c.params.magic.end(), bytes.begin())) {
    bytes[0] ^= 0xff;
  }
  c.peer.SendRaw(bytes, c.deadline);
}

void AttackOversize(Ctx& c) {
  // A block header announcing one byte more than the block limit: refused from its 24 bytes.
  consensus::Bytes hdr;
  hdr.insert(hdr.end(), c.params.magic.begin(), c.params.magic.end());
  const char name[net::kCommandSize] = {'b', 'l', 'o', 'c', 'k'};
  hdr.insert(hdr.end(), name, name + net::kCommandSize);
  const std::uint32_t len = net::GetCommandInfo(net::Command::kBlock).max_payload + 1;
  for (int i = 0; i < 4; ++i) hdr.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
  for (int i = 0; i < 4; ++i) hdr.push_back(0);
  c.peer.SendRaw(hdr, c.deadline);
  // Then stream payload bytes until the node closes, at most the announced length: the node
  // should stop reading after the header.
  const auto filler = RandomBytes(c.rng, 64 * 1024);
  std::uint64_t sent = 0;
  const auto stream_deadline = std::min(c.deadline, Clock::now() + std::chrono::seconds(5));
  while (sent < len && !c.peer.Disconnected() && Clock::now() < stream_deadline) {
    if (!c.peer.SendRaw(filler, stream_deadline)) break;
    sent += filler.size();
  }
  c.res.note = "payload bytes written after the header: " + std::to_string(sent);
}

void AttackBadChecksum(Ctx& c) {
  auto frame = net::EncodeMessage(c.params.magic, net::PingMsg{c.rng()});
  frame[20] ^= 0x01;
  c.peer.SendRaw(frame, c.deadline);
}

/** The node's tip header and the height of a block on it, from its own headers; nullopt (with
 *  the error set) when it does not answer. */
std::optional<std::pair<consensus::BlockHeader, std::uint32_t>> NextOnTip(Ctx& c) {
  auto chain = c.peer.ActiveChain(c.deadline);
  if (!chain) {
    c.res.error = "could not learn the node's chain (getheaders)";
    return std::nullopt;
  }
  return std::make_pair(chain->empty() ? c.params.genesis.header : chain->back(),
                        static_cast<std::uint32_t>(chain->size() + 1));
}

void AttackBlockOnTip(Ctx& c, bool bad_pow) {
  const auto next = NextOnTip(c);
  if (!next) return;
  const auto& [tip, height] = *next;
  consensus::Block b = BlockOn(tip, height, c.params, c.rng);
  if (!bad_pow) b.header.merkle_root = RandomHash(c.rng);  // wrong: the block is mutated
  if (!Mine(b.header, c.params, !bad_pow, c.rng, c.deadline)) {
    c.res.error = "mining timed out";
    return;
  }
  c.res.note = "block " + b.Hash().ToHex() + " at height " + std::to_string(height);
  c.peer.Send(net::BlockMsg{b}, c.deadline);
}

std::string NextAddress(const std::string& base, int k);

// A valid block on the node's tip, sent first with another coinbase (same header, so the same
// hash, but the merkle root no longer matches): the mutation must cost the sender, and must not
// make the node refuse the real block, which a second connection (from --bind + 1) then sends.
void AttackMutatedBlock(Ctx& c) {
  const auto next = NextOnTip(c);
  if (!next) return;
  const auto& [tip, height] = *next;
  consensus::Block real = BlockOn(tip, height, c.params, c.rng);
  if (!Mine(real.header, c.params, true, c.rng, c.deadline)) {
    c.res.error = "mining timed out";
    return;
  }
  consensus::Block mutated = real;
  mutated.txs[0] = BlockOn(tip, height, c.params, c.rng).txs[0];  // another coinbase extra
  c.peer.Send(net::BlockMsg{mutated}, c.deadline);
  c.peer.WaitClosed(c.deadline);
  bool accepted = false;
  if (c.peer.Disconnected()) {
    Options o = c.opt;
    if (!o.bind.empty()) o.bind = NextAddress(o.bind, 1);
    Peer second(c.params, c.rng);
    std::string error;
    if (second.Connect(o, error) && second.Handshake(c.deadline)) {
      second.Send(net::BlockMsg{real}, c.deadline);
      // The node's active chain ends with the real block once it took it.
      for (int i = 0; i < 100 && !accepted && Clock::now() < c.deadline; ++i) {
        auto after = second.ActiveChain(c.deadline);
        accepted = after && !after->empty() && after->back().Hash() == real.Hash();
        if (!accepted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    } else {
      c.res.note = "second connection failed: " + error;
    }
  }
  c.res.extra_json = std::string(",\"real_block\":\"") + real.Hash().ToHex() + "\",\"real_block_accepted\":" +
                     (accepted ? "true" : "false");
}

void AttackUnrequestedFlood(Ctx& c) {
  const long count = c.opt.count > 0 ? c.opt.count : 1000;
  const auto& genesis = c.params.genesis.header;
  for (long i = 0; i < count && !c.peer.Disconnected() && Clock::now() < c.deadline; ++i) {
    if (i % 2 == 0) {
      c.peer.Send(net::TxMsg{MakeTx(c.rng, static_cast<std::uint32_t>(i + 1))}, c.deadline);
    } else {
      // A valid block on genesis: known parent, far less work than the node's tip.
      consensus::Block b = BlockOn(genesis, 1, c.params, c.rng);
      b.header.time = genesis.time + 1 + static_cast<std::uint64_t>(i);
      if (!Mine(b.header, c.params, true, c.rng, c.deadline)) break;
      c.peer.Send(net::BlockMsg{b}, c.deadline);
    }
  }
}

void AttackInvFlood(Ctx& c) {
  const long count = c.opt.count > 0 ? c.opt.count : 200;
  const auto items = static_cast<std::size_t>(std::clamp<long>(c.opt.items, 1, net::kMaxInvItems));
  for (long i = 0; i < count && !c.peer.Disconnected() && Clock::now() < c.deadline; ++i) {
    net::InvMsg inv;
    inv.items.reserve(items);
    for (std::size_t k = 0; k < items; ++k) inv.items.push_back({net::InvType::kTx, RandomHash(c.rng)});
    c.peer.Send(inv, c.deadline);
  }
}

void AttackLowWorkHeaders(Ctx& c) {
  // Learn the node's height: its version said it; the chain tells it exactly.
  auto chain = c.peer.ActiveChain(c.deadline);
  if (!chain) {
    c.res.error = "could not learn the node's chain (getheaders)";
    return;
  }
  const std::size_t height = chain->size();
  if (height < 8) {
    c.res.error = "the node's chain is too short (" + std::to_string(height) + ") for a fork 7 deep";
    return;
  }
  // Forking at genesis, half as long as the node's chain at the same bits: less work, valid
  // proof of work, strictly increasing times (above the median time past).
  const std::size_t n = std::min<std::size_t>(height / 2, net::kMaxHeaders - 1);
  net::HeadersMsg msg;
  consensus::BlockHeader prev = c.params.genesis.header;
  for (std::size_t i = 0; i < n; ++i) {
    consensus::BlockHeader h;
    h.version = consensus::kBlockVersion;
    h.prev_hash = prev.Hash();
    h.merkle_root = RandomHash(c.rng);
    h.time = prev.time + 1;
    h.bits = prev.bits;
    if (!Mine(h, c.params, true, c.rng, c.deadline)) {
      c.res.error = "mining timed out";
      return;
    }
    msg.headers.push_back(h);
    prev = h;
  }
  c.res.note = std::to_string(n) + " headers from genesis against a chain of " + std::to_string(height);
  c.peer.Send(msg, c.deadline);
}

void AttackOrphanFlood(Ctx& c) {
  const long count = c.opt.count > 0 ? c.opt.count : 150;
  const std::size_t target = static_cast<std::size_t>(std::clamp<long>(c.opt.block_kb, 1, 990)) * 1000;
  // Transactions of ~90 kB (many outputs); the block is about target bytes.
  const std::size_t per_output = consensus::EncodeTransaction(*MakeTx(c.rng, 1, 2)).size() -
                                 consensus::EncodeTransaction(*MakeTx(c.rng, 1, 1)).size();
  const std::size_t outputs = std::max<std::size_t>(1, 90'000 / per_output);
  std::uint64_t total = 0;
  for (long i = 0; i < count && !c.peer.Disconnected() && Clock::now() < c.deadline; ++i) {
    consensus::Block b;
    std::size_t size = 100;
    for (std::uint32_t k = 0; size + 95'000 < target; ++k) {
      b.txs.push_back(MakeTx(c.rng, k + 1, outputs));
      size += b.txs.back()->size();
    }
    if (b.txs.empty()) b.txs.push_back(MakeTx(c.rng, 1, 1));
    b.header.version = consensus::kBlockVersion;
    b.header.prev_hash = RandomHash(c.rng);  // unknown parent
    b.header.merkle_root = consensus::BlockMerkleRoot(b);
    b.header.time = NowSeconds();
    b.header.bits = c.params.genesis.header.bits;
    if (!Mine(b.header, c.params, true, c.rng, c.deadline)) break;
    const auto bytes = net::EncodeMessage(c.params.magic, net::BlockMsg{b});
    if (i == 0) {
      net::Message check;
      consensus::ByteSpan payload(bytes.data() + net::kFrameHeaderSize, bytes.size() - net::kFrameHeaderSize);
      const auto r = net::DecodeMessage(net::Command::kBlock, payload, check);
      if (!r.ok()) {
        c.res.error = "built a block that does not decode: " + std::string(net::MessageErrorName(r.error)) + " " + r.detail;
        return;
      }
    }
    if (!c.peer.SendFrame(bytes, c.deadline)) break;
    total += bytes.size();
  }
  c.res.note = "orphan block bytes sent: " + std::to_string(total);
}

// Headers of three valid blocks on the node's tip (more work than its chain), then silence:
// the node asks this peer for the blocks and must drop it after --blockstalltimeout rather
// than wait for ever.
void AttackStall(Ctx& c) {
  const auto next = NextOnTip(c);
  if (!next) return;
  auto [prev, height] = *next;
  net::HeadersMsg msg;
  for (int i = 0; i < 3; ++i, ++height) {
    consensus::Block b = BlockOn(prev, height, c.params, c.rng);
    if (!Mine(b.header, c.params, true, c.rng, c.deadline)) {
      c.res.error = "mining timed out";
      return;
    }
    msg.headers.push_back(b.header);
    prev = b.header;
  }
  c.res.note = "announced 3 blocks up to height " + std::to_string(height - 1) + ", never delivered";
  c.peer.Send(msg, c.deadline);
}

void AttackSlowFrame(Ctx& c) {
  const std::uint32_t len = net::GetCommandInfo(net::Command::kInv).max_payload;
  consensus::Bytes hdr;
  hdr.insert(hdr.end(), c.params.magic.begin(), c.params.magic.end());
  const char name[net::kCommandSize] = {'i', 'n', 'v'};
  hdr.insert(hdr.end(), name, name + net::kCommandSize);
  for (int i = 0; i < 4; ++i) hdr.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
  for (int i = 0; i < 4; ++i) hdr.push_back(0);
  if (!c.peer.SendRaw(hdr, c.deadline)) return;
  const auto body = RandomBytes(c.rng, len - 1);
  if (!c.peer.SendRaw(body, c.deadline)) return;
  const auto until = std::min(c.deadline, Clock::now() + std::chrono::milliseconds(static_cast<long>(c.opt.hold * 1000)));
  while (Clock::now() < until && !c.peer.Disconnected()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  c.res.note = "held " + std::to_string(len - 1) + " bytes of a " + std::to_string(len) + "-byte frame";
}

const std::vector<std::string> kAttacks = {"garbage",        "garbage-nomagic",   "oversize", "bad-checksum",
                                           "invalid-block",  "bad-pow-block",     "mutated-block", "unrequested-flood",
                                           "inv-flood",      "low-work-headers",  "orphan-flood", "slow-frame",
                                           "stall"};
// all-in-turn: the attacks the node must disconnect.
const std::vector<std::string> kScored = {"garbage",           "oversize",  "bad-checksum",    "invalid-block",
                                          "bad-pow-block",     "unrequested-flood", "inv-flood", "low-work-headers"};

Result RunOne(const Options& opt, const std::string& attack, const consensus::Params& params, std::mt19937_64& rng) {
  Result res;
  res.attack = attack;
  res.source = opt.bind.empty() ? "auto" : opt.bind;
  const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(opt.timeout * 1000));
  Peer peer(params, rng);
  std::string error;
  if (!peer.Connect(opt, error)) {
    res.error = error;
    return res;
  }
  res.connected = true;
  const bool hs = peer.Handshake(deadline);
  res.handshake = hs && peer.handshake_seen();
  res.victim_height = peer.victim_height();
  if (!res.handshake) {
    res.disconnected = peer.Disconnected();
    res.close = peer.Disconnected() ? peer.close_kind() : "timeout";
    res.error = peer.Disconnected() ? "closed before the handshake completed" : "handshake timed out";
    res.sent_bytes = peer.sent_bytes();
    return res;
  }
  const std::uint64_t bytes_before = peer.sent_bytes();
  const std::uint64_t msgs_before = peer.sent_messages();
  const auto start = Clock::now();
  Ctx c{opt, params, rng, peer, res, deadline};
  if (attack == "garbage") AttackGarbage(c, true);
  else if (attack == "garbage-nomagic") AttackGarbage(c, false);
  else if (attack == "oversize") AttackOversize(c);
  else if (attack == "bad-checksum") AttackBadChecksum(c);
  else if (attack == "invalid-block") AttackBlockOnTip(c, false);
  else if (attack == "bad-pow-block") AttackBlockOnTip(c, true);
  else if (attack == "mutated-block") AttackMutatedBlock(c);
  else if (attack == "unrequested-flood") AttackUnrequestedFlood(c);
  else if (attack == "inv-flood") AttackInvFlood(c);
  else if (attack == "low-work-headers") AttackLowWorkHeaders(c);
  else if (attack == "orphan-flood") AttackOrphanFlood(c);
  else if (attack == "slow-frame") AttackSlowFrame(c);
  else if (attack == "stall") AttackStall(c);
  // Floods and holds are done when they return; the rest wait for the node to react.
  const bool expect_close = attack != "orphan-flood" && attack != "slow-frame";
  if (expect_close && res.error.empty()) peer.WaitClosed(deadline);
  else peer.WaitClosed(std::min(deadline, Clock::now() + std::chrono::milliseconds(500)));
  res.disconnected = peer.Disconnected();
  res.close = res.disconnected ? peer.close_kind() : "timeout";
  if (res.disconnected) res.after_seconds = std::chrono::duration<double>(peer.closed_at() - start).count();
  res.sent_bytes = peer.sent_bytes() - bytes_before;
  res.sent_messages = peer.sent_messages() - msgs_before;
  res.received_bytes = peer.received_bytes();
  return res;
}

std::string NextAddress(const std::string& base, int k) {
  in_addr a{};
  if (::inet_pton(AF_INET, base.c_str(), &a) != 1) return base;
  a.s_addr = htonl(ntohl(a.s_addr) + static_cast<std::uint32_t>(k));
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

int Usage(const char* error) {
  if (error) std::fprintf(stderr, "wattline-hostile-peer: %s\n", error);
  std::fprintf(stderr,
               "usage: wattline-hostile-peer --port P --attack A [--host 127.0.0.1] [--bind ADDR]\n"
               "         [--network regtest] [--timeout 20] [--count N] [--items 5000] [--block-kb 900]\n"
               "         [--hold 10] [--seed S]\n"
               "attacks:");
  for (const auto& a : kAttacks) std::fprintf(stderr, " %s", a.c_str());
  std::fprintf(stderr, " all-in-turn\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage(nullptr);
      return 0;
    }
    if (i + 1 >= argc) return Usage(("missing value for " + arg).c_str());
    const std::string val = argv[++i];
    try {
      if (arg == "--host") opt.host = val;
      else if (arg == "--port") opt.port = std::stoi(val);
      else if (arg == "--bind") opt.bind = val;
      else if (arg == "--network") opt.network = val;
      else if (arg == "--attack") opt.attack = val;
      else if (arg == "--timeout") opt.timeout = std::stod(val);
      else if (arg == "--count") opt.count = std::stol(val);
      else if (arg == "--items") opt.items = std::stol(val);
      else if (arg == "--block-kb") opt.block_kb = std::stol(val);
      else if (arg == "--hold") opt.hold = std::stod(val);
      else if (arg == "--seed") {
        opt.seed = std::stoull(val);
        opt.seed_set = true;
      } else return Usage(("unknown option " + arg).c_str());
    } catch (const std::exception&) {
      return Usage(("bad value for " + arg).c_str());
    }
  }
  if (opt.port <= 0 || opt.port > 65535) return Usage("--port is required");
  if (opt.timeout <= 0 || opt.timeout > 3600) return Usage("--timeout must be in (0, 3600]");
  const auto net = consensus::NetworkFromName(opt.network);
  if (!net) return Usage("unknown network");
  const bool all = opt.attack == "all-in-turn";
  if (!all && std::find(kAttacks.begin(), kAttacks.end(), opt.attack) == kAttacks.end())
    return Usage("unknown or missing --attack");
  if (!opt.seed_set) opt.seed = std::random_device{}();
  std::fprintf(stderr, "wattline-hostile-peer: seed %llu\n", static_cast<unsigned long long>(opt.seed));
  std::mt19937_64 rng(opt.seed);
  const auto& params = consensus::GetParams(*net);

  if (!all) {
    const Result r = RunOne(opt, opt.attack, params, rng);
    std::printf("%s\n", r.Json().c_str());
    std::fflush(stdout);
    if (!r.connected) return 2;
    if (!r.handshake) return r.disconnected ? 3 : 1;
    return r.disconnected ? 0 : 1;
  }
  std::vector<Result> results;
  bool every = true;
  int code = 0;
  for (std::size_t k = 0; k < kScored.size(); ++k) {
    Options o = opt;
    if (!opt.bind.empty()) o.bind = NextAddress(opt.bind, static_cast<int>(k));
    results.push_back(RunOne(o, kScored[k], params, rng));
    const Result& r = results.back();
    if (!r.connected) code = 2;
    else if (!r.handshake && code == 0) code = r.disconnected ? 3 : 1;
    every = every && r.handshake && r.disconnected;
  }
  std::printf("{\"attack\":\"all-in-turn\",\"disconnected\":%s,\"results\":[", every ? "true" : "false");
  for (std::size_t i = 0; i < results.size(); ++i) std::printf("%s%s", i ? "," : "", results[i].Json().c_str());
  std::printf("]}\n");
  std::fflush(stdout);
  if (code != 0) return code;
  return every ? 0 : 1;
}
