// token_bucket: the rate limiter of the server, per connection and global.
// Time is passed in by the caller, so tests drive it without waiting.
//
//   token_bucket bucket(100.0, 20, clock::now());   // 100 tasks/s, bursts of 20
//   if (!bucket.try_take(clock::now())) answer_rate_limited();
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace daemoneye::ipc {

/// Value type. Not thread-safe; the server keeps one per connection on its
/// thread and guards the global one with a mutex.
class token_bucket {
 public:
  using clock = std::chrono::steady_clock;

  /// `rate` tokens per second, at most `burst` stored (at least one); starts full.
  token_bucket(double rate, std::uint32_t burst, clock::time_point now) noexcept
      : rate_(rate), capacity_(std::max<double>(1.0, burst)), tokens_(capacity_), last_(now) {}

  /// Takes one token if there is one.
  bool try_take(clock::time_point now) noexcept {
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  [[nodiscard]] double tokens(clock::time_point now) noexcept {
    refill(now);
    return tokens_;
  }

 private:
  void refill(clock::time_point now) noexcept {
    if (now <= last_) return;  // a clock that does not advance adds nothing
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(capacity_, tokens_ + elapsed * rate_);
    last_ = now;
  }

  double rate_;
  double capacity_;
  double tokens_;
  clock::time_point last_;
};

}  // namespace daemoneye::ipc
