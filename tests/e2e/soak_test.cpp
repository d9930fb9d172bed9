// End to end: the real procmond under the real daemoneye-soak. procmond must
// survive five seconds of hostile clients with every outcome as PROTOCOL.md
// section 5 says, keep answering, give back its descriptors, and still shut
// down cleanly on SIGTERM (exit 0, socket file removed).
//
// No sleeps: readiness is the "listening on" line procmond promises on
// stderr, and process exit is waited for on a pidfd, both with deadlines.
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/messages.hpp"

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#ifndef PROCMOND_PATH
#error "PROCMOND_PATH must name the procmond binary (tests/CMakeLists.txt)"
#endif
#ifndef SOAK_PATH
#error "SOAK_PATH must name the daemoneye-soak binary (tests/CMakeLists.txt)"
#endif

namespace {

using namespace std::chrono_literals;

// Sanitizer runtimes keep freed memory in quarantine and map shadow memory:
// there RSS says nothing about leaks, and only the descriptor check stays meaningful.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DAEMONEYE_SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DAEMONEYE_SOAK_SANITIZED 1
#endif
#endif
#ifdef DAEMONEYE_SOAK_SANITIZED
constexpr const char* rss_growth_bound_mib = "4096";
#else
constexpr const char* rss_growth_bound_mib = "32";
#endif
using daemoneye::test::child_process;
using daemoneye::test::describe_status;
using daemoneye::test::steady;

daemoneye::ipc::result<daemoneye::ipc::DetectionResult> health_check(const std::string& endpoint,
                                                                     const std::string& id) {
  daemoneye::ipc::ipc_config cfg;
  cfg.endpoint_path = endpoint;
  cfg.accept_timeout_ms = 5000;
  cfg.read_timeout_ms = 5000;
  cfg.write_timeout_ms = 5000;
  daemoneye::ipc::blocking_client client(cfg);
  return client.send_task(daemoneye::ipc::tasks::new_builtin_task(id, daemoneye::ipc::health_check_metadata));
}

TEST(Soak, ProcmondSurvivesHostileClientsAndStillShutsDownCleanly) {
  const daemoneye::test::temp_dir dir;
  const std::string endpoint = dir.file("procmond.sock");
  const std::vector<std::string> limits = {"--max-connections",  "8",   "--read-timeout-ms", "500",
                                           "--write-timeout-ms", "1000"};

  std::vector<std::string> procmond_argv = {PROCMOND_PATH, "--endpoint", endpoint, "--log-level", "info"};
  procmond_argv.insert(procmond_argv.end(), limits.begin(), limits.end());
  std::string error;
  auto procmond = child_process::start(procmond_argv, error);
  ASSERT_TRUE(procmond) << error;
  ASSERT_TRUE(procmond->output().wait_for("listening on " + endpoint, steady::now() + 15s))
      << "procmond did not report readiness:\n"
      << procmond->output().text();

  std::vector<std::string> soak_argv = {SOAK_PATH,
                                        "--endpoint",
                                        endpoint,
                                        "--pid",
                                        std::to_string(procmond->pid()),
                                        "--seconds",
                                        "5",
                                        "--max-rss-growth-mib",
                                        rss_growth_bound_mib};
  soak_argv.insert(soak_argv.end(), limits.begin(), limits.end());
  auto soak = child_process::start(soak_argv, error);
  ASSERT_TRUE(soak) << error;
  // 5 s of soak, the iterations in progress, the descriptor wait: well within this.
  const auto soak_status = soak->wait_exit(steady::now() + 120s);
  ASSERT_TRUE(soak->output().wait_eof(steady::now() + 5s));
  const std::string report = soak->output().text();
  std::cout << report << std::flush;
  ASSERT_TRUE(soak_status) << "daemoneye-soak did not finish in time";
  EXPECT_TRUE(WIFEXITED(*soak_status) && WEXITSTATUS(*soak_status) == 0)
      << "daemoneye-soak: " << describe_status(*soak_status) << "\n"
      << report;

  ASSERT_TRUE(procmond->running()) << "procmond exited during the soak:\n" << procmond->output().text();
  const auto answer = health_check(endpoint, "e2e-after-soak");
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_TRUE(answer->success());
  EXPECT_EQ(answer->task_id(), "e2e-after-soak");
  EXPECT_TRUE(answer->has_health());

  ASSERT_EQ(::kill(procmond->pid(), SIGTERM), 0);
  const auto procmond_status = procmond->wait_exit(steady::now() + 30s);
  ASSERT_TRUE(procmond_status) << "procmond did not exit after SIGTERM:\n" << procmond->output().text();
  EXPECT_TRUE(WIFEXITED(*procmond_status) && WEXITSTATUS(*procmond_status) == 0)
      << "procmond: " << describe_status(*procmond_status);
  EXPECT_FALSE(std::filesystem::exists(endpoint)) << "procmond left its socket file behind";
}

}  // namespace
