// Exponential backoff with full jitter.
#include "daemoneye/ipc/backoff.hpp"

namespace daemoneye::ipc {
namespace {

/// floor(draw * range / 2^64): maps a uniform 64-bit draw onto [0, range)
/// monotonically (0 -> 0, the largest draw -> range - 1) without a rejection
/// loop, so any injected source terminates. The bias is below range / 2^64.
std::uint64_t scale_draw(std::uint64_t draw, std::uint64_t range) noexcept {
  constexpr std::uint64_t low_mask = 0xFFFFFFFFU;
  const std::uint64_t a_lo = draw & low_mask;
  const std::uint64_t a_hi = draw >> 32U;
  const std::uint64_t b_lo = range & low_mask;
  const std::uint64_t b_hi = range >> 32U;
  const std::uint64_t lo_lo = a_lo * b_lo;
  const std::uint64_t hi_lo = a_hi * b_lo;
  const std::uint64_t lo_hi = a_lo * b_hi;
  const std::uint64_t hi_hi = a_hi * b_hi;
  const std::uint64_t cross = (lo_lo >> 32U) + (hi_lo & low_mask) + lo_hi;
  return hi_hi + (hi_lo >> 32U) + (cross >> 32U);
}

}  // namespace

std::chrono::milliseconds backoff_ceiling(const backoff_options& options, std::uint32_t attempt) noexcept {
  if (options.base.count() <= 0 || options.cap.count() <= 0) return std::chrono::milliseconds(0);
  const auto base = static_cast<std::uint64_t>(options.base.count());
  const auto cap = static_cast<std::uint64_t>(options.cap.count());
  // base * 2^attempt > cap exactly when base > floor(cap / 2^attempt); shifting
  // the cap down instead of the base up cannot overflow.
  if (attempt >= 63 || base > (cap >> attempt)) return options.cap;
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(base << attempt));
}

exponential_backoff::exponential_backoff(backoff_options options, std::uint64_t seed)
    : options_(options), engine_(seed) {}

exponential_backoff::exponential_backoff(backoff_options options)
    : exponential_backoff(options, (static_cast<std::uint64_t>(std::random_device{}()) << 32U) ^
                                       static_cast<std::uint64_t>(std::random_device{}())) {}

exponential_backoff::exponential_backoff(backoff_options options, random_source random)
    : options_(options), random_(std::move(random)) {}

std::chrono::milliseconds exponential_backoff::delay(std::uint32_t attempt) {
  const auto ceiling = static_cast<std::uint64_t>(backoff_ceiling(options_, attempt).count());
  if (ceiling == 0) return std::chrono::milliseconds(0);
  std::uint64_t draw = 0;
  {
    const std::lock_guard lock(mutex_);
    draw = random_ ? random_() : engine_();
  }
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(scale_draw(draw, ceiling + 1)));
}

}  // namespace daemoneye::ipc
