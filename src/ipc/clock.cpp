// The real steady clock and the manual clock for tests.
#include "daemoneye/ipc/clock.hpp"

#include <thread>

namespace daemoneye::ipc {
namespace {

class steady_clock_impl final : public clock_source {
 public:
  [[nodiscard]] time_point now() const override { return std::chrono::steady_clock::now(); }
  void sleep_until(time_point deadline) override { std::this_thread::sleep_until(deadline); }
};

}  // namespace

clock_source& steady_clock_source() noexcept {
  static steady_clock_impl instance;
  return instance;
}

manual_clock::time_point manual_clock::now() const {
  const std::lock_guard lock(mutex_);
  return now_;
}

void manual_clock::sleep_until(time_point deadline) {
  sleep_hook hook;
  {
    const std::lock_guard lock(mutex_);
    ++sleeps_;
    hook = hook_;
  }
  if (hook) hook(deadline);
  const std::lock_guard lock(mutex_);
  if (deadline > now_) {
    slept_ += deadline - now_;
    now_ = deadline;
  }
}

void manual_clock::advance(duration d) {
  if (d <= duration::zero()) return;
  const std::lock_guard lock(mutex_);
  now_ += d;
}

void manual_clock::set(time_point t) {
  const std::lock_guard lock(mutex_);
  if (t > now_) now_ = t;
}

void manual_clock::set_sleep_hook(sleep_hook hook) {
  const std::lock_guard lock(mutex_);
  hook_ = std::move(hook);
}

std::uint64_t manual_clock::sleeps() const {
  const std::lock_guard lock(mutex_);
  return sleeps_;
}

manual_clock::duration manual_clock::slept() const {
  const std::lock_guard lock(mutex_);
  return slept_;
}

}  // namespace daemoneye::ipc
