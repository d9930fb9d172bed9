// raw_connection: a client socket under the soak's full control - plain
// system calls, non-blocking, every wait a poll() against a deadline - so a
// hostile case can send any bytes and watch exactly what the server does.
//
//   raw_connection c;
//   if (raw_connection::connect(path, max_frame_bytes, c) != connect_status::connected) ...
//   c.send_all(bytes, deadline);
//   auto ev = c.next_event(deadline);   // one answer frame, EOF or timeout
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include "daemoneye/ipc/frame_decoder.hpp"
#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::soak {

using clock = std::chrono::steady_clock;

enum class connect_status {
  connected,
  backlog_full,  ///< EAGAIN: the listen queue is full (a kernel answer, not the server's)
  failed,        ///< anything else: the server is not there or not accepting
};

enum class send_status { ok, peer_closed, timeout, error };

/// What the server did next, as seen from the client.
struct read_event {
  enum class kind {
    answer,     ///< a complete DetectionResult frame (in `result`)
    eof,        ///< orderly close or reset (ECONNRESET: it closed with our bytes unread)
    timeout,    ///< nothing within the deadline
    bad_frame,  ///< the server sent bytes that are not a valid frame/DetectionResult
    error,      ///< a local I/O error
  };
  kind what = kind::timeout;
  ipc::DetectionResult result;
  std::string detail;
};

/// Resource type: movable, not copyable. One thread at a time.
class raw_connection {
 public:
  raw_connection() = default;
  raw_connection(raw_connection&& other) noexcept;
  raw_connection& operator=(raw_connection&& other) noexcept;
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  ~raw_connection();

  /// Connects without waiting: an AF_UNIX connect completes at once or fails.
  /// `max_frame_bytes` bounds the answer frames accepted from the server.
  static connect_status connect(const std::string& path, std::size_t max_frame_bytes, raw_connection& out,
                                std::string* error = nullptr);

  /// Sends every byte or stops at the deadline / when the server has closed.
  send_status send_all(std::span<const std::byte> bytes, clock::time_point deadline);
  /// Waits for the next answer frame, EOF or the deadline.
  read_event next_event(clock::time_point deadline);

  /// shutdown(SHUT_WR): the server sees EOF, we can still read.
  void shutdown_send() noexcept;
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  /// Bytes of a partial answer frame received so far.
  [[nodiscard]] std::size_t buffered() const noexcept { return decoder_.buffered(); }

 private:
  int fd_ = -1;
  ipc::frame_decoder decoder_;
};

/// The text of an errno value (thread-safe, unlike strerror).
std::string errno_text(int err);

/// Milliseconds from now to `deadline` for poll(): 0 when passed, rounded up.
int poll_timeout_ms(clock::time_point deadline) noexcept;

}  // namespace daemoneye::soak
