// raw_connection on Unix domain sockets: non-blocking descriptors, poll() with
// deadlines, MSG_NOSIGNAL so a closed peer is an error value, never SIGPIPE.
#include "raw_connection.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace daemoneye::soak {

std::string errno_text(int err) { return std::error_code(err, std::system_category()).message(); }

int poll_timeout_ms(clock::time_point deadline) noexcept {
  const auto left = deadline - clock::now();
  if (left <= clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > 0x7FFFFFFF ? 0x7FFFFFFF : static_cast<int>(ms);
}

raw_connection::raw_connection(raw_connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), decoder_(std::move(other.decoder_)) {}

raw_connection& raw_connection::operator=(raw_connection&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    decoder_ = std::move(other.decoder_);
  }
  return *this;
}

raw_connection::~raw_connection() { close(); }

void raw_connection::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void raw_connection::shutdown_send() noexcept {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

connect_status raw_connection::connect(const std::string& path, std::size_t max_frame_bytes, raw_connection& out,
                                       std::string* error) {
  out.close();
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    if (error) *error = "endpoint path too long";
    return connect_status::failed;
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (error) *error = fmt::format("socket(): {}", errno_text(errno));
    return connect_status::failed;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {  // NOLINT
    const int err = errno;
    ::close(fd);
    if (err == EAGAIN) return connect_status::backlog_full;
    if (error) *error = fmt::format("connect({}): {}", path, errno_text(err));
    return connect_status::failed;
  }
  out.fd_ = fd;
  out.decoder_ = ipc::frame_decoder(ipc::codec_options{.max_frame_bytes = max_frame_bytes});
  return connect_status::connected;
}

send_status raw_connection::send_all(std::span<const std::byte> bytes, clock::time_point deadline) {
  while (!bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET) return send_status::peer_closed;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return send_status::error;
    pollfd p{fd_, POLLOUT, 0};
    const int r = ::poll(&p, 1, poll_timeout_ms(deadline));
    if (r == 0) return send_status::timeout;
    if (r < 0 && errno != EINTR) return send_status::error;
  }
  return send_status::ok;
}

read_event raw_connection::next_event(clock::time_point deadline) {
  using kind = read_event::kind;
  while (true) {
    auto frame = decoder_.next();
    if (!frame) return {kind::bad_frame, {}, "server sent a bad frame: " + frame.error().message()};
    if (*frame) {
      read_event ev{kind::answer, {}, {}};
      if (auto ok = ipc::decode_into(**frame, ev.result); !ok) {
        return {kind::bad_frame, {}, "server sent an undecodable DetectionResult: " + ok.error().message()};
      }
      return ev;
    }
    auto room = decoder_.prepare();
    const auto n = ::recv(fd_, room.data(), room.size(), MSG_DONTWAIT);
    if (n > 0) {
      decoder_.commit(static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 || errno == ECONNRESET) {
      if (decoder_.buffered() > 0) {
        return {kind::bad_frame, {}, fmt::format("server closed after {} bytes of a frame", decoder_.buffered())};
      }
      return {kind::eof, {}, {}};
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return {kind::error, {}, errno_text(errno)};
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, poll_timeout_ms(deadline));
    if (r == 0) return {kind::timeout, {}, {}};
    if (r < 0 && errno != EINTR) return {kind::error, {}, errno_text(errno)};
  }
}

}  // namespace daemoneye::soak
