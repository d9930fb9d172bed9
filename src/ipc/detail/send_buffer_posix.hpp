// Send-buffer sizing shared by the two Unix-socket streams: local_stream
// (Asio) and detail::blocking_stream.
#pragma once

#include <climits>
#include <cstddef>

#include <sys/socket.h>

namespace daemoneye::ipc::detail {

/// Lets the socket `fd` hold at least `bytes` sent but not yet read
/// (SO_SNDBUF), so that a frame of that size leaves in one write instead of
/// in pieces, each waiting for the peer to read the one before. Never lowers
/// the current size. The kernel caps the request at net.core.wmem_max and
/// doubles it for its own bookkeeping. Best effort: a refusal leaves the
/// socket as it was.
inline void reserve_send_buffer(int fd, std::size_t bytes) noexcept {
  int current = 0;
  socklen_t length = sizeof(current);
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &current, &length) == 0 && current >= 0 &&
      static_cast<std::size_t>(current) >= bytes) {
    return;
  }
  const int wanted = bytes > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(bytes);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &wanted, sizeof(wanted));
}

}  // namespace daemoneye::ipc::detail
