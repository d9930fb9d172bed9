// child_process: a real process started by a test (fork + execv) in its own
// process group, killed and reaped when the object goes away. spawn() returns
// once exec has succeeded (a close-on-exec pipe reports it), without sleeping.
//
//   auto child = child_process::spawn({"/bin/sleep", "30"});
//   ASSERT_TRUE(child) << child.error();
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace daemoneye::procmond::test {

/// A started child, or why it could not start.
class spawned;

class child_process {
 public:
  /// Starts argv[0] (a path) with `argv`; returns once exec succeeded or failed.
  static spawned spawn(const std::vector<std::string>& argv);

  child_process(child_process&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
  child_process& operator=(child_process&&) = delete;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);  // the whole group: grandchildren too
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  explicit child_process(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

class spawned {
 public:
  explicit spawned(child_process child) : value_(std::move(child)) {}
  explicit spawned(std::string error) : value_(std::move(error)) {}
  explicit operator bool() const noexcept { return value_.index() == 0; }
  child_process& operator*() { return std::get<0>(value_); }
  child_process* operator->() { return &std::get<0>(value_); }
  [[nodiscard]] const std::string& error() const { return std::get<1>(value_); }

 private:
  std::variant<child_process, std::string> value_;
};

inline spawned child_process::spawn(const std::vector<std::string>& argv) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return spawned(std::string("pipe2: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execv's signature
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return spawned(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::setpgid(0, 0);
    ::execv(args[0], args.data());
    const int err = errno;
    [[maybe_unused]] auto n = ::write(report[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(report[1]);
  // EOF: exec closed the write end (close-on-exec); an int: exec failed with that errno.
  int err = 0;
  ssize_t n = 0;
  do {
    n = ::read(report[0], &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  child_process child(pid);
  if (n > 0) return spawned("execv " + argv[0] + ": " + std::strerror(err));
  return spawned(std::move(child));
}

}  // namespace daemoneye::procmond::test
