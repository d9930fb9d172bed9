// The raw Unix-socket ping-pong; see floor.hpp.
#include "floor.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace daemoneye::bench {
namespace {

std::uint32_t load_u32_le(const std::byte* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8U) |
         (static_cast<std::uint32_t>(p[2]) << 16U) | (static_cast<std::uint32_t>(p[3]) << 24U);
}

void store_u32_le(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8U * static_cast<unsigned>(i)));
}

bool make_address(const std::string& path, sockaddr_un& addr) {
  if (path.size() >= sizeof(addr.sun_path)) return false;
  addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

bool send_all(int fd, const std::byte* data, std::size_t size) {
  while (size > 0) {
    const auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

/// Serves ping-pong on `fd` until the peer closes.
void serve_connection(int fd, std::vector<std::byte>& in, const std::vector<std::byte>& out) {
  std::size_t have = 0;
  // Reads until `need` bytes are buffered, each read asking for up to `ask`:
  // everything still missing, so as few system calls as possible.
  const auto fill = [&](std::size_t need, std::size_t ask) {
    while (have < need) {
      const auto n = ::recv(fd, in.data() + have, ask - have, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      have += static_cast<std::size_t>(n);
    }
    return true;
  };
  while (true) {
    if (!fill(8, in.size())) return;
    const std::size_t want = load_u32_le(in.data());
    if (want < 8 || want > in.size() || load_u32_le(in.data() + 4) > out.size()) return;
    if (!fill(want, want)) return;
    const std::size_t response = load_u32_le(in.data() + 4);
    if (!send_all(fd, out.data(), response)) return;
    // Keep what already arrived of a next request (a ping-pong client sends none).
    std::memmove(in.data(), in.data() + want, have - want);
    have -= want;
  }
}

}  // namespace

int run_raw_echo_server(const std::string& path, child_channel& channel) {
  sockaddr_un addr{};
  if (!make_address(path, addr)) {
    channel.failed("endpoint path too long");
    return 1;
  }
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0 || ::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||  // NOLINT
      ::listen(listener, 128) != 0) {
    channel.failed(std::string("raw echo server: ") + std::strerror(errno));
    return 1;
  }
  // Both buffers are touched once here so no page fault lands in a measurement.
  std::vector<std::byte> in(raw_echo_max_bytes);
  std::vector<std::byte> out(raw_echo_max_bytes, std::byte{'y'});
  channel.ready();
  while (true) {
    pollfd fds[2] = {{listener, POLLIN, 0}, {channel.control_fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;  // released
    const int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    serve_connection(conn, in, out);
    ::close(conn);
  }
  ::close(listener);
  ::unlink(path.c_str());
  return 0;
}

std::vector<std::byte> raw_request(std::size_t request_bytes, std::size_t response_bytes) {
  std::vector<std::byte> req(std::max<std::size_t>(request_bytes, 8), std::byte{'x'});
  store_u32_le(req.data(), static_cast<std::uint32_t>(req.size()));
  store_u32_le(req.data() + 4, static_cast<std::uint32_t>(response_bytes));
  return req;
}

bool raw_echo_client::connect(const std::string& path) {
  close();
  sockaddr_un addr{};
  if (!make_address(path, addr)) return false;
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {  // NOLINT
    close();
    return false;
  }
  return true;
}

bool raw_echo_client::round_trip(std::span<const std::byte> request, std::size_t response_bytes) {
  if (fd_ < 0 || !send_all(fd_, request.data(), request.size())) return false;
  if (in_.size() < response_bytes) in_.resize(response_bytes);
  std::size_t have = 0;
  while (have < response_bytes) {
    const auto n = ::recv(fd_, in_.data() + have, response_bytes - have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    have += static_cast<std::size_t>(n);
  }
  return true;
}

void raw_echo_client::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace daemoneye::bench
