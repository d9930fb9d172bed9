// interprocess_client: the coroutine client. One persistent connection,
// opened on first use and reused; concurrent send_task calls are pipelined on
// it and matched to their answers by task_id.
//
//   interprocess_client client(io.get_executor(), config);
//   auto r = co_await client.async_send_task(tasks::new_test_task("t-1", wire::ENUMERATE_PROCESSES));
//   if (!r) std::cerr << r.error().message();          // e.g. "server not found at ... - is procmond running?"
//   else if (!r->success()) ...                         // the collector's own failure answer
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "daemoneye/ipc/config.hpp"
#include "daemoneye/ipc/error.hpp"
#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::ipc {

/// Counters of one client. A snapshot.
struct client_stats {
  std::uint64_t connects = 0;
  std::uint64_t tasks_sent = 0;
  std::uint64_t tasks_completed = 0;
  std::uint64_t tasks_failed = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t sequence_errors = 0;  ///< answers that did not echo the task's sequence number
  /// Writes that carried tasks (system calls on Unix, overlapped writes on
  /// Windows). Calls made while others are in flight share them, so under
  /// pipelining this grows slower than tasks_sent.
  std::uint64_t writes = 0;
};

/// Thread safety: every member may be called from any thread and from any
/// coroutine; the client serialises its work on an internal strand.
/// Resumption: an answer that comes while no other call is in flight resumes
/// its caller at once, from within the client's read, where the caller's
/// executor allows (the same io_context, on its thread): a lone round trip
/// then costs no extra trip through the executor's queue. Until that caller
/// next suspends, the client does nothing else; a call another thread
/// starts meanwhile goes out after. Answers that come while other calls are
/// in flight are queued to their callers' executors, so a caller busy after
/// its answer holds up no answer to another call.
/// Cancellation: close() fails every pending call with errc::cancelled.
/// Lifetime: the object must outlive the calls awaiting on it.
class interprocess_client {
 public:
  interprocess_client(asio::any_io_executor executor, ipc_config config);
  interprocess_client(const interprocess_client&) = delete;
  interprocess_client& operator=(const interprocess_client&) = delete;
  ~interprocess_client();

  /// Connects now (otherwise the first send does). No-op when connected.
  asio::awaitable<result<void>> async_connect();

  /// Sends `task` and waits for its answer, at most `timeout` (default:
  /// read_timeout_ms). Transport failures and the server's error answers
  /// that concern the call rather than the task (SERVER_BUSY, RATE_LIMITED,
  /// OVERLOADED, SHUTTING_DOWN, HANDLER_TIMEOUT, frame errors) come back as
  /// errors; a task the collector answered success=false comes back as a value.
  asio::awaitable<result<DetectionResult>> async_send_task(
      DetectionTask task, std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  /// As async_send_task, but the answer lands in `out`, which keeps its
  /// memory (records, strings) for the next answer: the coroutine
  /// counterpart of blocking_client::round_trip, for callers that process
  /// one answer at a time. `out` must outlive the call and stay untouched
  /// until it completes; after an error its content is unspecified.
  asio::awaitable<result<void>> async_round_trip(DetectionTask task, DetectionResult& out,
                                                 std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  /// Closes the connection; pending calls fail with errc::cancelled. The next send reconnects.
  void close();

  [[nodiscard]] bool is_connected() const noexcept;
  [[nodiscard]] client_stats stats() const;
  [[nodiscard]] const ipc_config& config() const noexcept;

 private:
  struct state;
  static asio::awaitable<result<void>> connect_on_strand(std::shared_ptr<state> self);
  template <typename Value>
  static asio::awaitable<Value> start_call(std::shared_ptr<state> self, DetectionTask task, DetectionResult* into,
                                           std::optional<std::chrono::milliseconds> timeout);
  std::shared_ptr<state> state_;
};

}  // namespace daemoneye::ipc
