// Runs a block's signature checks on every core.
//
// The queue owns `workers` threads that sleep until a batch arrives; the thread that calls
// RunAll works on the batch too, so with workers = cores - 1 a batch uses every core. Checks
// are claimed in small chunks from a shared counter; the first failure stops the others
// early. One batch at a time (RunAll is serialised by the caller, the chainstate's lock).
// With a signature cache, each check is looked up first and only the misses are verified.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "consensus/tx_verify.h"

namespace wattline::ledger {

class CheckQueue {
 public:
  /** workers = 0 runs every check on the calling thread. */
  explicit CheckQueue(unsigned workers);
  ~CheckQueue();
  CheckQueue(const CheckQueue&) = delete;
  CheckQueue& operator=(const CheckQueue&) = delete;

  /**
   * Index of a failing check (not necessarily the first), or nullopt when all pass. With
   * `cache`, a check whose triple is stored there passes without verifying (crypto/sig_cache.h;
   * `mode` says whether hits are retired and misses stored); the result is the same.
   */
  std::optional<std::size_t> RunAll(std::span<const consensus::SigCheck> checks, crypto::SigCache* cache = nullptr,
                                    crypto::SigCache::Mode mode = crypto::SigCache::Mode::kLookup);
  unsigned workers() const { return static_cast<unsigned>(m_threads.size()); }

  /** hardware_concurrency() - 1, at least 0. */
  static unsigned DefaultWorkers();

 private:
  void WorkerLoop();
  void Work();

  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::condition_variable m_done;
  std::vector<std::thread> m_threads;
  bool m_stop = false;
  std::uint64_t m_generation = 0;  //!< bumped for each batch
  unsigned m_busy = 0;             //!< workers still inside the current batch

  std::span<const consensus::SigCheck> m_batch;
  crypto::SigCache* m_cache = nullptr;  //!< of the current batch
  crypto::SigCache::Mode m_mode = crypto::SigCache::Mode::kLookup;
  std::atomic<std::size_t> m_next{0};
  std::atomic<std::size_t> m_failed{SIZE_MAX};
};

}  // namespace wattline::ledger
