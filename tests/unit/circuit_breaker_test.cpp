// Tests of circuit_breaker.hpp (and of the manual_clock of clock.hpp that
// drives it): the closed/open/half-open machine, its timing on the injected
// clock, probe limits, transition counts and the rejection message.
#include "daemoneye/ipc/circuit_breaker.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemoneye/ipc/clock.hpp"

namespace daemoneye::ipc {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

circuit_breaker_options opts(std::uint32_t failures, milliseconds recovery, std::uint32_t probes = 1,
                             std::uint32_t successes = 2) {
  circuit_breaker_options o;
  o.failure_threshold = failures;
  o.recovery_timeout = recovery;
  o.half_open_max_probes = probes;
  o.success_threshold = successes;
  return o;
}

void fail_times(circuit_breaker& b, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(b.try_acquire());
    b.record_failure();
  }
}

TEST(ManualClock, StandsStillUntilMovedAndNeverGoesBack) {
  manual_clock clock;
  const auto t0 = clock.now();
  EXPECT_EQ(clock.now(), t0);
  clock.advance(milliseconds(5));
  EXPECT_EQ(clock.now(), t0 + milliseconds(5));
  clock.advance(milliseconds(-100));
  clock.set(t0);
  EXPECT_EQ(clock.now(), t0 + milliseconds(5));
}

TEST(ManualClock, SleepUntilJumpsAtOnceAndCallsTheHook) {
  manual_clock clock;
  const auto t0 = clock.now();
  std::vector<clock_source::time_point> seen;
  clock.set_sleep_hook([&](clock_source::time_point deadline) { seen.push_back(deadline); });
  clock.sleep_for(milliseconds(30000));
  EXPECT_EQ(clock.now(), t0 + milliseconds(30000));
  clock.sleep_until(t0);  // in the past: no jump
  EXPECT_EQ(clock.now(), t0 + milliseconds(30000));
  EXPECT_EQ(clock.sleeps(), 2U);
  EXPECT_EQ(clock.slept(), milliseconds(30000));
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0], t0 + milliseconds(30000));
}

TEST(ManualClock, IsSafeToUseFromSeveralThreads) {
  manual_clock clock;
  const auto t0 = clock.now();
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 1000; ++i) clock.advance(milliseconds(1));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(clock.now(), t0 + milliseconds(4000));
}

TEST(SteadyClockSource, FollowsTheSteadyClock) {
  auto& c = steady_clock_source();
  const auto before = std::chrono::steady_clock::now();
  const auto now = c.now();
  EXPECT_GE(now, before);
  c.sleep_until(now - milliseconds(1));  // in the past: returns at once
  EXPECT_LE(now, std::chrono::steady_clock::now());
}

TEST(CircuitBreaker, StaysClosedBelowTheThreshold) {
  manual_clock clock;
  circuit_breaker b("a", opts(3, milliseconds(1000)), clock);
  fail_times(b, 2);
  EXPECT_EQ(b.state(), breaker_state::closed);
  EXPECT_TRUE(b.try_acquire());
  EXPECT_EQ(b.stats().consecutive_failures, 2U);
}

TEST(CircuitBreaker, OpensAfterThresholdConsecutiveFailures) {
  manual_clock clock;
  circuit_breaker b("a", opts(3, milliseconds(1000)), clock);
  fail_times(b, 3);
  EXPECT_EQ(b.state(), breaker_state::open);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.stats().rejected, 1U);
}

TEST(CircuitBreaker, SuccessResetsTheConsecutiveCount) {
  manual_clock clock;
  circuit_breaker b("a", opts(3, milliseconds(1000)), clock);
  fail_times(b, 2);
  ASSERT_TRUE(b.try_acquire());
  b.record_success();
  fail_times(b, 2);
  EXPECT_EQ(b.state(), breaker_state::closed);
}

TEST(CircuitBreaker, OpenRejectsUntilTheRecoveryTimeHasPassed) {
  manual_clock clock;
  circuit_breaker b("a", opts(1, milliseconds(1000)), clock);
  fail_times(b, 1);
  clock.advance(milliseconds(999));
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.state(), breaker_state::open);
  clock.advance(milliseconds(1));
  EXPECT_EQ(b.state(), breaker_state::half_open);  // reported without anyone calling try_acquire
  EXPECT_TRUE(b.try_acquire());
}

TEST(CircuitBreaker, HalfOpenAdmitsAtMostMaxProbes) {
  manual_clock clock;
  circuit_breaker b("a", opts(1, milliseconds(10), 2, 5), clock);
  fail_times(b, 1);
  clock.advance(milliseconds(10));
  EXPECT_TRUE(b.try_acquire());
  EXPECT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.stats().probes_in_flight, 2U);
  b.record_success();
  EXPECT_TRUE(b.try_acquire());  // a slot came free
}

TEST(CircuitBreaker, HalfOpenClosesAfterSuccessThresholdProbes) {
  manual_clock clock;
  circuit_breaker b("a", opts(1, milliseconds(10), 1, 2), clock);
  fail_times(b, 1);
  clock.advance(milliseconds(10));
  ASSERT_TRUE(b.try_acquire());
  b.record_success();
  EXPECT_EQ(b.state(), breaker_state::half_open);
  ASSERT_TRUE(b.try_acquire());
  b.record_success();
  EXPECT_EQ(b.state(), breaker_state::closed);
  EXPECT_EQ(b.stats().consecutive_failures, 0U);
}

TEST(CircuitBreaker, HalfOpenFailureReopensAndRestartsTheRecoveryTimer) {
  manual_clock clock;
  circuit_breaker b("a", opts(1, milliseconds(100), 1, 2), clock);
  fail_times(b, 1);
  clock.advance(milliseconds(150));
  ASSERT_TRUE(b.try_acquire());
  b.record_success();
  ASSERT_TRUE(b.try_acquire());
  b.record_failure();
  EXPECT_EQ(b.state(), breaker_state::open);
  clock.advance(milliseconds(99));
  EXPECT_FALSE(b.try_acquire());
  clock.advance(milliseconds(1));
  EXPECT_TRUE(b.try_acquire());
}

TEST(CircuitBreaker, ReleaseGivesTheProbeSlotBackWithoutAnOutcome) {
  manual_clock clock;
  circuit_breaker b("a", opts(1, milliseconds(10), 1, 1), clock);
  fail_times(b, 1);
  clock.advance(milliseconds(10));
  ASSERT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  b.release();
  EXPECT_EQ(b.state(), breaker_state::half_open);
  EXPECT_TRUE(b.try_acquire());
}

TEST(CircuitBreaker, IgnoresOutcomesReportedWhileOpen) {
  manual_clock clock;
  circuit_breaker b("a", opts(2, milliseconds(100)), clock);
  ASSERT_TRUE(b.try_acquire());  // a slow call admitted while closed
  fail_times(b, 2);
  b.record_success();  // the slow call finishes after the breaker opened
  EXPECT_EQ(b.state(), breaker_state::open);
  EXPECT_EQ(b.stats().transitions, 1U);
}

TEST(CircuitBreaker, CountsEveryTransition) {
  manual_clock clock;
  circuit_breaker b("a", opts(1, milliseconds(10), 1, 1), clock);
  fail_times(b, 1);  // closed -> open
  clock.advance(milliseconds(10));
  ASSERT_TRUE(b.try_acquire());  // open -> half_open
  b.record_failure();            // half_open -> open
  clock.advance(milliseconds(10));
  ASSERT_TRUE(b.try_acquire());  // open -> half_open
  b.record_success();            // half_open -> closed
  const auto s = b.stats();
  EXPECT_EQ(s.state, breaker_state::closed);
  EXPECT_EQ(s.opened, 2U);
  EXPECT_EQ(s.half_opened, 2U);
  EXPECT_EQ(s.closed, 1U);
  EXPECT_EQ(s.transitions, 5U);
}

TEST(CircuitBreaker, RejectionNamesTheEndpointAndWhenItHalfOpens) {
  manual_clock clock;
  circuit_breaker b("primary", opts(2, milliseconds(30000)), clock);
  fail_times(b, 2);
  clock.advance(milliseconds(10000));
  auto r = b.acquire();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::circuit_breaker_open));
  EXPECT_THAT(r.error().message(), HasSubstr("primary"));
  EXPECT_THAT(r.error().message(), HasSubstr("half-opens in 20000 ms"));
  EXPECT_THAT(r.error().message(), HasSubstr("2 consecutive failures"));
  ASSERT_TRUE(b.stats().half_open_at);
  EXPECT_EQ(*b.stats().half_open_at, clock.now() + milliseconds(20000));
}

TEST(CircuitBreaker, OptionsComeFromTheClientSectionAndCountsBelowOneAreOne) {
  client_config c;
  c.breaker_failure_threshold = 7;
  c.breaker_recovery_ms = 1234;
  const auto o = circuit_breaker_options::from(c);
  EXPECT_EQ(o.failure_threshold, 7U);
  EXPECT_EQ(o.recovery_timeout, milliseconds(1234));
  EXPECT_EQ(o.half_open_max_probes, 1U);
  EXPECT_EQ(o.success_threshold, 2U);

  manual_clock clock;
  circuit_breaker b("a", opts(0, milliseconds(10), 0, 0), clock);
  EXPECT_EQ(b.options().failure_threshold, 1U);
  EXPECT_EQ(b.options().half_open_max_probes, 1U);
  EXPECT_EQ(b.options().success_threshold, 1U);
  fail_times(b, 1);
  EXPECT_EQ(b.state(), breaker_state::open);
}

TEST(CircuitBreaker, StateNamesAreStable) {
  EXPECT_EQ(to_string(breaker_state::closed), "closed");
  EXPECT_EQ(to_string(breaker_state::open), "open");
  EXPECT_EQ(to_string(breaker_state::half_open), "half_open");
}

TEST(CircuitBreaker, ConcurrentCallersKeepItConsistent) {
  manual_clock clock;
  circuit_breaker b("a", opts(5, milliseconds(10), 2, 2), clock);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (b.try_acquire()) {
          admitted.fetch_add(1);
          ((i + t) % 3 == 0) ? b.record_failure() : b.record_success();
        }
        if (i % 50 == 0) clock.advance(milliseconds(5));
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto s = b.stats();
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(s.transitions, s.opened + s.half_opened + s.closed);
  EXPECT_LE(s.probes_in_flight, 2U);
}

}  // namespace
}  // namespace daemoneye::ipc
