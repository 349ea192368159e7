#include "node/config.h"

#include <boost/program_options.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace wattline::node {

namespace po = boost::program_options;

namespace {

po::options_description Options() {
  po::options_description general("General");
  general.add_options()
      ("help,h", po::bool_switch(), "Print this help and exit")
      ("version", po::bool_switch(), "Print the version and exit")
      ("network", po::value<std::string>()->default_value("main"), "Network: main, testnet, devnet or regtest")
      ("datadir", po::value<std::string>(), "Data directory (default: $HOME/.wattline/<network>)")
      ("conf", po::value<std::string>(), "Config file (default: <datadir>/wattline.conf; flags override it)");
  po::options_description chain("Chain and mempool");
  chain.add_options()
      ("dbcache", po::value<std::int64_t>()->default_value(64), "Coin cache bound in MiB")
      ("reindex-chainstate", po::bool_switch(),
       "Rebuild the coins and the market state from the stored blocks (for a damaged chainstate; prints progress)")
      ("checkworkers", po::value<std::int64_t>()->default_value(-1),
       "Signature-check threads besides the validating one (-1: cores - 1)")
      ("sigcachesize", po::value<std::int64_t>()->default_value(32),
       "Signature cache bound in MiB: signatures verified at mempool acceptance are not verified again in a block (0: off)")
      ("maxmempool", po::value<std::int64_t>()->default_value(64), "Mempool bound in MiB")
      ("minrelayfee", po::value<std::int64_t>()->default_value(1000), "Minimum fee rate, base units per 1000 bytes")
      ("mempoolexpiry", po::value<std::int64_t>()->default_value(336), "Hours before an unconfirmed transaction expires")
      ("persistmempool", po::value<bool>()->default_value(true), "Save the mempool at shutdown and load it at start");
  po::options_description roles("Mining, wallet and utility");
  roles.add_options()
      ("mine", po::value<bool>()->default_value(false), "Mine from the start")
      ("minethreads", po::value<std::int64_t>()->default_value(1), "Mining threads")
      ("payout", po::value<std::string>(), "Address mined coins go to (default: the wallet's first key)")
      ("wallet", po::value<bool>()->default_value(true), "Open (or create) <datadir>/wallet.dat")
      ("walletpassphrasefile", po::value<std::string>(),
       "File whose first line is the passphrase of a new wallet (default: generate one into <datadir>/wallet.passphrase)")
      ("walletautounlock", po::value<bool>()->default_value(true),
       "Unlock at start with <datadir>/wallet.passphrase when it exists")
      ("utility", po::value<bool>()->default_value(false),
       "Utility role. With --utility-key: that key; else on devnet/regtest the network's documented utility key, "
       "on main/testnet <datadir>/utility.key (generated when missing)")
      ("utility-key", po::value<std::string>(),
       "Act as the utility with the secret key in FILE (64 hex digits on the first line; implies --utility)");
  po::options_description rpc("gRPC API");
  rpc.add_options()
      ("rpc", po::value<bool>()->default_value(true), "Serve the gRPC API")
      ("rpcbind", po::value<std::string>()->default_value("127.0.0.1"), "Address the API listens on")
      ("rpcport", po::value<std::int64_t>(), "API port, always TLS with the certificate in <datadir>/tls (default: 9734 main, 19734 testnet, 29734 devnet, 39734 regtest; 0: any free port)")
      ("rpcmaxrequest", po::value<std::int64_t>()->default_value(1024), "Largest request in KiB")
      ("rpcrate", po::value<std::int64_t>()->default_value(500), "Requests per second per credential (burst: twice as many)");
  po::options_description p2p("Peer-to-peer network");
  p2p.add_options()
      ("p2p", po::value<bool>()->default_value(true), "Join the peer-to-peer network (0: a node on its own)")
      ("listen", po::value<bool>()->default_value(true), "Accept inbound peer connections")
      ("bind", po::value<std::string>()->default_value("0.0.0.0"), "Address to accept peers on")
      ("port", po::value<std::int64_t>(),
       "Peer port (default: 9733 main, 19733 testnet, 29733 devnet, 39733 regtest; 0: any free port)")
      ("connect", po::value<std::vector<std::string>>()->composing(),
       "Connect only to this host:port (repeatable; no address book, no seeds)")
      ("addnode", po::value<std::vector<std::string>>()->composing(),
       "Keep a connection to this host:port (repeatable; reconnected with backoff)")
      ("seednode", po::value<std::vector<std::string>>()->composing(),
       "Ask this host:port for addresses when the address book is empty (repeatable)")
      ("whitelist", po::value<std::vector<std::string>>()->composing(),
       "[perms@]ADDR|SUBNET: inbound peers from there get perms (noban, relay, download, all; default all), repeatable")
      ("whitebind", po::value<std::vector<std::string>>()->composing(),
       "[perms@]ADDR:PORT: also accept peers there, each with perms (as --whitelist), repeatable")
      ("maxinbound", po::value<std::int64_t>()->default_value(117), "Most inbound peers")
      ("maxoutbound", po::value<std::int64_t>()->default_value(8), "Most outbound peers (connections being made included)")
      ("bantime", po::value<std::int64_t>()->default_value(86400), "Seconds a misbehaving peer stays banned")
      ("p2pthreads", po::value<std::int64_t>()->default_value(2), "Threads serving peer connections")
      ("blockstalltimeout", po::value<std::int64_t>()->default_value(15),
       "Seconds a requested block may take before its peer counts as stalling and is dropped")
      ("channels", po::value<bool>()->default_value(true),
       "Run the channel engine (needs the wallet and the P2P network); a utility node also runs the watchtower")
      ("channeltower", po::value<std::string>(),
       "The utility node (ip:port) that watches this node's channels: every co-signed state goes to it");
  po::options_description log("Logging");
  log.add_options()
      ("loglevel", po::value<std::string>()->default_value("info"), "trace, debug, info, warn, error or off")
      ("debug", po::value<std::string>()->default_value(""),
       "Comma-separated categories logged at debug level: node, validation, chainstate, mempool, mining, wallet, rpc, net, db, or all")
      ("printtoconsole", po::value<bool>()->default_value(true), "Log to stderr")
      ("logfile", po::value<bool>()->default_value(true), "Log to <datadir>/debug.log (rotated at 10 MiB, 5 kept)");
  po::options_description all("wattlined options");
  all.add(general).add(chain).add(roles).add(p2p).add(rpc).add(log);
  return all;
}

// Boost's lexical cast turns "-2" into a huge unsigned: every count is read signed and checked.
std::int64_t Count(const po::variables_map& vm, const char* name, std::int64_t min, std::int64_t max) {
  const std::int64_t v = vm[name].as<std::int64_t>();
  if (v < min || v > max)
    throw po::error(std::string("--") + name + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

std::filesystem::path DefaultDatadir(consensus::Network network) {
  const char* home = std::getenv("HOME");
  std::filesystem::path base = home && *home ? std::filesystem::path(home) : std::filesystem::current_path();
  return base / ".wattline" / std::string(consensus::NetworkName(network));
}

std::uint16_t DefaultRpcPort(consensus::Network network) {
  return static_cast<std::uint16_t>(consensus::GetParams(network).default_port + 1);
}

std::string HelpText() {
  std::ostringstream out;
  out << "Usage: wattlined [options]\n\nThe wattline node daemon. Options may also be set in the config file as\n"
         "`name = value` lines (without the leading --); command-line flags win.\n\n"
      << Options();
  return out.str();
}

bool ParseConfig(int argc, const char* const argv[], DaemonConfig& config, std::string& error) {
  const auto desc = Options();
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    config.help = vm["help"].as<bool>();
    config.version = vm["version"].as<bool>();
    if (config.help || config.version) return true;
    // The network and datadir decide where the config file is: take them from the flags first.
    auto net_name = vm["network"].as<std::string>();
    auto network = consensus::NetworkFromName(net_name);
    if (!network) {
      error = "unknown network '" + net_name + "' (main, testnet, devnet, regtest)";
      return false;
    }
    std::filesystem::path datadir = vm.count("datadir") ? std::filesystem::path(vm["datadir"].as<std::string>())
                                                        : DefaultDatadir(*network);
    const bool conf_named = vm.count("conf") != 0;
    std::filesystem::path conf = conf_named ? std::filesystem::path(vm["conf"].as<std::string>()) : datadir / "wattline.conf";
    if (std::ifstream file{conf}) {
      po::store(po::parse_config_file(file, desc), vm);
    } else if (conf_named) {
      error = "cannot read config file " + conf.string();
      return false;
    }
    po::notify(vm);
    // The file may set the network only when the command line did not.
    if (vm["network"].as<std::string>() != net_name) {
      net_name = vm["network"].as<std::string>();
      network = consensus::NetworkFromName(net_name);
      if (!network) {
        error = "unknown network '" + net_name + "' in " + conf.string();
        return false;
      }
    }
    config.network = *network;
    config.datadir = vm.count("datadir") ? std::filesystem::path(vm["datadir"].as<std::string>()) : DefaultDatadir(*network);
    config.conf_file = conf;

    NodeOptions& n = config.node;
    n.datadir = config.datadir;
    n.params = &consensus::GetParams(*network);
    n.coins_cache_bytes = static_cast<std::size_t>(Count(vm, "dbcache", 1, 1 << 20)) << 20;
    n.reindex_chainstate = vm["reindex-chainstate"].as<bool>();
    const auto workers = Count(vm, "checkworkers", -1, 256);
    if (workers >= 0) n.check_workers = static_cast<unsigned>(workers);
    n.sig_cache_bytes = static_cast<std::size_t>(Count(vm, "sigcachesize", 0, 1 << 14)) << 20;
    n.mempool.max_bytes = static_cast<std::size_t>(Count(vm, "maxmempool", 1, 1 << 20)) << 20;
    n.mempool.min_fee_rate = vm["minrelayfee"].as<std::int64_t>();
    if (n.mempool.min_fee_rate < 0) {
      error = "minrelayfee must not be negative";
      return false;
    }
    n.mempool.expiry_seconds = Count(vm, "mempoolexpiry", 1, 24 * 365 * 10) * 3600;
    n.persist_mempool = vm["persistmempool"].as<bool>();
    const auto threads = static_cast<unsigned>(Count(vm, "minethreads", 0, 256));
    n.mine_threads = vm["mine"].as<bool>() ? threads : 0;
    if (vm["mine"].as<bool>() && n.mine_threads == 0) {
      error = "mine=1 needs minethreads >= 1";
      return false;
    }
    if (vm.count("payout")) n.payout_address = vm["payout"].as<std::string>();
    n.wallet = vm["wallet"].as<bool>();
    n.wallet_autounlock = vm["walletautounlock"].as<bool>();
    if (vm.count("walletpassphrasefile")) {
      std::ifstream pf(vm["walletpassphrasefile"].as<std::string>());
      if (!pf || !std::getline(pf, n.wallet_passphrase) || n.wallet_passphrase.empty()) {
        error = "cannot read a passphrase from " + vm["walletpassphrasefile"].as<std::string>();
        return false;
      }
    }
    n.utility = vm["utility"].as<bool>();
    if (vm.count("utility-key")) {
      n.utility = true;
      n.utility_key_file = vm["utility-key"].as<std::string>();
    }

    config.p2p = vm["p2p"].as<bool>();
    NetworkOptions& net = config.network_options;
    net.listen = vm["listen"].as<bool>();
    net.bind = vm["bind"].as<std::string>();
    net.port = static_cast<std::uint16_t>(vm.count("port") ? Count(vm, "port", 0, 65535) : n.params->default_port);
    auto strings = [&](const char* name) {
      return vm.count(name) ? vm[name].as<std::vector<std::string>>() : std::vector<std::string>{};
    };
    net.connect = strings("connect");
    net.addnode = strings("addnode");
    net.seednode = strings("seednode");
    for (const auto* list : {&net.connect, &net.addnode, &net.seednode}) {
      for (const auto& target : *list) {
        if (!ValidTarget(target)) {
          error = "'" + target + "' is not host:port (port 1-65535)";
          return false;
        }
      }
    }
    for (const auto& text : strings("whitelist")) {
      std::string why;
      auto entry = net::ParseWhitelist(text, why);
      if (!entry) {
        error = "--whitelist '" + text + "': " + why;
        return false;
      }
      net.whitelist.push_back(*entry);
    }
    for (const auto& text : strings("whitebind")) {
      std::string why;
      std::string_view rest;
      auto perms = net::ParsePermissionPrefix(text, rest, why);
      NetworkOptions::WhiteBind wb;
      if (!perms || !SplitTarget(std::string(rest), wb.host, wb.port) || !net::NetAddress::Parse(wb.host)) {
        error = "--whitebind '" + text + "': " + (perms ? "not ADDR:PORT (a numeric address)" : why);
        return false;
      }
      wb.permissions = *perms;
      net.whitebind.push_back(wb);
    }
    net.max_inbound = static_cast<std::size_t>(Count(vm, "maxinbound", 0, 10000));
    net.max_outbound = static_cast<std::size_t>(Count(vm, "maxoutbound", 0, 1000));
    net.ban_duration = std::chrono::seconds(Count(vm, "bantime", 1, 10LL * 365 * 86400));
    net.threads = static_cast<std::size_t>(Count(vm, "p2pthreads", 1, 64));
    net.block_stall_timeout = std::chrono::seconds(Count(vm, "blockstalltimeout", 1, 3600));
    config.channels = vm["channels"].as<bool>() && n.wallet && config.p2p;
    if (vm.count("channeltower")) {
      config.channel_options.tower = vm["channeltower"].as<std::string>();
      if (!ValidTarget(config.channel_options.tower)) {
        error = "--channeltower: '" + config.channel_options.tower + "' is not ip:port (port 1-65535)";
        return false;
      }
    }

    config.rpc = vm["rpc"].as<bool>();
    config.rpc_bind = vm["rpcbind"].as<std::string>();
    config.rpc_port = static_cast<std::uint16_t>(vm.count("rpcport") ? Count(vm, "rpcport", 0, 65535) : DefaultRpcPort(*network));
    config.rpc_max_request_bytes = static_cast<std::size_t>(Count(vm, "rpcmaxrequest", 1, 64 * 1024)) << 10;
    config.rpc_rate_per_second = static_cast<unsigned>(Count(vm, "rpcrate", 1, 1000000));

    auto level = spdlog::level::from_str(vm["loglevel"].as<std::string>());
    if (level == spdlog::level::off && vm["loglevel"].as<std::string>() != "off") {
      error = "unknown loglevel '" + vm["loglevel"].as<std::string>() + "'";
      return false;
    }
    config.log.level = level;
    config.log.debug = Split(vm["debug"].as<std::string>());
    for (const auto& cat : config.log.debug) {
      if (cat != "all" && !IsCategory(cat)) {
        error = "unknown debug category '" + cat + "'";
        return false;
      }
    }
    config.log.console = vm["printtoconsole"].as<bool>();
    if (vm["logfile"].as<bool>()) config.log.file = config.datadir / "debug.log";
  } catch (const po::error& e) {
    error = e.what();
    return false;
  }
  return true;
}

}  // namespace wattline::node
