#include "ledger/check_queue.h"

namespace wattline::ledger {

namespace {
// Small enough to balance two cores on a block's tail, large enough to keep the shared
// counter off the hot path (one verify is ~30 us).
constexpr std::size_t kChunk = 8;
}  // namespace

unsigned CheckQueue::DefaultWorkers() {
  unsigned n = std::thread::hardware_concurrency();
  return n > 1 ? n - 1 : 0;
}

CheckQueue::CheckQueue(unsigned workers) {
  m_threads.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) m_threads.emplace_back([this] { WorkerLoop(); });
}

CheckQueue::~CheckQueue() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_all();
  for (auto& t : m_threads) t.join();
}

void CheckQueue::Work() {
  const std::size_t n = m_batch.size();
  for (;;) {
    if (m_failed.load(std::memory_order_relaxed) != SIZE_MAX) return;
    std::size_t begin = m_next.fetch_add(kChunk, std::memory_order_relaxed);
    if (begin >= n) return;
    std::size_t end = std::min(n, begin + kChunk);
    for (std::size_t i = begin; i < end; ++i) {
      if (!m_batch[i].Verify(m_cache, m_mode)) {
        std::size_t expected = SIZE_MAX;
        m_failed.compare_exchange_strong(expected, i);
        return;
      }
    }
  }
}

void CheckQueue::WorkerLoop() {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(m_mutex);
      m_wake.wait(lock, [&] { return m_stop || m_generation != seen; });
      if (m_stop) return;
      seen = m_generation;
    }
    Work();
    {
      std::lock_guard lock(m_mutex);
      if (--m_busy == 0) m_done.notify_one();
    }
  }
}

std::optional<std::size_t> CheckQueue::RunAll(std::span<const consensus::SigCheck> checks, crypto::SigCache* cache,
                                              crypto::SigCache::Mode mode) {
  if (checks.empty()) return std::nullopt;
  m_next.store(0);
  m_failed.store(SIZE_MAX);
  // Published to the workers by the generation bump under m_mutex below.
  m_cache = cache;
  m_mode = mode;
  const bool parallel = !m_threads.empty() && checks.size() > kChunk;
  if (parallel) {
    {
      std::lock_guard lock(m_mutex);
      m_batch = checks;
      m_busy = static_cast<unsigned>(m_threads.size());
      ++m_generation;
    }
    m_wake.notify_all();
  } else {
    m_batch = checks;
  }
  Work();
  if (parallel) {
    std::unique_lock lock(m_mutex);
    m_done.wait(lock, [&] { return m_busy == 0; });
    m_batch = {};
  }
  std::size_t failed = m_failed.load();
  if (failed == SIZE_MAX) return std::nullopt;
  return failed;
}

}  // namespace wattline::ledger
