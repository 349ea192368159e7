// rpc::Backend implemented with the daemon's node::Node (and its Miner and TxIndex).
//
//   auto backend = wattline::rpc::MakeNodeBackend(*node);
//   wattline::rpc::RpcServer server(*backend, {.datadir = datadir, .listen = "127.0.0.1:9339"});
//   if (!server.Start(error)) ...
//
// The backend must outlive the server; the node must outlive both.
#pragma once

#include <memory>

#include "rpc/backend.h"

namespace wattline::node {
class Node;
}

namespace wattline::rpc {

std::unique_ptr<Backend> MakeNodeBackend(node::Node& node);

}  // namespace wattline::rpc
