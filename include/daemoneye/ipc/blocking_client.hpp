// blocking_client: the client for programs without an event loop. Plain
// system calls on one persistent connection, one task at a time, each bounded
// by its timeout (socket options on Unix, so a round trip costs one send and
// one receive; overlapped I/O on a Windows pipe).
//
//   blocking_client client(config);
//   auto r = client.send_task(tasks::new_builtin_task("h-1", health_check_metadata));
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "daemoneye/ipc/byte_buffer.hpp"
#include "daemoneye/ipc/config.hpp"
#include "daemoneye/ipc/detail/blocking_stream.hpp"
#include "daemoneye/ipc/error.hpp"
#include "daemoneye/ipc/frame_decoder.hpp"
#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::ipc {

/// Resource type: movable, not copyable. Thread-compatible: one thread at a time.
class blocking_client {
 public:
  explicit blocking_client(ipc_config config);
  blocking_client(blocking_client&& other) noexcept;
  blocking_client& operator=(blocking_client&& other) noexcept;
  blocking_client(const blocking_client&) = delete;
  blocking_client& operator=(const blocking_client&) = delete;
  ~blocking_client();

  /// Connects within accept_timeout_ms. No-op when connected.
  result<void> connect();

  /// Sends `task` and waits for the answer with its task_id, connecting first
  /// when needed. Errors as interprocess_client::async_send_task. After a
  /// transport error the connection is closed; the next call reconnects.
  result<DetectionResult> send_task(const DetectionTask& task);

  /// Writes an already-encoded frame and reads one answer frame into `out`
  /// (for benchmarks and tools that reuse messages). Same errors as send_task.
  result<void> round_trip(const DetectionTask& task, DetectionResult& out);

  void close() noexcept;
  [[nodiscard]] bool is_connected() const noexcept { return stream_.is_open(); }
  [[nodiscard]] const ipc_config& config() const noexcept { return config_; }
  /// Answers whose sequence number did not echo the task's (enable_sequence_numbers).
  [[nodiscard]] std::uint64_t sequence_errors() const noexcept { return sequence_errors_; }

 private:
  result<void> write_all(std::span<const std::byte> bytes);
  result<void> read_answer(const std::string& task_id, DetectionResult& out);
  ipc_error fail_connection(ipc_error error);
  /// A connection-level answer (empty task_id) already received, if any.
  std::optional<ipc_error> connection_answer_pending();

  ipc_config config_;
  codec_options codec_;
  detail::blocking_stream stream_;
  byte_buffer out_;
  frame_decoder decoder_;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t sequence_errors_ = 0;
};

}  // namespace daemoneye::ipc
