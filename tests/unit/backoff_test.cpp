// Tests of backoff.hpp: the exponential ceiling, its cap and overflow safety,
// full jitter within [0, ceiling], and the injected random source.
#include "daemoneye/ipc/backoff.hpp"

#include <chrono>
#include <cstdint>
#include <limits>
#include <set>

#include <gtest/gtest.h>

namespace daemoneye::ipc {
namespace {

using std::chrono::milliseconds;

TEST(BackoffCeiling, DoublesFromBaseUntilTheCap) {
  const backoff_options o{milliseconds(100), milliseconds(1000)};
  EXPECT_EQ(backoff_ceiling(o, 0), milliseconds(100));
  EXPECT_EQ(backoff_ceiling(o, 1), milliseconds(200));
  EXPECT_EQ(backoff_ceiling(o, 2), milliseconds(400));
  EXPECT_EQ(backoff_ceiling(o, 3), milliseconds(800));
  EXPECT_EQ(backoff_ceiling(o, 4), milliseconds(1000));
  EXPECT_EQ(backoff_ceiling(o, 5), milliseconds(1000));
}

TEST(BackoffCeiling, NeverOverflowsForLargeAttempts) {
  const backoff_options o{milliseconds(30000), milliseconds(std::numeric_limits<std::uint32_t>::max())};
  for (const std::uint32_t n :
       {17U, 18U, 31U, 32U, 62U, 63U, 64U, 65U, 1000U, std::numeric_limits<std::uint32_t>::max()}) {
    EXPECT_LE(backoff_ceiling(o, n), o.cap) << n;
    EXPECT_GT(backoff_ceiling(o, n), milliseconds(0)) << n;
  }
  EXPECT_EQ(backoff_ceiling(o, std::numeric_limits<std::uint32_t>::max()), o.cap);
  // A base of 1 ms reaches exactly 2^40 ms at attempt 40 when the cap allows it.
  const backoff_options huge{milliseconds(1), milliseconds(std::numeric_limits<std::int64_t>::max())};
  EXPECT_EQ(backoff_ceiling(huge, 40), milliseconds(std::int64_t{1} << 40));
  EXPECT_EQ(backoff_ceiling(huge, 63), huge.cap);
}

TEST(BackoffCeiling, IsZeroForAZeroOrNegativeBaseOrCap) {
  EXPECT_EQ(backoff_ceiling({milliseconds(0), milliseconds(1000)}, 5), milliseconds(0));
  EXPECT_EQ(backoff_ceiling({milliseconds(100), milliseconds(0)}, 5), milliseconds(0));
  EXPECT_EQ(backoff_ceiling({milliseconds(-5), milliseconds(1000)}, 5), milliseconds(0));
}

TEST(BackoffOptions, ComeFromTheClientSection) {
  client_config c;
  c.backoff_base_ms = 7;
  c.backoff_max_ms = 900;
  const auto o = backoff_options::from(c);
  EXPECT_EQ(o.base, milliseconds(7));
  EXPECT_EQ(o.cap, milliseconds(900));
}

TEST(ExponentialBackoff, DelaysStayWithinZeroAndTheCeiling) {
  exponential_backoff b({milliseconds(10), milliseconds(500)}, std::uint64_t{42});
  for (std::uint32_t n = 0; n < 40; ++n) {
    for (int i = 0; i < 50; ++i) {
      const auto d = b.delay(n);
      EXPECT_GE(d, milliseconds(0));
      EXPECT_LE(d, backoff_ceiling(b.options(), n));
    }
  }
}

TEST(ExponentialBackoff, JittersAcrossTheWholeRange) {
  exponential_backoff b({milliseconds(1000), milliseconds(1000)}, std::uint64_t{7});
  std::set<milliseconds::rep> seen;
  milliseconds lowest = milliseconds::max();
  milliseconds highest = milliseconds::min();
  for (int i = 0; i < 2000; ++i) {
    const auto d = b.delay(0);
    seen.insert(d.count());
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  // Full jitter, not equal or decorrelated jitter: the draws cover the range.
  EXPECT_GT(seen.size(), 500U);
  EXPECT_LT(lowest, milliseconds(100));
  EXPECT_GT(highest, milliseconds(900));
}

TEST(ExponentialBackoff, SameSeedGivesTheSameSequence) {
  exponential_backoff a({milliseconds(100), milliseconds(30000)}, std::uint64_t{1234});
  exponential_backoff b({milliseconds(100), milliseconds(30000)}, std::uint64_t{1234});
  for (std::uint32_t n = 0; n < 20; ++n) EXPECT_EQ(a.delay(n), b.delay(n));
}

TEST(ExponentialBackoff, InjectedSourceMapsItsExtremesToTheRangeEnds) {
  const backoff_options o{milliseconds(100), milliseconds(1000)};
  exponential_backoff zero(o, exponential_backoff::random_source([] { return std::uint64_t{0}; }));
  exponential_backoff top(o,
                          exponential_backoff::random_source([] { return std::numeric_limits<std::uint64_t>::max(); }));
  for (std::uint32_t n = 0; n < 70; ++n) {
    EXPECT_EQ(zero.delay(n), milliseconds(0));
    EXPECT_EQ(top.delay(n), backoff_ceiling(o, n));
  }
}

TEST(ExponentialBackoff, ZeroBaseNeverWaits) {
  exponential_backoff b({milliseconds(0), milliseconds(0)}, std::uint64_t{1});
  EXPECT_EQ(b.delay(0), milliseconds(0));
  EXPECT_EQ(b.delay(100), milliseconds(0));
}

}  // namespace
}  // namespace daemoneye::ipc
