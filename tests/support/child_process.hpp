// Real child processes for end-to-end tests: start a program (fork + execv)
// with its stdout and stderr collected, wait for a line it promises ("listening
// on ..."), wait for its exit with a deadline, or run it to completion. No
// sleeps: readiness is output or exit, observed through pipes and a pidfd.
//
//   std::string error;
//   auto child = child_process::start({PROCMOND_PATH, "--endpoint", path}, error);
//   ASSERT_TRUE(child->output().wait_for("listening on", steady::now() + 15s));
//   auto r = run_to_completion({CLI_PATH, "health-check"});   // r.status, r.output
#pragma once

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace daemoneye::test {

using steady = std::chrono::steady_clock;

inline std::string errno_text(int err) { return std::error_code(err, std::system_category()).message(); }

inline int poll_ms(steady::time_point deadline) {
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

inline std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

/// What a program printed and how it ended.
struct completed_run {
  std::optional<int> status;  ///< wait status; nullopt when it overran the deadline (then killed)
  std::string output;         ///< stdout and stderr, interleaved
  [[nodiscard]] int exit_code() const { return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1; }
};

/// Runs `argv` to completion (killed after `limit`).
inline completed_run run_to_completion(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  std::string error;
  auto child = child_process::start(argv, error);
  if (!child) return {std::nullopt, error};
  completed_run r;
  const auto deadline = steady::now() + limit;
  r.status = child->wait_exit(deadline);
  // Grandchildren may hold the pipe open; the deadline bounds the wait for its end.
  (void)child->output().wait_eof(r.status ? steady::now() + std::chrono::seconds(5) : deadline);
  r.output = child->output().text();
  return r;
}

}  // namespace daemoneye::test
