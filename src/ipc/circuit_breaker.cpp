// The circuit breaker's state machine.
#include "daemoneye/ipc/circuit_breaker.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace daemoneye::ipc {

std::string_view to_string(breaker_state s) noexcept {
  switch (s) {
    case breaker_state::closed: return "closed";
    case breaker_state::open: return "open";
    case breaker_state::half_open: return "half_open";
  }
  return "unknown";
}

circuit_breaker::circuit_breaker(std::string endpoint, circuit_breaker_options options, clock_source& clock)
    : endpoint_(std::move(endpoint)), options_(options), clock_(&clock) {
  options_.failure_threshold = std::max(1U, options_.failure_threshold);
  options_.half_open_max_probes = std::max(1U, options_.half_open_max_probes);
  options_.success_threshold = std::max(1U, options_.success_threshold);
  options_.recovery_timeout = std::max(std::chrono::milliseconds(0), options_.recovery_timeout);
}

void circuit_breaker::open_locked() const {
  s_.state = breaker_state::open;
  opened_at_ = clock_->now();
  s_.half_open_at = opened_at_ + options_.recovery_timeout;
  s_.probes_in_flight = 0;
  s_.half_open_successes = 0;
  ++s_.opened;
  ++s_.transitions;
}

void circuit_breaker::refresh_locked() const {
  if (s_.state != breaker_state::open) return;
  if (clock_->now() < opened_at_ + options_.recovery_timeout) return;
  s_.state = breaker_state::half_open;
  s_.half_open_at.reset();
  s_.probes_in_flight = 0;
  s_.half_open_successes = 0;
  ++s_.half_opened;
  ++s_.transitions;
}

bool circuit_breaker::try_acquire() {
  const std::lock_guard lock(mutex_);
  refresh_locked();
  switch (s_.state) {
    case breaker_state::closed: return true;
    case breaker_state::half_open:
      if (s_.probes_in_flight < options_.half_open_max_probes) {
        ++s_.probes_in_flight;
        return true;
      }
      break;
    case breaker_state::open: break;
  }
  ++s_.rejected;
  return false;
}

result<void> circuit_breaker::acquire() {
  if (try_acquire()) return {};
  const std::lock_guard lock(mutex_);
  return fail(rejection_error_locked());
}

void circuit_breaker::record_success() {
  const std::lock_guard lock(mutex_);
  refresh_locked();
  switch (s_.state) {
    case breaker_state::closed: s_.consecutive_failures = 0; break;
    case breaker_state::half_open:
      if (s_.probes_in_flight > 0) --s_.probes_in_flight;
      if (++s_.half_open_successes >= options_.success_threshold) {
        s_.state = breaker_state::closed;
        s_.consecutive_failures = 0;
        s_.probes_in_flight = 0;
        s_.half_open_successes = 0;
        ++s_.closed;
        ++s_.transitions;
      }
      break;
    case breaker_state::open: break;
  }
}

void circuit_breaker::record_failure() {
  const std::lock_guard lock(mutex_);
  refresh_locked();
  switch (s_.state) {
    case breaker_state::closed:
      if (++s_.consecutive_failures >= options_.failure_threshold) open_locked();
      break;
    case breaker_state::half_open:
      ++s_.consecutive_failures;
      open_locked();
      break;
    case breaker_state::open: break;
  }
}

void circuit_breaker::release() {
  const std::lock_guard lock(mutex_);
  refresh_locked();
  if (s_.state == breaker_state::half_open && s_.probes_in_flight > 0) --s_.probes_in_flight;
}

breaker_state circuit_breaker::state() const {
  const std::lock_guard lock(mutex_);
  refresh_locked();
  return s_.state;
}

circuit_breaker_stats circuit_breaker::stats() const {
  const std::lock_guard lock(mutex_);
  refresh_locked();
  return s_;
}

ipc_error circuit_breaker::rejection_error() const {
  const std::lock_guard lock(mutex_);
  refresh_locked();
  return rejection_error_locked();
}

ipc_error circuit_breaker::rejection_error_locked() const {
  if (s_.state == breaker_state::half_open) {
    return {errc::circuit_breaker_open,
            fmt::format("circuit breaker for endpoint {} is half-open and its {} probe call(s) are in flight; "
                        "retry shortly",
                        endpoint_, options_.half_open_max_probes)};
  }
  const auto now = clock_->now();
  const auto at = opened_at_ + options_.recovery_timeout;
  const auto left = at > now ? std::chrono::ceil<std::chrono::milliseconds>(at - now) : std::chrono::milliseconds(0);
  if (s_.state == breaker_state::open) {
    return {errc::circuit_breaker_open,
            fmt::format("circuit breaker for endpoint {} is open after {} consecutive failures; it half-opens in "
                        "{} ms (breaker_recovery_ms = {})",
                        endpoint_, s_.consecutive_failures, left.count(), options_.recovery_timeout.count())};
  }
  return {errc::circuit_breaker_open, fmt::format("circuit breaker for endpoint {} is closed", endpoint_)};
}

}  // namespace daemoneye::ipc
