// Block templates and the internal miner.
//
// A template is a coinbase paying subsidy + fees to the payout condition, then mempool
// transactions in package fee-rate order (parents first) up to the block size limit, on the
// current tip, with the bits and a time the rules require. It is checked with
// Chainstate::TestBlockValidity before any hashing starts.
//
// Miner runs `threads` worker threads. Each searches its own space (its thread number is in
// the coinbase, so merkle roots differ) and rebuilds its template when the tip or the mempool
// changes, or every few seconds to refresh the time. Stop() returns once every worker has
// exited; the destructor stops.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "consensus/block.h"
#include "consensus/condition.h"

namespace wattline::node {

class Node;

struct BlockTemplate {
  consensus::Block block;
  consensus::Amount fees;
  consensus::Amount pool_share{0};  //!< claimed from the incentive pool
  std::uint32_t height = 0;
  std::uint64_t mempool_sequence = 0;
};

/** Builds and checks a template; false with a message when the result is not valid. */
bool CreateBlockTemplate(Node& node, const consensus::Condition& payout, std::uint64_t extra_nonce,
                         BlockTemplate& out, std::string& error);

/**
 * Searches nonces for the header, at most `max_tries` of them. True with the nonce set when a
 * hash meets the target. Uses a SHA-256 midstate of the first 64 header bytes.
 */
bool SolveHeader(consensus::BlockHeader& header, std::uint64_t max_tries, const std::atomic<bool>* stop = nullptr);

struct MinerInfo {
  bool running = false;
  unsigned threads = 0;
  std::uint64_t hashes = 0;       //!< since start
  double hashes_per_second = 0;   //!< over the last measure
  std::uint64_t blocks_found = 0;
};

class Miner {
 public:
  explicit Miner(Node& node);
  ~Miner();
  /** Starts (or restarts) mining with this many threads paying to payout. */
  void Start(unsigned threads, const consensus::Condition& payout);
  void Stop();
  MinerInfo Info() const;

 private:
  void Work(unsigned thread_index);

  Node& m_node;
  mutable std::mutex m_mutex;
  std::vector<std::thread> m_threads;
  std::atomic<bool> m_stop{false};
  consensus::Condition m_payout;
  std::atomic<std::uint64_t> m_hashes{0};
  std::atomic<std::uint64_t> m_blocks{0};
  std::int64_t m_started_ms = 0;
};

}  // namespace wattline::node
