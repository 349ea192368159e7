// Channel benchmarks (issue 11), printed as tables with ratios to baselines measured in the
// same run (docs/benchmarks.md):
//
//   1. Durable channel updates per second between two channel engines (A and B, each with its
//      own LevelDB channel database in a temp dir, synced writes) whose messages travel over a
//      real loopback TCP connection, one update at a time and with group commit over 16
//      channels; against the disk's raw fsync rate (write 512 bytes + fdatasync) in the same
//      directory. Goal: >= 0.5 sequentially; beyond with group commit.
//   2. The utility's watchtower holding 100,000 channels' newest states: RSS growth of the
//      process, bytes on disk per channel, and the time from a block holding a stale post to
//      the tower's own post (median of 200 stale posts).
//
// The channels are set up directly in the engines' stores (phase open): no chain is needed to
// sign and exchange states; the tower's chain view answers from a map.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "channels/engine.h"
#include "channels/tower.h"
#include "consensus/market_state.h"
#include "crypto/random.h"

using namespace wattline;
using namespace wattline::channels;
using Clock = std::chrono::steady_clock;

namespace {

const consensus::Params& P() { return consensus::GetParams(consensus::Network::kRegtest); }

crypto::SecretKey Key(std::uint8_t i) {
  std::array<std::uint8_t, 32> b{};
  b[31] = i;
  return *crypto::SecretKey::FromBytes(b);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::size_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::uint64_t DirBytes(const std::filesystem::path& dir) {
  std::uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

double FsyncRate(const std::filesystem::path& dir, int n) {
  const auto path = dir / "fsync.bin";
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  char buf[512] = {};
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    if (::pwrite(fd, buf, sizeof buf, static_cast<off_t>(i % 64) * 512) != sizeof buf || ::fdatasync(fd) != 0) {
      std::perror("fsync baseline");
      std::exit(1);
    }
  }
  const double s = Seconds(Clock::now() - t0);
  ::close(fd);
  return n / s;
}

/** One side's host: a socket to the other side; chain calls are not used by updates. */
class SocketHost final : public ChannelHost {
 public:
  SocketHost(crypto::SecretKey key, int fd) : m_key(std::move(key)), m_fd(fd) {}
  const consensus::Params& params() const override { return P(); }
  std::uint32_t TipHeight() const override { return 0; }
  std::uint64_t TipTime() const override { return 0; }
  std::vector<consensus::Reading> CountedReadings(const consensus::MeterId&, std::uint64_t, std::size_t) const override { return {}; }
  consensus::MarketGlobals Globals() const override { return consensus::InitialGlobals(P()); }
  std::optional<consensus::ChannelState> OnChain(const ChannelId&) const override { return std::nullopt; }
  bool Broadcast(const consensus::MutableTransaction&, std::string& why) override { return why = "no chain", false; }
  void Send(const std::string&, const ChannelMessage& msg) override {
    const Bytes body = EncodeChannelMessage(msg);
    const std::uint32_t n = static_cast<std::uint32_t>(body.size());
    std::lock_guard lock(m_send);
    WriteAll(&n, sizeof n);
    WriteAll(body.data(), body.size());
  }
  crypto::XOnlyPubKey Key() const override { return m_key.PubKey(); }
  std::optional<Signature> Sign(const Hash256& msg) override { return m_key.Sign(msg); }
  bool SelectFunding(std::uint64_t, std::vector<FundingInput>&, std::optional<consensus::TxOut>&, std::string&) override {
    return false;
  }
  bool SignInputs(const consensus::MutableTransaction&, std::size_t, std::size_t, std::vector<Signature>&,
                  std::string&) override {
    return false;
  }

 private:
  void WriteAll(const void* p, std::size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      const ssize_t w = ::send(m_fd, c, n, MSG_NOSIGNAL);
      if (w <= 0) return;
      c += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  crypto::SecretKey m_key;
  int m_fd;
  std::mutex m_send;
};

bool ReadAll(int fd, void* p, std::size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = ::recv(fd, c, n, 0);
    if (r <= 0) return false;
    c += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

/** Reads frames from fd and hands them to the engine, a batch of whatever has arrived at once. */
void Pump(int fd, ChannelEngine& engine, const std::string& from, const std::function<void()>& after) {
  for (;;) {
    std::vector<ChannelMessage> batch;
    do {
      std::uint32_t n = 0;
      if (!ReadAll(fd, &n, sizeof n)) return;
      Bytes body(n);
      if (!ReadAll(fd, body.data(), n)) return;
      ChannelMessage m;
      if (DecodeChannelMessage(body, m) != consensus::DecodeError::kOk) return;
      batch.push_back(std::move(m));
      int avail = 0;
      ::ioctl(fd, FIONREAD, &avail);
      if (avail < 4) break;
    } while (batch.size() < 256);
    engine.OnMessages(from, batch);
    after();
  }
}

void LoopbackPair(int& a, int& b) {
  const int lst = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(lst, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lst, 1) != 0 ||
      ::getsockname(lst, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("loopback");
    std::exit(1);
  }
  a = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(a, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  b = ::accept(lst, nullptr, nullptr);
  ::close(lst);
  const int one = 1;
  for (int fd : {a, b}) ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

ChannelRecord OpenRecord(Role role, std::uint32_t i) {
  ChannelRecord r;
  r.temp_id.bytes[0] = static_cast<std::uint8_t>(i);
  r.temp_id.bytes[1] = static_cast<std::uint8_t>(i >> 8);
  r.temp_id.bytes[31] = 1;
  r.role = role;
  r.phase = Phase::kOpen;
  auto& f = r.funding;
  f.consumer = Key(1).PubKey();
  f.producer = Key(2).PubKey();
  f.utility = P().utility_key;
  f.consumer_meter = Key(3).PubKey();
  f.producer_meter = Key(4).PubKey();
  f.energy_wh = 1'000'000;
  f.price = 1;
  f.cwa = 1'000'000'000;
  f.cwb = 1'000'000;
  f.expiry = 1'000;
  f.contest_window = 6;
  f.delivery_start = 1;
  f.delivery_end = 2;
  r.commit_fee = 2'000;
  r.channel = {r.temp_id, 0};
  r.peer = role == Role::kConsumer ? "b" : "a";
  return r;
}

struct UpdateRun {
  double sequential = 0, grouped = 0;
};

UpdateRun DurableUpdates(const std::filesystem::path& dir, int seconds_each, std::uint32_t group_channels) {
  std::unique_ptr<ChannelStore> sa, sb;
  std::string why;
  if (!ChannelStore::Open(dir / "a", sa, why) || !ChannelStore::Open(dir / "b", sb, why)) {
    std::fprintf(stderr, "%s\n", why.c_str());
    std::exit(1);
  }
  for (std::uint32_t i = 0; i < group_channels; ++i) {
    sa->Put(OpenRecord(Role::kConsumer, i));
    sb->Put(OpenRecord(Role::kProducer, i));
  }
  int fa = -1, fb = -1;
  LoopbackPair(fa, fb);
  SocketHost ha(Key(1), fa), hb(Key(2), fb);
  EngineOptions opts;
  opts.pay_as_metered = false;
  ChannelEngine a(ha, *sa, opts), b(hb, *sb, opts);
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t acks = 0;  // batches A handled: the main thread waits for them, not spins
  auto notify = [&] {
    {
      std::lock_guard lock(mu);
      ++acks;
    }
    cv.notify_all();
  };
  std::thread pa([&] { Pump(fa, a, "b", notify); }), pb([&] { Pump(fb, b, "a", [] {}); });
  auto settled = [&](const Hash256& id) { return !a.Get(id)->pending; };
  auto wait_settled = [&](const Hash256& id) {
    std::unique_lock lock(mu);
    for (;;) {
      const std::uint64_t seen = acks;
      lock.unlock();
      if (settled(id)) return;
      lock.lock();
      cv.wait_for(lock, std::chrono::milliseconds(5), [&] { return acks != seen; });
    }
  };

  UpdateRun run;
  const Hash256 first = OpenRecord(Role::kConsumer, 0).temp_id;
  std::uint64_t cc = 0, n = 0;
  auto t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::seconds(seconds_each)) {
    a.Pay(first, ++cc);
    wait_settled(first);
    ++n;
  }
  run.sequential = static_cast<double>(n) / Seconds(Clock::now() - t0);

  std::vector<Hash256> ids;
  for (std::uint32_t i = 0; i < group_channels; ++i) ids.push_back(OpenRecord(Role::kConsumer, i).temp_id);
  std::map<Hash256, std::uint64_t> ccs;
  for (const auto& id : ids) ccs[id] = a.Get(id)->cc;
  n = 0;
  t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::seconds(seconds_each)) {
    std::vector<std::pair<Hash256, std::uint64_t>> batch;
    for (const auto& id : ids) batch.emplace_back(id, ++ccs[id]);
    a.PayBatch(batch);
    for (const auto& id : ids) wait_settled(id);
    n += ids.size();
  }
  run.grouped = static_cast<double>(n) / Seconds(Clock::now() - t0);
  ::shutdown(fa, SHUT_RDWR);
  ::shutdown(fb, SHUT_RDWR);
  pa.join();
  pb.join();
  ::close(fa);
  ::close(fb);
  return run;
}

/** The utility's chain view: every channel is open with U as its key; some have a stale post. */
class TowerHost final : public ChannelHost {
 public:
  const consensus::Params& params() const override { return P(); }
  std::uint32_t TipHeight() const override { return 100; }
  std::uint64_t TipTime() const override { return 0; }
  std::vector<consensus::Reading> CountedReadings(const consensus::MeterId&, std::uint64_t, std::size_t) const override { return {}; }
  consensus::MarketGlobals Globals() const override { return consensus::InitialGlobals(P()); }
  std::optional<consensus::ChannelState> OnChain(const ChannelId& id) const override {
    consensus::ChannelState s;
    s.funding = OpenRecord(Role::kConsumer, 0).funding;
    s.amount = s.Funded();
    s.current = id;
    std::lock_guard lock(m_mutex);
    if (auto it = m_posted.find(id); it != m_posted.end()) {
      s.status = consensus::ChannelStatus::kClosing;
      s.posted_state = it->second;
      s.posted_height = 100;
      s.amount -= 2'000;
      s.current = {id.txid, 1};
    }
    return s;
  }
  bool Broadcast(const consensus::MutableTransaction&, std::string&) override {
    broadcast_at = Clock::now();
    ++broadcasts;
    return true;
  }
  void Send(const std::string&, const ChannelMessage&) override {}
  crypto::XOnlyPubKey Key() const override { return P().utility_key; }
  std::optional<crypto::XOnlyPubKey> UtilityKey() const override { return P().utility_key; }
  std::optional<Signature> Sign(const Hash256&) override { return std::nullopt; }
  bool SelectFunding(std::uint64_t, std::vector<FundingInput>&, std::optional<consensus::TxOut>&, std::string&) override {
    return false;
  }
  bool SignInputs(const consensus::MutableTransaction&, std::size_t, std::size_t, std::vector<Signature>&,
                  std::string&) override {
    return false;
  }
  void Post(const ChannelId& id, std::uint64_t state) {
    std::lock_guard lock(m_mutex);
    m_posted[id] = state;
  }
  Clock::time_point broadcast_at;
  std::atomic<int> broadcasts{0};

 private:
  mutable std::mutex m_mutex;
  std::map<ChannelId, std::uint64_t> m_posted;
};

ChannelId TowerChannel(std::uint32_t i) {
  ChannelId c;
  c.txid.bytes[0] = static_cast<std::uint8_t>(i);
  c.txid.bytes[1] = static_cast<std::uint8_t>(i >> 8);
  c.txid.bytes[2] = static_cast<std::uint8_t>(i >> 16);
  c.txid.bytes[31] = 7;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  // Positional: [seconds per update run] [tower channels]; --flags (contrib/run-benchmarks.sh) are ignored.
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]).rfind("--", 0) != 0) args.emplace_back(argv[i]);
  const int seconds = args.size() > 0 ? std::max(1, std::atoi(args[0].c_str())) : 5;
  const std::uint32_t tower_channels =
      args.size() > 1 ? static_cast<std::uint32_t>(std::max(200, std::atoi(args[1].c_str()))) : 100'000;
  Hash256 salt;
  crypto::GetRandomBytes(salt.bytes);
  const auto dir = std::filesystem::temp_directory_path() / ("wattline-bench-channels-" + salt.ToHex().substr(0, 12));
  std::filesystem::create_directories(dir);

  const double fsync = FsyncRate(dir, 2'000);
  const UpdateRun run = DurableUpdates(dir / "updates", seconds, 64);
  std::printf("\nDurable channel updates between two engines over loopback TCP (%d s each)\n", seconds);
  std::printf("%-44s %12s %10s\n", "measure", "per second", "vs fsync");
  std::printf("%-44s %12.0f %10.2f\n", "raw fsync (512 B write + fdatasync)", fsync, 1.0);
  std::printf("%-44s %12.0f %10.2f\n", "updates, one at a time (1 channel)", run.sequential, run.sequential / fsync);
  std::printf("%-44s %12.0f %10.2f\n", "updates, group commit over 64 channels", run.grouped, run.grouped / fsync);

  // The watchtower.
  TowerHost host;
  std::unique_ptr<Watchtower> tower;
  std::string why;
  const std::size_t rss0 = RssBytes();
  if (!Watchtower::Open(dir / "tower", host, tower, why)) {
    std::fprintf(stderr, "%s\n", why.c_str());
    return 1;
  }
  const auto ka = Key(1), kb = Key(2);
  const auto t0 = Clock::now();
  std::vector<TowerUpdateMsg> batch;
  for (std::uint32_t i = 0; i < tower_channels; ++i) {
    TowerUpdateMsg m;
    m.commitment = {TowerChannel(i), 10, 5'000, 2'000};
    const Hash256 msg = consensus::CommitmentSigHash(P(), m.commitment);
    m.sig_a = ka.Sign(msg);
    m.sig_b = kb.Sign(msg);
    batch.push_back(m);
    if (batch.size() == 1'000 || i + 1 == tower_channels) {
      for (auto v : tower->AcceptBatch(batch))
        if (v != Watchtower::Verdict::kKept) {
          std::fprintf(stderr, "tower refused a state: %s\n", std::string(Watchtower::VerdictName(v)).c_str());
          return 1;
        }
      batch.clear();
    }
  }
  const double fill_s = Seconds(Clock::now() - t0);
  const std::size_t rss1 = RssBytes();
  tower.reset();  // flush and close, so the files on disk are what a restart reads
  const std::uint64_t disk = DirBytes(dir / "tower");
  if (!Watchtower::Open(dir / "tower", host, tower, why)) return 1;
  std::vector<double> reactions;
  for (std::uint32_t k = 0; k < 200; ++k) {
    const ChannelId c = TowerChannel(k * (tower_channels / 200));
    host.Post(c, 3);  // a stale state is posted
    consensus::MutableTransaction post;
    consensus::ChannelSettlement s;
    s.path = consensus::SettlementPath::kPost;
    s.channel = c;
    s.state = 3;
    post.inputs.push_back({c, consensus::Satisfaction::ChannelPath(0, {})});
    post.outputs.push_back({consensus::Amount{1}, consensus::Condition::ChannelClose(c.txid, c.index, 3, 6)});
    post.record = consensus::MakeSettlementRecord(s);
    const std::vector<consensus::TransactionRef> block{consensus::MakeTransactionRef(post)};
    const int before = host.broadcasts;
    const auto start = Clock::now();
    tower->OnBlockConnected(block);
    if (host.broadcasts != before + 1) {
      std::fprintf(stderr, "the tower did not answer a stale post\n");
      return 1;
    }
    reactions.push_back(Seconds(host.broadcast_at - start) * 1e6);
    host.Post(c, 10);  // the tower's post confirms: the dispute ends
    tower->OnBlockConnected({});
    if (tower->Disputes() != 0) {
      std::fprintf(stderr, "a dispute outlived its confirmation\n");
      return 1;
    }
  }
  std::sort(reactions.begin(), reactions.end());
  std::printf("\nWatchtower holding %u channels' newest states (batches of 1,000, one sync each)\n", tower_channels);
  std::printf("%-44s %12.1f\n", "fill time, s", fill_s);
  std::printf("%-44s %12.1f\n", "RSS growth, MiB", (static_cast<double>(rss1) - static_cast<double>(rss0)) / (1 << 20));
  std::printf("%-44s %12.1f\n", "on disk per channel, bytes", static_cast<double>(disk) / tower_channels);
  std::printf("%-44s %12.0f\n", "reaction to a stale post, median us", reactions[reactions.size() / 2]);
  std::printf("%-44s %12.0f\n", "reaction to a stale post, p99 us", reactions[reactions.size() * 99 / 100]);
  tower.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
