// forked_process: runs one side of a benchmark in a child process. The child
// says when it is ready over a pipe (no sleeping, no polling for a socket
// file) and runs until the parent releases it by closing a control pipe.
//
//   auto child = forked_process::start([](child_channel& ch) { listen(); ch.ready(); ch.wait_for_release(); return 0;
//   }); if (!child) die(child.error()); read_vm_rss(child->pid());
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <sys/types.h>

namespace daemoneye::bench {

/// The child's end of the two pipes. Used only inside the child.
class child_channel {
 public:
  child_channel(int ready_fd, int control_fd) : ready_fd_(ready_fd), control_fd_(control_fd) {}
  /// Tells the parent the child is ready (listening). Call once.
  void ready();
  /// Tells the parent why the child cannot start; the child should then exit.
  void failed(std::string_view why);
  /// Blocks until the parent releases the child (closes its control pipe or exits).
  void wait_for_release();
  /// Readable (end of file) once the parent releases the child; for poll().
  [[nodiscard]] int control_fd() const noexcept { return control_fd_; }

 private:
  int ready_fd_;
  int control_fd_;
};

/// Resource type: movable, not copyable. Not thread-safe.
class forked_process {
 public:
  /// Forks; the child runs `body` and exits with its return value (never
  /// returns here). Call before the parent starts any thread. Returns once
  /// the child called ready(), or the child's failure text.
  static std::variant<forked_process, std::string> start(const std::function<int(child_channel&)>& body);

  forked_process(forked_process&& other) noexcept;
  forked_process& operator=(forked_process&& other) noexcept;
  forked_process(const forked_process&) = delete;
  forked_process& operator=(const forked_process&) = delete;
  ~forked_process();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// Releases the child and waits for it; returns its exit status (or -1). Idempotent.
  int stop();

 private:
  forked_process(pid_t pid, int control_fd) : pid_(pid), control_fd_(control_fd) {}
  pid_t pid_ = -1;
  int control_fd_ = -1;
  int status_ = -1;
};

/// Resident memory of a process from /proc/<pid>/status, in KiB.
struct memory_usage {
  std::uint64_t vm_rss_kib = 0;
  std::uint64_t rss_anon_kib = 0;
  std::uint64_t threads = 0;
};
std::optional<memory_usage> read_memory_usage(pid_t pid);

}  // namespace daemoneye::bench
