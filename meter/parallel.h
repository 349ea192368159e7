// Internal: a deterministic split of [0, n) into contiguous chunks run on std::threads.
// Chunk boundaries depend only on n and the thread count, so per-chunk partial results merged
// in chunk order give bit-identical output for a given thread count.
#pragma once

#include <cstddef>
#include <thread>
#include <vector>

namespace wattline::meter::detail {

/** Calls fn(chunk, begin, end) for `chunks` contiguous pieces of [0, n); chunk 0 runs on the
 *  calling thread. chunks is clamped to [1, n] (at least 1). */
template <class Fn>
void ParallelChunks(std::size_t n, unsigned chunks, Fn&& fn) {
  if (chunks < 1) chunks = 1;
  if (n < chunks) chunks = n == 0 ? 1 : static_cast<unsigned>(n);
  if (chunks == 1) {
    fn(0u, std::size_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(chunks - 1);
  auto bound = [&](unsigned c) { return n * c / chunks; };
  for (unsigned c = 1; c < chunks; ++c) {
    pool.emplace_back([&fn, c, b = bound(c), e = bound(c + 1)] { fn(c, b, e); });
  }
  fn(0u, bound(0), bound(1));
  for (auto& t : pool) t.join();
}

/** How many chunks to use for n items: 1 below `min_per_thread` items per thread. */
inline unsigned ChunksFor(std::size_t n, unsigned threads, std::size_t min_per_thread) {
  if (threads <= 1 || n < 2 * min_per_thread) return 1;
  std::size_t c = n / min_per_thread;
  return static_cast<unsigned>(c < threads ? c : threads);
}

}  // namespace wattline::meter::detail
