// The floor: what one request/response over a Unix stream socket costs with no
// codec, no protobuf, no event loop. A request starts with two u32 LE values,
// its own total size and the size of the wanted response; the server reads
// the whole request and writes that many bytes back. daemoneye-bench compares
// the library against this, byte size for byte size.
//
//   raw_echo_client c;
//   c.connect(path);
//   auto req = raw_request(41, 33);
//   c.round_trip(req, 33);
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "forked_process.hpp"

namespace daemoneye::bench {

/// Largest request or response the floor server handles.
inline constexpr std::size_t raw_echo_max_bytes = std::size_t{4} * 1024 * 1024;

/// Child side: listens on `path`, calls channel.ready(), then serves one
/// connection at a time until the parent releases it. Returns the exit code.
int run_raw_echo_server(const std::string& path, child_channel& channel);

/// A request of `request_bytes` (>= 8) asking for `response_bytes` back.
std::vector<std::byte> raw_request(std::size_t request_bytes, std::size_t response_bytes);

/// Parent side: blocking system calls, one round trip at a time.
/// Resource type: not copyable, not movable. Not thread-safe.
class raw_echo_client {
 public:
  raw_echo_client() = default;
  raw_echo_client(const raw_echo_client&) = delete;
  raw_echo_client& operator=(const raw_echo_client&) = delete;
  ~raw_echo_client() { close(); }

  bool connect(const std::string& path);
  /// Writes `request` and reads `response_bytes` back. False on any failure.
  bool round_trip(std::span<const std::byte> request, std::size_t response_bytes);
  void close() noexcept;

 private:
  int fd_ = -1;
  std::vector<std::byte> in_;
};

}  // namespace daemoneye::bench
