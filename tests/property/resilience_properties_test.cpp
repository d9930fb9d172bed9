// Laws of the resilience layer (circuit_breaker.hpp, backoff.hpp), checked
// with RapidCheck: any sequence of events keeps the breaker in a valid state
// and in step with a reference model, an open breaker never admits a call
// before its recovery time, and backoff delays stay within [0, cap].
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "daemoneye/ipc/backoff.hpp"
#include "daemoneye/ipc/circuit_breaker.hpp"
#include "daemoneye/ipc/clock.hpp"

namespace daemoneye::ipc {
namespace {

using std::chrono::milliseconds;

// ---- generators --------------------------------------------------------------

enum class event_kind { acquire, success, failure, release, advance, look };

struct event {
  event_kind kind = event_kind::look;
  milliseconds step{0};  // advance only
};

rc::Gen<event> gen_event(milliseconds recovery) {
  return rc::gen::exec([recovery] {
    event e;
    e.kind = *rc::gen::weightedOneOf<event_kind>({
        {4, rc::gen::just(event_kind::acquire)},
        {3, rc::gen::just(event_kind::success)},
        {4, rc::gen::just(event_kind::failure)},
        {1, rc::gen::just(event_kind::release)},
        {3, rc::gen::just(event_kind::advance)},
        {1, rc::gen::just(event_kind::look)},
    });
    if (e.kind == event_kind::advance) {
      // Steps around the recovery time, so both sides of it are reached often.
      const auto r = recovery.count();
      e.step = milliseconds(*rc::gen::weightedOneOf<milliseconds::rep>({
          {3, rc::gen::inRange<milliseconds::rep>(0, r / 4 + 2)},
          {2, rc::gen::inRange<milliseconds::rep>(r > 0 ? r - 1 : 0, r + 2)},
          {1, rc::gen::inRange<milliseconds::rep>(0, 3 * r + 2)},
      }));
    }
    return e;
  });
}

rc::Gen<circuit_breaker_options> gen_breaker_options() {
  return rc::gen::exec([] {
    circuit_breaker_options o;
    o.failure_threshold = *rc::gen::inRange<std::uint32_t>(1, 6);
    o.recovery_timeout = milliseconds(*rc::gen::inRange<milliseconds::rep>(0, 2000));
    o.half_open_max_probes = *rc::gen::inRange<std::uint32_t>(1, 4);
    o.success_threshold = *rc::gen::inRange<std::uint32_t>(1, 4);
    return o;
  });
}

/// The specification, as plainly as it can be written: what state() must say.
class breaker_model {
 public:
  explicit breaker_model(const circuit_breaker_options& o) : o_(o) {}

  breaker_state state(clock_source::time_point now) {
    if (state_ == breaker_state::open && now >= opened_at_ + o_.recovery_timeout) {
      state_ = breaker_state::half_open;
      probes_ = 0;
      successes_ = 0;
    }
    return state_;
  }
  bool acquire(clock_source::time_point now) {
    switch (state(now)) {
      case breaker_state::closed: return true;
      case breaker_state::open: return false;
      case breaker_state::half_open:
        if (probes_ >= o_.half_open_max_probes) return false;
        ++probes_;
        return true;
    }
    return false;
  }
  void success(clock_source::time_point now) {
    if (state(now) == breaker_state::closed) failures_ = 0;
    if (state_ != breaker_state::half_open) return;
    if (probes_ > 0) --probes_;
    if (++successes_ >= o_.success_threshold) {
      state_ = breaker_state::closed;
      failures_ = 0;
    }
  }
  void failure(clock_source::time_point now) {
    const auto s = state(now);
    if (s == breaker_state::open) return;
    ++failures_;
    if (s == breaker_state::half_open || failures_ >= o_.failure_threshold) {
      state_ = breaker_state::open;
      opened_at_ = now;
    }
  }
  void release(clock_source::time_point now) {
    if (state(now) == breaker_state::half_open && probes_ > 0) --probes_;
  }

 private:
  circuit_breaker_options o_;
  breaker_state state_ = breaker_state::closed;
  std::uint32_t failures_ = 0;
  std::uint32_t probes_ = 0;
  std::uint32_t successes_ = 0;
  clock_source::time_point opened_at_{};
};

void check_invariants(const circuit_breaker& b, const circuit_breaker_options& o, const manual_clock& clock) {
  const auto s = b.stats();
  RC_ASSERT(s.transitions == s.opened + s.half_opened + s.closed);
  switch (s.state) {
    case breaker_state::closed:
      RC_ASSERT(s.consecutive_failures < o.failure_threshold);
      RC_ASSERT(s.probes_in_flight == 0U);
      RC_ASSERT(!s.half_open_at.has_value());
      break;
    case breaker_state::open:
      RC_ASSERT(s.consecutive_failures >= o.failure_threshold);
      RC_ASSERT(s.probes_in_flight == 0U);
      RC_ASSERT(s.half_open_at.has_value());
      RC_ASSERT(clock.now() < *s.half_open_at);  // otherwise it would report half_open
      break;
    case breaker_state::half_open:
      RC_ASSERT(s.probes_in_flight <= o.half_open_max_probes);
      RC_ASSERT(s.half_open_successes < o.success_threshold);
      RC_ASSERT(!s.half_open_at.has_value());
      break;
  }
}

// ---- circuit breaker ---------------------------------------------------------

RC_GTEST_PROP(CircuitBreakerProperties, AnyEventSequenceKeepsAValidStateThatFollowsTheModel, ()) {
  const auto o = *gen_breaker_options();
  const auto events = *rc::gen::container<std::vector<event>>(gen_event(o.recovery_timeout));
  manual_clock clock;
  circuit_breaker b("prop", o, clock);
  breaker_model model(o);
  for (const auto& e : events) {
    const auto now = clock.now();
    switch (e.kind) {
      case event_kind::acquire: RC_ASSERT(b.try_acquire() == model.acquire(now)); break;
      case event_kind::success:
        b.record_success();
        model.success(now);
        break;
      case event_kind::failure:
        b.record_failure();
        model.failure(now);
        break;
      case event_kind::release:
        b.release();
        model.release(now);
        break;
      case event_kind::advance: clock.advance(e.step); break;
      case event_kind::look: break;
    }
    check_invariants(b, o, clock);
    RC_ASSERT(b.state() == model.state(clock.now()));
  }
}

RC_GTEST_PROP(CircuitBreakerProperties, OpenNeverAdmitsACallBeforeTheRecoveryTime, ()) {
  const auto o = *gen_breaker_options();
  const auto events = *rc::gen::container<std::vector<event>>(gen_event(o.recovery_timeout));
  manual_clock clock;
  circuit_breaker b("prop", o, clock);
  // Observed from the transition counters after every event: whether the
  // breaker has opened and not half-opened since, and when it opened.
  std::uint64_t opened_seen = 0;
  std::uint64_t half_opened_seen = 0;
  bool open_epoch = false;
  clock_source::time_point opened_at{};
  for (const auto& e : events) {
    switch (e.kind) {
      case event_kind::acquire: {
        const bool reported_open = b.state() == breaker_state::open;
        const bool admitted = b.try_acquire();
        if (reported_open) RC_ASSERT(!admitted);
        if (admitted && open_epoch) RC_ASSERT(clock.now() >= opened_at + o.recovery_timeout);
        break;
      }
      case event_kind::success: b.record_success(); break;
      case event_kind::failure: b.record_failure(); break;
      case event_kind::release: b.release(); break;
      case event_kind::advance: clock.advance(e.step); break;
      case event_kind::look: (void)b.state(); break;
    }
    const auto s = b.stats();
    if (s.half_opened != half_opened_seen) {
      half_opened_seen = s.half_opened;
      open_epoch = false;
    }
    if (s.opened != opened_seen) {
      // Opening happens only inside record_failure, at the current time.
      RC_ASSERT(s.opened == opened_seen + 1);
      opened_seen = s.opened;
      opened_at = clock.now();
      open_epoch = s.state == breaker_state::open;
    }
  }
}

RC_GTEST_PROP(CircuitBreakerProperties, ThresholdConsecutiveFailuresAlwaysOpenAClosedBreaker, ()) {
  const auto o = *gen_breaker_options();
  manual_clock clock;
  circuit_breaker b("prop", o, clock);
  const auto successes_first = *rc::gen::inRange(0, 5);
  for (int i = 0; i < successes_first; ++i) {
    RC_ASSERT(b.try_acquire());
    b.record_success();
  }
  for (std::uint32_t i = 0; i < o.failure_threshold; ++i) {
    RC_ASSERT(b.state() == breaker_state::closed);
    RC_ASSERT(b.try_acquire());
    b.record_failure();
  }
  if (o.recovery_timeout > milliseconds(0)) {
    RC_ASSERT(b.state() == breaker_state::open);
    RC_ASSERT(!b.try_acquire());
    RC_ASSERT(b.acquire().error().is(errc::circuit_breaker_open));
  } else {
    RC_ASSERT(b.state() == breaker_state::half_open);
  }
}

// ---- backoff -----------------------------------------------------------------

rc::Gen<backoff_options> gen_backoff_options() {
  return rc::gen::exec([] {
    const auto cap = *rc::gen::weightedOneOf<milliseconds::rep>({
        {4, rc::gen::inRange<milliseconds::rep>(0, 60001)},
        {1, rc::gen::inRange<milliseconds::rep>(0, std::numeric_limits<std::uint32_t>::max())},
    });
    const auto base = *rc::gen::inRange<milliseconds::rep>(0, cap + 1);
    return backoff_options{milliseconds(base), milliseconds(cap)};
  });
}

rc::Gen<std::uint32_t> gen_attempt() {
  return rc::gen::weightedOneOf<std::uint32_t>({
      {4, rc::gen::inRange<std::uint32_t>(0, 70)},
      {1, rc::gen::arbitrary<std::uint32_t>()},
  });
}

RC_GTEST_PROP(BackoffProperties, CeilingIsMinOfCapAndBaseTimesTwoToTheN, ()) {
  const auto o = *gen_backoff_options();
  const auto n = *gen_attempt();
  const auto ceiling = backoff_ceiling(o, n);
  // The exact value, in floating point where base * 2^n has no overflow.
  const long double exact =
      o.base.count() == 0 ? 0.0L
                          : static_cast<long double>(o.base.count()) * std::pow(2.0L, static_cast<long double>(n));
  const long double expected = std::min(exact, static_cast<long double>(o.cap.count()));
  RC_ASSERT(static_cast<long double>(ceiling.count()) == expected);
  RC_ASSERT(ceiling >= milliseconds(0));
  RC_ASSERT(ceiling <= o.cap);
  if (n < std::numeric_limits<std::uint32_t>::max()) RC_ASSERT(backoff_ceiling(o, n + 1) >= ceiling);
}

RC_GTEST_PROP(BackoffProperties, DelayIsNeverNegativeNorAboveTheCap, ()) {
  const auto o = *gen_backoff_options();
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  exponential_backoff b(o, seed);
  const auto attempts = *rc::gen::container<std::vector<std::uint32_t>>(gen_attempt());
  for (const auto n : attempts) {
    const auto d = b.delay(n);
    RC_ASSERT(d >= milliseconds(0));
    RC_ASSERT(d <= backoff_ceiling(o, n));
    RC_ASSERT(d <= o.cap);
  }
}

RC_GTEST_PROP(BackoffProperties, TotalWaitIsBoundedByMaxAttemptsTimesTheCap, ()) {
  const auto o = *gen_backoff_options();
  const auto max_attempts = *rc::gen::inRange<std::uint32_t>(1, 200);
  // Any random source, including the most hostile constant ones.
  const auto draws =
      *rc::gen::nonEmpty(rc::gen::container<std::vector<std::uint64_t>>(rc::gen::weightedOneOf<std::uint64_t>({
          {3, rc::gen::arbitrary<std::uint64_t>()},
          {1, rc::gen::just(std::numeric_limits<std::uint64_t>::max())},
          {1, rc::gen::just(std::uint64_t{0})},
      })));
  std::size_t next = 0;
  exponential_backoff b(o, exponential_backoff::random_source([&] { return draws[next++ % draws.size()]; }));
  milliseconds total{0};
  for (std::uint32_t n = 0; n < max_attempts; ++n) total += b.delay(n);
  RC_ASSERT(total >= milliseconds(0));
  RC_ASSERT(total <= o.cap * max_attempts);
}

}  // namespace
}  // namespace daemoneye::ipc
