// Bounded polling for tests that watch real nodes and sockets: every wait ends.
#pragma once

#include <chrono>
#include <thread>

namespace wattline::test {

/** Polls pred every 20 ms until it holds or timeout passes; its last value. */
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds{20}) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return pred();
}

}  // namespace wattline::test
