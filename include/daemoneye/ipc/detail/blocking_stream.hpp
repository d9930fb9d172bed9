// blocking_stream: a connected local endpoint driven by plain blocking system
// calls with a timeout on every call. The platform layer under blocking_client
// (a Unix socket with SO_RCVTIMEO/SO_SNDTIMEO, or a named pipe with
// overlapped I/O waited on with a timeout); the protocol lives above it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "daemoneye/ipc/error.hpp"

namespace daemoneye::ipc::detail {

/// How one send or receive ended.
struct io_outcome {
  enum status_type {
    done,           ///< `bytes` were transferred (at least one)
    end_of_stream,  ///< the peer closed its end
    reset,          ///< the peer went away with data unread (or the pipe broke)
    would_block,    ///< nothing available right now (receive_available only)
    timed_out,      ///< the per-call timeout passed with nothing transferred
    failed,         ///< any other error, in `error`
  };
  status_type status = failed;
  std::size_t bytes = 0;
  std::error_code error;
};

/// Resource type: movable, not copyable. One thread at a time.
class blocking_stream {
 public:
  blocking_stream() = default;
  blocking_stream(blocking_stream&& other) noexcept
      : handle_(std::exchange(other.handle_, invalid)),
        read_timeout_(other.read_timeout_),
        write_timeout_(other.write_timeout_) {}
  blocking_stream& operator=(blocking_stream&& other) noexcept {
    if (this != &other) {
      close();
      handle_ = std::exchange(other.handle_, invalid);
      read_timeout_ = other.read_timeout_;
      write_timeout_ = other.write_timeout_;
    }
    return *this;
  }
  blocking_stream(const blocking_stream&) = delete;
  blocking_stream& operator=(const blocking_stream&) = delete;
  ~blocking_stream() { close(); }

  /// Connects to the endpoint at `path`, waiting at most `timeout` while the
  /// server's backlog (Unix) or every pipe instance (Windows) is busy. Errors
  /// are connect_error()'s: server_not_found, connection_refused,
  /// permission_denied, connection_timeout.
  static result<blocking_stream> connect(const std::string& path, std::chrono::milliseconds timeout);

  /// As local_stream::reserve_send_buffer.
  void reserve_send_buffer(std::size_t bytes) noexcept;

  /// Timeouts for every later send_some / receive_some.
  void set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) noexcept;

  /// Sends some of `bytes`, waiting at most the write timeout.
  io_outcome send_some(std::span<const std::byte> bytes) noexcept;
  /// Receives into `room`, waiting at most the read timeout.
  io_outcome receive_some(std::span<std::byte> room) noexcept;
  /// Receives what has already arrived, without waiting.
  io_outcome receive_available(std::span<std::byte> room) noexcept;

  [[nodiscard]] bool is_open() const noexcept { return handle_ != invalid; }
  void close() noexcept;

 private:
  static constexpr std::intptr_t invalid = -1;
  explicit blocking_stream(std::intptr_t handle) noexcept : handle_(handle) {}

  std::intptr_t handle_ = invalid;  ///< a descriptor on Unix, a HANDLE on Windows
  std::chrono::milliseconds read_timeout_{0};
  std::chrono::milliseconds write_timeout_{0};
};

}  // namespace daemoneye::ipc::detail
