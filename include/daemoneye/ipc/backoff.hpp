// Exponential backoff with full jitter: the wait before retry n (0-based) is
// uniform in [0, min(cap, base * 2^n)], so clients that failed together do not
// come back together. Parameters come from ipc_config.client.
//
//   exponential_backoff backoff(backoff_options::from(config.client));
//   for (std::uint32_t n = 0; n < config.client.max_attempts; ++n) {
//     if (try_once()) break;
//     clock.sleep_for(backoff.delay(n));
//   }
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>

#include "daemoneye/ipc/config.hpp"

namespace daemoneye::ipc {

/// Value type.
struct backoff_options {
  /// The ceiling of the first wait; doubles with every attempt.
  std::chrono::milliseconds base{100};
  /// No wait is ever longer than this.
  std::chrono::milliseconds cap{30000};

  /// backoff_base_ms and backoff_max_ms of the client section.
  static backoff_options from(const client_config& client) noexcept {
    return {std::chrono::milliseconds(client.backoff_base_ms), std::chrono::milliseconds(client.backoff_max_ms)};
  }
};

/// min(cap, base * 2^attempt), without overflow for any attempt; zero when
/// base or cap is zero or negative. The upper bound of delay(attempt).
std::chrono::milliseconds backoff_ceiling(const backoff_options& options, std::uint32_t attempt) noexcept;

/// Backoff delays with full jitter.
///
/// Thread safety: delay() may be called from several threads at once (the
/// random source is used under a mutex). Not copyable or movable.
class exponential_backoff {
 public:
  /// Returns uniformly distributed 64-bit values; called under the object's mutex.
  using random_source = std::function<std::uint64_t()>;

  /// A std::mt19937_64 seeded with `seed`.
  exponential_backoff(backoff_options options, std::uint64_t seed);
  /// A std::mt19937_64 seeded from std::random_device (clients of one
  /// machine get different jitter, which is the point of it).
  explicit exponential_backoff(backoff_options options);
  /// Draws from `random` instead (tests: a fixed sequence, the extremes).
  exponential_backoff(backoff_options options, random_source random);

  exponential_backoff(const exponential_backoff&) = delete;
  exponential_backoff& operator=(const exponential_backoff&) = delete;

  /// The wait before retry `attempt` (0-based): uniform in [0, backoff_ceiling(attempt)].
  std::chrono::milliseconds delay(std::uint32_t attempt);

  [[nodiscard]] const backoff_options& options() const noexcept { return options_; }

 private:
  backoff_options options_;
  std::mutex mutex_;
  std::mt19937_64 engine_;
  random_source random_;
};

}  // namespace daemoneye::ipc
