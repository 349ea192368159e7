// Forwards a chainstate's block events to a mempool, as the node does (node/node.cpp,
// ForwardEvents), for tests that run a Mempool over a real chainstate.
#pragma once

#include "ledger/chainstate.h"
#include "node/mempool.h"

namespace wattline::test {

class ForwardToMempool : public ledger::Notifications {
 public:
  node::Mempool* pool = nullptr;
  void BlockConnected(const consensus::Block& b, const ledger::BlockIndex&) override { pool->BlockConnected(b); }
  void BlockDisconnected(const consensus::Block& b, const ledger::BlockIndex&) override {
    pool->BlockDisconnected(b);
  }
};

}  // namespace wattline::test
