// resilient_client against real interprocess_servers on Unix sockets in a
// fresh temporary directory. Time is a manual_clock: backoff waits and
// breaker recovery cost no real time, and a sleep hook holds the client at
// its backoff wait while the test restarts a server (no sleeping to synchronise).
#include "daemoneye/ipc/resilient_client.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/server.hpp"

#include "support/temp_dir.hpp"

namespace daemoneye::ipc {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

CollectionCapabilities caps_of(std::initializer_list<MonitoringDomain> domains) {
  CollectionCapabilities caps;
  for (const auto d : domains) caps.add_supported_domains(d);
  return caps;
}

/// Settings that keep every test fast and bounded: short socket timeouts, a
/// small backoff, a breaker that opens after three failures.
ipc_config base_config(const test::temp_dir& dir, const std::string& name = "procmond.sock") {
  ipc_config cfg;
  cfg.endpoint_path = dir.endpoint(name);
  cfg.threads = 2;
  cfg.accept_timeout_ms = 2000;
  cfg.read_timeout_ms = 10000;
  cfg.write_timeout_ms = 2000;
  cfg.client.max_attempts = 3;
  cfg.client.backoff_base_ms = 10;
  cfg.client.backoff_max_ms = 100;
  cfg.client.breaker_failure_threshold = 3;
  cfg.client.breaker_recovery_ms = 1000;
  return cfg;
}

resilient_client_options options_with(balancing_strategy strategy) {
  resilient_client_options o;
  o.strategy = strategy;
  o.backoff_seed = 1;
  return o;
}

/// A server whose handler answers success and counts the tasks it ran.
class counting_server {
 public:
  explicit counting_server(const ipc_config& cfg, CollectionCapabilities caps = caps_of({wire::PROCESS}))
      : server_(cfg) {
    server_.set_capabilities(std::move(caps));
    server_.set_handler([this](const DetectionTask& task) {
      handled_.fetch_add(1);
      return results::success(task.task_id());
    });
  }
  [[nodiscard]] result<void> start() { return server_.start(); }
  void stop() { server_.stop(); }
  [[nodiscard]] int handled() const { return handled_.load(); }
  interprocess_server& server() { return server_; }

 private:
  std::atomic<int> handled_{0};
  interprocess_server server_;
};

/// A server killed in the middle of a task: its handler signals entered()
/// and never answers. The handler's wait ends when the server closes the
/// task's connection (stop() does), so no handler outlives the server.
class stalling_server final : public server_observer {
 public:
  explicit stalling_server(const ipc_config& cfg) : server_(cfg) {
    server_.set_capabilities(caps_of({wire::PROCESS}));
    server_.set_observer(this);
    server_.set_handler(interprocess_server::async_handler([this](DetectionTask) -> asio::awaitable<DetectionResult> {
      auto wait = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                       std::chrono::steady_clock::time_point::max());
      {
        const std::lock_guard lock(mutex_);
        waits_.push_back(wait);
        if (!signalled_) entered_.set_value();
        signalled_ = true;
      }
      std::error_code ec;
      co_await wait->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      co_return DetectionResult();  // the connection is gone: nobody receives it
    }));
  }
  stalling_server(const stalling_server&) = delete;
  stalling_server& operator=(const stalling_server&) = delete;
  ~stalling_server() override { server_.stop(); }

  void connection_closed(std::string_view /*reason*/) override {
    const std::lock_guard lock(mutex_);
    for (const auto& weak : waits_) {
      if (auto wait = weak.lock()) asio::post(wait->get_executor(), [wait] { wait->cancel(); });
    }
  }

  [[nodiscard]] result<void> start() { return server_.start(); }
  void stop() { server_.stop(); }
  /// Ready once a task has reached the handler.
  std::future<void> entered() { return entered_.get_future(); }

 private:
  std::mutex mutex_;
  std::vector<std::weak_ptr<asio::steady_timer>> waits_;
  std::promise<void> entered_;
  bool signalled_ = false;
  interprocess_server server_;  // last: stopped before the members it calls back into go
};

DetectionTask process_task(const std::string& id) { return tasks::new_test_task(id, wire::ENUMERATE_PROCESSES); }

resilient_client make_client(const ipc_config& cfg, std::vector<endpoint_spec> endpoints,
                             const resilient_client_options& options, clock_source& clock) {
  auto c = resilient_client::create(cfg, std::move(endpoints), options, clock);
  if (!c) throw std::runtime_error(c.error().message());
  return std::move(c).value();
}

endpoint_stats stats_of(const resilient_client& client, std::string_view id) {
  auto s = client.stats(id);
  if (!s) throw std::runtime_error("no such endpoint");
  return *s;
}

// ---- reconnecting -------------------------------------------------------------

TEST(ResilientClient, ReconnectsWhenTheServerIsKilledMidTaskAndCompletesAgainstItsSuccessor) {
  test::temp_dir dir;
  const auto cfg = base_config(dir);
  manual_clock clock;

  stalling_server first(cfg);
  auto entered = first.entered();
  ASSERT_TRUE(first.start());

  // The client's first backoff wait lasts until the successor listens.
  std::promise<void> successor_up;
  std::shared_future<void> successor_ready = successor_up.get_future().share();
  clock.set_sleep_hook([successor_ready](clock_source::time_point) { successor_ready.wait(); });

  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);
  auto call = std::async(std::launch::async, [&client] { return client.send_task(process_task("killed-1")); });

  ASSERT_EQ(entered.wait_for(10s), std::future_status::ready);
  first.stop();
  counting_server second(cfg);
  ASSERT_TRUE(second.start());
  successor_up.set_value();

  auto r = call.get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->task_id(), "killed-1");
  EXPECT_TRUE(r->success());
  EXPECT_EQ(second.handled(), 1);
  EXPECT_GE(clock.sleeps(), 1U);
  const auto s = stats_of(client, "a");
  EXPECT_EQ(s.tasks_sent, 2U);
  EXPECT_EQ(s.tasks_failed, 1U);
  EXPECT_EQ(s.tasks_completed, 1U);
  EXPECT_EQ(s.latency.total(), 1U);
  EXPECT_EQ(s.breaker.state, breaker_state::closed);
}

TEST(ResilientClient, NonIdempotentTaskIsNotResentWhenItMayHaveRun) {
  test::temp_dir dir;
  const auto cfg = base_config(dir);
  manual_clock clock;

  stalling_server server(cfg);
  auto entered = server.entered();
  ASSERT_TRUE(server.start());

  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);
  call_options once;
  once.idempotent = false;
  auto call = std::async(std::launch::async, [&] { return client.send_task(process_task("once-1"), once); });
  ASSERT_EQ(entered.wait_for(10s), std::future_status::ready);
  server.stop();

  auto r = call.get();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::peer_closed)) << r.error().message();
  EXPECT_THAT(r.error().message(), HasSubstr("not idempotent"));
  EXPECT_EQ(stats_of(client, "a").tasks_sent, 1U);
  EXPECT_EQ(clock.sleeps(), 0U);
}

TEST(ResilientClient, ServerRestartBetweenCallsIsInvisibleToTheCaller) {
  test::temp_dir dir;
  const auto cfg = base_config(dir);
  manual_clock clock;
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);

  auto first = std::make_unique<counting_server>(cfg);
  ASSERT_TRUE(first->start());
  ASSERT_TRUE(client.send_task(process_task("r-1")));
  first.reset();  // closes the pooled connection's other end
  counting_server second(cfg);
  ASSERT_TRUE(second.start());

  auto r = client.send_task(process_task("r-2"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(second.handled(), 1);
  const auto s = stats_of(client, "a");
  EXPECT_EQ(s.stale_connections_replaced, 1U);
  EXPECT_EQ(s.tasks_failed, 0U);
  EXPECT_EQ(s.breaker.consecutive_failures, 0U);
  EXPECT_EQ(clock.sleeps(), 0U);
}

TEST(ResilientClient, NonIdempotentTaskChecksAReusedConnectionBeforeSending) {
  test::temp_dir dir;
  const auto cfg = base_config(dir);
  manual_clock clock;
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);
  call_options once;
  once.idempotent = false;

  auto first = std::make_unique<counting_server>(cfg);
  ASSERT_TRUE(first->start());
  ASSERT_TRUE(client.send_task(process_task("n-1"), once));  // fresh connection: no check
  const auto control_before = stats_of(client, "a").control_tasks_sent;
  first.reset();
  counting_server second(cfg);
  ASSERT_TRUE(second.start());

  auto r = client.send_task(process_task("n-2"), once);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(second.handled(), 1);
  const auto s = stats_of(client, "a");
  EXPECT_EQ(s.stale_connections_replaced, 1U);           // found by the health check, not by the task
  EXPECT_EQ(s.control_tasks_sent, control_before + 2U);  // the check on the dead connection, then on the new one
  EXPECT_EQ(s.tasks_sent, 2U);
}

TEST(ResilientClient, ServerBusyAnswersAreRetriedUntilASlotFrees) {
  test::temp_dir dir;
  auto cfg = base_config(dir);
  cfg.max_connections = 1;
  cfg.client.max_attempts = 100000;
  cfg.client.breaker_failure_threshold = 1000000;
  counting_server server(cfg);
  ASSERT_TRUE(server.start());

  // The one slot is taken by a connection the server has certainly accepted.
  blocking_client holder(cfg);
  ASSERT_TRUE(holder.send_task(tasks::new_builtin_task("hold", health_check_metadata)));

  manual_clock clock;
  std::atomic<bool> released{false};
  clock.set_sleep_hook([&](clock_source::time_point) {
    if (!released.exchange(true)) holder.close();
  });
  auto options = options_with(balancing_strategy::priority);
  options.call_deadline = milliseconds(1000LL * 1000 * 1000);
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options, clock);
  auto r = client.send_task(process_task("busy-1"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(server.handled(), 1);
  EXPECT_GE(server.server().stats().connections_rejected_busy, 1U);
  EXPECT_TRUE(released.load());
}

// ---- circuit breaker ---------------------------------------------------------

TEST(ResilientClient, BreakerOpensFailsFastHalfOpensAndClosesOnceTheServerIsBack) {
  test::temp_dir dir;
  auto cfg = base_config(dir);
  cfg.client.max_attempts = 1;
  manual_clock clock;
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);

  for (int i = 0; i < 3; ++i) {
    auto r = client.send_task(process_task("down-" + std::to_string(i)));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::server_not_found)) << r.error().message();
  }
  auto s = stats_of(client, "a");
  EXPECT_EQ(s.connection_attempts, 3U);
  EXPECT_EQ(s.connection_failures, 3U);
  EXPECT_EQ(s.breaker.state, breaker_state::open);

  // Open: fails at once, without connecting.
  auto fast = client.send_task(process_task("fast"));
  ASSERT_FALSE(fast);
  EXPECT_TRUE(fast.error().is(errc::circuit_breaker_open));
  EXPECT_THAT(fast.error().message(), HasSubstr("endpoint a"));
  EXPECT_THAT(fast.error().message(), HasSubstr("half-opens in 1000 ms"));
  EXPECT_EQ(stats_of(client, "a").connection_attempts, 3U);

  // Half-open while still down: the probe fails and the recovery time restarts.
  clock.advance(1000ms);
  EXPECT_EQ(stats_of(client, "a").breaker.state, breaker_state::half_open);
  ASSERT_FALSE(client.send_task(process_task("probe-down")));
  EXPECT_EQ(stats_of(client, "a").connection_attempts, 4U);
  EXPECT_EQ(stats_of(client, "a").breaker.state, breaker_state::open);
  clock.advance(999ms);
  EXPECT_TRUE(client.send_task(process_task("still-open")).error().is(errc::circuit_breaker_open));
  clock.advance(1ms);

  // Back: two successful probes (breaker_success_threshold) close it.
  counting_server server(cfg);
  ASSERT_TRUE(server.start());
  ASSERT_TRUE(client.send_task(process_task("probe-1")));
  EXPECT_EQ(stats_of(client, "a").breaker.state, breaker_state::half_open);
  ASSERT_TRUE(client.send_task(process_task("probe-2")));
  s = stats_of(client, "a");
  EXPECT_EQ(s.breaker.state, breaker_state::closed);
  EXPECT_EQ(s.breaker.opened, 2U);
  EXPECT_EQ(s.breaker.half_opened, 2U);
  EXPECT_EQ(s.breaker.closed, 1U);
  EXPECT_EQ(s.breaker.transitions, 5U);
  EXPECT_EQ(server.handled(), 2);
}

TEST(ResilientClient, SuccessFalseAnswerDoesNotCountAgainstTheBreaker) {
  test::temp_dir dir;
  auto cfg = base_config(dir);
  cfg.client.breaker_failure_threshold = 2;
  interprocess_server server(cfg);
  server.set_capabilities(caps_of({wire::PROCESS}));
  server.set_handler([](const DetectionTask& task) {
    return results::failure(task.task_id(), wire::HANDLER_FAILED, "no such process");
  });
  ASSERT_TRUE(server.start());
  manual_clock clock;
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);

  for (int i = 0; i < 5; ++i) {
    auto r = client.send_task(process_task("f-" + std::to_string(i)));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_FALSE(r->success());
    EXPECT_EQ(r->error_code(), wire::HANDLER_FAILED);
  }
  const auto s = stats_of(client, "a");
  EXPECT_EQ(s.breaker.state, breaker_state::closed);
  EXPECT_EQ(s.breaker.consecutive_failures, 0U);
  EXPECT_EQ(s.breaker.transitions, 0U);
  EXPECT_EQ(s.tasks_completed, 5U);
  EXPECT_EQ(s.tasks_sent, 5U);  // answered, so never sent again
  EXPECT_DOUBLE_EQ(s.health_score, 1.0);
}

TEST(ResilientClient, ProtocolErrorsFailAtOnceWithoutRetrying) {
  test::temp_dir dir;
  auto cfg = base_config(dir);
  cfg.client.max_attempts = 10;
  counting_server server(cfg);
  ASSERT_TRUE(server.start());
  auto client_cfg = cfg;
  client_cfg.crc_variant = crc32_variant::ieee;  // the peers disagree on the checksum
  manual_clock clock;
  auto client =
      make_client(client_cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);

  auto r = client.send_task(process_task("crc-1"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::crc_mismatch)) << r.error().message();
  const auto s = stats_of(client, "a");
  EXPECT_EQ(s.connection_attempts, 1U);
  EXPECT_EQ(s.control_tasks_sent, 1U);  // the capability negotiation, which already failed
  EXPECT_EQ(clock.sleeps(), 0U);
  EXPECT_EQ(server.handled(), 0);
}

// ---- failover and load balancing ---------------------------------------------

TEST(ResilientClient, FailsOverToTheNextPriorityAndComesBackWhenTheFirstReturns) {
  test::temp_dir dir;
  auto cfg_a = base_config(dir, "a.sock");
  auto cfg_b = base_config(dir, "b.sock");
  cfg_a.client.breaker_failure_threshold = 2;
  manual_clock clock;
  auto client = make_client(cfg_a, {{"a", cfg_a.endpoint_path, 0, 1}, {"b", cfg_b.endpoint_path, 1, 1}},
                            options_with(balancing_strategy::priority), clock);

  auto a = std::make_unique<counting_server>(cfg_a);
  counting_server b(cfg_b);
  ASSERT_TRUE(a->start());
  ASSERT_TRUE(b.start());
  ASSERT_TRUE(client.send_task(process_task("p-1")));
  EXPECT_EQ(a->handled(), 1);
  EXPECT_EQ(b.handled(), 0);

  a->stop();
  ASSERT_TRUE(client.send_task(process_task("p-2")));  // a fails, b answers at once
  ASSERT_TRUE(client.send_task(process_task("p-3")));  // a fails again: its breaker opens
  EXPECT_EQ(b.handled(), 2);
  auto sa = stats_of(client, "a");
  EXPECT_EQ(sa.breaker.state, breaker_state::open);
  const auto attempts_when_opened = sa.connection_attempts;
  EXPECT_LT(sa.health_score, 1.0);

  ASSERT_TRUE(client.send_task(process_task("p-4")));  // a is not even tried
  EXPECT_EQ(b.handled(), 3);
  EXPECT_EQ(stats_of(client, "a").connection_attempts, attempts_when_opened);
  EXPECT_EQ(clock.sleeps(), 0U);  // failover needs no backoff

  a.reset();
  counting_server a2(cfg_a);
  ASSERT_TRUE(a2.start());
  clock.advance(milliseconds(cfg_a.client.breaker_recovery_ms));
  ASSERT_TRUE(client.send_task(process_task("p-5")));  // probe 1
  ASSERT_TRUE(client.send_task(process_task("p-6")));  // probe 2: closed
  ASSERT_TRUE(client.send_task(process_task("p-7")));
  EXPECT_EQ(a2.handled(), 3);
  EXPECT_EQ(b.handled(), 3);
  EXPECT_EQ(stats_of(client, "a").breaker.state, breaker_state::closed);
}

struct balance_fixture {
  explicit balance_fixture(const test::temp_dir& dir)
      : cfg_a(base_config(dir, "a.sock")), cfg_b(base_config(dir, "b.sock")), a(cfg_a), b(cfg_b) {
    if (!a.start() || !b.start()) throw std::runtime_error("servers did not start");
  }
  ipc_config cfg_a;
  ipc_config cfg_b;
  counting_server a;
  counting_server b;
};

void send_many(resilient_client& client, int n) {
  for (int i = 0; i < n; ++i) {
    auto r = client.send_task(process_task("lb-" + std::to_string(i)));
    ASSERT_TRUE(r) << r.error().message();
  }
}

TEST(ResilientClient, RoundRobinSharesTasksEqually) {
  test::temp_dir dir;
  balance_fixture f(dir);
  manual_clock clock;
  auto client = make_client(f.cfg_a, {{"a", f.cfg_a.endpoint_path, 0, 1}, {"b", f.cfg_b.endpoint_path, 0, 1}},
                            options_with(balancing_strategy::round_robin), clock);
  send_many(client, 20);
  EXPECT_EQ(f.a.handled(), 10);
  EXPECT_EQ(f.b.handled(), 10);
}

TEST(ResilientClient, WeightedSharesTasksInProportionToTheWeights) {
  test::temp_dir dir;
  balance_fixture f(dir);
  manual_clock clock;
  auto client = make_client(f.cfg_a, {{"a", f.cfg_a.endpoint_path, 0, 3}, {"b", f.cfg_b.endpoint_path, 0, 1}},
                            options_with(balancing_strategy::weighted), clock);
  send_many(client, 40);
  EXPECT_EQ(f.a.handled(), 30);
  EXPECT_EQ(f.b.handled(), 10);
}

TEST(ResilientClient, PrioritySendsEverythingToTheFirstWhileItIsHealthy) {
  test::temp_dir dir;
  balance_fixture f(dir);
  manual_clock clock;
  auto client = make_client(f.cfg_a, {{"b", f.cfg_b.endpoint_path, 5, 1}, {"a", f.cfg_a.endpoint_path, 1, 1}},
                            options_with(balancing_strategy::priority), clock);
  send_many(client, 20);
  EXPECT_EQ(f.a.handled(), 20);
  EXPECT_EQ(f.b.handled(), 0);
}

TEST(ResilientClient, ConcurrentCallersShareThePools) {
  test::temp_dir dir;
  balance_fixture f(dir);
  manual_clock clock;
  auto client = make_client(f.cfg_a, {{"a", f.cfg_a.endpoint_path, 0, 1}, {"b", f.cfg_b.endpoint_path, 0, 1}},
                            options_with(balancing_strategy::round_robin), clock);
  constexpr int threads = 4;
  constexpr int per_thread = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        if (client.send_task(process_task(fmt::format("c-{}-{}", t, i)))) ok.fetch_add(1);
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(ok.load(), threads * per_thread);
  EXPECT_EQ(f.a.handled() + f.b.handled(), threads * per_thread);
  EXPECT_EQ(f.a.handled(), threads * per_thread / 2);
  for (const auto& s : client.stats()) {
    EXPECT_LE(s.idle_connections, client.options().max_idle_connections);
    EXPECT_LE(s.connection_attempts, static_cast<std::uint64_t>(threads));
    EXPECT_EQ(s.tasks_completed, static_cast<std::uint64_t>(threads * per_thread / 2));
  }
}

// ---- deadline ----------------------------------------------------------------

TEST(ResilientClient, DeadlineBoundsACallAgainstADeadEndpointWhateverMaxAttempts) {
  test::temp_dir dir;
  auto cfg = base_config(dir);
  cfg.client.max_attempts = 1000000;
  cfg.client.backoff_base_ms = 100;
  cfg.client.backoff_max_ms = 1000;
  cfg.client.breaker_failure_threshold = 1000000;
  manual_clock clock;
  auto options = options_with(balancing_strategy::priority);
  options.call_deadline = 5000ms;
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options, clock);

  const auto start = clock.now();
  auto r = client.send_task(process_task("dead-1"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::timeout)) << r.error().message();
  EXPECT_THAT(r.error().message(), HasSubstr("deadline of 5000 ms"));
  EXPECT_THAT(r.error().message(), HasSubstr("attempt(s)"));
  EXPECT_THAT(r.error().message(), HasSubstr("server not found"));
  EXPECT_EQ(clock.now() - start, 5000ms);  // the last wait was cut to the time left
  const auto attempts = stats_of(client, "a").connection_attempts;
  EXPECT_GE(attempts, 5U);
  EXPECT_LT(attempts, 1000U);

  // A per-call deadline overrides the client's.
  const auto again = clock.now();
  call_options quick;
  quick.deadline = 300ms;
  auto q = client.send_task(process_task("dead-2"), quick);
  ASSERT_FALSE(q);
  EXPECT_TRUE(q.error().is(errc::timeout));
  EXPECT_EQ(clock.now() - again, 300ms);
}

TEST(ResilientClient, MaxAttemptsEndsTheCallWithTheLastError) {
  test::temp_dir dir;
  auto cfg = base_config(dir);
  cfg.client.max_attempts = 4;
  cfg.client.breaker_failure_threshold = 100;
  manual_clock clock;
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);
  auto r = client.send_task(process_task("x-1"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::server_not_found));
  EXPECT_THAT(r.error().message(), HasSubstr("after 4 attempt(s)"));
  EXPECT_EQ(stats_of(client, "a").connection_attempts, 4U);
  EXPECT_EQ(clock.sleeps(), 3U);
  EXPECT_LE(clock.slept(), 10ms + 20ms + 40ms);
}

// ---- capabilities ------------------------------------------------------------

TEST(ResilientClient, RoutesTasksByTheDomainsEachServerAnnounces) {
  test::temp_dir dir;
  const auto cfg_p = base_config(dir, "p.sock");
  const auto cfg_n = base_config(dir, "n.sock");
  counting_server processes(cfg_p, caps_of({wire::PROCESS}));
  counting_server network(cfg_n, caps_of({wire::NETWORK, wire::FILESYSTEM}));
  ASSERT_TRUE(processes.start());
  ASSERT_TRUE(network.start());
  manual_clock clock;
  auto client = make_client(cfg_p, {{"p", cfg_p.endpoint_path, 0, 1}, {"n", cfg_n.endpoint_path, 1, 1}},
                            options_with(balancing_strategy::priority), clock);

  ASSERT_TRUE(client.send_task(tasks::new_test_task("net-1", wire::MONITOR_NETWORK_CONNECTIONS)));
  ASSERT_TRUE(client.send_task(tasks::new_test_task("file-1", wire::TRACK_FILE_OPERATIONS)));
  ASSERT_TRUE(client.send_task(process_task("proc-1")));
  EXPECT_EQ(network.handled(), 2);
  EXPECT_EQ(processes.handled(), 1);

  auto perf = client.send_task(tasks::new_test_task("perf-1", wire::COLLECT_PERFORMANCE_METRICS));
  ASSERT_FALSE(perf);
  EXPECT_TRUE(perf.error().is(errc::unsupported_task));
  EXPECT_THAT(perf.error().message(), HasSubstr("COLLECT_PERFORMANCE_METRICS"));
  EXPECT_THAT(perf.error().message(), HasSubstr("PERFORMANCE"));
  EXPECT_THAT(perf.error().message(), HasSubstr("p supports [PROCESS]"));
  EXPECT_THAT(perf.error().message(), HasSubstr("n supports [NETWORK, FILESYSTEM]"));
  EXPECT_EQ(network.handled() + processes.handled(), 3);
  // Not the endpoints' fault.
  EXPECT_EQ(stats_of(client, "p").breaker.consecutive_failures, 0U);
  EXPECT_EQ(stats_of(client, "n").breaker.consecutive_failures, 0U);
}

TEST(ResilientClient, RenegotiatesCapabilitiesOlderThanTheMaxAge) {
  test::temp_dir dir;
  const auto cfg = base_config(dir);
  counting_server server(cfg);
  ASSERT_TRUE(server.start());
  manual_clock clock;
  auto options = options_with(balancing_strategy::priority);
  options.capabilities_max_age = 1000ms;
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options, clock);

  ASSERT_TRUE(client.send_task(process_task("c-1")));
  ASSERT_TRUE(client.send_task(process_task("c-2")));
  EXPECT_EQ(stats_of(client, "a").control_tasks_sent, 1U);
  ASSERT_TRUE(stats_of(client, "a").capabilities);
  EXPECT_TRUE(supports(*stats_of(client, "a").capabilities, wire::VERIFY_EXECUTABLE));
  clock.advance(1000ms);
  ASSERT_TRUE(client.send_task(process_task("c-3")));
  EXPECT_EQ(stats_of(client, "a").control_tasks_sent, 2U);

  auto caps = client.negotiate_capabilities("a");
  ASSERT_TRUE(caps) << caps.error().message();
  EXPECT_EQ(caps->supported_domains_size(), 1);
  EXPECT_EQ(stats_of(client, "a").control_tasks_sent, 3U);
  EXPECT_TRUE(client.negotiate_capabilities("nope").error().is(errc::invalid_config));
}

TEST(ResilientClient, BuiltinTasksGoAnywhere) {
  test::temp_dir dir;
  const auto cfg = base_config(dir);
  counting_server server(cfg, CollectionCapabilities());  // announces nothing
  ASSERT_TRUE(server.start());
  manual_clock clock;
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);
  auto health = client.send_task(tasks::new_builtin_task("h-1", health_check_metadata));
  ASSERT_TRUE(health) << health.error().message();
  EXPECT_TRUE(health->has_health());
  EXPECT_TRUE(client.send_task(process_task("p-1")).error().is(errc::unsupported_task));
}

// ---- pooling -----------------------------------------------------------------

TEST(ResilientClient, ClosesAPooledConnectionBeforeTheServerIdleTimeoutCould) {
  test::temp_dir dir;
  const auto cfg = base_config(dir);  // read_timeout_ms 10000: pooled connections live 9000 ms
  counting_server server(cfg);
  ASSERT_TRUE(server.start());
  manual_clock clock;
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);

  ASSERT_TRUE(client.send_task(process_task("i-1")));
  clock.advance(8999ms);
  ASSERT_TRUE(client.send_task(process_task("i-2")));
  EXPECT_EQ(stats_of(client, "a").connection_attempts, 1U);
  clock.advance(9001ms);
  ASSERT_TRUE(client.send_task(process_task("i-3")));
  const auto s = stats_of(client, "a");
  EXPECT_EQ(s.connection_attempts, 2U);
  EXPECT_EQ(s.idle_connections_closed, 1U);
  EXPECT_EQ(s.stale_connections_replaced, 0U);
  EXPECT_EQ(s.idle_connections, 1U);
  EXPECT_GT(s.bytes_out, 0U);
  EXPECT_GT(s.bytes_in, 0U);

  client.close_idle_connections();
  EXPECT_EQ(stats_of(client, "a").idle_connections, 0U);
}

// ---- the API's checks --------------------------------------------------------

TEST(ResilientClient, CreateRejectsBadEndpointLists) {
  test::temp_dir dir;
  const auto cfg = base_config(dir);
  const auto path = cfg.endpoint_path;
  EXPECT_TRUE(resilient_client::create(cfg, std::vector<endpoint_spec>{}).error().is(errc::invalid_config));
  EXPECT_TRUE(resilient_client::create(cfg, {{"", path, 0, 1}}).error().is(errc::invalid_config));
  EXPECT_TRUE(resilient_client::create(cfg, {{"a", path, 0, 1}, {"a", path, 0, 1}}).error().is(errc::invalid_config));
  EXPECT_TRUE(resilient_client::create(cfg, {{"a", path, 0, 0}}).error().is(errc::invalid_config));
  EXPECT_TRUE(resilient_client::create(cfg, {{"a", "", 0, 1}}).error().is(errc::invalid_config));
  auto zero = cfg;
  zero.client.max_attempts = 0;
  EXPECT_TRUE(resilient_client::create(zero, {{"a", path, 0, 1}}).error().is(errc::invalid_config));
  auto single = resilient_client::create(cfg);
  ASSERT_TRUE(single);
  EXPECT_TRUE(single->stats("default"));
}

TEST(ResilientClient, RejectsInvalidTasksBeforeAnyIo) {
  test::temp_dir dir;
  const auto cfg = base_config(dir);
  manual_clock clock;
  auto client = make_client(cfg, {{"a", cfg.endpoint_path, 0, 1}}, options_with(balancing_strategy::priority), clock);
  EXPECT_TRUE(client.send_task(process_task("")).error().is(errc::invalid_task));
  auto big = process_task("big");
  big.set_metadata(std::string(cfg.max_frame_bytes + 1, 'x'));
  EXPECT_TRUE(client.send_task(big).error().is(errc::too_large));
  EXPECT_EQ(stats_of(client, "a").connection_attempts, 0U);
}

TEST(TaskRouting, EveryCurrentTypeIsIdempotentAndNeedsItsDomain) {
  for (int t = wire::TaskType_MIN; t <= wire::TaskType_MAX; ++t) {
    const auto type = static_cast<TaskType>(t);
    EXPECT_TRUE(is_idempotent(type)) << task_type_name(t);
    EXPECT_TRUE(required_domain(type).has_value()) << task_type_name(t);
  }
  EXPECT_EQ(required_domain(wire::CHECK_PROCESS_HASH), wire::PROCESS);
  EXPECT_EQ(required_domain(wire::MONITOR_PROCESS_TREE), wire::PROCESS);
  EXPECT_EQ(required_domain(wire::VERIFY_EXECUTABLE), wire::PROCESS);
  EXPECT_EQ(required_domain(wire::MONITOR_NETWORK_CONNECTIONS), wire::NETWORK);
  EXPECT_EQ(required_domain(wire::TRACK_FILE_OPERATIONS), wire::FILESYSTEM);
  EXPECT_EQ(required_domain(wire::COLLECT_PERFORMANCE_METRICS), wire::PERFORMANCE);
  EXPECT_FALSE(is_idempotent(static_cast<TaskType>(99)));
  EXPECT_FALSE(supports(caps_of({wire::NETWORK}), wire::ENUMERATE_PROCESSES));
  EXPECT_TRUE(supports(caps_of({wire::NETWORK}), wire::MONITOR_NETWORK_CONNECTIONS));
  EXPECT_EQ(to_string(balancing_strategy::weighted), "weighted");
}

}  // namespace
}  // namespace daemoneye::ipc
