// wattline-cli: calls the node's gRPC API (docs/api.md).
//
// Reads the endpoint, the role's credential and the TLS certificate from the datadir
// (~/.wattline/<network> by default), prints human output (or JSON with --json) and exits
// with a code a script can rely on:
//   0 ok; 1 the call failed (stderr: "error: CODE_NAME (n): message"); 2 usage error;
//   3 cannot connect, or the endpoint, credential or certificate is missing;
//   4 the connection dropped (or the deadline passed) after the request was sent: the call may
//     or may not have been carried out (a send may be in the mempool), so look before retrying.
#include <CLI/CLI.hpp>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "cli/amount.h"
#include "cli/meter_key.h"
#include "wattline/v1/wattline.grpc.pb.h"

namespace v1 = wattline::v1;
namespace fs = std::filesystem;
using wattline::cli::FormatCoins;
using wattline::cli::ParseCoins;
using wattline::cli::ProvisionMeterKey;
using wattline::cli::ReadMeterKey;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRpc = 1;
constexpr int kExitUsage = 2;
constexpr int kExitConnect = 3;
constexpr int kExitUnknownOutcome = 4;

struct Options {
  std::string datadir;
  std::string network = "devnet";
  std::string rpcconnect;
  std::string role = "admin";
  std::string token_file;
  std::string cacert;
  bool json = false;
  int timeout = 30;
};

/** A JSON string literal (quotes, backslashes and control characters escaped). */
std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

/** Thrown to leave with an exit code and a message on stderr. */
struct Exit {
  int code;
  std::string message;
};

std::string ReadFileOr(const fs::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Exit{kExitConnect, std::string("cannot read the ") + what + " " + path.string()};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/** Unix seconds as "2026-12-03 22:11:34 UTC" (human output only; JSON keeps the number). */
std::string FormatUtc(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char buf[32];
  if (gmtime_r(&t, &tm) == nullptr || std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
    return std::to_string(unix_seconds);
  return buf;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
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

class Client {
 public:
  explicit Client(const Options& o) : m_opts(o) {
    fs::path datadir;
    if (!o.datadir.empty()) {
      datadir = o.datadir;
    } else {
      const char* home = std::getenv("HOME");
      if (home == nullptr || *home == '\0') throw Exit{kExitUsage, "HOME is not set: pass --datadir"};
      datadir = fs::path(home) / ".wattline" / o.network;
    }
    m_endpoint = o.rpcconnect.empty() ? Trim(ReadFileOr(datadir / "rpc.endpoint", "RPC endpoint file (is wattlined running?)"))
                                      : o.rpcconnect;
    const fs::path token_path =
        o.token_file.empty() ? datadir / "credentials" / (o.role + ".token") : fs::path(o.token_file);
    m_token = Trim(ReadFileOr(token_path, "credential"));
    if (m_token.empty()) throw Exit{kExitConnect, "the credential file " + token_path.string() + " is empty"};
    const fs::path cert_path = o.cacert.empty() ? datadir / "tls" / "cert.pem" : fs::path(o.cacert);
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileOr(cert_path, "TLS certificate");
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    m_channel = grpc::CreateCustomChannel(m_endpoint, grpc::SslCredentials(ssl), args);
  }

  std::unique_ptr<grpc::ClientContext> Context(bool stream = false) const {
    Connect();
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + m_token);
    if (!stream) ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(m_opts.timeout));
    return ctx;
  }

  /** Turns a failed status into an Exit with the documented code. */
  void Check(const grpc::Status& s, const grpc::ClientContext& ctx) const {
    if (s.ok()) return;
    std::string msg = std::string("error: ") + CodeName(s.error_code()) + " (" +
                      std::to_string(static_cast<int>(s.error_code())) + "): " + s.error_message();
    auto it = ctx.GetServerTrailingMetadata().find("wattline-reject-reason");
    if (it != ctx.GetServerTrailingMetadata().end()) {
      msg += " [reject-reason " + std::string(it->second.data(), it->second.size()) + "]";
    }
    // Connect() saw the channel ready before the request went out: losing it now, or running
    // out of time, says nothing about whether the node carried the call out.
    if (m_connected && (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                        s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
      throw Exit{kExitUnknownOutcome, msg + " (the connection to " + m_endpoint +
                                          " was lost after the request was sent: the outcome is unknown; check the "
                                          "node's state before retrying)"};
    }
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      throw Exit{kExitConnect, msg + " (cannot connect to " + m_endpoint + ")"};
    }
    throw Exit{kExitRpc, msg};
  }

  /**
   * Waits (within the timeout) for the TLS connection to be ready, so that a failure of the
   * call after it is known to be mid-call. It stops at the first failed attempt: the call then
   * goes ahead and fails with gRPC's own reason (exit 3).
   */
  void Connect() const {
    if (m_connected) return;
    const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(m_opts.timeout);
    for (auto state = m_channel->GetState(/*try_to_connect=*/true);; state = m_channel->GetState(true)) {
      if (state == GRPC_CHANNEL_READY) {
        m_connected = true;
        return;
      }
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) return;
      if (!m_channel->WaitForStateChange(state, deadline)) return;
    }
  }

  std::shared_ptr<grpc::Channel> channel() const { return m_channel; }
  bool json() const { return m_opts.json; }

 private:
  const Options& m_opts;
  std::string m_endpoint;
  std::string m_token;
  std::shared_ptr<grpc::Channel> m_channel;
  mutable bool m_connected = false;
};

std::string ToJson(const google::protobuf::Message& m, bool pretty) {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = pretty;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

/** JSON for scripts with --json; for people, `human` (or pretty JSON when it is empty). */
void Print(const Client& c, const google::protobuf::Message& m, const std::string& human = {}) {
  if (c.json()) {
    std::cout << ToJson(m, false) << "\n";
  } else if (!human.empty()) {
    std::cout << human << "\n";
  } else {
    std::cout << ToJson(m, true) << "\n";
  }
}

v1::BlockId ParseBlockId(const std::string& s) {
  v1::BlockId id;
  const bool digits = !s.empty() && s.size() < 11 && s.find_first_not_of("0123456789") == std::string::npos;
  if (digits) {
    const unsigned long long h = std::stoull(s);
    if (h > 0xffffffffull) throw Exit{kExitUsage, "height out of range: " + s};
    id.set_height(static_cast<std::uint32_t>(h));
  } else {
    id.set_hash(s);  // the server checks it (64 hex digits)
  }
  return id;
}

std::string HexToBytes(const std::string& hex) {
  if (hex.size() % 2 != 0) throw Exit{kExitUsage, "hex has an odd number of digits"};
  std::string out;
  out.reserve(hex.size() / 2);
  auto nib = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) throw Exit{kExitUsage, "not hexadecimal"};
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

template <class Stub, class Req, class Resp, class Fn>
Resp Call(const Client& c, Fn fn, const Req& req) {
  auto stub = Stub::NewStub(c.channel());
  auto ctx = c.Context();
  Resp resp;
  const grpc::Status s = ((*stub).*fn)(ctx.get(), req, &resp);
  c.Check(s, *ctx);
  return resp;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wattline-cli: call a wattline node's gRPC API", "wattline-cli"};
  app.footer(
      "Exit codes: 0 ok; 1 the call failed (stderr: 'error: CODE (n): message'); 2 usage error;\n"
      "            3 cannot connect, or the endpoint, credential or certificate file is missing;\n"
      "            4 the connection was lost after the request was sent: the outcome is unknown.\n"
      "Amounts are in coins with at most 8 decimals (1.5 = 150000000 units). See docs/api.md.");
  app.require_subcommand(1);
  Options o;
  app.add_option("--datadir", o.datadir, "Node data folder (default: $HOME/.wattline/<network>)");
  app.add_option("--network", o.network, "main, testnet, devnet or regtest (selects the default datadir)")
      ->check(CLI::IsMember({"main", "testnet", "devnet", "regtest"}))
      ->capture_default_str();
  app.add_option("--rpcconnect", o.rpcconnect, "host:port of the API (default: read <datadir>/rpc.endpoint)");
  app.add_option("--role", o.role, "Credential to use: admin, wallet, meter or utility")
      ->check(CLI::IsMember({"admin", "wallet", "meter", "utility"}))
      ->capture_default_str();
  app.add_option("--token-file", o.token_file, "Bearer token file (default: <datadir>/credentials/<role>.token)");
  app.add_option("--cacert", o.cacert, "Server certificate to trust (default: <datadir>/tls/cert.pem)");
  app.add_flag("--json", o.json, "Machine-readable JSON output (one object per line)");
  app.add_option("--timeout", o.timeout, "Seconds to wait for a unary call")->check(CLI::Range(1, 3600))->capture_default_str();

  std::function<void(const Client&)> action;
  auto sub = [&](const char* name, const char* help) { return app.add_subcommand(name, help); };

  // --- NodeService
  sub("getinfo", "Node and chain summary")->callback([&] {
    action = [](const Client& c) {
      const auto r = Call<v1::NodeService, v1::GetInfoRequest, v1::GetInfoResponse>(c, &v1::NodeService::Stub::GetInfo, {});
      std::ostringstream h;
      h << "network        " << r.network_name() << "\nversion        " << r.version() << "\nheight         "
        << r.height() << "\ntip            " << r.tip_hash() << "\nmempool        " << r.mempool_count() << " txs, "
        << r.mempool_bytes() << " bytes, min fee rate " << r.mempool_min_fee_rate() << "/kB\nwallet         "
        << (r.wallet_enabled() ? "on" : "off") << "\nmining         " << (r.mining() ? "on" : "off");
      Print(c, r, h.str());
    };
  });
  sub("getblockcount", "Height of the tip")->callback([&] {
    action = [](const Client& c) {
      const auto r = Call<v1::NodeService, v1::GetInfoRequest, v1::GetInfoResponse>(c, &v1::NodeService::Stub::GetInfo, {});
      if (c.json()) std::cout << "{\"height\":" << r.height() << "}\n";
      else std::cout << r.height() << "\n";
    };
  });
  sub("getbestblockhash", "Hash of the tip")->callback([&] {
    action = [](const Client& c) {
      const auto r = Call<v1::NodeService, v1::GetInfoRequest, v1::GetInfoResponse>(c, &v1::NodeService::Stub::GetInfo, {});
      if (c.json()) std::cout << "{\"hash\":\"" << r.tip_hash() << "\"}\n";
      else std::cout << r.tip_hash() << "\n";
    };
  });
  std::string block_arg;
  bool block_raw = false, block_full = false;
  auto* getblock = sub("getblock", "A block by hash or height");
  getblock->add_option("block", block_arg, "Block hash (64 hex digits) or height")->required();
  getblock->add_flag("--raw", block_raw, "Only the raw encoding (hex)");
  getblock->add_flag("--full", block_full, "Decoded and raw");
  getblock->callback([&] {
    action = [&](const Client& c) {
      v1::GetBlockRequest req;
      *req.mutable_block() = ParseBlockId(block_arg);
      req.set_format(block_full ? v1::BLOCK_FORMAT_FULL : block_raw ? v1::BLOCK_FORMAT_RAW : v1::BLOCK_FORMAT_DECODED);
      const auto r = Call<v1::NodeService, v1::GetBlockRequest, v1::GetBlockResponse>(c, &v1::NodeService::Stub::GetBlock, req);
      Print(c, r, block_raw && !block_full ? r.raw_hex() : std::string());
    };
  });
  auto* getheader = sub("getblockheader", "A block header by hash or height");
  getheader->add_option("block", block_arg, "Block hash or height")->required();
  getheader->callback([&] {
    action = [&](const Client& c) {
      v1::GetBlockHeaderRequest req;
      *req.mutable_block() = ParseBlockId(block_arg);
      Print(c, Call<v1::NodeService, v1::GetBlockHeaderRequest, v1::GetBlockHeaderResponse>(
                   c, &v1::NodeService::Stub::GetBlockHeader, req));
    };
  });
  std::uint32_t start_height = 0, header_count = 0;
  auto* getheaders = sub("getblockheaders", "Headers of the active chain from a height");
  getheaders->add_option("start", start_height, "First height")->required();
  getheaders->add_option("count", header_count, "How many (1-2000)")->required();
  getheaders->callback([&] {
    action = [&](const Client& c) {
      v1::GetBlockHeadersRequest req;
      req.set_start_height(start_height);
      req.set_count(header_count);
      Print(c, Call<v1::NodeService, v1::GetBlockHeadersRequest, v1::GetBlockHeadersResponse>(
                   c, &v1::NodeService::Stub::GetBlockHeaders, req));
    };
  });
  std::string txid_arg;
  auto* gettx = sub("gettx", "A transaction by txid (mempool or chain)");
  gettx->add_option("txid", txid_arg, "Transaction id (64 hex digits)")->required();
  gettx->callback([&] {
    action = [&](const Client& c) {
      v1::GetTransactionRequest req;
      req.set_txid(txid_arg);
      Print(c, Call<v1::NodeService, v1::GetTransactionRequest, v1::GetTransactionResponse>(
                   c, &v1::NodeService::Stub::GetTransaction, req));
    };
  });
  std::string address_arg;
  std::uint32_t limit_arg = 0, skip_arg = 0;
  auto* getutxos = sub("getutxos", "Unspent outputs paying an address");
  getutxos->add_option("address", address_arg, "Address")->required();
  getutxos->add_option("--limit", limit_arg, "At most this many (1-1000)");
  getutxos->callback([&] {
    action = [&](const Client& c) {
      v1::GetUtxosRequest req;
      req.set_address(address_arg);
      req.set_limit(limit_arg);
      const auto r = Call<v1::NodeService, v1::GetUtxosRequest, v1::GetUtxosResponse>(c, &v1::NodeService::Stub::GetUtxos, req);
      std::ostringstream h;
      for (const auto& u : r.utxos()) {
        h << u.outpoint().txid() << ":" << u.outpoint().index() << "  " << FormatCoins(u.amount()) << "  ("
          << u.confirmations() << " conf" << (u.coinbase() ? ", coinbase" : "") << ")\n";
      }
      h << "total " << FormatCoins(r.total()) << (r.truncated() ? " (truncated)" : "");
      Print(c, r, h.str());
    };
  });

  sub("getcoinstats", "The UTXO set at the tip: count, total, and the subsidies issued (walks every coin)")->callback([&] {
    action = [](const Client& c) {
      const auto r = Call<v1::NodeService, v1::GetCoinStatsRequest, v1::GetCoinStatsResponse>(
          c, &v1::NodeService::Stub::GetCoinStats, {});
      std::ostringstream h;
      h << "height         " << r.height() << "\ntip            " << r.tip_hash() << "\ncoins          " << r.coins()
        << "\ntotal          " << FormatCoins(r.total_amount()) << "\nsubsidies      " << FormatCoins(r.total_subsidy())
        << "\ngrants         " << FormatCoins(r.total_grants()) << "\nrewards        " << FormatCoins(r.total_rewards())
        << "\npool           " << FormatCoins(r.pool()) << "\nunclaimed      " << FormatCoins(r.unclaimed());
      Print(c, r, h.str());
    };
  });

  // --- TxService
  std::string hex_arg;
  // --- MeterService
  std::string request_file;
  auto* schedule = sub("schedulehousehold",
                       "Demand response: schedule a household's appliances (request as JSON, see docs/api.md)");
  schedule->add_option("request", request_file, "JSON file of a ScheduleHouseholdRequest ('-' for stdin)")->required();
  schedule->callback([&] {
    action = [&](const Client& c) {
      std::string text;
      if (request_file == "-") {
        std::stringstream ss;
        ss << std::cin.rdbuf();
        text = ss.str();
      } else {
        text = ReadFileOr(request_file, "request file");
      }
      v1::ScheduleHouseholdRequest req;
      if (!google::protobuf::util::JsonStringToMessage(text, &req).ok())
        throw Exit{kExitUsage, "the request file is not a ScheduleHouseholdRequest in JSON"};
      const auto r = Call<v1::MeterService, v1::ScheduleHouseholdRequest, v1::ScheduleHouseholdResponse>(
          c, &v1::MeterService::Stub::ScheduleHousehold, req);
      std::ostringstream human;
      human << "slot  household kWh\n";
      for (int h = 0; h < r.household_kwh_size(); ++h) human << h << "  " << r.household_kwh(h) << "\n";
      human << "expected bill " << r.expected_bill();
      Print(c, r, human.str());
    };
  });

  auto* sendraw = sub("sendrawtransaction", "Submit a raw transaction (hex) to the mempool");
  sendraw->add_option("hex", hex_arg, "Transaction encoding in hex")->required();
  sendraw->callback([&] {
    action = [&](const Client& c) {
      v1::SubmitTransactionRequest req;
      req.set_raw_tx(HexToBytes(hex_arg));
      const auto r = Call<v1::TxService, v1::SubmitTransactionRequest, v1::SubmitTransactionResponse>(
          c, &v1::TxService::Stub::SubmitTransaction, req);
      Print(c, r, r.txid());
    };
  });

  // --- WalletService
  sub("getbalance", "The node wallet's balance, in coins")->callback([&] {
    action = [](const Client& c) {
      const auto r = Call<v1::WalletService, v1::GetBalanceRequest, v1::GetBalanceResponse>(
          c, &v1::WalletService::Stub::GetBalance, {});
      Print(c, r, FormatCoins(r.confirmed()) + "\n(immature " + FormatCoins(r.immature()) + ", pending " +
                      FormatCoins(r.pending()) + ")");
    };
  });
  sub("getwalletinfo", "Wallet state: locked, default address, balance")->callback([&] {
    action = [](const Client& c) {
      Print(c, Call<v1::WalletService, v1::GetWalletInfoRequest, v1::GetWalletInfoResponse>(
                   c, &v1::WalletService::Stub::GetWalletInfo, {}));
    };
  });
  sub("getnewaddress", "A new receiving address (wallet must be unlocked)")->callback([&] {
    action = [](const Client& c) {
      const auto r = Call<v1::WalletService, v1::GetNewAddressRequest, v1::GetNewAddressResponse>(
          c, &v1::WalletService::Stub::GetNewAddress, {});
      Print(c, r, r.address());
    };
  });
  std::string amount_arg;
  std::int64_t fee_rate_arg = 0;
  auto* sendto = sub("sendtoaddress", "Pay an amount of coins to an address");
  sendto->add_option("address", address_arg, "Destination address")->required();
  sendto->add_option("amount", amount_arg, "Amount in coins, e.g. 1.5 (at most 8 decimals)")->required();
  sendto->add_option("--fee-rate", fee_rate_arg, "Units per 1000 bytes (default: the mempool minimum)");
  sendto->callback([&] {
    std::string why;
    const auto units = ParseCoins(amount_arg, &why);
    if (!units) throw CLI::ValidationError("amount", "'" + amount_arg + "': " + why);
    action = [&, units = *units](const Client& c) {
      v1::SendRequest req;
      req.set_address(address_arg);
      req.set_amount(units);
      req.set_fee_rate(fee_rate_arg);
      const auto r = Call<v1::WalletService, v1::SendRequest, v1::SendResponse>(c, &v1::WalletService::Stub::Send, req);
      Print(c, r, r.txid());
    };
  });
  auto* listtx = sub("listtransactions", "Wallet history, newest first");
  listtx->add_option("--limit", limit_arg, "At most this many (default 100)");
  listtx->add_option("--skip", skip_arg, "Skip the newest n");
  listtx->callback([&] {
    action = [&](const Client& c) {
      v1::ListTransactionsRequest req;
      req.set_limit(limit_arg);
      req.set_skip(skip_arg);
      const auto r = Call<v1::WalletService, v1::ListTransactionsRequest, v1::ListTransactionsResponse>(
          c, &v1::WalletService::Stub::ListTransactions, req);
      std::ostringstream h;
      for (const auto& t : r.txs()) {
        h << t.txid() << "  " << (t.delta() >= 0 ? "+" : "") << FormatCoins(t.delta()) << "  "
          << (t.confirmed() ? "height " + std::to_string(t.height()) : std::string("unconfirmed"))
          << (t.coinbase() ? "  coinbase" : "") << "\n";
      }
      h << r.total() << " transactions";
      Print(c, r, h.str());
    };
  });
  sub("walletlock", "Lock the wallet")->callback([&] {
    action = [](const Client& c) {
      Print(c, Call<v1::WalletService, v1::LockRequest, v1::LockResponse>(c, &v1::WalletService::Stub::Lock, {}), "locked");
    };
  });
  std::string pass_arg, new_pass_arg;
  std::uint32_t unlock_timeout = 60;
  auto* unlock = sub("walletunlock", "Unlock the wallet for a while");
  unlock->add_option("passphrase", pass_arg, "Wallet passphrase")->required();
  unlock->add_option("timeout", unlock_timeout, "Seconds (default 60)")->capture_default_str();
  unlock->callback([&] {
    action = [&](const Client& c) {
      v1::UnlockRequest req;
      req.set_passphrase(pass_arg);
      req.set_timeout_seconds(unlock_timeout);
      Print(c, Call<v1::WalletService, v1::UnlockRequest, v1::UnlockResponse>(c, &v1::WalletService::Stub::Unlock, req),
            "unlocked for " + std::to_string(unlock_timeout) + " s");
    };
  });
  auto* chpass = sub("walletpassphrasechange", "Change the wallet passphrase");
  chpass->add_option("old", pass_arg, "Current passphrase")->required();
  chpass->add_option("new", new_pass_arg, "New passphrase")->required();
  chpass->callback([&] {
    action = [&](const Client& c) {
      v1::ChangePassphraseRequest req;
      req.set_old_passphrase(pass_arg);
      req.set_new_passphrase(new_pass_arg);
      Print(c, Call<v1::WalletService, v1::ChangePassphraseRequest, v1::ChangePassphraseResponse>(
                   c, &v1::WalletService::Stub::ChangePassphrase, req), "passphrase changed");
    };
  });
  sub("rescan", "Rescan the active chain for the wallet")->callback([&] {
    action = [](const Client& c) {
      Print(c, Call<v1::WalletService, v1::RescanRequest, v1::RescanResponse>(c, &v1::WalletService::Stub::Rescan, {}),
            "rescanned");
    };
  });

  // --- MiningService
  std::uint32_t count_arg = 0;
  auto* generate = sub("generate", "Mine n blocks now (regtest, devnet)");
  generate->add_option("n", count_arg, "Number of blocks (1-1000)")->required();
  generate->add_option("address", address_arg, "Payout address (default: the wallet's)");
  generate->callback([&] {
    action = [&](const Client& c) {
      v1::GenerateRequest req;
      req.set_count(count_arg);
      req.set_address(address_arg);
      const auto r = Call<v1::MiningService, v1::GenerateRequest, v1::GenerateResponse>(
          c, &v1::MiningService::Stub::Generate, req);
      std::string h;
      for (const auto& hash : r.hashes()) h += (h.empty() ? "" : "\n") + hash;
      Print(c, r, h.empty() ? std::string("(no blocks)") : h);
    };
  });
  std::uint32_t threads_arg = 1;
  auto* startmining = sub("startmining", "Start the internal miner");
  startmining->add_option("threads", threads_arg, "Threads (default 1)")->capture_default_str();
  startmining->callback([&] {
    action = [&](const Client& c) {
      v1::StartMiningRequest req;
      req.set_threads(threads_arg);
      Print(c, Call<v1::MiningService, v1::StartMiningRequest, v1::StartMiningResponse>(
                   c, &v1::MiningService::Stub::Start, req), "mining");
    };
  });
  auto* submitblock = sub("submitblock", "Submit a block (hex of its canonical encoding)");
  submitblock->add_option("hex", hex_arg, "Block encoding in hex")->required();
  submitblock->callback([&] {
    action = [&](const Client& c) {
      v1::SubmitBlockRequest req;
      req.set_block(HexToBytes(hex_arg));
      const auto r = Call<v1::MiningService, v1::SubmitBlockRequest, v1::SubmitBlockResponse>(
          c, &v1::MiningService::Stub::SubmitBlock, req);
      Print(c, r, r.hash() + (r.active() ? " (active, height " : " (stored, height ") + std::to_string(r.height()) + ")");
    };
  });
  sub("stopmining", "Stop the internal miner")->callback([&] {
    action = [](const Client& c) {
      Print(c, Call<v1::MiningService, v1::StopMiningRequest, v1::StopMiningResponse>(
                   c, &v1::MiningService::Stub::Stop, {}), "stopped");
    };
  });
  sub("getmininginfo", "Miner state")->callback([&] {
    action = [](const Client& c) {
      Print(c, Call<v1::MiningService, v1::GetMiningInfoRequest, v1::GetMiningInfoResponse>(
                   c, &v1::MiningService::Stub::GetInfo, {}));
    };
  });

  // --- PeerService
  sub("getpeerinfo", "Connected peers: address, direction, height, ping, score, bytes")->callback([&] {
    action = [](const Client& c) {
      const auto r = Call<v1::PeerService, v1::ListPeersRequest, v1::ListPeersResponse>(
          c, &v1::PeerService::Stub::ListPeers, {});
      std::ostringstream h;
      h << "id     address                                   dir  height  ping ms  score  sent/received bytes";
      for (const auto& p : r.peers()) {
        char line[256];
        std::snprintf(line, sizeof line, "\n%-6llu %-41s %-4s %6u  %7s  %5d  %llu/%llu%s%s",
                      static_cast<unsigned long long>(p.id()), p.address().c_str(),
                      p.direction() == v1::PEER_DIRECTION_INBOUND ? "in" : "out",
                      std::max(p.synced_blocks(), p.start_height()),
                      p.ping_micros() > 0 ? std::to_string(p.ping_micros() / 1000).c_str() : "-", p.score(),
                      static_cast<unsigned long long>(p.bytes_sent()),
                      static_cast<unsigned long long>(p.bytes_received()), p.connected() ? "" : "  (handshake)",
                      p.persistent() ? "  persistent" : "");
        h << line;
      }
      h << "\n" << r.peers_size() << " peers";
      Print(c, r, h.str());
    };
  });
  sub("getnettotals", "Network totals: bytes, peers, address book, bans, sync, added peers")->callback([&] {
    action = [](const Client& c) {
      const auto r = Call<v1::PeerService, v1::GetNetTotalsRequest, v1::GetNetTotalsResponse>(
          c, &v1::PeerService::Stub::GetNetTotals, {});
      std::ostringstream h;
      h << "peers          " << r.peers() << " (" << r.inbound() << " in, " << r.outbound() << " out)"
        << "\nlistening      " << (r.listen_port() ? std::to_string(r.listen_port()) : std::string("no"))
        << "\nbytes          " << r.bytes_sent() << " sent, " << r.bytes_received() << " received"
        << "\naddress book   " << r.address_book_size() << "\nbans           " << r.bans() << "\nsync           tip "
        << r.tip_height() << ", best header " << r.best_header_height() << ", " << r.blocks_in_flight()
        << " blocks in flight" << (r.initial_download() ? " (initial download)" : "");
      for (const auto& a : r.added_peers()) {
        h << "\nadded peer     " << a.target() << (a.connected() ? " connected" : " not connected");
        if (a.failures() > 0) h << ", " << a.failures() << " failed attempts";
      }
      Print(c, r, h.str());
    };
  });
  std::string target_arg;
  bool persistent_arg = false;
  auto* addpeer = sub("addpeer", "Connect to a peer now (host:port)");
  addpeer->add_option("target", target_arg, "host:port, [v6]:port or name:port")->required();
  addpeer->add_flag("--persistent", persistent_arg, "Keep it connected, like --addnode (until removepeer)");
  addpeer->callback([&] {
    action = [&](const Client& c) {
      v1::AddPeerRequest req;
      req.set_target(target_arg);
      req.set_persistent(persistent_arg);
      Print(c, Call<v1::PeerService, v1::AddPeerRequest, v1::AddPeerResponse>(c, &v1::PeerService::Stub::AddPeer, req),
            "connecting to " + target_arg);
    };
  });
  auto* removepeer = sub("removepeer", "Stop keeping a persistent peer connected");
  removepeer->add_option("target", target_arg, "host:port as it was added")->required();
  removepeer->callback([&] {
    action = [&](const Client& c) {
      v1::RemovePeerRequest req;
      req.set_target(target_arg);
      Print(c, Call<v1::PeerService, v1::RemovePeerRequest, v1::RemovePeerResponse>(
                   c, &v1::PeerService::Stub::RemovePeer, req), "removed " + target_arg);
    };
  });
  auto* disconnect = sub("disconnectpeer", "Disconnect a peer by id, or every peer at an address");
  disconnect->add_option("peer", target_arg, "Peer id (from getpeerinfo), address or address:port")->required();
  disconnect->callback([&] {
    action = [&](const Client& c) {
      v1::DisconnectPeerRequest req;
      const bool numeric = !target_arg.empty() && target_arg.size() <= 19 &&
                           target_arg.find_first_not_of("0123456789") == std::string::npos;
      if (numeric) req.set_id(std::stoull(target_arg));
      else req.set_address(target_arg);
      const auto r = Call<v1::PeerService, v1::DisconnectPeerRequest, v1::DisconnectPeerResponse>(
          c, &v1::PeerService::Stub::DisconnectPeer, req);
      Print(c, r, "disconnected " + std::to_string(r.disconnected()));
    };
  });
  std::string reason_arg;
  std::int64_t duration_arg = 0;
  auto* ban = sub("ban", "Ban an address or subnet and disconnect its peers");
  ban->add_option("subnet", target_arg, "1.2.3.4, 10.0.0.0/8, ::1/128")->required();
  ban->add_option("--duration", duration_arg, "Seconds (default: the node's --bantime)");
  ban->add_option("--reason", reason_arg, "Why (kept in the ban list)");
  ban->callback([&] {
    action = [&](const Client& c) {
      v1::BanRequest req;
      req.set_subnet(target_arg);
      req.set_duration_seconds(duration_arg);
      req.set_reason(reason_arg);
      const auto r = Call<v1::PeerService, v1::BanRequest, v1::BanResponse>(c, &v1::PeerService::Stub::Ban, req);
      Print(c, r, "banned " + r.ban().subnet() + " until " + FormatUtc(r.ban().expires()));
    };
  });
  auto* unban = sub("unban", "Lift a ban");
  unban->add_option("subnet", target_arg, "As listbans shows it, or the address")->required();
  unban->callback([&] {
    action = [&](const Client& c) {
      v1::UnbanRequest req;
      req.set_subnet(target_arg);
      Print(c, Call<v1::PeerService, v1::UnbanRequest, v1::UnbanResponse>(c, &v1::PeerService::Stub::Unban, req),
            "unbanned " + target_arg);
    };
  });
  sub("listbans", "Banned addresses and subnets, with reason and expiry")->callback([&] {
    action = [](const Client& c) {
      const auto r = Call<v1::PeerService, v1::ListBansRequest, v1::ListBansResponse>(
          c, &v1::PeerService::Stub::ListBans, {});
      std::ostringstream h;
      for (const auto& b : r.bans()) h << b.subnet() << "  until " << FormatUtc(b.expires()) << "  " << b.reason() << "\n";
      h << r.bans_size() << " bans";
      Print(c, r, h.str());
    };
  });
  sub("clearbans", "Lift every ban")->callback([&] {
    action = [](const Client& c) {
      const auto r = Call<v1::PeerService, v1::ClearBansRequest, v1::ClearBansResponse>(
          c, &v1::PeerService::Stub::ClearBans, {});
      Print(c, r, "cleared " + std::to_string(r.cleared()) + " bans");
    };
  });

  // --- UtilityService (the utility credential: --role utility)
  std::string meter_arg, owner_arg, role_arg, grant_arg, key_arg, file_arg, out_arg;
  std::uint64_t coef_a = 0, coef_b = 0, coef_c = 0, from_arg = 0;
  auto role_of = [](const std::string& r) {
    if (r == "producer") return v1::METER_ROLE_PRODUCER;
    if (r == "consumer") return v1::METER_ROLE_CONSUMER;
    if (r == "prosumer") return v1::METER_ROLE_PROSUMER;
    throw Exit{kExitUsage, "role: producer, consumer or prosumer, got '" + r + "'"};
  };
  auto* regmeter = sub("registermeter", "Register a meter (utility): METER OWNER ROLE [--grant COINS]");
  regmeter->add_option("meter", meter_arg, "Meter public key (64 hex digits)")->required();
  regmeter->add_option("owner", owner_arg, "Owner address or key")->required();
  regmeter->add_option("role", role_arg, "producer, consumer or prosumer")->required();
  regmeter->add_option("--grant", grant_arg, "Incentive grant in coins");
  regmeter->add_option("--fee-rate", fee_rate_arg, "Units per 1000 bytes (default: the mempool minimum)");
  regmeter->callback([&] {
    std::int64_t grant = 0;
    if (!grant_arg.empty()) {
      std::string why;
      const auto units = ParseCoins(grant_arg, &why);
      if (!units) throw CLI::ValidationError("--grant", "'" + grant_arg + "': " + why);
      grant = *units;
    }
    action = [&, grant](const Client& c) {
      v1::RegisterMeterRequest req;
      req.set_meter(meter_arg);
      req.set_owner(owner_arg);
      req.set_role(role_of(role_arg));
      req.set_grant(grant);
      req.set_fee_rate(fee_rate_arg);
      const auto r = Call<v1::UtilityService, v1::RegisterMeterRequest, v1::UtilityTxResponse>(
          c, &v1::UtilityService::Stub::RegisterMeter, req);
      Print(c, r, r.txid());
    };
  });
  auto* deregmeter = sub("deregistermeter", "Retire a meter (utility)");
  deregmeter->add_option("meter", meter_arg, "Meter public key")->required();
  deregmeter->add_option("--fee-rate", fee_rate_arg, "Units per 1000 bytes");
  deregmeter->callback([&] {
    action = [&](const Client& c) {
      v1::DeregisterMeterRequest req;
      req.set_meter(meter_arg);
      req.set_fee_rate(fee_rate_arg);
      const auto r = Call<v1::UtilityService, v1::DeregisterMeterRequest, v1::UtilityTxResponse>(
          c, &v1::UtilityService::Stub::DeregisterMeter, req);
      Print(c, r, r.txid());
    };
  });
  auto* setcoef = sub("setcoefficients", "Set the price coefficients a b c (utility; from the next slot)");
  setcoef->add_option("a", coef_a, "units per kWh per kWh^2")->required();
  setcoef->add_option("b", coef_b, "units per kWh per kWh")->required();
  setcoef->add_option("c", coef_c, "units per kWh")->required();
  setcoef->add_option("--fee-rate", fee_rate_arg, "Units per 1000 bytes");
  setcoef->callback([&] {
    action = [&](const Client& c) {
      v1::SetCoefficientsRequest req;
      req.set_a(coef_a);
      req.set_b(coef_b);
      req.set_c(coef_c);
      req.set_fee_rate(fee_rate_arg);
      const auto r = Call<v1::UtilityService, v1::SetCoefficientsRequest, v1::SetCoefficientsResponse>(
          c, &v1::UtilityService::Stub::SetCoefficients, req);
      Print(c, r, r.txid() + " (effective from slot " + std::to_string(r.effective_slot()) + ")");
    };
  });
  auto* rotate = sub("rotateutilitykey", "Name the utility key's successor (utility; from the next block)");
  rotate->add_option("newkey", key_arg, "The successor's public key (64 hex digits)")->required();
  rotate->add_option("--fee-rate", fee_rate_arg, "Units per 1000 bytes");
  rotate->callback([&] {
    action = [&](const Client& c) {
      v1::RotateKeyRequest req;
      req.set_new_key(key_arg);
      req.set_fee_rate(fee_rate_arg);
      const auto r = Call<v1::UtilityService, v1::RotateKeyRequest, v1::UtilityTxResponse>(
          c, &v1::UtilityService::Stub::RotateKey, req);
      Print(c, r, r.txid());
    };
  });
  auto* listmeters = sub("listmeters", "Registered meters (utility, admin)");
  listmeters->add_option("--owner", owner_arg, "Only this owner's (address or key)");
  listmeters->callback([&] {
    action = [&](const Client& c) {
      v1::ListMetersRequest req;
      req.set_owner(owner_arg);
      Print(c, Call<v1::UtilityService, v1::ListMetersRequest, v1::ListMetersResponse>(
                   c, &v1::UtilityService::Stub::ListMeters, req));
    };
  });

  // --- MeterService: readings and blobs
  auto read_input = [&](const std::string& path) {
    if (path == "-") {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      return ss.str();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Exit{kExitUsage, "cannot read " + path};
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  auto* submitreadings = sub("submitreadings", "Submit signed readings (a SubmitReadingsRequest in JSON, see docs/api.md)");
  submitreadings->add_option("file", file_arg, "JSON file ('-' for stdin)")->required();
  submitreadings->callback([&] {
    action = [&](const Client& c) {
      v1::SubmitReadingsRequest req;
      if (!google::protobuf::util::JsonStringToMessage(read_input(file_arg), &req).ok())
        throw Exit{kExitUsage, "the file is not a SubmitReadingsRequest in JSON ({\"readings\": [...]})"};
      const auto r = Call<v1::MeterService, v1::SubmitReadingsRequest, v1::SubmitReadingsResponse>(
          c, &v1::MeterService::Stub::SubmitReadings, req);
      Print(c, r, r.txid() + " (rewards " + FormatCoins(r.rewards()) + ")");
    };
  });
  auto* listreadings = sub("listreadings", "A meter's counted readings");
  listreadings->add_option("meter", meter_arg, "Meter public key")->required();
  listreadings->add_option("--from", from_arg, "Readings starting at or after this Unix time");
  listreadings->add_option("--limit", limit_arg, "At most this many (default 1000)");
  listreadings->callback([&] {
    action = [&](const Client& c) {
      v1::ListReadingsRequest req;
      req.set_meter(meter_arg);
      req.set_from_start(from_arg);
      req.set_limit(limit_arg);
      Print(c, Call<v1::MeterService, v1::ListReadingsRequest, v1::ListReadingsResponse>(
                   c, &v1::MeterService::Stub::ListReadings, req));
    };
  });
  auto* putblob = sub("putblob", "Store a file (<= 1 MiB) as a blob; prints its CID");
  putblob->add_option("file", file_arg, "File ('-' for stdin)")->required();
  putblob->callback([&] {
    action = [&](const Client& c) {
      v1::PutBlobRequest req;
      req.set_data(read_input(file_arg));
      const auto r = Call<v1::MeterService, v1::PutBlobRequest, v1::PutBlobResponse>(c, &v1::MeterService::Stub::PutBlob, req);
      Print(c, r, r.cid());
    };
  });
  auto* getblob = sub("getblob", "Fetch a blob by CID");
  getblob->add_option("cid", key_arg, "CID (b + base32)")->required();
  getblob->add_option("--out", out_arg, "Write the data to this file (default: stdout)");
  getblob->callback([&] {
    action = [&](const Client& c) {
      v1::GetBlobRequest req;
      req.set_cid(key_arg);
      const auto r = Call<v1::MeterService, v1::GetBlobRequest, v1::GetBlobResponse>(c, &v1::MeterService::Stub::GetBlob, req);
      if (!out_arg.empty()) {
        std::ofstream out(out_arg, std::ios::binary | std::ios::trunc);
        out << r.data();
        if (!out) throw Exit{kExitUsage, "cannot write " + out_arg};
        if (c.json()) std::cout << "{\"bytes\":" << r.data().size() << "}\n";
      } else if (c.json()) {
        Print(c, r);
      } else {
        std::cout << r.data();
      }
    };
  });

  // --- MarketService
  sub("getmarketinfo", "The market: slot, utility key, coefficients, totals")->callback([&] {
    action = [](const Client& c) {
      Print(c, Call<v1::MarketService, v1::GetMarketInfoRequest, v1::GetMarketInfoResponse>(
                   c, &v1::MarketService::Stub::GetMarketInfo, {}));
    };
  });
  std::optional<std::uint32_t> price_slot;
  auto* getprice = sub("getprice", "The consensus price of a slot (default: the next block's)");
  getprice->add_option("slot", price_slot, "Slot");
  getprice->callback([&] {
    action = [&](const Client& c) {
      v1::GetPriceRequest req;
      if (price_slot) req.set_slot(*price_slot);
      else req.set_current(true);
      const auto r = Call<v1::MarketService, v1::GetPriceRequest, v1::SlotPrice>(c, &v1::MarketService::Stub::GetPrice, req);
      Print(c, r, "slot " + std::to_string(r.slot()) + "  " + std::to_string(r.price()) + " units/kWh" +
                      (r.provisional() ? " (provisional)" : ""));
    };
  });
  std::uint32_t sched_from = 0, sched_count = 0;
  auto* getschedule = sub("getschedule", "Prices of a range of slots");
  getschedule->add_option("--from", sched_from, "First slot");
  getschedule->add_option("--count", sched_count, "Slots (1-1000; default: around the current one)");
  getschedule->callback([&] {
    action = [&](const Client& c) {
      v1::GetScheduleRequest req;
      req.set_from_slot(sched_from);
      req.set_count(sched_count);
      const auto r = Call<v1::MarketService, v1::GetScheduleRequest, v1::GetScheduleResponse>(
          c, &v1::MarketService::Stub::GetSchedule, req);
      std::ostringstream h;
      h << "slot  price units/kWh  demand Wh";
      for (const auto& p : r.slots())
        h << "\n" << p.slot() << "  " << p.price() << "  " << p.demand_wh() << (p.provisional() ? "  provisional" : "");
      Print(c, r, h.str());
    };
  });
  auto* getrewards = sub("getrewards", "Production rewards paid to an owner");
  getrewards->add_option("owner", owner_arg, "Owner address or key")->required();
  getrewards->callback([&] {
    action = [&](const Client& c) {
      v1::GetRewardsRequest req;
      req.set_owner(owner_arg);
      const auto r = Call<v1::MarketService, v1::GetRewardsRequest, v1::GetRewardsResponse>(
          c, &v1::MarketService::Stub::GetRewards, req);
      Print(c, r, FormatCoins(r.total()) + " (" + std::to_string(r.meters_size()) + " meters)");
    };
  });

  // --- Channels (amounts in base units: exact, as the channel states them)
  std::string ch_id, ch_peer, ch_producer, ch_pmeter, ch_cmeter;
  std::uint64_t ch_energy = 0, ch_cwa = 0, ch_cwb = 0, ch_amount = 0, ch_fee = 0, ch_dstart = 0, ch_dend = 0;
  std::uint32_t ch_lifetime = 0, ch_window = 0, ch_wait = 0;
  auto channel_line = [](const v1::ChannelInfo& ch) {
    return ch.id() + "  " + ch.role() + "  " + ch.phase() + " (" + ch.onchain() + ")  peer " + ch.peer() + "  state " +
           std::to_string(ch.state()) + "  Cc " + std::to_string(ch.cc()) + " of CwA " + std::to_string(ch.cwa()) +
           (ch.pending() ? "  (state " + std::to_string(ch.state() + 1) + " pending)" : "");
  };
  sub("getchannelkey", "This node's channel key (give it to whoever opens a channel to this node)")->callback([&] {
    action = [&](const Client& c) {
      const auto r = Call<v1::ChannelService, v1::GetChannelKeyRequest, v1::GetChannelKeyResponse>(
          c, &v1::ChannelService::Stub::GetChannelKey, v1::GetChannelKeyRequest{});
      Print(c, r, r.key());
    };
  });
  auto* opench = sub("openchannel", "Open a channel to a producer: PEER PRODUCER_KEY PRODUCER_METER CONSUMER_METER ENERGY_WH CWB");
  opench->add_option("peer", ch_peer, "The producer's node, ip:port (its P2P address)")->required();
  opench->add_option("producer", ch_producer, "The producer's channel key (its getchannelkey)")->required();
  opench->add_option("producer_meter", ch_pmeter, "The producer's meter key")->required();
  opench->add_option("consumer_meter", ch_cmeter, "This node's meter key (owned by this node's channel key)")->required();
  opench->add_option("energy_wh", ch_energy, "Energy asked, Wh")->required();
  opench->add_option("cwb", ch_cwb, "The producer's collateral, units")->required();
  opench->add_option("--cwa", ch_cwa, "This node's deposit, units (default: the energy's cost at the current price)");
  opench->add_option("--lifetime", ch_lifetime, "Blocks until expiry (default 1000)");
  opench->add_option("--window", ch_window, "Contest window in blocks (default 6)");
  opench->add_option("--delivery-start", ch_dstart, "Delivery interval start, Unix seconds (default: now)");
  opench->add_option("--delivery-end", ch_dend, "Delivery interval end (default: start + 1 day)");
  opench->callback([&] {
    action = [&](const Client& c) {
      v1::OpenChannelRequest req;
      req.set_peer(ch_peer);
      req.set_producer(ch_producer);
      req.set_producer_meter(ch_pmeter);
      req.set_consumer_meter(ch_cmeter);
      req.set_energy_wh(ch_energy);
      req.set_cwa(ch_cwa);
      req.set_cwb(ch_cwb);
      req.set_lifetime(ch_lifetime);
      req.set_contest_window(ch_window);
      req.set_delivery_start(ch_dstart);
      req.set_delivery_end(ch_dend);
      const auto r = Call<v1::ChannelService, v1::OpenChannelRequest, v1::OpenChannelResponse>(
          c, &v1::ChannelService::Stub::OpenChannel, req);
      Print(c, r, r.id());
    };
  });
  sub("listchannels", "This node's channels")->callback([&] {
    action = [&](const Client& c) {
      const auto r = Call<v1::ChannelService, v1::ListChannelsRequest, v1::ListChannelsResponse>(
          c, &v1::ChannelService::Stub::ListChannels, v1::ListChannelsRequest{});
      std::string h;
      for (const auto& ch : r.channels()) h += channel_line(ch) + "\n";
      Print(c, r, h.empty() ? "no channels" : h.substr(0, h.size() - 1));
    };
  });
  auto* getch = sub("getchannel", "One channel, by its id");
  getch->add_option("id", ch_id, "The channel's id (openchannel prints it) or its funding txid")->required();
  getch->callback([&] {
    action = [&](const Client& c) {
      v1::GetChannelRequest req;
      req.set_id(ch_id);
      const auto r = Call<v1::ChannelService, v1::GetChannelRequest, v1::ChannelInfo>(
          c, &v1::ChannelService::Stub::GetChannel, req);
      Print(c, r);
    };
  });
  auto* pay = sub("pay", "Move units to the producer in the next channel state (this node must be the consumer)");
  pay->add_option("id", ch_id, "The channel's id")->required();
  pay->add_option("amount", ch_amount, "Units to move on top of the newest Cc")->required();
  pay->add_option("--wait-ms", ch_wait, "Wait this long for the producer's signature (default 10000)");
  pay->callback([&] {
    action = [&](const Client& c) {
      v1::PayRequest req;
      req.set_id(ch_id);
      req.set_amount(ch_amount);
      req.set_wait_ms(ch_wait);
      const auto r = Call<v1::ChannelService, v1::PayRequest, v1::PayResponse>(c, &v1::ChannelService::Stub::Pay, req);
      Print(c, r, "state " + std::to_string(r.state()) + "  Cc " + std::to_string(r.cc()) +
                      (r.signed_() ? "  signed by both" : "  waiting for the producer's signature"));
    };
  });
  auto* closech = sub("closechannel", "Close a channel cooperatively at its newest state");
  closech->add_option("id", ch_id, "The channel's id")->required();
  closech->add_option("--fee", ch_fee, "Fee in units (default: the node's, at least the fee floor)");
  closech->callback([&] {
    action = [&](const Client& c) {
      v1::CloseChannelRequest req;
      req.set_id(ch_id);
      req.set_fee(ch_fee);
      const auto r = Call<v1::ChannelService, v1::CloseChannelRequest, v1::CloseChannelResponse>(
          c, &v1::ChannelService::Stub::CloseChannel, req);
      Print(c, r, "close proposed: it is broadcast once the other side signs");
    };
  });
  auto* forcech = sub("forceclose", "Post the newest co-signed state; the channel settles after the contest window");
  forcech->add_option("id", ch_id, "The channel's id")->required();
  forcech->callback([&] {
    action = [&](const Client& c) {
      v1::ForceCloseRequest req;
      req.set_id(ch_id);
      const auto r = Call<v1::ChannelService, v1::ForceCloseRequest, v1::ForceCloseResponse>(
          c, &v1::ChannelService::Stub::ForceClose, req);
      Print(c, r, r.txid());
    };
  });

  auto* cancelch = sub("cancelchannel", "Withdraw a proposal before state 0 is co-signed (its reserved coins are released)");
  cancelch->add_option("id", ch_id, "The channel's id")->required();
  cancelch->callback([&] {
    action = [&](const Client& c) {
      v1::CancelChannelRequest req;
      req.set_id(ch_id);
      const auto r = Call<v1::ChannelService, v1::CancelChannelRequest, v1::CancelChannelResponse>(
          c, &v1::ChannelService::Stub::CancelChannel, req);
      Print(c, r, "cancelled");
    };
  });

  auto* evidencech = sub("evidenceclose",
                         "Ask the utility to co-sign the close of the channel's meter evidence: a penalty if this node "
                         "is the consumer (the producer delivered less), delivered if it is the producer");
  evidencech->add_option("id", ch_id, "The channel's id")->required();
  evidencech->add_option("--fee", ch_fee, "Fee in units (default: the node's, at least the fee floor)");
  evidencech->add_option("--wait-ms", ch_wait, "Wait this long for the utility's answer (default 10000)");
  evidencech->callback([&] {
    action = [&](const Client& c) {
      v1::EvidenceCloseRequest req;
      req.set_id(ch_id);
      req.set_fee(ch_fee);
      req.set_wait_ms(ch_wait);
      const auto r = Call<v1::ChannelService, v1::EvidenceCloseRequest, v1::EvidenceCloseResponse>(
          c, &v1::ChannelService::Stub::EvidenceClose, req);
      Print(c, r, r.path() + " close " + r.txid() + " co-signed by the utility and broadcast");
    };
  });
  auto* expirych = sub("expiryclose", "After the channel's expiry, close it at state 0 with this node's key alone (A, B or U)");
  expirych->add_option("id", ch_id, "The channel's id, or any channel's funding outpoint as txid:index")->required();
  expirych->add_option("--fee", ch_fee, "Fee in units, paid from this party's deposit (default: the node's, at least the fee floor)");
  expirych->callback([&] {
    action = [&](const Client& c) {
      v1::ExpiryCloseRequest req;
      req.set_id(ch_id);
      req.set_fee(ch_fee);
      const auto r = Call<v1::ChannelService, v1::ExpiryCloseRequest, v1::ExpiryCloseResponse>(
          c, &v1::ChannelService::Stub::ExpiryClose, req);
      Print(c, r, r.txid());
    };
  });

  // --- Meter keys (local: no node is contacted)
  std::function<int()> local_action;
  std::string key_out;
  auto* meter = sub("meter", "Meter keys for devices that cannot make their own (local, no node needed)");
  meter->require_subcommand(1);
  auto* provision = meter->add_subcommand("provision", "Generate a meter key into a new file (0600, never overwritten); prints its public key");
  provision->add_option("--out", key_out, "Key file to create (must not exist)")->required();
  provision->callback([&] {
    local_action = [&] {
      const auto r = ProvisionMeterKey(key_out);
      if (!r.ok) {
        std::cerr << "error: " << r.error << "\n";
        return kExitRpc;
      }
      if (o.json) std::cout << "{\"meter\":\"" << r.pubkey_hex << "\",\"key_file\":" << JsonString(key_out) << "}\n";
      else std::cout << r.pubkey_hex << "\n";
      return kExitOk;
    };
  });
  auto* pubkey = meter->add_subcommand("pubkey", "Print the public key of a meter key file");
  pubkey->add_option("--key", key_out, "Key file")->required();
  pubkey->callback([&] {
    local_action = [&] {
      const auto r = ReadMeterKey(key_out);
      if (!r.ok) {
        std::cerr << "error: " << r.error << "\n";
        return kExitRpc;
      }
      if (o.json) std::cout << "{\"meter\":\"" << r.pubkey_hex << "\"}\n";
      else std::cout << r.pubkey_hex << "\n";
      return kExitOk;
    };
  });

  // --- EventService
  std::uint32_t watch_count = 0;
  auto* watchblocks = sub("watchblocks", "Print new blocks as they come (count 0: until interrupted)");
  watchblocks->add_option("count", watch_count, "Stop after this many events");
  watchblocks->callback([&] {
    action = [&](const Client& c) {
      auto stub = v1::EventService::NewStub(c.channel());
      auto ctx = c.Context(true);
      v1::SubscribeBlocksRequest req;
      req.set_max_events(watch_count);
      auto reader = stub->SubscribeBlocks(ctx.get(), req);
      v1::BlockEvent e;
      while (reader->Read(&e)) {
        Print(c, e, std::to_string(e.height()) + " " + e.hash() + (e.connected() ? "" : " disconnected"));
        std::cout.flush();
      }
      c.Check(reader->Finish(), *ctx);
    };
  });
  auto* watchtxs = sub("watchtxs", "Print transactions entering the mempool (count 0: until interrupted)");
  watchtxs->add_option("count", watch_count, "Stop after this many events");
  watchtxs->callback([&] {
    action = [&](const Client& c) {
      auto stub = v1::EventService::NewStub(c.channel());
      auto ctx = c.Context(true);
      v1::SubscribeTransactionsRequest req;
      req.set_max_events(watch_count);
      auto reader = stub->SubscribeTransactions(ctx.get(), req);
      v1::TransactionEvent e;
      while (reader->Read(&e)) {
        Print(c, e, e.txid() + " " + std::to_string(e.size()) + " bytes " + FormatCoins(e.output_total()));
        std::cout.flush();
      }
      c.Check(reader->Finish(), *ctx);
    };
  });

  std::string watch_channel;
  auto* watchchannels = sub("watchchannels", "Print this node's channel changes as they happen (count 0: until interrupted)");
  watchchannels->add_option("id", watch_channel, "Only this channel (default: all)");
  watchchannels->add_option("--count", watch_count, "Stop after this many events");
  watchchannels->callback([&] {
    action = [&](const Client& c) {
      auto stub = v1::ChannelService::NewStub(c.channel());
      auto ctx = c.Context(true);
      v1::WatchChannelsRequest req;
      req.set_id(watch_channel);
      req.set_max_events(watch_count);
      auto reader = stub->WatchChannels(ctx.get(), req);
      v1::ChannelEvent e;
      while (reader->Read(&e)) {
        const auto& ch = e.channel();
        std::string line = ch.id() + " " + ch.phase() + " state " + std::to_string(ch.state()) + " cc " +
                           std::to_string(ch.cc()) + (ch.pending() ? " (pending)" : "");
        if (e.arbitration_changed()) line += " arbitration " + ch.arbitration() + " " + ch.arbitration_text();
        Print(c, e, line);
        std::cout.flush();
      }
      c.Check(reader->Finish(), *ctx);
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }
  if (local_action) return local_action();
  try {
    const Client client(o);
    action(client);
  } catch (const Exit& e) {
    std::cerr << e.message << "\n";
    return e.code;
  }
  return kExitOk;
}
