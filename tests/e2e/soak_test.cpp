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
using steady = std::chrono::steady_clock;

std::string errno_text(int err) { return std::error_code(err, std::system_category()).message(); }

int poll_ms(steady::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 0x7FFFFFFF));
}

/// Everything a child writes to its stdout and stderr, collected by a thread
/// until EOF, so the child never blocks on a full pipe.
class output_collector {
 public:
  explicit output_collector(int fd) : fd_(fd), reader_([this] { read_all(); }) {}
  output_collector(const output_collector&) = delete;
  output_collector& operator=(const output_collector&) = delete;
  /// Joins the reader: the caller makes sure the writer is gone (EOF).
  ~output_collector() {
    reader_.join();
    ::close(fd_);
  }

  /// Whether `text` appeared before the deadline.
  bool wait_for(std::string_view text, steady::time_point deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] { return text_.find(text) != std::string::npos || eof_; }) &&
           text_.find(text) != std::string::npos;
  }
  bool wait_eof(steady::time_point deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] { return eof_; });
  }
  std::string text() const {
    const std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  void read_all() {
    char buf[4096];
    while (true) {
      const auto n = ::read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      const std::lock_guard lock(mutex_);
      if (n <= 0) {
        eof_ = true;
        changed_.notify_all();
        return;
      }
      text_.append(buf, static_cast<std::size_t>(n));
      changed_.notify_all();
    }
  }

  int fd_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
  bool eof_ = false;
  std::thread reader_;  // last: starts once the members above exist
};

/// A child process (fork + execv) with stdout and stderr on one pipe. Killed
/// and reaped when the object goes away, if it has not been reaped before.
class child_process {
 public:
  /// Starts argv[0] (a path); returns once exec has succeeded, or nullptr with `error` set.
  static std::unique_ptr<child_process> start(const std::vector<std::string>& argv, std::string& error) {
    int out[2];
    int report[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(report, O_CLOEXEC) != 0) {
      error = std::string("pipe2: ") + errno_text(errno);
      return nullptr;
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execv's signature
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      error = std::string("fork: ") + errno_text(errno);
      return nullptr;
    }
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(out[1], STDERR_FILENO);
      ::execv(args[0], args.data());
      const int err = errno;
      [[maybe_unused]] auto n = ::write(report[1], &err, sizeof err);
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(report[1]);
    int err = 0;
    ssize_t n = 0;
    do {
      n = ::read(report[0], &err, sizeof err);  // EOF: exec succeeded (close-on-exec)
    } while (n < 0 && errno == EINTR);
    ::close(report[0]);
    auto child = std::unique_ptr<child_process>(new child_process(pid, out[0]));
    if (n > 0) {
      error = argv[0] + ": exec failed: " + errno_text(err);
      return nullptr;  // the destructor reaps it
    }
    return child;
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  output_collector& output() noexcept { return output_; }

  /// Whether the child has not exited (it may be reaped here if it has).
  bool running() {
    if (status_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
    return !status_;
  }

  /// The wait status once the child has exited, or std::nullopt at the deadline.
  std::optional<int> wait_exit(steady::time_point deadline) {
    if (status_) return status_;
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      int r = 0;
      do {
        r = ::poll(&p, 1, poll_ms(deadline));
      } while (r < 0 && errno == EINTR);
      ::close(pidfd);
      if (r == 0) return std::nullopt;
    } else if (!output_.wait_eof(deadline)) {  // kernels before 5.3: its output closes as it exits
      return std::nullopt;
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = status;
    return status_;
  }

 private:
  child_process(pid_t pid, int out) : pid_(pid), output_(out) {}

  pid_t pid_;
  std::optional<int> status_;
  output_collector output_;  // destroyed after the child is reaped: its pipe is at EOF then
};

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

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
