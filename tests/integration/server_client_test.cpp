// interprocess_server with interprocess_client and blocking_client over real
// Unix sockets in a fresh temporary directory.
#include "daemoneye/ipc/server.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <future>
#include <thread>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/client.hpp"
#include "support/temp_dir.hpp"

namespace daemoneye::ipc {
namespace {

ipc_config test_config(const test::temp_dir& dir) {
  ipc_config cfg;
  cfg.endpoint_path = dir.file("procmond.sock");
  cfg.threads = 2;
  return cfg;
}

DetectionResult echo_success(const DetectionTask& task) { return results::success(task.task_id()); }

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

  asio::io_context io;
  interprocess_client client(io.get_executor(), cfg);
  auto fut = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<result<DetectionResult>> {
        co_return co_await client.async_send_task(tasks::new_test_task("test-456", wire::ENUMERATE_PROCESSES));
      },
      asio::use_future);
  std::thread runner([&io] { io.run(); });
  auto r2 = fut.get();
  client.close();
  runner.join();
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->task_id(), "test-456");
  EXPECT_TRUE(r2->success());
}

}  // namespace
}  // namespace daemoneye::ipc
