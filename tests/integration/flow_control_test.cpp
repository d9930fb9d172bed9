// The server protecting itself: rate limits, flow control (backpressure and
// OVERLOADED) and per-connection sequence numbers, over real sockets.
#include <atomic>
#include <future>
#include <map>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_future.hpp>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/client.hpp"
#include "daemoneye/ipc/server.hpp"

#include "support/raw_connection.hpp"
#include "support/temp_dir.hpp"

namespace daemoneye::ipc {
namespace {

using namespace std::chrono_literals;
using test::raw_connection;

ipc_config config_in(const test::temp_dir& dir) {
  ipc_config cfg;
  cfg.endpoint_path = dir.endpoint("procmond.sock");
  cfg.threads = 2;
  return cfg;
}

DetectionResult echo(const DetectionTask& task) { return results::success(task.task_id()); }

DetectionTask numbered_task(const std::string& id, std::uint64_t sequence) {
  auto task = tasks::new_test_task(id, wire::ENUMERATE_PROCESSES);
  task.set_sequence(sequence);
  return task;
}

TEST(RateLimit, BurstPlusKTasksInATightLoopGetExactlyKRateLimited) {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  // One token per 100 s: nothing refills while the loop runs, so the count is exact.
  cfg.rate_limit.requests_per_second = 0.01;
  cfg.rate_limit.burst = 10;
  interprocess_server server(cfg);
  server.set_handler(echo);
  ASSERT_TRUE(server.start());

  constexpr int k = 7;
  blocking_client client(cfg);
  int limited = 0;
  int served = 0;
  for (int i = 0; i < 10 + k; ++i) {
    const auto id = "task-" + std::to_string(i);
    auto r = client.send_task(tasks::new_test_task(id, wire::ENUMERATE_PROCESSES));
    if (r) {
      EXPECT_EQ(r->task_id(), id);
      ++served;
    } else {
      ASSERT_TRUE(r.error().is(errc::rate_limited)) << r.error().message();
      ++limited;
    }
  }
  EXPECT_EQ(served, 10);
  EXPECT_EQ(limited, k);
  EXPECT_EQ(server.stats().rate_limited, static_cast<std::uint64_t>(k));
}

TEST(RateLimit, AnswerEchoesTheTaskIdAndKeepsTheConnection) {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.rate_limit.requests_per_second = 0.01;
  cfg.rate_limit.burst = 1;
  interprocess_server server(cfg);
  server.set_handler(echo);
  ASSERT_TRUE(server.start());

  raw_connection conn(cfg.endpoint_path);
  ASSERT_TRUE(conn.connected());
  conn.send(test::frame_of({}, tasks::new_test_task("first", wire::ENUMERATE_PROCESSES)));
  conn.send(test::frame_of({}, tasks::new_test_task("second", wire::ENUMERATE_PROCESSES)));
  // Answers come in completion order: the limited one is answered at once.
  std::map<std::string, DetectionResult> answers;
  for (int i = 0; i < 2; ++i) {
    auto o = conn.read();
    ASSERT_EQ(o.kind, raw_connection::outcome::frame) << raw_connection::describe(o);
    answers[o.result.task_id()] = o.result;
  }
  ASSERT_EQ(answers.count("first"), 1U);
  ASSERT_EQ(answers.count("second"), 1U);
  EXPECT_TRUE(answers["first"].success());
  EXPECT_EQ(answers["second"].error_code(), wire::RATE_LIMITED);
  // Still open: another limited task gets another answer rather than EOF.
  conn.send(test::frame_of({}, tasks::new_test_task("third", wire::ENUMERATE_PROCESSES)));
  auto third = conn.read();
  ASSERT_EQ(third.kind, raw_connection::outcome::frame) << raw_connection::describe(third);
  EXPECT_EQ(third.result.error_code(), wire::RATE_LIMITED);
}

TEST(RateLimit, GlobalBucketLimitsAcrossConnections) {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.rate_limit.global_requests_per_second = 0.01;
  cfg.rate_limit.global_burst = 3;
  interprocess_server server(cfg);
  server.set_handler(echo);
  ASSERT_TRUE(server.start());

  int limited = 0;
  for (int c = 0; c < 3; ++c) {
    blocking_client client(cfg);
    for (int i = 0; i < 2; ++i) {
      auto r = client.send_task(tasks::new_test_task("t", wire::ENUMERATE_PROCESSES));
      if (!r) {
        EXPECT_TRUE(r.error().is(errc::rate_limited)) << r.error().message();
        ++limited;
      }
    }
  }
  EXPECT_EQ(limited, 3);  // six tasks, three tokens in the whole server
}

TEST(FlowControl, ClientThatNeverReadsIsHeldBySocketBackpressureWhileOthersAreServed) {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.flow_control.max_in_flight = 8;
  cfg.write_timeout_ms = 60000;  // observe the backpressure itself, not the timeout
  interprocess_server server(cfg);
  // Large answers fill the socket buffers after a few dozen tasks.
  server.set_handler([](const DetectionTask& task) {
    auto result = results::success(task.task_id());
    result.add_processes()->set_name(std::string(16 * 1024, 'x'));
    return result;
  });
  ASSERT_TRUE(server.start());

  const auto frame = test::frame_of({}, tasks::new_test_task("hog", wire::ENUMERATE_PROCESSES));
  // Non-blocking writes: once the server stops reading, the socket fills and
  // the kernel refuses more. That refusal is the backpressure.
  int written = 0;
  int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, cfg.endpoint_path.data(), cfg.endpoint_path.size());
  ASSERT_EQ(::connect(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);  // NOLINT
  bool blocked = false;
  for (; written < 10000; ++written) {
    std::size_t sent = 0;
    while (sent < frame.size()) {
      const auto n = ::send(sock, frame.data() + sent, frame.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        // Retry the remainder of a partial frame only after the server reads; a
        // refused first byte means the connection is saturated.
        if (sent == 0) {
          blocked = true;
          break;
        }
        pollfd pfd{sock, POLLOUT, 0};
        ASSERT_EQ(::poll(&pfd, 1, 10000), 1) << "a partial frame never drained";
        continue;
      }
      ASSERT_GT(n, 0) << std::strerror(errno);
      sent += static_cast<std::size_t>(n);
    }
    if (blocked) break;
  }
  EXPECT_TRUE(blocked) << "all 10000 tasks were accepted without backpressure";
  EXPECT_LT(written, 10000);
  // The server read only what its limits allow; the rest waits in the socket.
  EXPECT_LT(server.stats().tasks_received, 10000U);

  // Meanwhile another client is served promptly.
  auto other_cfg = cfg;
  other_cfg.read_timeout_ms = 5000;
  blocking_client other(other_cfg);
  auto r = other.send_task(tasks::new_test_task("other", wire::ENUMERATE_PROCESSES));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->task_id(), "other");
  ::close(sock);
}

TEST(FlowControl, ClientThatNeverReadsIsClosedAfterTheWriteTimeout) {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.write_timeout_ms = 200;
  interprocess_server server(cfg);
  server.set_handler([](const DetectionTask& task) {
    auto result = results::success(task.task_id());
    result.add_processes()->set_name(std::string(64 * 1024, 'x'));
    return result;
  });
  ASSERT_TRUE(server.start());

  raw_connection hog(cfg.endpoint_path);
  ASSERT_TRUE(hog.connected());
  const auto frame = test::frame_of({}, tasks::new_test_task("hog", wire::ENUMERATE_PROCESSES));
  // Enough answers to overflow every buffer between the server and us.
  for (int i = 0; i < 64; ++i) {
    if (!hog.send(frame)) break;
  }
  // The server gives up on the stuck write and closes the connection.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  auto closed = [&server] {
    const auto st = server.stats();
    return st.connections_accepted == 1 && st.connections_active == 0;
  };
  while (!closed() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(closed()) << "the stuck connection was not closed";
  // Reading now shows the answers that fitted in the buffers, then the end of the stream.
  std::size_t frames = 0;
  while (true) {
    auto o = hog.read(10s);
    if (o.kind == raw_connection::outcome::frame) {
      ++frames;
      continue;
    }
    EXPECT_TRUE(o.kind == raw_connection::outcome::eof || o.kind == raw_connection::outcome::reset)
        << raw_connection::describe(o);
    break;
  }
  EXPECT_LT(frames, 64U);
}

TEST(FlowControl, TasksBeyondMaxPendingAreAnsweredOverloaded) {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.flow_control.max_pending = 2;
  cfg.flow_control.max_in_flight = 8;
  interprocess_server server(cfg);
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> entered{0};
  server.set_handler([&](const DetectionTask& task) {
    ++entered;
    entered.notify_all();
    released.wait();
    return results::success(task.task_id());
  });
  ASSERT_TRUE(server.start());

  raw_connection conn(cfg.endpoint_path);
  ASSERT_TRUE(conn.connected());
  conn.send(test::frame_of({}, tasks::new_test_task("a", wire::ENUMERATE_PROCESSES)));
  conn.send(test::frame_of({}, tasks::new_test_task("b", wire::ENUMERATE_PROCESSES)));
  // Wait until both occupy the handler, then the third is over the bound.
  for (int seen = entered.load(); seen < 2; seen = entered.load()) entered.wait(seen);
  conn.send(test::frame_of({}, tasks::new_test_task("c", wire::ENUMERATE_PROCESSES)));
  auto third = conn.read();
  ASSERT_EQ(third.kind, raw_connection::outcome::frame) << raw_connection::describe(third);
  EXPECT_EQ(third.result.task_id(), "c");
  EXPECT_EQ(third.result.error_code(), wire::OVERLOADED);
  release.set_value();
  auto a = conn.read();
  auto b = conn.read();
  ASSERT_EQ(a.kind, raw_connection::outcome::frame);
  ASSERT_EQ(b.kind, raw_connection::outcome::frame);
  EXPECT_TRUE(a.result.success());
  EXPECT_TRUE(b.result.success());
  EXPECT_EQ(server.stats().overloaded, 1U);
}

TEST(SequenceNumbers, ClientsNumberTasksFromOneAndTheServerEchoesThem) {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.enable_sequence_numbers = true;
  interprocess_server server(cfg);
  std::vector<std::uint64_t> seen;
  std::mutex seen_mutex;
  server.set_handler([&](const DetectionTask& task) {
    const std::lock_guard lock(seen_mutex);
    seen.push_back(task.sequence());
    return results::success(task.task_id());
  });
  ASSERT_TRUE(server.start());

  blocking_client client(cfg);
  for (int i = 0; i < 3; ++i) {
    auto r = client.send_task(tasks::new_test_task("t" + std::to_string(i), wire::ENUMERATE_PROCESSES));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->sequence(), static_cast<std::uint64_t>(i + 1));
  }
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3}));

  asio::io_context io;
  interprocess_client async_client(io.get_executor(), cfg);
  auto fut = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<result<DetectionResult>> {
        auto first = co_await async_client.async_send_task(tasks::new_test_task("a1", wire::ENUMERATE_PROCESSES));
        if (!first) co_return first;
        co_return co_await async_client.async_send_task(tasks::new_test_task("a2", wire::ENUMERATE_PROCESSES));
      },
      asio::use_future);
  std::thread runner([&] { io.run(); });
  auto second = fut.get();
  async_client.close();
  runner.join();
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->sequence(), 2U);
  EXPECT_EQ(async_client.stats().sequence_errors, 0U);
}

TEST(SequenceNumbers, ServerReportsAGapAndADuplicate) {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.enable_sequence_numbers = true;
  interprocess_server server(cfg);
  server.set_handler(echo);
  ASSERT_TRUE(server.start());

  raw_connection conn(cfg.endpoint_path);
  ASSERT_TRUE(conn.connected());
  auto exchange = [&](const std::string& id, std::uint64_t seq) {
    conn.send(test::frame_of({}, numbered_task(id, seq)));
    return conn.read();
  };
  auto one = exchange("one", 1);
  ASSERT_EQ(one.kind, raw_connection::outcome::frame);
  EXPECT_TRUE(one.result.success());

  auto gap = exchange("gap", 3);  // 2 is missing
  ASSERT_EQ(gap.kind, raw_connection::outcome::frame) << raw_connection::describe(gap);
  EXPECT_FALSE(gap.result.success());
  EXPECT_EQ(gap.result.error_code(), wire::INVALID_TASK);
  EXPECT_NE(gap.result.error_message().find("gap"), std::string::npos) << gap.result.error_message();
  EXPECT_EQ(gap.result.sequence(), 3U);

  auto dup = exchange("dup", 3);  // after the gap the server expects 4
  ASSERT_EQ(dup.kind, raw_connection::outcome::frame);
  EXPECT_EQ(dup.result.error_code(), wire::INVALID_TASK);
  EXPECT_NE(dup.result.error_message().find("duplicate"), std::string::npos) << dup.result.error_message();

  auto next = exchange("next", 4);
  ASSERT_EQ(next.kind, raw_connection::outcome::frame);
  EXPECT_TRUE(next.result.success());
  EXPECT_EQ(next.result.sequence(), 4U);
}

TEST(SequenceNumbers, ClientDetectsAnAnswerWithTheWrongSequence) {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  interprocess_server server(cfg);  // a server that rewrites the sequence it echoes is out of spec
  server.set_handler([](const DetectionTask& task) { return results::success(task.task_id()); });
  // Numbering on the client only: the server does not check, but it echoes.
  ASSERT_TRUE(server.start());
  auto client_cfg = cfg;
  client_cfg.enable_sequence_numbers = true;
  blocking_client client(client_cfg);
  auto r = client.send_task(tasks::new_test_task("ok", wire::ENUMERATE_PROCESSES));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(client.sequence_errors(), 0U);

  // A peer that answers without echoing: a raw server on another socket.
  const auto path = dir.endpoint("liar.sock");
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);  // NOLINT
  ASSERT_EQ(::listen(listener, 1), 0);
  std::thread liar([listener] {
    const int c = ::accept(listener, nullptr, nullptr);
    frame_decoder dec;
    DetectionTask task;
    while (true) {
      auto room = dec.prepare();
      const auto n = ::recv(c, room.data(), room.size(), 0);
      if (n <= 0) break;
      dec.commit(static_cast<std::size_t>(n));
      auto f = dec.next();
      if (f && *f && decode_into(**f, task)) {
        auto answer = results::success(task.task_id());
        answer.set_sequence(task.sequence() + 5);
        byte_buffer out;
        (void)append_frame({}, answer, out);
        (void)::send(c, out.data(), out.size(), MSG_NOSIGNAL);
      }
    }
    ::close(c);
  });
  auto liar_cfg = client_cfg;
  liar_cfg.endpoint_path = path;
  blocking_client victim(liar_cfg);
  auto bad = victim.send_task(tasks::new_test_task("x", wire::ENUMERATE_PROCESSES));
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(errc::sequence_error)) << bad.error().message();
  EXPECT_EQ(victim.sequence_errors(), 1U);
  victim.close();
  liar.join();
  ::close(listener);
}

}  // namespace
}  // namespace daemoneye::ipc
