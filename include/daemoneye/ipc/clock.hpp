// An injectable source of steady time for the resilience layer (breaker,
// backoff, pooled-connection ages, call deadlines). Production code uses
// steady_clock_source(); tests pass a manual_clock whose sleeps cost nothing.
//
//   manual_clock clock;
//   circuit_breaker breaker("a", options, clock);
//   clock.advance(std::chrono::seconds(30));   // the breaker's recovery time passes at once
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace daemoneye::ipc {

/// Steady time and a way to wait for it.
/// Implementations are thread-safe: now() and sleep_until() may be called from any thread at once.
class clock_source {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~clock_source() = default;
  /// The current time; never decreases.
  [[nodiscard]] virtual time_point now() const = 0;
  /// Returns once now() >= `deadline` (at once when it already is).
  virtual void sleep_until(time_point deadline) = 0;
  void sleep_for(duration d) { sleep_until(now() + d); }
};

/// The real std::chrono::steady_clock. A process-wide object without state; lives forever.
clock_source& steady_clock_source() noexcept;

/// A clock for tests: time stands still until advance(), set() or sleep_until()
/// moves it; sleep_until() jumps to its deadline at once (after calling the
/// sleep hook, if any), so backoff waits cost no real time.
///
/// Thread safety: every member may be called from any thread; the hook is
/// called without the clock's lock held, on the sleeping thread.
class manual_clock final : public clock_source {
 public:
  /// Called by sleep_until(deadline) before the time jumps, with the deadline.
  /// A test can block in it to hold the sleeper until something is ready.
  using sleep_hook = std::function<void(time_point deadline)>;

  /// Starts at an arbitrary fixed point well away from time_point's epoch.
  manual_clock() = default;
  explicit manual_clock(time_point start) : now_(start) {}

  [[nodiscard]] time_point now() const override;
  void sleep_until(time_point deadline) override;

  /// Moves time forward by `d` (negative durations are ignored).
  void advance(duration d);
  /// Sets the time to `t` if it is later than now (time never goes back).
  void set(time_point t);

  /// Replaces the sleep hook (an empty function removes it).
  void set_sleep_hook(sleep_hook hook);
  /// How many times sleep_until() has been called.
  [[nodiscard]] std::uint64_t sleeps() const;
  /// The sum of the time sleep_until() calls moved the clock forward.
  [[nodiscard]] duration slept() const;

 private:
  mutable std::mutex mutex_;
  time_point now_{std::chrono::hours(1)};
  sleep_hook hook_;
  std::uint64_t sleeps_ = 0;
  duration slept_{0};
};

}  // namespace daemoneye::ipc
