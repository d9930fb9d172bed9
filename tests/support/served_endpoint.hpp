// Helpers for the endpoint suites (endpoint_security_test on Unix,
// named_pipe_test on Windows): a server configuration at a given endpoint, an
// echoing handler, starting a server that must start or must be refused, and
// a check that the endpoint answers a task.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/config.hpp"
#include "daemoneye/ipc/messages.hpp"
#include "daemoneye/ipc/server.hpp"

namespace daemoneye::test {

/// Defaults, at `path`, with two worker threads.
inline ipc::ipc_config config_at(const std::string& path) {
  ipc::ipc_config cfg;
  cfg.endpoint_path = path;
  cfg.threads = 2;
  return cfg;
}

/// A handler that answers every task with success.
inline ipc::DetectionResult echo(const ipc::DetectionTask& task) { return ipc::results::success(task.task_id()); }

/// Starts `server` with the echo handler; asserts that it started.
inline void start_echo(ipc::interprocess_server& server) {
  server.set_handler(echo);
  auto ok = server.start();
  ASSERT_TRUE(ok) << ok.error().message();
}

/// Asserts that a server at `cfg` is refused with `code`, by a message that
/// contains each of `says`. The refused server is gone when this returns.
inline void expect_start_refused(const ipc::ipc_config& cfg, ipc::errc code,
                                 std::initializer_list<std::string_view> says = {}) {
  ipc::interprocess_server server(cfg);
  server.set_handler(echo);
  auto ok = server.start();
  ASSERT_FALSE(ok);
  EXPECT_TRUE(ok.error().is(code)) << ok.error().message();
  for (const auto text : says) EXPECT_NE(ok.error().message().find(text), std::string::npos) << ok.error().message();
}

/// Sends one task with a fresh blocking_client.
inline ipc::result<ipc::DetectionResult> round_trip(const ipc::ipc_config& cfg, const std::string& id = "probe") {
  ipc::blocking_client client(cfg);
  return client.send_task(ipc::tasks::new_test_task(id, ipc::wire::ENUMERATE_PROCESSES));
}

/// Asserts that the endpoint of `cfg` answers a task with its task_id.
inline void expect_served(const ipc::ipc_config& cfg) {
  auto r = round_trip(cfg);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->success());
  EXPECT_EQ(r->task_id(), "probe");
}

}  // namespace daemoneye::test
