// wattlined's configuration: command-line flags and a config file (`key = value` lines, the
// same names as the flags), parsed with Boost.Program_options. Flags override the file.
// Every option is documented by `wattlined --help` (HelpText()).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "consensus/params.h"
#include "node/logging.h"
#include "node/channels.h"
#include "node/network.h"
#include "node/node.h"

namespace wattline::node {

struct DaemonConfig {
  consensus::Network network = consensus::Network::kMain;
  std::filesystem::path datadir;
  std::filesystem::path conf_file;
  NodeOptions node;
  LogOptions log;
  bool p2p = true;
  NetworkOptions network_options;
  /** Channels (node/channels.h): on with the wallet and the P2P network. */
  bool channels = true;
  ChannelOptions channel_options;
  std::string rpc_bind = "127.0.0.1";
  std::uint16_t rpc_port = 0;
  bool rpc = true;
  std::size_t rpc_max_request_bytes = 1u << 20;
  unsigned rpc_rate_per_second = 500;
  bool help = false;
  bool version = false;
};

/** The default datadir: $HOME/.wattline/<network> (or ./.wattline/<network> without HOME). */
std::filesystem::path DefaultDatadir(consensus::Network network);
/** The gRPC port a network uses by default (its P2P port + 1). */
std::uint16_t DefaultRpcPort(consensus::Network network);

/**
 * Parses argv, then the config file (`--conf`, default `<datadir>/wattline.conf`, optional
 * unless named explicitly). False with a one-line error for anything unknown or malformed.
 */
bool ParseConfig(int argc, const char* const argv[], DaemonConfig& config, std::string& error);

std::string HelpText();

}  // namespace wattline::node
