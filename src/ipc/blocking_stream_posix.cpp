// blocking_stream on a Unix domain socket: a blocking descriptor whose send
// and receive timeouts are socket options, so a call is one system call.
#ifndef _WIN32

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemoneye/ipc/detail/blocking_stream.hpp"
#include "daemoneye/ipc/transport.hpp"

#include "detail/send_buffer_posix.hpp"

namespace daemoneye::ipc::detail {
namespace {

void set_timeout(int fd, int option, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

io_outcome outcome_of(ssize_t n) {
  if (n > 0) return {io_outcome::done, static_cast<std::size_t>(n), {}};
  if (n == 0) return {io_outcome::end_of_stream, 0, {}};
  const std::error_code ec(errno, std::system_category());
  if (errno == EAGAIN || errno == EWOULDBLOCK) return {io_outcome::timed_out, 0, ec};
  // EPIPE: we wrote after the peer closed. ECONNRESET: the peer closed with
  // our data still unread on its side (e.g. a peer rejected by allowed_uids).
  if (errno == EPIPE || errno == ECONNRESET) return {io_outcome::reset, 0, ec};
  return {io_outcome::failed, 0, ec};
}

}  // namespace

void blocking_stream::reserve_send_buffer(std::size_t bytes) noexcept {
  if (handle_ != invalid) detail::reserve_send_buffer(static_cast<int>(handle_), bytes);
}

void blocking_stream::close() noexcept {
  if (handle_ != invalid) ::close(static_cast<int>(handle_));
  handle_ = invalid;
}

result<blocking_stream> blocking_stream::connect(const std::string& path, std::chrono::milliseconds timeout) {
  if (auto ok = validate_endpoint_path(path); !ok) return fail(std::move(ok).error());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(errc::io, fmt::format("socket(): {}", std::strerror(errno)));
  blocking_stream stream(fd);
  // A blocking connect to a Unix socket waits while the listen backlog is
  // full, for at most the send timeout.
  set_timeout(fd, SO_SNDTIMEO, timeout);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {  // NOLINT
    const std::error_code ec(errno == EINPROGRESS ? ETIMEDOUT : errno, std::system_category());
    return fail(connect_error(ec, path, timeout));
  }
  return stream;
}

void blocking_stream::set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) noexcept {
  read_timeout_ = read;
  write_timeout_ = write;
  set_timeout(static_cast<int>(handle_), SO_RCVTIMEO, read);
  set_timeout(static_cast<int>(handle_), SO_SNDTIMEO, write);
}

io_outcome blocking_stream::send_some(std::span<const std::byte> bytes) noexcept {
  while (true) {
    // MSG_NOSIGNAL: a closed peer is an EPIPE here, not a SIGPIPE for the process.
    const auto n = ::send(static_cast<int>(handle_), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    return outcome_of(n);
  }
}

io_outcome blocking_stream::receive_some(std::span<std::byte> room) noexcept {
  while (true) {
    const auto n = ::recv(static_cast<int>(handle_), room.data(), room.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    return outcome_of(n);
  }
}

io_outcome blocking_stream::receive_available(std::span<std::byte> room) noexcept {
  const auto n = ::recv(static_cast<int>(handle_), room.data(), room.size(), MSG_DONTWAIT);
  auto out = outcome_of(n);
  if (out.status == io_outcome::timed_out) out.status = io_outcome::would_block;
  return out;
}

}  // namespace daemoneye::ipc::detail

#endif  // _WIN32
