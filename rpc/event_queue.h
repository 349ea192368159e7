// A bounded queue between a node listener (producer, must never block) and one stream's
// handler thread (consumer). When full, Push drops the event and marks the queue overflowed:
// the stream then ends with RESOURCE_EXHAUSTED instead of silently skipping events.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace wattline::rpc {

template <class T>
class EventQueue {
 public:
  explicit EventQueue(std::size_t capacity) : m_capacity(capacity) {}

  void Push(T item) {
    {
      std::lock_guard lock(m_mutex);
      if (m_items.size() >= m_capacity) {
        m_overflowed = true;
      } else {
        m_items.push_back(std::move(item));
      }
    }
    m_cv.notify_one();
  }

  /** The next item, or nullopt after `wait` without one. */
  std::optional<T> Pop(std::chrono::milliseconds wait) {
    std::unique_lock lock(m_mutex);
    if (!m_cv.wait_for(lock, wait, [this] { return !m_items.empty() || m_overflowed; })) return std::nullopt;
    if (m_items.empty()) return std::nullopt;
    T item = std::move(m_items.front());
    m_items.pop_front();
    return item;
  }

  bool overflowed() const {
    std::lock_guard lock(m_mutex);
    return m_overflowed;
  }

 private:
  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<T> m_items;
  bool m_overflowed = false;
};

}  // namespace wattline::rpc
