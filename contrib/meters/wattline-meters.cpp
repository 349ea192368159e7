// wattline-meters: simulated smart meters against one wattline node (contrib/meters/README.md).
//
// Runs N meters (keys and energy model: model.h) against a node's gRPC API: registers the ones
// the chain does not know (UtilityService.RegisterMeter, utility credential), waits until they
// are mined, then signs one reading per meter and interval and submits them in batches of up
// to 100 (MeterService.SubmitReadings, meter credential), first catching up from --start to now
// and then in real time. Resumes from the chain (UtilityService.ListMeters): a restart never
// submits an interval twice.
//
// Exit codes: 0 done (or stopped by SIGINT/SIGTERM); 1 the node refused something or an RPC
// failed; 2 bad options; 3 cannot connect, or the endpoint, certificate or a credential file
// is missing.
#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <queue>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "consensus/market.h"
#include "consensus/params.h"
#include "contrib/meters/model.h"
#include "crypto/hex.h"
#include "wattline/v1/wattline.grpc.pb.h"

namespace v1 = wattline::v1;
namespace fs = std::filesystem;
namespace consensus = wattline::consensus;
namespace crypto = wattline::crypto;
using json = nlohmann::json;
using wattline::meters::SimMeter;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitConnect = 3;

std::atomic<bool> g_stop{false};
extern "C" void OnSignal(int) { g_stop.store(true); }

/** Thrown to leave with an exit code and a one-line message. */
struct Fatal {
  int code;
  std::string message;
};
/** Thrown when SIGINT/SIGTERM arrived while waiting. */
struct Stopped {};

struct Options {
  std::string datadir;
  std::string network = "devnet";
  std::string rpcconnect;
  std::string cacert;
  std::string utility_token;
  std::string meter_token;
  std::string tls_name = "auto";
  std::uint32_t meters = 10;
  std::uint64_t seed = 1;
  std::uint32_t interval = 900;
  std::optional<std::uint64_t> start;
  std::uint64_t intervals = 0;
  double speed = 0;
  bool register_meters = true;
  std::int64_t grant = 0;
  std::string owner;
  bool quiet = false;
  bool json = false;
  bool list = false;
  int timeout = 30;
  int wait = 300;
  std::string fund_from;
  std::string fund_rpcconnect;
  std::int64_t fund_amount = 1'000'000'000;
};

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Utc(std::uint64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  char buf[32];
  if (gmtime_r(&tt, &tm) == nullptr || std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return std::to_string(t);
  return buf;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

std::string ReadFile(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Fatal{kExitConnect, "cannot read the " + what + " " + path.string()};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RoleName(consensus::MeterRole r) { return std::string(consensus::MeterRoleName(r)); }

v1::MeterRole ToProto(consensus::MeterRole r) {
  switch (r) {
    case consensus::MeterRole::kProducer: return v1::METER_ROLE_PRODUCER;
    case consensus::MeterRole::kConsumer: return v1::METER_ROLE_CONSUMER;
    case consensus::MeterRole::kProsumer: return v1::METER_ROLE_PROSUMER;
  }
  return v1::METER_ROLE_UNSPECIFIED;
}

const char* CodeName(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    default: return "UNKNOWN";
  }
}

/** Sleeps up to `seconds` in small steps; false when a stop was requested. */
bool SleepFor(double seconds) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (!g_stop.load()) {
    const Clock::time_point now = Clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(until - now, std::chrono::milliseconds(100)));
  }
  return false;
}

// --- output ---------------------------------------------------------------------------------

class Output {
 public:
  Output(bool as_json, bool quiet) : m_json(as_json), m_quiet(quiet) {}

  /** A progress event: a JSON line, or the human line; nothing with --quiet unless `always`. */
  void Event(json j, const std::string& human, bool always = false) const {
    if (m_quiet && !always) return;
    if (m_json) {
      j["time"] = Now();
      std::cout << j.dump() << std::endl;
    } else {
      std::cout << human << std::endl;
    }
  }
  void Warn(const std::string& message) const {
    if (m_json) {
      std::cout << json{{"event", "warning"}, {"message", message}, {"time", Now()}}.dump() << std::endl;
    }
    std::cerr << "wattline-meters: " << message << std::endl;
  }
  void Error(const std::string& message) const {
    if (m_json) {
      std::cout << json{{"event", "error"}, {"message", message}, {"time", Now()}}.dump() << std::endl;
    }
    std::cerr << "wattline-meters: error: " << message << std::endl;
  }

 private:
  bool m_json;
  bool m_quiet;
};

// --- the node's API -------------------------------------------------------------------------

struct Result {
  grpc::Status status;
  std::string reject;  //!< wattline-reject-reason, when the node sent one
  bool ok() const { return status.ok(); }
  std::string Describe() const {
    std::string s = std::string(CodeName(status.error_code())) + ": " + status.error_message();
    if (!reject.empty()) s += " [reject-reason " + reject + "]";
    return s;
  }
};

bool Transient(grpc::StatusCode c) {
  return c == grpc::StatusCode::UNAVAILABLE || c == grpc::StatusCode::DEADLINE_EXCEEDED ||
         c == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

/** The host part of "host:port", "[v6]:port" or "dns:///host:port". */
std::string HostOf(std::string target) {
  if (auto p = target.find(":///"); p != std::string::npos) target = target.substr(p + 4);
  if (!target.empty() && target[0] == '[') {
    const auto close = target.find(']');
    return close == std::string::npos ? target : target.substr(1, close - 1);
  }
  const auto colon = target.rfind(':');
  return colon == std::string::npos ? target : target.substr(0, colon);
}

/** A TLS channel to one node, and the calls on it with a credential, retried while transient. */
class Connection {
 public:
  Connection(std::string name, std::string target, const std::string& cert_pem, const std::string& tls_name,
             const Options& opts, const Output& out)
      : m_name(std::move(name)), m_target(std::move(target)), m_opts(opts), m_out(out) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = cert_pem;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    // The node's self-signed certificate names 127.0.0.1 and localhost only: a node reached by
    // another name (a compose service, say) is checked as "localhost" against that very
    // certificate, which is the only one trusted.
    std::string name_override;
    if (tls_name == "auto") {
      const std::string host = HostOf(m_target);
      if (host != "127.0.0.1" && host != "localhost" && host != "::1") name_override = "localhost";
    } else if (tls_name != "none") {
      name_override = tls_name;
    }
    if (!name_override.empty()) args.SetSslTargetNameOverride(name_override);
    m_channel = grpc::CreateCustomChannel(m_target, grpc::SslCredentials(ssl), args);
    node = v1::NodeService::NewStub(m_channel);
    utility = v1::UtilityService::NewStub(m_channel);
    meter = v1::MeterService::NewStub(m_channel);
    wallet = v1::WalletService::NewStub(m_channel);
  }

  /**
   * Calls fn with a fresh context carrying `token`; UNAVAILABLE, DEADLINE_EXCEEDED and
   * RESOURCE_EXHAUSTED are retried with backoff (0.5 s doubling to 10 s) for up to --wait
   * seconds. Throws Stopped when a stop is requested while waiting, Fatal (exit 3) when the
   * node stays unreachable.
   */
  Result Call(const std::string& token, const std::string& what,
              const std::function<grpc::Status(grpc::ClientContext*)>& fn) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(m_opts.wait);
    double backoff = 0.5;
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + token);
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(m_opts.timeout));
      Result r;
      r.status = fn(&ctx);
      const auto& trailers = ctx.GetServerTrailingMetadata();
      if (auto it = trailers.find("wattline-reject-reason"); it != trailers.end())
        r.reject.assign(it->second.data(), it->second.size());
      if (r.ok() || !Transient(r.status.error_code())) return r;
      const auto left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        throw Fatal{kExitConnect, m_name + " " + m_target + ": " + what + ": " + r.Describe() + " (gave up after " +
                                      std::to_string(m_opts.wait) + " s of retries)"};
      }
      const double pause = std::min(backoff, left);
      m_out.Warn(m_name + " " + m_target + ": " + what + ": " + r.Describe() + "; retry " + std::to_string(attempt) +
                 " in " + std::to_string(static_cast<int>(pause * 1000)) + " ms");
      if (!SleepFor(pause)) throw Stopped{};
      backoff = std::min(backoff * 2, 10.0);
    }
  }

  /** Call() that turns any failure into Fatal (exit 1). */
  template <typename Fn>
  void Must(const std::string& token, const std::string& what, Fn&& fn) const {
    Result r = Call(token, what, fn);
    if (!r.ok()) throw Fatal{kExitError, m_name + ": " + what + ": " + r.Describe()};
  }

  const std::string& target() const { return m_target; }

  std::unique_ptr<v1::NodeService::Stub> node;
  std::unique_ptr<v1::UtilityService::Stub> utility;
  std::unique_ptr<v1::MeterService::Stub> meter;
  std::unique_ptr<v1::WalletService::Stub> wallet;

 private:
  std::string m_name;
  std::string m_target;
  std::shared_ptr<grpc::Channel> m_channel;
  const Options& m_opts;
  const Output& m_out;
};

fs::path DefaultDatadir(const Options& o) {
  if (!o.datadir.empty()) return o.datadir;
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') throw Fatal{kExitUsage, "HOME is not set: pass --datadir"};
  return fs::path(home) / ".wattline" / o.network;
}

std::string ReadToken(const fs::path& path) {
  std::string t = Trim(ReadFile(path, "credential"));
  if (t.empty()) throw Fatal{kExitConnect, "the credential file " + path.string() + " is empty"};
  return t;
}

// --- the simulation -------------------------------------------------------------------------

/** One simulated meter and where it stands: the next interval to read, its registers. */
struct Runner {
  SimMeter sim;
  std::string key_hex;
  std::string owner_arg;      //!< sent to RegisterMeter: --owner, or the derived owner key
  std::string owner_address;  //!< as the chain shows it (ListMeters)
  bool active = true;         //!< false: dropped (deregistered, or not registered with --no-register)
  bool registered = false;
  std::uint64_t next_start = 0;
  std::uint64_t import_register = 0;
  std::uint64_t export_register = 0;
  std::uint64_t counted = 0;  //!< readings the chain had counted at the last sync
  std::uint64_t submitted = 0;
};

struct Position {
  std::uint64_t next_start = 0, import_register = 0, export_register = 0;
};

class Simulator {
 public:
  Simulator(const Options& opts, const Output& out, const consensus::Params& params, Connection& node,
            std::string utility_token, std::string meter_token, std::unique_ptr<Connection> funder,
            std::string funder_token, std::string utility_wallet_token)
      : m_opts(opts),
        m_out(out),
        m_params(params),
        m_node(node),
        m_utility_token(std::move(utility_token)),
        m_meter_token(std::move(meter_token)),
        m_funder(std::move(funder)),
        m_funder_token(std::move(funder_token)),
        m_utility_wallet_token(std::move(utility_wallet_token)) {
    m_start = *opts.start;
    m_limit = opts.intervals == 0 ? 0 : m_start + opts.intervals * opts.interval;
    for (std::uint32_t i = 0; i < opts.meters; ++i) {
      Runner r{wattline::meters::MakeMeter(opts.seed, i), {}, {}, {}, true, false, m_start, 0, 0, 0, 0};
      r.key_hex = crypto::HexEncode(r.sim.key.span());
      r.owner_arg = opts.owner.empty() ? crypto::HexEncode(r.sim.owner.span()) : opts.owner;
      m_runners.push_back(std::move(r));
    }
  }

  int Run() {
    CheckNode();
    Sync(/*at_start=*/true);
    for (const Runner& r : m_runners) {
      if (!r.active) continue;
      m_out.Event({{"event", "meter"}, {"index", r.sim.index}, {"meter", r.key_hex}, {"role", RoleName(r.sim.role)},
                   {"owner", r.owner_address}, {"readings", r.counted}, {"next_start", r.next_start}},
                  "meter " + std::to_string(r.sim.index) + " " + r.key_hex + " " + RoleName(r.sim.role) + " owner " +
                      r.owner_address + ": " + std::to_string(r.counted) + " readings counted, next from " +
                      Utc(r.next_start));
    }
    m_sim_begin = m_start;
    for (const Runner& r : m_runners)
      if (r.active) m_sim_begin = std::min(m_sim_begin, r.next_start);
    m_real_begin = std::chrono::steady_clock::now();
    std::string why = "every meter read up to " + (m_limit ? Utc(m_limit) : std::string("now"));
    try {
      Loop();
    } catch (const Stopped&) {
      why = "stopped by a signal";
    }
    Summary(why);
    return kExitOk;
  }

  void Summary(const std::string& why) const {
    std::size_t active = 0;
    for (const Runner& r : m_runners) active += r.active ? 1 : 0;
    m_out.Event({{"event", "done"}, {"reason", why}, {"meters", active}, {"readings", m_readings},
                 {"batches", m_batches}, {"rewards", m_rewards}, {"resyncs", m_resyncs}},
                "done (" + why + "): " + std::to_string(m_readings) + " readings in " + std::to_string(m_batches) +
                    " batches from " + std::to_string(active) + " meters, rewards " + std::to_string(m_rewards) +
                    " units, " + std::to_string(m_resyncs) + " re-syncs",
                /*always=*/true);
  }

 private:
  // The node must run the network the readings are signed for.
  void CheckNode() {
    v1::GetInfoResponse info;
    m_node.Must(m_meter_token, "NodeService.GetInfo",
                [&](grpc::ClientContext* c) { return m_node.node->GetInfo(c, v1::GetInfoRequest{}, &info); });
    if (info.network_name() != m_opts.network) {
      throw Fatal{kExitError, "the node at " + m_node.target() + " runs " + info.network_name() + ", not " +
                                  m_opts.network + " (--network)"};
    }
    m_out.Event({{"event", "connected"}, {"endpoint", m_node.target()}, {"network", info.network_name()},
                 {"height", info.height()}, {"meters", m_opts.meters}, {"seed", m_opts.seed},
                 {"interval", m_opts.interval}, {"start", m_start}, {"limit", m_limit}},
                "connected to " + m_node.target() + " (" + info.network_name() + ", height " +
                    std::to_string(info.height()) + "): " + std::to_string(m_opts.meters) + " meters, seed " +
                    std::to_string(m_opts.seed) + ", interval " + std::to_string(m_opts.interval) + " s, from " +
                    Utc(m_start) + (m_limit ? " to " + Utc(m_limit) : std::string(", unbounded")));
  }

  std::map<std::string, v1::MeterInfo> ListMeters() {
    v1::ListMetersResponse resp;
    m_node.Must(m_utility_token, "UtilityService.ListMeters",
                [&](grpc::ClientContext* c) { return m_node.utility->ListMeters(c, v1::ListMetersRequest{}, &resp); });
    std::map<std::string, v1::MeterInfo> out;
    for (const auto& m : resp.meters()) out[m.meter()] = m;
    return out;
  }

  std::uint32_t TipHeight(std::string* hash = nullptr) {
    v1::GetInfoResponse info;
    m_node.Must(m_meter_token, "NodeService.GetInfo",
                [&](grpc::ClientContext* c) { return m_node.node->GetInfo(c, v1::GetInfoRequest{}, &info); });
    if (hash) *hash = info.tip_hash();
    return info.height();
  }

  /** Waits (bounded by --wait) until the node's tip changes. */
  void WaitForBlock(const std::string& why) {
    std::string tip0;
    TipHeight(&tip0);
    m_out.Event({{"event", "wait"}, {"for", "block"}, {"why", why}}, "waiting for the next block (" + why + ")");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(m_opts.wait);
    for (;;) {
      if (!SleepFor(1.0)) throw Stopped{};
      std::string tip;
      TipHeight(&tip);
      if (tip != tip0) return;
      if (std::chrono::steady_clock::now() >= deadline) {
        throw Fatal{kExitError, "no new block within " + std::to_string(m_opts.wait) + " s (" + why +
                                    "): is the node mining, or connected to miners?"};
      }
    }
  }

  /** Sets r's position from the chain's view of it. */
  void Adopt(Runner& r, const v1::MeterInfo& info) {
    r.registered = info.registered();
    r.owner_address = info.owner();
    r.counted = info.readings();
    if (info.readings() > 0 || info.last_end() > 0) {
      r.next_start = std::max<std::uint64_t>(info.last_end(), m_start);
      r.import_register = info.import_register();
      r.export_register = info.export_register();
    } else {
      r.next_start = m_start;
      r.import_register = 0;
      r.export_register = 0;
    }
    if (r.registered && info.role() != ToProto(r.sim.role)) {
      m_out.Warn("meter " + std::to_string(r.sim.index) + " is registered as " + v1::MeterRole_Name(info.role()) +
                 ", simulated as a " + RoleName(r.sim.role));
    }
  }

  /**
   * Reads every meter's state from the chain (ListMeters) and registers the missing ones
   * (--register). At start a meter that is not registered (never, or deregistered) is
   * registered; later only one the chain forgot (a reorganisation dropped its registration):
   * a deregistered meter is dropped.
   */
  void Sync(bool at_start) {
    auto chain = ListMeters();
    std::vector<Runner*> missing;
    for (Runner& r : m_runners) {
      if (!r.active) continue;
      auto it = chain.find(r.key_hex);
      if (it != chain.end() && it->second.registered()) {
        Adopt(r, it->second);
      } else if (it != chain.end() && !at_start) {
        m_out.Warn("meter " + std::to_string(r.sim.index) + " " + r.key_hex + " was deregistered: dropped");
        r.active = false;
      } else {
        missing.push_back(&r);
      }
    }
    if (!missing.empty()) {
      if (!m_opts.register_meters) {
        for (Runner* r : missing) {
          m_out.Warn("meter " + std::to_string(r->sim.index) + " " + r->key_hex +
                     " is not registered (--no-register): skipped");
          r->active = false;
        }
      } else {
        Register(missing);
        chain = ListMeters();
        for (Runner* r : missing) Adopt(*r, chain.at(r->key_hex));
      }
    }
    if (std::none_of(m_runners.begin(), m_runners.end(), [](const Runner& r) { return r.active; }))
      throw Fatal{kExitError, "no registered meter to run"};
  }

  static bool Contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

  /** The utility's wallet cannot pay: with --fund-from, ask the funder's wallet for coins (once). */
  void Fund() {
    if (!m_funder || m_funded) return;
    v1::GetNewAddressResponse addr;
    m_node.Must(m_utility_wallet_token, "WalletService.GetNewAddress (the utility's wallet)",
                [&](grpc::ClientContext* c) { return m_node.wallet->GetNewAddress(c, v1::GetNewAddressRequest{}, &addr); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(m_opts.wait);
    bool told = false;
    for (;;) {
      v1::SendRequest req;
      req.set_address(addr.address());
      req.set_amount(m_opts.fund_amount);
      v1::SendResponse resp;
      Result r = m_funder->Call(m_funder_token, "WalletService.Send (--fund-from)",
                                [&](grpc::ClientContext* c) { return m_funder->wallet->Send(c, req, &resp); });
      if (r.ok()) {
        m_funded = true;
        m_out.Event({{"event", "fund"}, {"address", addr.address()}, {"amount", m_opts.fund_amount}, {"txid", resp.txid()}},
                    "funded the utility's wallet: " + std::to_string(m_opts.fund_amount) + " units to " +
                        addr.address() + " from " + m_funder->target() + ", txid " + resp.txid());
        return;
      }
      const bool no_funds_yet = r.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
                                Contains(r.status.error_message(), "insufficient funds");
      // A send the mempool refused (its coin was spent or reorganised away meanwhile) is
      // retried like missing funds; anything else (a locked wallet, a bad address) is final.
      const bool refused_for_now = !r.reject.empty() || r.status.error_code() == grpc::StatusCode::ABORTED;
      if (!no_funds_yet && !refused_for_now)
        throw Fatal{kExitError, "funding the utility (--fund-from): " + r.Describe()};
      if (refused_for_now) m_out.Warn("funding the utility (--fund-from): " + r.Describe() + "; retrying in 3 s");
      if (!told) {
        m_out.Event({{"event", "wait"}, {"for", "funder"}, {"message", r.status.error_message()}},
                    "waiting for the funder's wallet (" + m_funder->target() + ") to have spendable coins");
        told = true;
      }
      if (std::chrono::steady_clock::now() >= deadline)
        throw Fatal{kExitError, "funding the utility (--fund-from): still " + r.status.error_message() + " after " +
                                    std::to_string(m_opts.wait) + " s"};
      if (!SleepFor(3.0)) throw Stopped{};
    }
  }

  void Register(const std::vector<Runner*>& missing) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(m_opts.wait);
    bool told_funds = false;
    for (Runner* r : missing) {
      v1::RegisterMeterRequest req;
      req.set_meter(r->key_hex);
      req.set_owner(r->owner_arg);
      req.set_role(ToProto(r->sim.role));
      req.set_grant(m_opts.grant);
      for (;;) {
        v1::UtilityTxResponse resp;
        Result res = m_node.Call(m_utility_token, "UtilityService.RegisterMeter",
                                 [&](grpc::ClientContext* c) { return m_node.utility->RegisterMeter(c, req, &resp); });
        if (res.ok()) {
          m_out.Event({{"event", "register"}, {"index", r->sim.index}, {"meter", r->key_hex},
                       {"role", RoleName(r->sim.role)}, {"owner", r->owner_arg}, {"txid", resp.txid()}},
                      "registering meter " + std::to_string(r->sim.index) + " " + r->key_hex + " (" +
                          RoleName(r->sim.role) + ", owner " + r->owner_arg + "): txid " + resp.txid());
          break;
        }
        const std::string& msg = res.status.error_message();
        // Registered meanwhile, or its registration is pending in the mempool already (a restart).
        if (res.reject == "bad-meter-registered" || Contains(msg, "registered already")) break;
        if (res.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION && Contains(msg, "insufficient funds")) {
          if (!told_funds) {
            m_out.Event({{"event", "wait"}, {"for", "funds"}, {"message", msg}},
                        "the utility's wallet cannot pay the registration fee yet (" + msg +
                            "); retrying (the node's coinbases must mature" +
                            (m_funder ? std::string(", or the --fund-from coins confirm") : std::string()) + ")");
            told_funds = true;
          }
          Fund();
          if (std::chrono::steady_clock::now() >= deadline)
            throw Fatal{kExitError, "registering meters: " + res.Describe() + " for " + std::to_string(m_opts.wait) +
                                        " s (fund the utility node's wallet, or pass --fund-from)"};
          if (!SleepFor(2.0)) throw Stopped{};
          continue;
        }
        // Refused by the mempool or the chain (a reorganisation took the fee's coin, a block
        // came in between): the node's state moves on, so try again until --wait runs out.
        // Only a request the node can never accept (a bad key, no utility key) ends the run.
        if (!res.reject.empty() || res.status.error_code() == grpc::StatusCode::ABORTED) {
          if (std::chrono::steady_clock::now() >= deadline)
            throw Fatal{kExitError, "registering meter " + std::to_string(r->sim.index) + ": " + res.Describe() +
                                        " for " + std::to_string(m_opts.wait) + " s"};
          m_out.Warn("registering meter " + std::to_string(r->sim.index) + ": " + res.Describe() + "; retrying in 2 s");
          if (!SleepFor(2.0)) throw Stopped{};
          continue;
        }
        throw Fatal{kExitError, "registering meter " + std::to_string(r->sim.index) + ": " + res.Describe()};
      }
    }
    // The registrations count once mined: the node (or its peers) must mine.
    m_out.Event({{"event", "wait"}, {"for", "registrations"}, {"meters", missing.size()}},
                "waiting (up to " + std::to_string(m_opts.wait) + " s) for " + std::to_string(missing.size()) +
                    " registrations to be mined");
    const auto mined_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(m_opts.wait);
    for (;;) {
      const auto chain = ListMeters();
      std::size_t pending = 0;
      for (const Runner* r : missing) {
        auto it = chain.find(r->key_hex);
        if (it == chain.end() || !it->second.registered()) ++pending;
      }
      if (pending == 0) break;
      if (std::chrono::steady_clock::now() >= mined_deadline) {
        throw Fatal{kExitError, std::to_string(pending) + " meter registrations not mined after " +
                                    std::to_string(m_opts.wait) +
                                    " s: the node must mine (--mine 1) or be connected to miners"};
      }
      if (!SleepFor(1.0)) throw Stopped{};
    }
    m_out.Event({{"event", "registered"}, {"meters", missing.size()}},
                std::to_string(missing.size()) + " meters registered");
  }

  /** The end of the interval that starts at s: the next boundary of the grid start + k * interval. */
  std::uint64_t EndOf(std::uint64_t s) const {
    return m_start + ((s - m_start) / m_opts.interval + 1) * m_opts.interval;
  }
  bool Done(const Position& p) const { return m_limit != 0 && p.next_start >= m_limit; }

  /** The simulated clock: --speed seconds per second from the first interval, never past now. */
  std::uint64_t SimNow() const {
    const std::int64_t wall = Now();
    if (m_opts.speed <= 0) return static_cast<std::uint64_t>(wall);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_real_begin).count();
    const double sim = static_cast<double>(m_sim_begin) + m_opts.speed * elapsed;
    return static_cast<std::uint64_t>(std::min(sim, static_cast<double>(wall)));
  }

  struct Item {
    std::size_t runner;
    consensus::Reading reading;
  };

  /** Up to kMaxReadingsPerBatch due readings, oldest interval first, and the positions after them. */
  std::vector<Item> NextBatch(std::vector<Position>& pos, std::uint64_t now) const {
    using Entry = std::pair<std::uint64_t, std::size_t>;  // interval end, runner
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> due;
    for (std::size_t i = 0; i < m_runners.size(); ++i) {
      if (!m_runners[i].active || Done(pos[i])) continue;
      const std::uint64_t end = EndOf(pos[i].next_start);
      if (end <= now) due.emplace(end, i);
    }
    std::vector<Item> batch;
    while (!due.empty() && batch.size() < consensus::kMaxReadingsPerBatch) {
      const auto [end, i] = due.top();
      due.pop();
      const Runner& r = m_runners[i];
      Position& p = pos[i];
      consensus::Reading x;
      x.meter = r.sim.key;
      x.start = p.next_start;
      x.length = static_cast<std::uint32_t>(end - p.next_start);
      const auto e = wattline::meters::ComputeInterval(r.sim, m_opts.seed, x.start, x.length);
      x.import_wh = e.import_wh;
      x.export_wh = e.export_wh;
      x.import_register = p.import_register + e.import_wh;
      x.export_register = p.export_register + e.export_wh;
      x.sig = r.sim.secret.Sign(consensus::ReadingSigHash(m_params, x));
      batch.push_back({i, x});
      p = {end, x.import_register, x.export_register};
      if (!Done(p)) {
        const std::uint64_t next = EndOf(p.next_start);
        if (next <= now) due.emplace(next, i);
      }
    }
    return batch;
  }

  /** Seconds to sleep until the next interval is due; nullopt when every meter is done. */
  std::optional<double> UntilNextDue() const {
    std::optional<std::uint64_t> next;
    for (const Runner& r : m_runners) {
      if (!r.active || Done({r.next_start, 0, 0})) continue;
      const std::uint64_t end = EndOf(r.next_start);
      next = next ? std::min(*next, end) : end;
    }
    if (!next) return std::nullopt;
    const double wall = static_cast<double>(Now());
    double wait = static_cast<double>(*next) - wall;
    if (m_opts.speed > 0) wait = std::max(wait, (static_cast<double>(*next) - static_cast<double>(SimNow())) / m_opts.speed);
    return std::max(wait, 0.05);
  }

  enum class Outcome { kAccepted, kResync, kRetryLater };

  Outcome Submit(const std::vector<Item>& batch, std::string& txid, std::int64_t& rewards, std::string& why) {
    v1::SubmitReadingsRequest req;
    for (const Item& it : batch) {
      const consensus::Reading& x = it.reading;
      v1::Reading* p = req.add_readings();
      p->set_meter(m_runners[it.runner].key_hex);
      p->set_start(x.start);
      p->set_length(x.length);
      p->set_import_wh(x.import_wh);
      p->set_export_wh(x.export_wh);
      p->set_import_register(x.import_register);
      p->set_export_register(x.export_register);
      p->set_signature(crypto::HexEncode(x.sig.span()));
    }
    v1::SubmitReadingsResponse resp;
    Result r = m_node.Call(m_meter_token, "MeterService.SubmitReadings",
                           [&](grpc::ClientContext* c) { return m_node.meter->SubmitReadings(c, req, &resp); });
    if (r.ok()) {
      txid = resp.txid();
      rewards = resp.rewards();
      return Outcome::kAccepted;
    }
    why = r.Describe();
    // The very transaction is in the mempool already (a retry whose first answer was lost).
    if (r.status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      txid = "(already in the mempool)";
      rewards = 0;
      return Outcome::kAccepted;
    }
    static const char* const kStateDependent[] = {
        "bad-reading-overlap",          "bad-reading-duplicate",     "bad-reading-energy-mismatch",
        "bad-reading-register-decrease", "bad-reading-meter-unknown", "bad-reading-meter-deregistered",
        "txn-already-known"};
    const bool rejected = r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
                          r.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION;
    if (rejected) {
      for (const char* code : kStateDependent) {
        if (r.reject == code || Contains(r.status.error_message(), code)) return Outcome::kResync;
      }
      // Ahead of the node's clock (the clocks differ): wait and try again.
      if (r.reject == "bad-reading-future" || Contains(r.status.error_message(), "bad-reading-future"))
        return Outcome::kRetryLater;
    }
    throw Fatal{kExitError, "MeterService.SubmitReadings: " + why};
  }

  void Loop() {
    int stalls = 0;  // rejected batches in a row
    constexpr int kMaxStalls = 20;
    for (;;) {
      if (g_stop.load()) throw Stopped{};
      std::vector<Position> pos;
      for (const Runner& r : m_runners) pos.push_back({r.next_start, r.import_register, r.export_register});
      const std::vector<Item> batch = NextBatch(pos, SimNow());
      if (batch.empty()) {
        const auto wait = UntilNextDue();
        if (!wait) return;  // every meter read up to --intervals
        if (!SleepFor(std::min(*wait, 1.0))) throw Stopped{};
        continue;
      }
      std::string txid, why;
      std::int64_t rewards = 0;
      switch (Submit(batch, txid, rewards, why)) {
        case Outcome::kAccepted: {
          stalls = 0;
          std::vector<bool> in_batch(m_runners.size(), false);
          std::uint64_t first = batch.front().reading.start, last_end = 0;
          for (const Item& it : batch) {
            in_batch[it.runner] = true;
            first = std::min(first, it.reading.start);
            last_end = std::max(last_end, it.reading.start + it.reading.length);
            ++m_runners[it.runner].submitted;
          }
          std::size_t meters = 0;
          for (std::size_t i = 0; i < m_runners.size(); ++i) {
            if (!in_batch[i]) continue;
            ++meters;
            m_runners[i].next_start = pos[i].next_start;
            m_runners[i].import_register = pos[i].import_register;
            m_runners[i].export_register = pos[i].export_register;
          }
          ++m_batches;
          m_readings += batch.size();
          m_rewards += rewards;
          m_out.Event({{"event", "batch"}, {"batch", m_batches}, {"readings", batch.size()}, {"meters", meters},
                       {"first_start", first}, {"end", last_end}, {"txid", txid}, {"rewards", rewards}},
                      "batch " + std::to_string(m_batches) + ": " + std::to_string(batch.size()) + " readings of " +
                          std::to_string(meters) + " meters, intervals " + Utc(first) + " .. " + Utc(last_end) +
                          ", txid " + txid + ", rewards " + std::to_string(rewards) + " units");
          break;
        }
        case Outcome::kResync:
          // The node's view differs from ours: readings of an earlier run (or of a block a
          // reorganisation dropped) are in its mempool, or the chain lost some. The chain
          // catches up with the mempool at the next block: wait for it, then resume from the
          // chain's registers.
          if (++stalls > kMaxStalls)
            throw Fatal{kExitError, "readings refused " + std::to_string(stalls) + " times in a row: " + why};
          ++m_resyncs;
          m_out.Event({{"event", "resync"}, {"reason", why}}, "re-syncing from the chain: " + why, /*always=*/true);
          WaitForBlock("the mempool holds readings the chain has not counted yet");
          Sync(/*at_start=*/false);
          break;
        case Outcome::kRetryLater:
          if (++stalls > kMaxStalls)
            throw Fatal{kExitError, "readings refused " + std::to_string(stalls) + " times in a row: " + why};
          m_out.Warn("the node refused a reading as in the future (its clock is behind ours?): " + why +
                     "; retrying in 10 s");
          if (!SleepFor(10.0)) throw Stopped{};
          break;
      }
    }
  }

  const Options& m_opts;
  const Output& m_out;
  const consensus::Params& m_params;
  Connection& m_node;
  std::string m_utility_token, m_meter_token;
  std::unique_ptr<Connection> m_funder;
  std::string m_funder_token, m_utility_wallet_token;
  bool m_funded = false;
  std::vector<Runner> m_runners;
  std::uint64_t m_start = 0, m_limit = 0, m_sim_begin = 0;
  std::chrono::steady_clock::time_point m_real_begin;
  std::uint64_t m_readings = 0, m_batches = 0, m_resyncs = 0;
  std::int64_t m_rewards = 0;
};

void ListKeys(const Options& o, const Output& out) {
  for (std::uint32_t i = 0; i < o.meters; ++i) {
    const SimMeter m = wattline::meters::MakeMeter(o.seed, i);
    const std::string key = crypto::HexEncode(m.key.span());
    const std::string owner = o.owner.empty() ? crypto::HexEncode(m.owner.span()) : o.owner;
    if (o.json) {
      std::cout << json{{"index", i}, {"meter", key}, {"role", RoleName(m.role)}, {"owner", owner},
                        {"peak_w", m.profile.peak_w}, {"base_w", m.profile.base_w}}
                       .dump()
                << "\n";
    } else {
      std::cout << i << " " << key << " " << RoleName(m.role) << " " << owner << "\n";
    }
  }
  (void)out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wattline-meters: simulated smart meters submitting signed readings to a wattline node",
               "wattline-meters"};
  app.footer(
      "Exit codes: 0 done or stopped (SIGINT/SIGTERM); 1 a call failed or the node refused something;\n"
      "            2 bad options; 3 cannot connect, or the endpoint, certificate or a credential is missing.\n"
      "See contrib/meters/README.md.");
  Options o;
  std::uint64_t start = 0;
  app.add_option("--datadir", o.datadir, "The node's data folder (default: $HOME/.wattline/<network>)");
  app.add_option("--network", o.network, "regtest, devnet, testnet or main: the readings are signed for it")
      ->check(CLI::IsMember({"main", "testnet", "devnet", "regtest"}))
      ->capture_default_str();
  app.add_option("--rpcconnect", o.rpcconnect, "host:port of the API (default: <datadir>/rpc.endpoint)");
  app.add_option("--cacert", o.cacert, "The node's certificate (default: <datadir>/tls/cert.pem)");
  app.add_option("--tls-name", o.tls_name,
                 "Name to check the certificate for: auto (localhost when --rpcconnect names another host), "
                 "none, or a name")
      ->capture_default_str();
  app.add_option("--utility-token", o.utility_token,
                 "Utility credential: ListMeters, RegisterMeter (default: <datadir>/credentials/utility.token)");
  app.add_option("--meter-token", o.meter_token,
                 "Meter credential: SubmitReadings (default: <datadir>/credentials/meter.token)");
  app.add_option("--meters", o.meters, "How many meters")->check(CLI::Range(1u, 100000u))->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of the keys and the energy model")->capture_default_str();
  app.add_option("--interval", o.interval, "Seconds per reading (at most a day)")
      ->check(CLI::Range(1u, 86400u))
      ->capture_default_str();
  app.add_option("--start", start, "Unix time of the first interval (default: now - 1 day, aligned down to --interval)");
  app.add_option("--intervals", o.intervals,
                 "Stop once each meter is read up to --start + K intervals (0: never)")
      ->capture_default_str();
  app.add_option("--speed", o.speed,
                 "Simulated seconds per real second while catching up to now (0: as fast as possible)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_flag("--register,!--no-register", o.register_meters,
               "Register the meters the chain does not know (utility credential); default on");
  app.add_option("--grant", o.grant, "Grant in units to each newly registered meter's owner")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{2'100'000'000'000'000}))
      ->capture_default_str();
  app.add_option("--owner", o.owner, "Owner of every meter, address or key (default: a key per meter from the seed)");
  app.add_option("--wait", o.wait,
                 "Seconds to wait for funds, for registrations to be mined, for a block, or for an unreachable node")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--timeout", o.timeout, "Seconds per call")->check(CLI::Range(1, 3600))->capture_default_str();
  app.add_option("--fund-from", o.fund_from,
                 "Datadir of a node whose wallet pays coins to the utility's wallet when it cannot pay the "
                 "registration fees (e.g. a miner of the testnet)");
  app.add_option("--fund-rpcconnect", o.fund_rpcconnect, "host:port of the --fund-from node (default: its rpc.endpoint)");
  app.add_option("--fund-amount", o.fund_amount, "Units --fund-from sends")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{2'100'000'000'000'000}))
      ->capture_default_str();
  app.add_flag("--list", o.list, "Print each meter's index, key, role and owner, and exit (no node needed)");
  app.add_flag("--quiet", o.quiet, "Only warnings, errors and the final summary");
  app.add_flag("--json", o.json, "One JSON object per line per event");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    std::cerr << "wattline-meters: " << msg << " (see --help)" << std::endl;
    return kExitUsage;
  }
  const Output out(o.json, o.quiet);
  if (!o.owner.empty() && o.owner.size() == 64) {
    auto bytes = crypto::HexDecode(o.owner);
    crypto::XOnlyPubKey k;
    if (bytes && bytes->size() == 32) std::copy(bytes->begin(), bytes->end(), k.bytes.begin());
    if (!bytes || !k.IsValid()) {
      std::cerr << "wattline-meters: --owner: " << o.owner << " is not a valid key (see --help)" << std::endl;
      return kExitUsage;
    }
  }
  if (o.list) {
    ListKeys(o, out);
    return kExitOk;
  }

  const std::int64_t now = Now();
  if (app.count("--start") > 0) {
    if (start > static_cast<std::uint64_t>(now)) {
      std::cerr << "wattline-meters: --start " << start << " is in the future (now " << now << ") (see --help)"
                << std::endl;
      return kExitUsage;
    }
    o.start = start;
  } else {
    o.start = static_cast<std::uint64_t>((now - 86400) / o.interval * o.interval);
  }
  if (o.intervals > 0 && o.intervals > (UINT64_MAX - *o.start) / o.interval) {
    std::cerr << "wattline-meters: --intervals " << o.intervals << " is too large (see --help)" << std::endl;
    return kExitUsage;
  }
  if (app.count("--fund-rpcconnect") > 0 && o.fund_from.empty()) {
    std::cerr << "wattline-meters: --fund-rpcconnect needs --fund-from (see --help)" << std::endl;
    return kExitUsage;
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    const auto network = consensus::NetworkFromName(o.network);
    if (!network) throw Fatal{kExitUsage, "unknown network " + o.network};
    const consensus::Params& params = consensus::GetParams(*network);
    const fs::path datadir = DefaultDatadir(o);
    const std::string target = o.rpcconnect.empty()
                                   ? Trim(ReadFile(datadir / "rpc.endpoint", "RPC endpoint file (is wattlined running?)"))
                                   : o.rpcconnect;
    const std::string cert = ReadFile(o.cacert.empty() ? datadir / "tls" / "cert.pem" : fs::path(o.cacert), "TLS certificate");
    std::string utility_token =
        ReadToken(o.utility_token.empty() ? datadir / "credentials" / "utility.token" : fs::path(o.utility_token));
    std::string meter_token =
        ReadToken(o.meter_token.empty() ? datadir / "credentials" / "meter.token" : fs::path(o.meter_token));
    Connection node("node", target, cert, o.tls_name, o, out);

    std::unique_ptr<Connection> funder;
    std::string funder_token, utility_wallet_token;
    if (!o.fund_from.empty()) {
      const fs::path fdir = o.fund_from;
      const std::string ftarget =
          o.fund_rpcconnect.empty() ? Trim(ReadFile(fdir / "rpc.endpoint", "--fund-from RPC endpoint file"))
                                    : o.fund_rpcconnect;
      funder = std::make_unique<Connection>("funder", ftarget, ReadFile(fdir / "tls" / "cert.pem", "--fund-from TLS certificate"),
                                            o.tls_name, o, out);
      funder_token = ReadToken(fdir / "credentials" / "wallet.token");
      utility_wallet_token = ReadToken(datadir / "credentials" / "wallet.token");
    }
    Simulator sim(o, out, params, node, std::move(utility_token), std::move(meter_token), std::move(funder),
                  std::move(funder_token), std::move(utility_wallet_token));
    return sim.Run();
  } catch (const Fatal& f) {
    out.Error(f.message);
    return f.code;
  } catch (const Stopped&) {
    out.Event({{"event", "done"}, {"reason", "stopped by a signal"}}, "done (stopped by a signal)", true);
    return kExitOk;
  } catch (const std::exception& e) {
    out.Error(e.what());
    return kExitError;
  }
}
