// A token bucket per credential: `rate` calls per second on average, bursts up to `burst`.
// Thread-safe. Keys are role names (one credential per role), so the map stays tiny.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace wattline::rpc {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  /** rate <= 0 disables the limit. */
  RateLimiter(double rate_per_second, double burst);
  /** Takes one token of key's bucket; false when it is empty. */
  bool Allow(std::string_view key, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  double m_rate;
  double m_burst;
  std::mutex m_mutex;
  std::map<std::string, Bucket, std::less<>> m_buckets;
};

}  // namespace wattline::rpc
