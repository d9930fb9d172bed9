// interprocess_server with interprocess_client and blocking_client over real
// Unix sockets in a fresh temporary directory: handlers, concurrency,
// pipelining, handler failures and deadlines, built-in answers, the two ways
// of stopping, and the errors a client reports.
#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#ifndef _WIN32
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/client.hpp"
#include "daemoneye/ipc/server.hpp"

#include "support/temp_dir.hpp"

namespace daemoneye::ipc {
namespace {

using namespace std::chrono_literals;

/// Bound on every wait of these tests: far above any healthy latency, so that
/// a broken server fails the test instead of hanging it.
constexpr auto patience = 10s;

ipc_config test_config(const test::temp_dir& dir) {
  ipc_config cfg;
  cfg.endpoint_path = dir.endpoint("procmond.sock");
  cfg.threads = 2;
  return cfg;
}

/// The same endpoint with a client-side read deadline that never fires in a
/// healthy test (blocking_client uses read_timeout_ms as its receive timeout).
ipc_config patient_client(ipc_config cfg) {
  cfg.read_timeout_ms = 20000;
  return cfg;
}

DetectionResult echo_success(const DetectionTask& task) { return results::success(task.task_id()); }

/// A task whose answer must carry `payload-of-<id>` back: proves an answer
/// belongs to its task beyond the task_id the server echoes anyway.
DetectionTask tagged_task(const std::string& id) {
  return tasks::new_test_task(id, wire::ENUMERATE_PROCESSES, "payload-of-" + id);
}

DetectionResult answer_with_tag(const DetectionTask& task) {
  ProcessRecord record;
  record.set_name(task.metadata());
  return results::success(task.task_id(), {record});
}

/// Empty when `r` is the successful answer to tagged_task(id), else what is wrong.
std::string mismatch(const result<DetectionResult>& r, const std::string& id) {
  if (!r) return fmt::format("task {}: {}", id, r.error().message());
  if (!r->success()) return fmt::format("task {}: success=false: {}", id, r->error_message());
  if (r->task_id() != id) return fmt::format("task {} answered as {}", id, r->task_id());
  if (r->processes_size() != 1 || r->processes(0).name() != "payload-of-" + id) {
    return fmt::format("task {} got another task's payload", id);
  }
  return {};
}

/// An io_context running on its own threads, for the coroutine clients of a test.
class io_threads {
 public:
  explicit io_threads(unsigned count = 1) : work_(io_.get_executor()) {
    for (unsigned i = 0; i < count; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  io_threads(const io_threads&) = delete;
  io_threads& operator=(const io_threads&) = delete;
  ~io_threads() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  asio::any_io_executor executor() { return io_.get_executor(); }

  template <typename T>
  std::future<T> spawn(asio::awaitable<T> work) {
    return asio::co_spawn(io_, std::move(work), asio::use_future);
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

/// A server at a fresh endpoint whose handler answers each task with its tag
/// (answer_with_tag); not started.
struct tagging_server {
  tagging_server() { server.set_handler(answer_with_tag); }
  test::temp_dir dir;
  ipc_config cfg = test_config(dir);
  interprocess_server server{cfg};
};

/// Holds coroutines until `expected` of them have arrived, then releases all
/// of them at once. Its state lives on one strand.
class rendezvous {
 public:
  rendezvous(const asio::any_io_executor& executor, std::size_t expected)
      : strand_(asio::make_strand(executor)), expected_(expected) {}

  /// Completes with true once `expected` callers have arrived, or with false
  /// when that did not happen within `limit`.
  asio::awaitable<bool> arrive(std::chrono::milliseconds limit) {
    co_return co_await asio::co_spawn(strand_, wait_for_all(limit), asio::use_awaitable);
  }

  [[nodiscard]] std::size_t arrived() const noexcept { return arrived_.load(); }

 private:
  asio::awaitable<bool> wait_for_all(std::chrono::milliseconds limit) {
    if (arrived_.fetch_add(1) + 1 >= expected_) {
      open_ = true;
      for (auto* timer : waiting_) timer->cancel();
      waiting_.clear();
      co_return true;
    }
    asio::steady_timer timer(strand_, limit);
    waiting_.push_back(&timer);
    co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    std::erase(waiting_, &timer);
    co_return open_;
  }

  asio::strand<asio::any_io_executor> strand_;
  std::size_t expected_;
  std::atomic<std::size_t> arrived_{0};
  bool open_ = false;
  std::vector<asio::steady_timer*> waiting_;
};

/// Sets a promise when it goes out of scope, so that a handler blocked on it
/// is released even when the test fails early.
class release_on_exit {
 public:
  release_on_exit() : released_(promise_.get_future().share()) {}
  release_on_exit(const release_on_exit&) = delete;
  release_on_exit& operator=(const release_on_exit&) = delete;
  ~release_on_exit() { release(); }
  void release() {
    std::call_once(once_, [this] { promise_.set_value(); });
  }
  [[nodiscard]] std::shared_future<void> released() const { return released_; }

 private:
  std::promise<void> promise_;
  std::shared_future<void> released_;
  std::once_flag once_;
};

/// Records why connections closed; a test waits for a reason.
class close_recorder : public server_observer {
 public:
  void connection_closed(std::string_view reason) override {
    const std::lock_guard lock(mutex_);
    reasons_.emplace_back(reason);
    changed_.notify_all();
  }
  bool wait_for(std::string_view reason, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit,
                             [&] { return std::find(reasons_.begin(), reasons_.end(), reason) != reasons_.end(); });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> reasons_;
};

/// Counts arrivals and fulfils a promise when the `expected`-th one arrives.
class arrival_counter {
 public:
  explicit arrival_counter(int expected) : expected_(expected) {}
  void arrive() {
    if (count_.fetch_add(1) + 1 == expected_) all_.set_value();
  }
  [[nodiscard]] bool wait_all(std::chrono::milliseconds limit) {
    return future_.wait_for(limit) == std::future_status::ready;
  }
  [[nodiscard]] int count() const noexcept { return count_.load(); }

 private:
  int expected_;
  std::atomic<int> count_{0};
  std::promise<void> all_;
  std::future<void> future_ = all_.get_future();
};

// ---- basic scenario and handler kinds ---------------------------------------

TEST(InterprocessServer, AnswersTheBasicScenarioOverBothClients) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  interprocess_server server(cfg);
  server.set_handler(echo_success);
  ASSERT_TRUE(server.start());

  blocking_client blocking(cfg);
  auto r = blocking.send_task(tasks::new_test_task("test-123", wire::ENUMERATE_PROCESSES));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->task_id(), "test-123");
  EXPECT_TRUE(r->success());

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  auto fut = io.spawn(client.async_send_task(tasks::new_test_task("test-123", wire::ENUMERATE_PROCESSES)));
  ASSERT_EQ(fut.wait_for(patience), std::future_status::ready);
  auto r2 = fut.get();
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->task_id(), "test-123");
  EXPECT_TRUE(r2->success());
}

TEST(InterprocessServer, RunsACoroutineHandler) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  interprocess_server server(cfg);
  server.set_handler([](DetectionTask task) -> asio::awaitable<DetectionResult> {
    // Suspend once, as a real coroutine handler waiting on I/O would.
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    ProcessRecord record;
    record.set_name("from-coroutine:" + task.metadata());
    co_return results::success(task.task_id(), {record});
  });
  ASSERT_TRUE(server.start());

  blocking_client client(patient_client(cfg));
  auto r = client.send_task(tasks::new_test_task("co-1", wire::ENUMERATE_PROCESSES, "m"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->success());
  EXPECT_EQ(r->task_id(), "co-1");
  ASSERT_EQ(r->processes_size(), 1);
  EXPECT_EQ(r->processes(0).name(), "from-coroutine:m");
}

TEST(InterprocessServer, RunsAPlainFunctionHandler) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  interprocess_server server(cfg);
  server.set_handler([](const DetectionTask& task) {
    ProcessRecord record;
    record.set_name("from-function:" + task.metadata());
    return results::success(task.task_id(), {record});
  });
  ASSERT_TRUE(server.start());

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  auto fut =
      io.spawn(client.async_send_task(tasks::new_test_task("plain-1", wire::ENUMERATE_PROCESSES, "m"), patience));
  ASSERT_EQ(fut.wait_for(patience), std::future_status::ready);
  auto r = fut.get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->task_id(), "plain-1");
  ASSERT_EQ(r->processes_size(), 1);
  EXPECT_EQ(r->processes(0).name(), "from-function:m");
}

/// Records the thread of the server that answers (task_answered is called on
/// the connection's I/O thread).
class answering_thread : public server_observer {
 public:
  void task_answered(int /*task_type*/, std::string_view /*outcome*/, std::chrono::nanoseconds /*latency*/) override {
    const std::lock_guard lock(mutex_);
    id_ = std::this_thread::get_id();
  }
  std::thread::id id() const {
    const std::lock_guard lock(mutex_);
    return id_;
  }

 private:
  mutable std::mutex mutex_;
  std::thread::id id_;
};

/// The thread a plain-function handler ran on and the thread that answered,
/// for one task sent to a server whose handler runs as `execution` says.
std::pair<std::thread::id, std::thread::id> handler_and_io_threads(handler_execution execution) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  cfg.threads = 1;
  answering_thread io_thread;
  std::mutex mutex;
  std::thread::id handler_thread;
  interprocess_server server(cfg);
  server.set_observer(&io_thread);
  server.set_handler(
      [&](const DetectionTask& task) {
        const std::lock_guard lock(mutex);
        handler_thread = std::this_thread::get_id();
        return results::success(task.task_id());
      },
      execution);
  EXPECT_TRUE(server.start());
  blocking_client client(patient_client(cfg));
  auto r = client.send_task(tasks::new_test_task("where-1", wire::ENUMERATE_PROCESSES));
  EXPECT_TRUE(r && r->success());
  server.stop();
  const std::lock_guard lock(mutex);
  return {handler_thread, io_thread.id()};
}

TEST(InterprocessServer, PlainFunctionHandlerRunsOnTheBlockingPoolByDefault) {
  const auto [handler, io] = handler_and_io_threads(handler_execution::blocking_pool);
  EXPECT_NE(handler, std::thread::id());
  EXPECT_NE(io, std::thread::id());
  EXPECT_NE(handler, io) << "a handler that may block ran on the connection's I/O thread";
}

TEST(InterprocessServer, PooledHandlersOfOneConnectionRunInParallel) {
  // Each handler waits for the other to start: the two tasks, pipelined on
  // one connection, only both succeed when two pool threads run them at once.
  test::temp_dir dir;
  auto cfg = test_config(dir);
  cfg.threads = 2;
  arrival_counter both(2);
  interprocess_server server(cfg);
  server.set_handler([&](const DetectionTask& task) {
    both.arrive();
    if (!both.wait_all(patience)) return results::failure(task.task_id(), wire::HANDLER_FAILED, "ran alone");
    return results::success(task.task_id());
  });
  ASSERT_TRUE(server.start());

  io_threads io;
  interprocess_client client(io.executor(), patient_client(cfg));
  auto first = io.spawn(client.async_send_task(tasks::new_test_task("side-1", wire::ENUMERATE_PROCESSES)));
  auto second = io.spawn(client.async_send_task(tasks::new_test_task("side-2", wire::ENUMERATE_PROCESSES)));
  for (auto* answer : {&first, &second}) {
    ASSERT_EQ(answer->wait_for(2 * patience), std::future_status::ready);
    auto r = answer->get();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->success()) << r->error_message();
  }
  EXPECT_EQ(client.stats().connects, 1U);
  server.stop();
}

TEST(InterprocessServer, PlainFunctionHandlerRunsOnTheConnectionsThreadWhenDeclaredInline) {
  const auto [handler, io] = handler_and_io_threads(handler_execution::inline_on_io_thread);
  EXPECT_NE(handler, std::thread::id());
  EXPECT_EQ(handler, io) << "an inline handler was handed to another thread";
}

TEST(InterprocessServer, InlineHandlerAnswersPipelinedTasksWithTheirIdsAndSequenceNumbers) {
  constexpr std::size_t calls = 200;
  test::temp_dir dir;
  auto cfg = test_config(dir);
  cfg.enable_sequence_numbers = true;
  interprocess_server server(cfg);
  server.set_handler(answer_with_tag, handler_execution::inline_on_io_thread);
  ASSERT_TRUE(server.start());

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  std::vector<std::future<result<DetectionResult>>> answers;
  for (std::size_t i = 0; i < calls; ++i) {
    answers.push_back(io.spawn(client.async_send_task(tagged_task(fmt::format("inline-{}", i)), patience)));
  }
  for (std::size_t i = 0; i < calls; ++i) {
    ASSERT_EQ(answers[i].wait_for(patience), std::future_status::ready) << "call " << i << " hung";
    EXPECT_EQ(mismatch(answers[i].get(), fmt::format("inline-{}", i)), "");
  }
  EXPECT_EQ(client.stats().sequence_errors, 0U);
  EXPECT_EQ(server.stats().tasks_answered, calls);
}

TEST(InterprocessServer, ThrowingInlineHandlerIsAnsweredHandlerFailedAndTheConnectionKeepsServing) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  interprocess_server server(cfg);
  server.set_handler(
      [](const DetectionTask& task) -> DetectionResult {
        if (task.metadata() == "throw") throw std::runtime_error("inline collector exploded");
        return results::success(task.task_id());
      },
      handler_execution::inline_on_io_thread);
  ASSERT_TRUE(server.start());

  blocking_client client(patient_client(cfg));
  auto r = client.send_task(tasks::new_test_task("boom-inline", wire::ENUMERATE_PROCESSES, "throw"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->error_code(), wire::HANDLER_FAILED);
  EXPECT_EQ(r->task_id(), "boom-inline");
  EXPECT_NE(r->error_message().find("inline collector exploded"), std::string::npos) << r->error_message();

  auto after = client.send_task(tasks::new_test_task("after-boom-inline", wire::ENUMERATE_PROCESSES));
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_TRUE(after->success());
  EXPECT_EQ(after->task_id(), "after-boom-inline");
  EXPECT_EQ(server.stats().connections_accepted, 1U);
}

TEST(InterprocessServer, HandlerExceptionTextThatIsNotUtf8StillReachesTheCallerAndOthersOnTheConnection) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  interprocess_server server(cfg);
  server.set_handler(
      [](const DetectionTask& task) -> DetectionResult {
        // e.g. a std::filesystem_error quoting a path that is not UTF-8
        if (task.metadata() == "throw") throw std::runtime_error("cannot read /srv/\xFF\xFE.bin");
        return results::success(task.task_id());
      },
      handler_execution::inline_on_io_thread);
  ASSERT_TRUE(server.start());

  // Pipelined on one connection: an answer the client could not parse would fail both calls.
  io_threads io;
  interprocess_client client(io.executor(), patient_client(cfg));
  auto boom = io.spawn(client.async_send_task(tasks::new_test_task("odd-text", wire::ENUMERATE_PROCESSES, "throw")));
  auto fine = io.spawn(client.async_send_task(tasks::new_test_task("plain", wire::ENUMERATE_PROCESSES)));
  ASSERT_EQ(boom.wait_for(patience), std::future_status::ready);
  ASSERT_EQ(fine.wait_for(patience), std::future_status::ready);
  auto r = boom.get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->error_code(), wire::HANDLER_FAILED);
  EXPECT_NE(r->error_message().find("cannot read /srv/\xEF\xBF\xBD\xEF\xBF\xBD.bin"), std::string::npos)
      << r->error_message();
  auto other = fine.get();
  ASSERT_TRUE(other) << other.error().message();
  EXPECT_TRUE(other->success());
  EXPECT_EQ(client.stats().connects, 1U);
}

/// Sends two tasks, one after the other on one connection, to a server whose
/// in-place handler runs as `execution`, and checks that the handler got the
/// same result message both times, cleared.
void check_in_place_handler_reuses_a_cleared_result(handler_execution execution) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  std::mutex mutex;
  std::vector<const DetectionResult*> seen;
  std::vector<bool> arrived_empty;
  interprocess_server server(cfg);
  server.set_handler(
      [&](const DetectionTask& task, DetectionResult& result) {
        {
          const std::lock_guard lock(mutex);
          seen.push_back(&result);
          arrived_empty.push_back(result.ByteSizeLong() == 0);
        }
        result.set_success(true);
        result.set_task_id(task.task_id());
        result.add_processes()->set_name("payload-of-" + task.task_id());
      },
      execution);
  ASSERT_TRUE(server.start());

  blocking_client client(patient_client(cfg));
  for (const std::string id : {"in-place-1", "in-place-2"}) {
    auto r = client.send_task(tagged_task(id));
    EXPECT_EQ(mismatch(r, id), "");
  }
  server.stop();
  const std::lock_guard lock(mutex);
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0], seen[1]) << "the second task got a fresh result message";
  EXPECT_EQ(arrived_empty, (std::vector<bool>{true, true})) << "the reused result was not cleared";
}

TEST(InterprocessServer, InlineInPlaceHandlerFillsAReusedClearedResult) {
  check_in_place_handler_reuses_a_cleared_result(handler_execution::inline_on_io_thread);
}

TEST(InterprocessServer, PooledInPlaceHandlerFillsAReusedClearedResult) {
  check_in_place_handler_reuses_a_cleared_result(handler_execution::blocking_pool);
}

TEST(InterprocessServer, ThrowingInPlaceHandlerIsAnsweredHandlerFailedNotWithWhatItHalfWrote) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  interprocess_server server(cfg);
  server.set_handler(
      [](const DetectionTask& task, DetectionResult& result) {
        result.set_success(true);
        result.add_processes()->set_name("half-written");
        if (task.metadata() == "throw") throw std::runtime_error("in-place collector exploded");
        result.set_task_id(task.task_id());
      },
      handler_execution::inline_on_io_thread);
  ASSERT_TRUE(server.start());

  blocking_client client(patient_client(cfg));
  auto r = client.send_task(tasks::new_test_task("boom-in-place", wire::ENUMERATE_PROCESSES, "throw"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->error_code(), wire::HANDLER_FAILED);
  EXPECT_EQ(r->processes_size(), 0);
  auto after = client.send_task(tasks::new_test_task("after-in-place", wire::ENUMERATE_PROCESSES));
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_TRUE(after->success());
  EXPECT_EQ(after->processes_size(), 1);
}

TEST(InterprocessServer, CoroutineInPlaceHandlerFillsAReusedClearedResult) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  // Touched only on the connection's thread, one task at a time.
  std::vector<const DetectionResult*> seen;
  std::vector<bool> arrived_empty;
  interprocess_server server(cfg);
  server.set_handler([&](const DetectionTask& task, DetectionResult& result) -> asio::awaitable<void> {
    seen.push_back(&result);
    arrived_empty.push_back(result.ByteSizeLong() == 0);
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    result.set_success(true);
    result.set_task_id(task.task_id());
    result.add_processes()->set_name(task.metadata());
    if (task.task_id() == "boom") throw std::runtime_error("in-place coroutine exploded");
  });
  ASSERT_TRUE(server.start());

  blocking_client client(patient_client(cfg));
  for (const std::string id : {"coroutine-in-place-1", "coroutine-in-place-2"}) {
    EXPECT_EQ(mismatch(client.send_task(tagged_task(id)), id), "");
  }
  // What a failed handler half wrote is neither sent nor left for the next task.
  auto boom = client.send_task(tagged_task("boom"));
  ASSERT_TRUE(boom) << boom.error().message();
  EXPECT_EQ(boom->error_code(), wire::HANDLER_FAILED);
  EXPECT_NE(boom->error_message().find("in-place coroutine exploded"), std::string::npos) << boom->error_message();
  EXPECT_EQ(boom->processes_size(), 0);
  EXPECT_EQ(mismatch(client.send_task(tagged_task("after-boom")), "after-boom"), "");
  server.stop();
  ASSERT_EQ(seen.size(), 4U);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), seen.front()), 4) << "a later task got a fresh result message";
  EXPECT_EQ(arrived_empty, (std::vector<bool>{true, true, true, true})) << "the reused result was not cleared";
}

TEST(InterprocessServer, PipelinedCoroutineInPlaceHandlersKeepTheirOwnTaskAndResultWhileSuspended) {
  // All tasks are decoded while the first handlers are suspended: each must
  // still see its own task, and its answer must hold only what it wrote.
  constexpr std::size_t calls = 32;
  test::temp_dir dir;
  auto cfg = test_config(dir);
  cfg.flow_control.max_in_flight = calls;
  io_threads io;
  // One per round; the second round runs on recycled messages.
  std::array<rendezvous, 2> all_in_flight{rendezvous(io.executor(), calls), rendezvous(io.executor(), calls)};
  interprocess_server server(cfg);
  server.set_handler([&](const DetectionTask& task, DetectionResult& result) -> asio::awaitable<void> {
    const std::string id_before = task.task_id();
    result.add_processes()->set_name(task.metadata());
    auto& round = all_in_flight.at(task.task_id().starts_with("suspended-1-") ? 1 : 0);
    if (!co_await round.arrive(patience)) throw std::runtime_error("the other tasks never arrived");
    if (task.task_id() != id_before) throw std::runtime_error("the task changed while its handler was suspended");
    result.set_success(true);
  });
  ASSERT_TRUE(server.start());

  interprocess_client client(io.executor(), cfg);
  std::vector<std::future<result<DetectionResult>>> answers;
  for (std::size_t round = 0; round < all_in_flight.size(); ++round) {
    answers.clear();
    for (std::size_t i = 0; i < calls; ++i) {
      const auto id = fmt::format("suspended-{}-{}", round, i);
      answers.push_back(io.spawn(client.async_send_task(tagged_task(id), 2 * patience)));
    }
    for (std::size_t i = 0; i < calls; ++i) {
      ASSERT_EQ(answers[i].wait_for(2 * patience), std::future_status::ready) << "call " << i << " hung";
      EXPECT_EQ(mismatch(answers[i].get(), fmt::format("suspended-{}-{}", round, i)), "");
    }
  }
  EXPECT_EQ(server.stats().connections_accepted, 1U);
  server.stop();
}

TEST(InterprocessServer, CoroutineInPlaceHandlerFinishingAfterItsTimeoutLeavesNothingForTheNextTask) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  cfg.handler_timeout_ms = 300;
  std::promise<void> slow_finished;
  interprocess_server server(cfg);
  server.set_handler([&](const DetectionTask& task, DetectionResult& result) -> asio::awaitable<void> {
    if (result.ByteSizeLong() != 0) throw std::runtime_error("the recycled result was not cleared");
    if (task.metadata() == "slow") {
      // Outlives its deadline, then writes into the result it still owns.
      asio::steady_timer delay(co_await asio::this_coro::executor,
                               2 * std::chrono::milliseconds(cfg.handler_timeout_ms));
      co_await delay.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      result.add_processes()->set_name("written-after-the-timeout");
      result.set_task_id("late");
      slow_finished.set_value();
      co_return;
    }
    result.set_success(true);
    result.add_processes()->set_name(task.metadata());
  });
  ASSERT_TRUE(server.start());

  blocking_client client(patient_client(cfg));
  auto slow = client.send_task(tasks::new_test_task("slow", wire::ENUMERATE_PROCESSES, "slow"));
  ASSERT_FALSE(slow);
  EXPECT_TRUE(slow.error().is(errc::handler_timeout)) << slow.error().message();
  // Answered while the slow handler still holds its task and result.
  EXPECT_EQ(mismatch(client.send_task(tagged_task("meanwhile")), "meanwhile"), "");
  ASSERT_EQ(slow_finished.get_future().wait_for(patience), std::future_status::ready);
  // The slow handler's messages are recycled once it has returned, before
  // this task is read; its late writes must not show.
  EXPECT_EQ(mismatch(client.send_task(tagged_task("after-slow")), "after-slow"), "");
  EXPECT_EQ(server.stats().handler_timeouts, 1U);
  EXPECT_EQ(server.stats().connections_accepted, 1U);
}

// ---- concurrency -------------------------------------------------------------

constexpr int concurrent_clients = 8;
constexpr int tasks_per_client = 1000;

TEST(InterprocessServer, EightBlockingClientsOfAThousandTasksEachGetTheirOwnAnswers) {
  tagging_server tagging;
  auto& server = tagging.server;
  ASSERT_TRUE(server.start());
  const ipc_config& cfg = tagging.cfg;

  std::vector<std::future<std::pair<int, std::string>>> outcomes;  // (mismatches, first mismatch)
  for (int c = 0; c < concurrent_clients; ++c) {
    outcomes.push_back(std::async(std::launch::async, [c, cfg = patient_client(cfg)] {
      blocking_client client(cfg);
      std::pair<int, std::string> out{0, {}};
      for (int t = 0; t < tasks_per_client; ++t) {
        const auto id = fmt::format("client-{}-task-{}", c, t);
        if (auto wrong = mismatch(client.send_task(tagged_task(id)), id); !wrong.empty()) {
          if (out.first++ == 0) out.second = wrong;
        }
      }
      return out;
    }));
  }
  for (int c = 0; c < concurrent_clients; ++c) {
    ASSERT_EQ(outcomes[c].wait_for(4 * patience), std::future_status::ready) << "client " << c << " hung";
    const auto [wrong, first] = outcomes[c].get();
    EXPECT_EQ(wrong, 0) << "client " << c << ": " << first;
  }
  EXPECT_EQ(server.stats().tasks_answered, static_cast<std::uint64_t>(concurrent_clients * tasks_per_client));
}

/// Sends the tagged tasks lane, lane + lanes, ... of one client, each after the
/// previous answer; returns (mismatches, first mismatch).
asio::awaitable<std::pair<int, std::string>> send_tagged_tasks(interprocess_client& client, int client_index, int lane,
                                                               int lanes) {
  std::pair<int, std::string> out{0, {}};
  for (int t = lane; t < tasks_per_client; t += lanes) {
    const auto id = fmt::format("client-{}-task-{}", client_index, t);
    auto r = co_await client.async_send_task(tagged_task(id), patience);
    if (auto wrong = mismatch(r, id); !wrong.empty()) {
      if (out.first++ == 0) out.second = wrong;
    }
  }
  co_return out;
}

TEST(InterprocessServer, EightCoroutineClientsOfAThousandTasksEachGetTheirOwnAnswers) {
  // Each client is shared by a few concurrent callers, as the client is meant
  // to be used; their calls are pipelined on its one connection.
  constexpr int lanes = 4;
  test::temp_dir dir;
  auto cfg = test_config(dir);
  interprocess_server server(cfg);
  server.set_handler([](DetectionTask task) -> asio::awaitable<DetectionResult> { co_return answer_with_tag(task); });
  ASSERT_TRUE(server.start());

  io_threads io(2);
  std::vector<std::unique_ptr<interprocess_client>> clients;
  std::vector<std::future<std::pair<int, std::string>>> outcomes;
  for (int c = 0; c < concurrent_clients; ++c) {
    clients.push_back(std::make_unique<interprocess_client>(io.executor(), cfg));
    for (int lane = 0; lane < lanes; ++lane) {
      outcomes.push_back(io.spawn(send_tagged_tasks(*clients.back(), c, lane, lanes)));
    }
  }
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    ASSERT_EQ(outcomes[i].wait_for(4 * patience), std::future_status::ready) << "client " << i / lanes << " hung";
    const auto [wrong, first] = outcomes[i].get();
    EXPECT_EQ(wrong, 0) << "client " << i / lanes << ": " << first;
  }
  EXPECT_EQ(server.stats().tasks_answered, static_cast<std::uint64_t>(concurrent_clients * tasks_per_client));
  EXPECT_EQ(server.stats().connections_accepted, static_cast<std::uint64_t>(concurrent_clients));
  for (const auto& client : clients) {
    EXPECT_EQ(client->stats().tasks_completed, static_cast<std::uint64_t>(tasks_per_client));
  }
}

TEST(InterprocessServer, PipelinedCallsOnOneClientAreInFlightAtOnceAndMatchedToTheirTasks) {
  constexpr std::size_t calls = 64;
  test::temp_dir dir;
  auto cfg = test_config(dir);
  cfg.flow_control.max_in_flight = calls;
  io_threads io;
  // No handler returns before all 64 are inside it: the answers prove that
  // the server ran them concurrently, all from one connection.
  rendezvous all_in_flight(io.executor(), calls);
  interprocess_server server(cfg);
  server.set_handler([&all_in_flight](DetectionTask task) -> asio::awaitable<DetectionResult> {
    if (!co_await all_in_flight.arrive(patience)) {
      co_return results::failure(task.task_id(), wire::ERROR_UNSPECIFIED, "the other tasks never arrived");
    }
    co_return answer_with_tag(task);
  });
  ASSERT_TRUE(server.start());

  interprocess_client client(io.executor(), cfg);
  std::vector<std::future<result<DetectionResult>>> answers;
  for (std::size_t i = 0; i < calls; ++i) {
    answers.push_back(io.spawn(client.async_send_task(tagged_task(fmt::format("pipelined-{}", i)), 2 * patience)));
  }
  for (std::size_t i = 0; i < calls; ++i) {
    ASSERT_EQ(answers[i].wait_for(2 * patience), std::future_status::ready) << "call " << i << " hung";
    const auto r = answers[i].get();
    EXPECT_EQ(mismatch(r, fmt::format("pipelined-{}", i)), "");
  }
  EXPECT_EQ(all_in_flight.arrived(), calls);
  EXPECT_EQ(server.stats().connections_accepted, 1U);
  server.stop();
}

// ---- handler failures and deadlines --------------------------------------------

TEST(InterprocessServer, ThrowingHandlerIsAnsweredHandlerFailedAndTheConnectionKeepsServing) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  interprocess_server server(cfg);
  server.set_handler([](const DetectionTask& task) -> DetectionResult {
    if (task.metadata() == "throw") throw std::runtime_error("collector exploded");
    return results::success(task.task_id());
  });
  ASSERT_TRUE(server.start());

  blocking_client client(patient_client(cfg));
  auto r = client.send_task(tasks::new_test_task("boom-1", wire::ENUMERATE_PROCESSES, "throw"));
  ASSERT_TRUE(r) << r.error().message();  // an answer about the task, not a transport failure
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->error_code(), wire::HANDLER_FAILED);
  EXPECT_EQ(r->task_id(), "boom-1");
  EXPECT_NE(r->error_message().find("collector exploded"), std::string::npos) << r->error_message();

  auto after = client.send_task(tasks::new_test_task("after-boom", wire::ENUMERATE_PROCESSES));
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_TRUE(after->success());
  EXPECT_EQ(after->task_id(), "after-boom");
  EXPECT_EQ(server.stats().connections_accepted, 1U);
}

TEST(InterprocessServer, ThrowingCoroutineHandlerIsAnsweredHandlerFailedAndTheConnectionKeepsServing) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  interprocess_server server(cfg);
  server.set_handler([](DetectionTask task) -> asio::awaitable<DetectionResult> {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    if (task.metadata() == "throw") throw std::runtime_error("coroutine exploded");
    co_return results::success(task.task_id());
  });
  ASSERT_TRUE(server.start());

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  auto failing =
      io.spawn(client.async_send_task(tasks::new_test_task("boom-2", wire::ENUMERATE_PROCESSES, "throw"), patience));
  ASSERT_EQ(failing.wait_for(patience), std::future_status::ready);
  auto r = failing.get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->error_code(), wire::HANDLER_FAILED);
  EXPECT_EQ(r->task_id(), "boom-2");
  EXPECT_NE(r->error_message().find("coroutine exploded"), std::string::npos) << r->error_message();

  auto next = io.spawn(client.async_send_task(tasks::new_test_task("after-boom", wire::ENUMERATE_PROCESSES), patience));
  ASSERT_EQ(next.wait_for(patience), std::future_status::ready);
  auto after = next.get();
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_TRUE(after->success());
  EXPECT_EQ(server.stats().connections_accepted, 1U);
}

/// Counts the server's writes: one bytes_transferred call with outgoing bytes each.
class write_counter : public server_observer {
 public:
  void bytes_transferred(std::uint64_t /*in*/, std::uint64_t out) override {
    if (out > 0) writes_.fetch_add(1);
  }
  [[nodiscard]] int writes() const noexcept { return writes_.load(); }

 private:
  std::atomic<int> writes_{0};
};

TEST(InterprocessServer, AnswersFinishedTogetherByCoroutineHandlersShareOneWrite) {
  // Every handler waits until the last task of the connection has arrived;
  // then all finish in one pass of the connection's thread. Their answers
  // go out in one write, not one each.
  constexpr int tasks_sent = 16;
  test::temp_dir dir;
  auto cfg = test_config(dir);
  std::atomic<int> arrived{0};
  interprocess_server server(cfg);
  // Only touched on the one connection's thread; destroyed before the
  // server, whose io_context it belongs to.
  std::optional<asio::steady_timer> gate;
  server.set_handler([&](DetectionTask task) -> asio::awaitable<DetectionResult> {
    if (!gate) gate.emplace(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    if (arrived.fetch_add(1) + 1 == tasks_sent) {
      gate->cancel();
    } else {
      co_await gate->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    co_return results::success(task.task_id());
  });
  write_counter counter;
  server.set_observer(&counter);
  ASSERT_TRUE(server.start());

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  std::vector<std::future<result<DetectionResult>>> answers;
  for (int i = 0; i < tasks_sent; ++i) {
    answers.push_back(io.spawn(
        client.async_send_task(tasks::new_test_task(fmt::format("gated-{}", i), wire::ENUMERATE_PROCESSES), patience)));
  }
  for (auto& answer : answers) {
    ASSERT_EQ(answer.wait_for(2 * patience), std::future_status::ready);
    auto r = answer.get();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->success());
  }
  EXPECT_LE(counter.writes(), 2) << "one write per answer would be " << tasks_sent;
  server.stop();
}

TEST(InterprocessServer, SlowHandlerIsAnsweredHandlerTimeoutAndTheConnectionStaysOpenDespiteReadTimeout) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  cfg.handler_timeout_ms = 400;
  // Shorter than the handler's delay: the read deadline must not count while a task is in flight.
  cfg.read_timeout_ms = 150;
  std::promise<void> slow_arrived;
  interprocess_server server(cfg);
  release_on_exit release;  // declared after the server: released before the server joins its pool
  server.set_handler([&slow_arrived, released = release.released()](const DetectionTask& task) {
    if (task.metadata() == "slow") {
      slow_arrived.set_value();
      released.wait();
    }
    return results::success(task.task_id());
  });
  ASSERT_TRUE(server.start());

  blocking_client client(patient_client(cfg));
  const auto sent_at = std::chrono::steady_clock::now();
  auto r = client.send_task(tasks::new_test_task("slow-1", wire::ENUMERATE_PROCESSES, "slow"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::handler_timeout)) << r.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - sent_at, 400ms);
  EXPECT_EQ(slow_arrived.get_future().wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(client.is_connected());

  auto next = client.send_task(tasks::new_test_task("fast-1", wire::ENUMERATE_PROCESSES));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_TRUE(next->success());
  EXPECT_EQ(next->task_id(), "fast-1");
  const auto stats = server.stats();
  EXPECT_EQ(stats.connections_accepted, 1U);
  EXPECT_EQ(stats.handler_timeouts, 1U);
}

// ---- built-in answers -------------------------------------------------------------

TEST(InterprocessServer, AnswersHealthCapabilitiesAndMetricsWithoutCallingTheHandler) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  cfg.max_connections = 7;
  std::atomic<int> handler_calls{0};
  interprocess_server server(cfg);
  server.set_handler([&handler_calls](const DetectionTask& task) {
    handler_calls.fetch_add(1);
    return results::success(task.task_id());
  });
  CollectionCapabilities caps;
  caps.add_supported_domains(wire::PROCESS);
  caps.add_supported_domains(wire::NETWORK);
  caps.mutable_advanced()->set_kernel_level(true);
  caps.mutable_advanced()->set_system_wide(true);
  server.set_capabilities(caps);
  server.set_metrics_provider([] { return std::string("daemoneye_test_metric 42\n"); });
  ASSERT_TRUE(server.start());

  blocking_client client(patient_client(cfg));
  auto health = client.send_task(tasks::new_builtin_task("h-1", health_check_metadata));
  ASSERT_TRUE(health) << health.error().message();
  EXPECT_TRUE(health->success());
  EXPECT_EQ(health->task_id(), "h-1");
  ASSERT_TRUE(health->has_health());
  EXPECT_EQ(health->health().version(), library_version());
  EXPECT_EQ(health->health().max_connections(), 7U);
  EXPECT_EQ(health->health().codec(), "framed");
  EXPECT_EQ(health->health().crc32_variant(), "castagnoli");
  EXPECT_EQ(health->health().endpoint(), cfg.endpoint_path);
  EXPECT_EQ(health->health().active_connections(), 1U);

  auto capabilities = client.send_task(tasks::new_builtin_task("c-1", capability_negotiation_metadata));
  ASSERT_TRUE(capabilities) << capabilities.error().message();
  EXPECT_TRUE(capabilities->success());
  ASSERT_TRUE(capabilities->has_capabilities());
  EXPECT_EQ(capabilities->capabilities().SerializeAsString(), caps.SerializeAsString());

  auto metrics = client.send_task(tasks::new_builtin_task("m-1", metrics_metadata));
  ASSERT_TRUE(metrics) << metrics.error().message();
  EXPECT_TRUE(metrics->success());
  EXPECT_EQ(metrics->metrics_text(), "daemoneye_test_metric 42\n");

  EXPECT_EQ(handler_calls.load(), 0);
  // An ordinary task does reach the handler.
  auto plain = client.send_task(tasks::new_test_task("p-1", wire::ENUMERATE_PROCESSES));
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_EQ(handler_calls.load(), 1);
}

// ---- stopping -----------------------------------------------------------------------

TEST(InterprocessServer, GracefulShutdownAnswersInFlightTasksAndRefusesNewOnes) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  close_recorder closes;
  arrival_counter held(2);
  interprocess_server server(cfg);
  release_on_exit release;
  server.set_observer(&closes);
  server.set_handler([&held, released = release.released()](const DetectionTask& task) {
    if (task.metadata() == "hold") {
      held.arrive();
      released.wait();
    }
    return results::success(task.task_id());
  });
  ASSERT_TRUE(server.start());

  io_threads io;
  interprocess_client busy(io.executor(), cfg);
  auto first =
      io.spawn(busy.async_send_task(tasks::new_test_task("held-1", wire::ENUMERATE_PROCESSES, "hold"), patience));
  auto second =
      io.spawn(busy.async_send_task(tasks::new_test_task("held-2", wire::ENUMERATE_PROCESSES, "hold"), patience));
  ASSERT_TRUE(held.wait_all(patience)) << "the tasks never reached the handler";

  // An idle connection: graceful shutdown closes it at once.
  blocking_client idle(patient_client(cfg));
  ASSERT_TRUE(idle.send_task(tasks::new_builtin_task("h-1", health_check_metadata)));

  auto shutdown = std::async(std::launch::async, [&server] { server.graceful_shutdown(patience); });
  ASSERT_TRUE(closes.wait_for("shutdown", patience)) << "the idle connection was not closed by the shutdown";

  // A new task on the connection that is still open (its tasks are in flight).
  auto late = io.spawn(busy.async_send_task(tasks::new_test_task("late-1", wire::ENUMERATE_PROCESSES), patience));
  ASSERT_EQ(late.wait_for(patience), std::future_status::ready);
  auto late_answer = late.get();
  ASSERT_FALSE(late_answer);
  EXPECT_TRUE(late_answer.error().is(errc::shutting_down)) << late_answer.error().message();

  EXPECT_NE(shutdown.wait_for(0s), std::future_status::ready)
      << "graceful_shutdown did not wait for the tasks in flight";
  release.release();
  for (auto* answer : {&first, &second}) {
    ASSERT_EQ(answer->wait_for(patience), std::future_status::ready);
    auto r = answer->get();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->success());
  }
  ASSERT_EQ(shutdown.wait_for(patience), std::future_status::ready) << "graceful_shutdown did not return";
  EXPECT_FALSE(std::filesystem::exists(cfg.endpoint_path));
}

/// A coroutine handler that never answers within a test: it signals its
/// arrival and then waits far longer than any test runs.
auto never_answering_handler(arrival_counter& arrivals) {
  return [&arrivals](DetectionTask task) -> asio::awaitable<DetectionResult> {
    arrivals.arrive();
    asio::steady_timer forever(co_await asio::this_coro::executor, std::chrono::minutes(10));
    co_await forever.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    co_return results::success(task.task_id());
  };
}

TEST(InterprocessServer, StopIsImmediateAndFailsThePendingCall) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  arrival_counter arrivals(1);
  interprocess_server server(cfg);
  server.set_handler(never_answering_handler(arrivals));
  ASSERT_TRUE(server.start());

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  auto pending =
      io.spawn(client.async_send_task(tasks::new_test_task("stuck-1", wire::ENUMERATE_PROCESSES), 2 * patience));
  ASSERT_TRUE(arrivals.wait_all(patience));

  const auto stop_started = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 3s) << "stop() waited for the handler";

  ASSERT_EQ(pending.wait_for(patience), std::future_status::ready) << "the pending call hung after stop()";
  auto r = pending.get();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::peer_closed)) << r.error().message();
  EXPECT_FALSE(std::filesystem::exists(cfg.endpoint_path));
}

TEST(InterprocessClient, ACallWithAShorterTimeoutTimesOutWhileALongerOneKeepsWaiting) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  arrival_counter arrivals(2);
  interprocess_server server(cfg);
  server.set_handler(never_answering_handler(arrivals));
  ASSERT_TRUE(server.start());

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  auto patient =
      io.spawn(client.async_send_task(tasks::new_test_task("patient-1", wire::ENUMERATE_PROCESSES), 2 * patience));
  auto hasty = io.spawn(client.async_send_task(tasks::new_test_task("hasty-1", wire::ENUMERATE_PROCESSES), 200ms));
  ASSERT_EQ(hasty.wait_for(patience), std::future_status::ready) << "the shorter deadline waited for the longer";
  auto r = hasty.get();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::timeout)) << r.error().message();
  EXPECT_NE(r.error().message().find("hasty-1"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("200 ms"), std::string::npos) << r.error().message();
  ASSERT_TRUE(arrivals.wait_all(patience));
  EXPECT_NE(patient.wait_for(0s), std::future_status::ready) << "the longer call ended with the shorter one";

  server.stop();
  ASSERT_EQ(patient.wait_for(patience), std::future_status::ready);
  auto p = patient.get();
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(errc::peer_closed)) << p.error().message();
  EXPECT_EQ(client.stats().tasks_failed, 2U);
}

/// async_connect() on `client`, then one call on the connection it opened:
/// empty when both worked, else what is wrong.
asio::awaitable<std::string> connect_then_call(interprocess_client& client) {
  if (auto ok = co_await client.async_connect(); !ok) co_return "async_connect: " + ok.error().message();
  if (!client.is_connected()) co_return "async_connect succeeded but the client is not connected";
  if (auto again = co_await client.async_connect(); !again) {
    co_return "second async_connect: " + again.error().message();
  }
  co_return mismatch(co_await client.async_send_task(tagged_task("after-connect"), patience), "after-connect");
}

TEST(InterprocessClient, AsyncConnectOpensTheConnectionTheNextCallUses) {
  tagging_server tagging;
  ASSERT_TRUE(tagging.server.start());
  io_threads io;
  auto client = std::make_unique<interprocess_client>(io.executor(), tagging.cfg);
  auto outcome = io.spawn(connect_then_call(*client));
  ASSERT_EQ(outcome.wait_for(patience), std::future_status::ready);
  EXPECT_EQ(outcome.get(), "");
  EXPECT_EQ(client->stats().connects, 1U) << "the call opened a second connection";
  client.reset();  // right after its connect: must not touch freed state (ASan)
}

TEST(InterprocessClient, AsyncConnectToAMissingServerIsServerNotFound) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  io_threads io;
  interprocess_client client(io.executor(), cfg);
  auto connected = io.spawn(client.async_connect());
  ASSERT_EQ(connected.wait_for(patience), std::future_status::ready);
  auto r = connected.get();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::server_not_found)) << r.error().message();
  EXPECT_FALSE(client.is_connected());
}

TEST(InterprocessClient, CallsMadeWhileOthersAreInFlightShareOneWrite) {
  // Sixteen calls start together. The first is written at once; the other
  // fifteen find it in flight and go out together after it.
  tagging_server tagging;
  ASSERT_TRUE(tagging.server.start());
  asio::io_context io;
  interprocess_client client(io.get_executor(), tagging.cfg);
  constexpr int calls = 16;
  std::vector<std::future<result<DetectionResult>>> answers;
  for (int i = 0; i < calls; ++i) {
    answers.push_back(asio::co_spawn(io, client.async_send_task(tagged_task(fmt::format("together-{}", i)), patience),
                                     asio::use_future));
  }
  std::thread runner([&io] { io.run(); });
  for (int i = 0; i < calls; ++i) {
    ASSERT_EQ(answers[i].wait_for(2 * patience), std::future_status::ready);
    EXPECT_EQ(mismatch(answers[i].get(), fmt::format("together-{}", i)), "");
  }
  client.close();  // ends the client's reader, so run() returns
  runner.join();
  const auto stats = client.stats();
  EXPECT_EQ(stats.tasks_completed, static_cast<std::uint64_t>(calls));
  EXPECT_LE(stats.writes, 2U) << "one write per call would be " << calls;
}

/// `calls` sequential calls; empty when each got its own answer, else what is wrong.
asio::awaitable<std::string> sequential_calls(interprocess_client& client, std::string prefix, int calls) {
  for (int i = 0; i < calls; ++i) {
    const auto id = fmt::format("{}-{}", prefix, i);
    if (auto wrong = mismatch(co_await client.async_send_task(tagged_task(id), patience), id); !wrong.empty()) {
      co_return wrong;
    }
  }
  co_return std::string();
}

TEST(InterprocessClient, ALoneCallsAnswerResumesItsCallerWithoutAnotherTripThroughTheQueue) {
  // With nothing else in flight, the read that brings an answer resumes the
  // caller itself: one completion handler per round trip (the read's), not
  // two (the read's, then the caller's, queued behind it); on Windows one
  // more each way, the write's. run() counts the handlers it ran.
  tagging_server tagging;
  ASSERT_TRUE(tagging.server.start());
  asio::io_context io;
  interprocess_client client(io.get_executor(), tagging.cfg);
  constexpr int calls = 40;
  std::string outcome = "not finished";
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // Connected first, so the calls counted below are round trips only.
        if (auto wrong = mismatch(co_await client.async_send_task(tagged_task("warm-up"), patience), "warm-up");
            !wrong.empty()) {
          outcome = wrong;
          co_return;
        }
        outcome = co_await sequential_calls(client, "lone", calls);
        client.close();  // ends the client's reader, so run() returns
      },
      asio::detached);
  const std::size_t handlers = io.run();
  EXPECT_EQ(outcome, "");
  EXPECT_EQ(client.stats().tasks_completed, static_cast<std::uint64_t>(calls + 1));
  // The warm-up's connect and the close take a few handlers of their own.
#ifdef _WIN32
  // A named pipe has no write that completes at once: every task's write
  // completes as a handler too, so two per round trip, not three.
  EXPECT_LT(handlers, static_cast<std::size_t>(calls) * 5 / 2)
      << "three handlers per round trip would be " << 3 * calls;
#else
  EXPECT_LT(handlers, static_cast<std::size_t>(calls) * 3 / 2) << "two handlers per round trip would be " << 2 * calls;
#endif
}

/// Calls "prompt", opens `gate`, then keeps its thread, without suspending,
/// until `other` is ready. Empty when both happened, else what went wrong.
/// A function, not a lambda: the coroutine frame holds the references.
asio::awaitable<std::string> call_then_wait_for_another(interprocess_client& client, std::promise<void>& gate,
                                                        const std::shared_future<result<DetectionResult>>& other) {
  auto wrong = mismatch(co_await client.async_send_task(tagged_task("prompt"), patience), "prompt");
  gate.set_value();  // "held" is answered now
  if (other.wait_for(patience) != std::future_status::ready) {
    co_return "the answer to \"held\" waited for the caller of \"prompt\" to suspend";
  }
  co_return wrong;
}

TEST(InterprocessClient, ACallerBusyAfterItsAnswerDoesNotHoldUpTheAnswerToAnotherCall) {
  // "prompt" is answered while "held" is still in flight. Its caller then
  // keeps its thread, without suspending, until "held" has its answer. That
  // answer is read on the io_context's other thread, which it can only do
  // if the client did not resume "prompt"'s caller from within its own read.
  test::temp_dir dir;
  const auto cfg = test_config(dir);
  std::promise<void> held_arrived;
  std::promise<void> gate;
  std::shared_future<void> gate_opened = gate.get_future().share();
  interprocess_server server(cfg);
  server.set_handler([&held_arrived, gate_opened](const DetectionTask& task) {
    if (task.task_id() == "held") {
      held_arrived.set_value();
      gate_opened.wait_for(patience);
    }
    return answer_with_tag(task);
  });
  ASSERT_TRUE(server.start());

  io_threads io(2);
  interprocess_client client(io.executor(), cfg);
  std::shared_future<result<DetectionResult>> held = io.spawn(client.async_send_task(tagged_task("held"), patience));
  ASSERT_EQ(held_arrived.get_future().wait_for(patience), std::future_status::ready);
  auto prompt = io.spawn(call_then_wait_for_another(client, gate, held));
  ASSERT_EQ(prompt.wait_for(2 * patience), std::future_status::ready);
  EXPECT_EQ(prompt.get(), "");
  EXPECT_EQ(mismatch(held.get(), "held"), "");
  server.stop();
}

TEST(InterprocessClient, AnswersToCallsInFlightTogetherSendTheirCallersNextTasksTogether) {
  // Sixteen callers, each making twelve calls one after another: the next
  // tasks of the callers whose answers came in one read leave in one write,
  // round after round, not one write per task. The server answers inline,
  // so the tasks of one read are answered in one write too.
  test::temp_dir dir;
  const auto cfg = test_config(dir);
  interprocess_server server(cfg);
  server.set_handler(answer_with_tag, handler_execution::inline_on_io_thread);
  ASSERT_TRUE(server.start());
  asio::io_context io;
  interprocess_client client(io.get_executor(), cfg);
  constexpr int callers = 16;
  constexpr int calls = 12;
  std::vector<std::future<std::string>> outcomes;
  for (int c = 0; c < callers; ++c) {
    outcomes.push_back(
        asio::co_spawn(io, sequential_calls(client, fmt::format("caller-{}", c), calls), asio::use_future));
  }
  std::thread runner([&io] { io.run(); });
  for (auto& outcome : outcomes) {
    ASSERT_EQ(outcome.wait_for(4 * patience), std::future_status::ready);
    EXPECT_EQ(outcome.get(), "");
  }
  client.close();
  runner.join();
  const auto stats = client.stats();
  EXPECT_EQ(stats.tasks_completed, static_cast<std::uint64_t>(callers * calls));
  EXPECT_LE(stats.writes, static_cast<std::uint64_t>(callers * calls / 2))
      << "one write per call would be " << callers * calls;
}

TEST(InterprocessClient, CallsSharingATaskIdAreEachAnswered) {
  tagging_server tagging;
  ASSERT_TRUE(tagging.server.start());
  const ipc_config& cfg = tagging.cfg;

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  std::vector<std::future<result<DetectionResult>>> answers;
  for (int i = 0; i < 3; ++i) answers.push_back(io.spawn(client.async_send_task(tagged_task("twin"), patience)));
  for (auto& answer : answers) {
    ASSERT_EQ(answer.wait_for(patience), std::future_status::ready);
    EXPECT_EQ(mismatch(answer.get(), "twin"), "");
  }
  EXPECT_EQ(client.stats().tasks_completed, 3U);
}

/// Two async_round_trip calls into one result message: empty when both
/// answers landed in it, each replacing the previous one, else what is wrong.
asio::awaitable<std::string> two_round_trips_into_one_result(interprocess_client& client) {
  DetectionResult out;
  for (const std::string id : {"round-trip-1", "round-trip-2"}) {
    auto r = co_await client.async_round_trip(tagged_task(id), out, patience);
    if (!r) co_return fmt::format("task {}: {}", id, r.error().message());
    if (auto wrong = mismatch(out, id); !wrong.empty()) co_return wrong;
  }
  co_return std::string();
}

TEST(InterprocessClient, RoundTripPutsEachAnswerIntoTheCallersResult) {
  tagging_server tagging;
  ASSERT_TRUE(tagging.server.start());
  const ipc_config& cfg = tagging.cfg;

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  auto outcome = io.spawn(two_round_trips_into_one_result(client));
  ASSERT_EQ(outcome.wait_for(patience), std::future_status::ready);
  EXPECT_EQ(outcome.get(), "");
  EXPECT_EQ(client.stats().tasks_completed, 2U);
}

TEST(InterprocessClient, RoundTripReportsATimeoutAsAnError) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  arrival_counter arrivals(1);
  interprocess_server server(cfg);
  server.set_handler(never_answering_handler(arrivals));
  ASSERT_TRUE(server.start());

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  DetectionResult out;
  auto r = io.spawn(client.async_round_trip(tasks::new_test_task("slow-1", wire::ENUMERATE_PROCESSES), out, 200ms));
  ASSERT_EQ(r.wait_for(patience), std::future_status::ready);
  auto answer = r.get();
  ASSERT_FALSE(answer);
  EXPECT_TRUE(answer.error().is(errc::timeout)) << answer.error().message();
  server.stop();
}

TEST(InterprocessClient, CallerOnAnotherIoContextKeepsItRunningUntilTheAnswerComes) {
  // While its call waits, the caller's io_context has no work of its own;
  // its run() must still not return before the answer has come.
  tagging_server tagging;
  ASSERT_TRUE(tagging.server.start());
  io_threads client_io;
  interprocess_client client(client_io.executor(), tagging.cfg);

  asio::io_context caller_io;
  std::string outcome = "not answered";
  asio::co_spawn(
      caller_io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await client.async_send_task(tagged_task("other-context"), patience);
        outcome = mismatch(r, "other-context");
      },
      asio::detached);
  caller_io.run();
  EXPECT_EQ(outcome, "");
}

// ---- client-side errors -------------------------------------------------------------

/// The errc of one call by each client, as integers (0: success, -1: not an ipc error).
[[maybe_unused]] std::array<int, 2> error_codes_of_both_clients(const ipc_config& cfg) {
  const auto code_of = [](const result<DetectionResult>& r) {
    if (r) return 0;
    return &r.error().code().category() == &ipc_category() ? r.error().code().value() : -1;
  };
  std::array<int, 2> codes{-1, -1};
  blocking_client blocking(cfg);
  codes[0] = code_of(blocking.send_task(tasks::new_test_task("probe", wire::ENUMERATE_PROCESSES)));

  asio::io_context io;
  interprocess_client client(io.get_executor(), cfg);
  auto answer = asio::co_spawn(
      io, client.async_send_task(tasks::new_test_task("probe", wire::ENUMERATE_PROCESSES), patience), asio::use_future);
  io.run_for(2 * patience);
  if (answer.wait_for(0s) == std::future_status::ready) codes[1] = code_of(answer.get());
  return codes;
}

TEST(ClientErrors, MissingServerIsServerNotFoundNamingTheEndpoint) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  blocking_client blocking(cfg);
  auto r = blocking.send_task(tasks::new_test_task("probe", wire::ENUMERATE_PROCESSES));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::server_not_found)) << r.error().message();
  EXPECT_NE(r.error().message().find(cfg.endpoint_path), std::string::npos) << r.error().message();

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  auto fut = io.spawn(client.async_send_task(tasks::new_test_task("probe", wire::ENUMERATE_PROCESSES), patience));
  ASSERT_EQ(fut.wait_for(patience), std::future_status::ready);
  auto r2 = fut.get();
  ASSERT_FALSE(r2);
  EXPECT_TRUE(r2.error().is(errc::server_not_found)) << r2.error().message();
  EXPECT_NE(r2.error().message().find(cfg.endpoint_path), std::string::npos) << r2.error().message();
}

#ifndef _WIN32  // socket files and their modes; the pipe counterparts are in named_pipe_test.cpp
TEST(ClientErrors, StaleSocketFileIsConnectionRefused) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  // A socket file nobody listens on, as a crashed server leaves it.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, cfg.endpoint_path.data(), cfg.endpoint_path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);  // NOLINT
  ::close(fd);

  blocking_client blocking(cfg);
  auto r = blocking.send_task(tasks::new_test_task("probe", wire::ENUMERATE_PROCESSES));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::connection_refused)) << r.error().message();
  EXPECT_NE(r.error().message().find(cfg.endpoint_path), std::string::npos) << r.error().message();

  const auto codes = error_codes_of_both_clients(cfg);
  EXPECT_EQ(codes[0], static_cast<int>(errc::connection_refused));
  EXPECT_EQ(codes[1], static_cast<int>(errc::connection_refused));
}

TEST(ClientErrors, SocketWhoseModeDeniesAccessIsPermissionDenied) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  const bool root = ::geteuid() == 0;
  constexpr uid_t nobody = 65534;

  // Root bypasses file modes, so as root the clients run in a child process
  // that drops to an unprivileged uid. It is forked before the server starts
  // its threads and waits for `go` before connecting.
  int go[2] = {-1, -1};
  int report[2] = {-1, -1};
  pid_t child = -1;
  if (root) {
    // The unprivileged child must reach the socket: the directory is traversable, the socket is not.
    ASSERT_EQ(::chmod(dir.path().c_str(), 0711), 0);
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
    child = ::fork();
    ASSERT_GE(child, 0) << std::strerror(errno);
    if (child == 0) {
      ::close(go[1]);
      ::close(report[0]);
      std::array<int, 2> codes{-2, -2};  // -2: could not drop privileges
      const bool dropped = ::setgroups(0, nullptr) == 0 && ::setgid(nobody) == 0 && ::setuid(nobody) == 0;
      char byte = 0;
      const bool told_to_go = ::read(go[0], &byte, 1) == 1;
      if (dropped && told_to_go) codes = error_codes_of_both_clients(cfg);
      (void)!::write(report[1], codes.data(), sizeof(codes));
      ::_exit(0);
    }
    ::close(go[0]);
    ::close(report[1]);
  }

  interprocess_server server(cfg);
  server.set_handler(echo_success);
  auto started = server.start();
  ASSERT_TRUE(started) << started.error().message();
  ASSERT_EQ(::chmod(cfg.endpoint_path.c_str(), 0), 0);

  std::array<int, 2> codes{-3, -3};  // -3: no report
  if (root) {
    // Root itself is still served: the refusal below is the socket's mode at work.
    blocking_client privileged(patient_client(cfg));
    auto served = privileged.send_task(tasks::new_test_task("root", wire::ENUMERATE_PROCESSES));
    EXPECT_TRUE(served) << served.error().message();

    ASSERT_EQ(::write(go[1], "g", 1), 1);
    ::close(go[1]);
    pollfd pfd{report[0], POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(std::chrono::milliseconds(3 * patience).count())) == 1) {
      if (::read(report[0], codes.data(), sizeof(codes)) != static_cast<ssize_t>(sizeof(codes))) codes = {-3, -3};
    }
    ::close(report[0]);
    int status = 0;
    if (codes[0] == -3) ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  } else {
    codes = error_codes_of_both_clients(cfg);
  }
  ASSERT_NE(codes[0], -2) << "the child could not drop to uid " << nobody;
  ASSERT_NE(codes[0], -3) << "the child did not report";
  EXPECT_EQ(codes[0], static_cast<int>(errc::permission_denied)) << "blocking_client";
  EXPECT_EQ(codes[1], static_cast<int>(errc::permission_denied)) << "interprocess_client";
}

#endif  // _WIN32

TEST(ClientErrors, BrokenConnectionFailsEveryPendingCall) {
  test::temp_dir dir;
  auto cfg = test_config(dir);
  constexpr int coroutine_calls = 3;
  arrival_counter arrivals(coroutine_calls + 1);
  interprocess_server server(cfg);
  server.set_handler(never_answering_handler(arrivals));
  ASSERT_TRUE(server.start());

  io_threads io;
  interprocess_client client(io.executor(), cfg);
  std::vector<std::future<result<DetectionResult>>> pending;
  for (int i = 0; i < coroutine_calls; ++i) {
    pending.push_back(io.spawn(client.async_send_task(
        tasks::new_test_task(fmt::format("pending-{}", i), wire::ENUMERATE_PROCESSES), 2 * patience)));
  }
  pending.push_back(std::async(std::launch::async, [cfg = patient_client(cfg)] {
    blocking_client blocking(cfg);
    return blocking.send_task(tasks::new_test_task("pending-blocking", wire::ENUMERATE_PROCESSES));
  }));
  ASSERT_TRUE(arrivals.wait_all(patience)) << "not every call reached the handler";

  server.stop();
  for (std::size_t i = 0; i < pending.size(); ++i) {
    ASSERT_EQ(pending[i].wait_for(patience), std::future_status::ready) << "call " << i << " hung";
    auto r = pending[i].get();
    ASSERT_FALSE(r) << "call " << i;
    EXPECT_TRUE(r.error().is(errc::peer_closed)) << "call " << i << ": " << r.error().message();
  }
}

}  // namespace
}  // namespace daemoneye::ipc
