// unique_fd: sole owner of a POSIX file descriptor, closed on destruction, so
// every early return of the /proc and hashing code releases what it opened.
//
//   unique_fd fd(::open(path, O_RDONLY | O_CLOEXEC));
//   if (!fd) return errno;
#pragma once

#include <utility>

#include <unistd.h>

namespace daemoneye::procmond {

/// Move-only owner of a descriptor; -1 means none. Not thread-safe (a value).
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives up ownership (e.g. to fdopendir) and returns the descriptor.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    // close(2) errors on a read-only descriptor carry no information we could act on.
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace daemoneye::procmond
