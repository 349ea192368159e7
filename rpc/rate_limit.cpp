#include "rpc/rate_limit.h"

#include <algorithm>

namespace wattline::rpc {

RateLimiter::RateLimiter(double rate_per_second, double burst)
    : m_rate(rate_per_second), m_burst(std::max(1.0, burst)) {}

bool RateLimiter::Allow(std::string_view key, Clock::time_point now) {
  if (m_rate <= 0) return true;
  std::lock_guard lock(m_mutex);
  auto it = m_buckets.find(key);
  if (it == m_buckets.end()) it = m_buckets.emplace(std::string(key), Bucket{m_burst, now}).first;
  Bucket& b = it->second;
  if (now > b.last) {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(m_burst, b.tokens + elapsed * m_rate);
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace wattline::rpc
