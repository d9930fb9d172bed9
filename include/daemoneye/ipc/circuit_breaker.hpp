// A per-endpoint circuit breaker: after failure_threshold consecutive
// failures the endpoint is not tried for recovery_timeout, then a bounded
// number of probes decide whether it is back. Time comes from an injected clock.
//
//   circuit_breaker breaker("primary", circuit_breaker_options::from(config.client));
//   if (auto ok = breaker.acquire(); !ok) return fail(ok.error());   // circuit_breaker_open, fast
//   auto r = call();
//   r ? breaker.record_success() : breaker.record_failure();
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "daemoneye/ipc/clock.hpp"
#include "daemoneye/ipc/config.hpp"
#include "daemoneye/ipc/error.hpp"

namespace daemoneye::ipc {

enum class breaker_state : std::uint8_t {
  closed,     ///< calls pass; consecutive failures are counted
  open,       ///< calls fail at once until the recovery time has passed
  half_open,  ///< a bounded number of probe calls pass; their outcome decides
};

/// "closed", "open", "half_open".
std::string_view to_string(breaker_state s) noexcept;

/// Value type. Values below 1 of the counts are treated as 1.
struct circuit_breaker_options {
  /// Consecutive failures that open a closed breaker.
  std::uint32_t failure_threshold = 5;
  /// How long an open breaker rejects calls before it half-opens.
  std::chrono::milliseconds recovery_timeout{30000};
  /// Calls admitted at once while half-open.
  std::uint32_t half_open_max_probes = 1;
  /// Successful probes that close a half-open breaker.
  std::uint32_t success_threshold = 2;

  /// breaker_failure_threshold and breaker_recovery_ms of the client section;
  /// the probe settings keep their defaults.
  static circuit_breaker_options from(const client_config& client) noexcept {
    circuit_breaker_options o;
    o.failure_threshold = client.breaker_failure_threshold;
    o.recovery_timeout = std::chrono::milliseconds(client.breaker_recovery_ms);
    return o;
  }
};

/// A snapshot of one breaker.
struct circuit_breaker_stats {
  breaker_state state = breaker_state::closed;
  std::uint32_t consecutive_failures = 0;
  std::uint32_t probes_in_flight = 0;
  std::uint32_t half_open_successes = 0;
  std::uint64_t transitions = 0;  ///< every state change: the sum of the three below
  std::uint64_t opened = 0;       ///< closed -> open and half_open -> open
  std::uint64_t half_opened = 0;  ///< open -> half_open
  std::uint64_t closed = 0;       ///< half_open -> closed
  std::uint64_t rejected = 0;     ///< try_acquire() calls that returned false
  /// While open: when the breaker half-opens.
  std::optional<clock_source::time_point> half_open_at;
};

/// Thread safety: every member may be called from any thread (one mutex).
/// Protocol: every call admitted by try_acquire()/acquire() ends with exactly
/// one of record_success(), record_failure() or release(); otherwise a
/// half-open breaker keeps the probe slot. Outcomes reported while open
/// (calls admitted before it opened) are ignored.
/// Lifetime: `clock` must outlive the breaker. Not copyable or movable.
class circuit_breaker {
 public:
  /// `endpoint` names the endpoint in error messages.
  circuit_breaker(std::string endpoint, circuit_breaker_options options, clock_source& clock = steady_clock_source());
  circuit_breaker(const circuit_breaker&) = delete;
  circuit_breaker& operator=(const circuit_breaker&) = delete;

  /// Whether a call may go to the endpoint now. Closed: always. Open: no,
  /// until the recovery time has passed, then the breaker half-opens.
  /// Half-open: while fewer than half_open_max_probes calls are in flight.
  [[nodiscard]] bool try_acquire();
  /// try_acquire() with the reason of a rejection: errc::circuit_breaker_open,
  /// the message naming the endpoint and when it half-opens.
  result<void> acquire();

  /// The admitted call worked. Closed: resets the failure count. Half-open:
  /// counts towards success_threshold, then closes.
  void record_success();
  /// The admitted call failed. Closed: opens at failure_threshold consecutive
  /// failures. Half-open: opens again at once (the recovery time restarts).
  void record_failure();
  /// The admitted call ended without an outcome that says anything about the
  /// endpoint (e.g. it was rate limited): gives the probe slot back.
  void release();

  /// The state now: an open breaker whose recovery time has passed is half-open.
  [[nodiscard]] breaker_state state() const;
  [[nodiscard]] circuit_breaker_stats stats() const;
  /// The error a rejected call gets, as of now.
  [[nodiscard]] ipc_error rejection_error() const;

  [[nodiscard]] const std::string& endpoint() const noexcept { return endpoint_; }
  [[nodiscard]] const circuit_breaker_options& options() const noexcept { return options_; }

 private:
  void refresh_locked() const;
  void open_locked() const;
  [[nodiscard]] ipc_error rejection_error_locked() const;

  std::string endpoint_;
  circuit_breaker_options options_;
  clock_source* clock_;
  mutable std::mutex mutex_;
  // Mutable: state() is logically const, but an open breaker half-opens when
  // time passes, and that transition is counted the moment anyone looks.
  mutable circuit_breaker_stats s_;
  mutable clock_source::time_point opened_at_{};
};

}  // namespace daemoneye::ipc
