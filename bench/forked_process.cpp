// fork, the readiness pipe and the control pipe; see forked_process.hpp.
#include "forked_process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace daemoneye::bench {
namespace {

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const auto n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void child_channel::ready() {
  write_all(ready_fd_, "R");
  ::close(ready_fd_);
  ready_fd_ = -1;
}

void child_channel::failed(std::string_view why) {
  write_all(ready_fd_, "F");
  write_all(ready_fd_, why);
  ::close(ready_fd_);
  ready_fd_ = -1;
}

void child_channel::wait_for_release() {
  char c = 0;
  while (true) {
    const auto n = ::read(control_fd_, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // end of file: the parent closed the pipe or exited
  }
}

std::variant<forked_process, std::string> forked_process::start(const std::function<int(child_channel&)>& body) {
  int ready[2];
  int control[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return std::string("pipe2 failed");
  if (::pipe2(control, O_CLOEXEC) != 0) {
    ::close(ready[0]);
    ::close(ready[1]);
    return std::string("pipe2 failed");
  }
  // Buffered output would otherwise be written twice, once by each process.
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return std::string("fork failed");
  if (pid == 0) {
    // Keep only stdio and this child's two pipe ends: a descriptor inherited
    // from the parent (another child's control pipe) would keep that child alive.
    const int lo = std::min(ready[1], control[0]);
    const int hi = std::max(ready[1], control[0]);
    ::close_range(3, static_cast<unsigned>(lo) - 1, 0);
    ::close_range(static_cast<unsigned>(lo) + 1, static_cast<unsigned>(hi) - 1, 0);
    ::close_range(static_cast<unsigned>(hi) + 1, ~0U, 0);
    // Never outlive the benchmark, even if it is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    child_channel channel(ready[1], control[0]);
    int rc = 1;
    try {
      rc = body(channel);
    } catch (const std::exception& e) {
      channel.failed(e.what());
    } catch (...) {
      channel.failed("unknown exception");
    }
    std::fflush(stdout);
    std::fflush(stderr);
    // _exit: the parent's static objects are not ours to destroy.
    ::_exit(rc);
  }
  ::close(ready[1]);
  ::close(control[0]);
  forked_process child(pid, control[1]);
  std::string reply;
  char buffer[512];
  while (true) {
    const auto n = ::read(ready[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buffer, static_cast<std::size_t>(n));
    if (reply == "R") break;
  }
  ::close(ready[0]);
  if (reply == "R") return child;
  child.stop();
  if (reply.empty()) return std::string("the child exited before it was ready");
  return reply.substr(1);
}

forked_process::forked_process(forked_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), control_fd_(std::exchange(other.control_fd_, -1)), status_(other.status_) {}

forked_process& forked_process::operator=(forked_process&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = std::exchange(other.pid_, -1);
    control_fd_ = std::exchange(other.control_fd_, -1);
    status_ = other.status_;
  }
  return *this;
}

forked_process::~forked_process() { stop(); }

int forked_process::stop() {
  if (control_fd_ >= 0) {
    ::close(control_fd_);
    control_fd_ = -1;
  }
  if (pid_ > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    pid_ = -1;
  }
  return status_;
}

std::optional<memory_usage> read_memory_usage(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  memory_usage usage;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    std::uint64_t value = 0;
    fields >> key >> value;
    if (key == "VmRSS:") usage.vm_rss_kib = value;
    if (key == "RssAnon:") usage.rss_anon_kib = value;
    if (key == "Threads:") usage.threads = value;
  }
  return usage;
}

}  // namespace daemoneye::bench
