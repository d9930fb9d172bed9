// interprocess_server: answers DetectionTasks on a local endpoint. It owns the
// listener, the worker threads and every connection; the application supplies
// a handler (a coroutine or a plain function) and, optionally, capabilities
// and a metrics text for the built-in answers.
//
//   interprocess_server server(config);
//   server.set_handler([](const DetectionTask& t) { return results::success(t.task_id()); });
//   if (auto ok = server.start(); !ok) die(ok.error().message());   // listening now
//   ...
//   server.graceful_shutdown(std::chrono::seconds(5));
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include <asio/awaitable.hpp>

#include "daemoneye/ipc/config.hpp"
#include "daemoneye/ipc/error.hpp"
#include "daemoneye/ipc/messages.hpp"
#include "daemoneye/ipc/version.hpp"

namespace daemoneye::ipc {

/// Counters of one server since start. Plain values, a snapshot.
struct server_stats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_rejected_busy = 0;
  std::uint64_t connections_rejected_uid = 0;
  std::uint32_t connections_active = 0;
  std::uint64_t tasks_received = 0;
  std::uint64_t tasks_answered = 0;
  std::uint64_t tasks_failed = 0;  ///< answered with success=false
  std::uint64_t frames_rejected = 0;
  std::uint64_t handler_timeouts = 0;
  std::uint64_t overloaded = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

/// Observer of what a server does, for metrics. Called from the server's
/// threads; implementations must be thread-safe and must not block.
class server_observer {
 public:
  virtual ~server_observer() = default;
  virtual void connection_opened() {}
  /// `reason`: "peer_closed", "read_timeout", "write_timeout", "protocol_error", "shutdown", "io_error", ...
  virtual void connection_closed(std::string_view /*reason*/) {}
  /// `reason`: "server_busy", "uid_not_allowed"
  virtual void connection_rejected(std::string_view /*reason*/) {}
  /// `reason`: an errc name such as "too_large", "crc_mismatch", "invalid_length", "decode"
  virtual void frame_rejected(std::string_view /*reason*/) {}
  /// One per answered task: its type (a TaskType, builtin_task_type for the
  /// built-in answers, -1 when unknown), outcome ("success", or an ErrorCode
  /// name) and latency.
  virtual void task_answered(int /*task_type*/, std::string_view /*outcome*/, std::chrono::nanoseconds /*latency*/) {}
  /// The task_type reported for health_check, capability_negotiation and metrics answers.
  static constexpr int builtin_task_type = -2;
  virtual void bytes_transferred(std::uint64_t /*in*/, std::uint64_t /*out*/) {}
};

/// Where a plain-function handler runs.
enum class handler_execution {
  /// On a separate thread pool, answered back on the connection's thread: a
  /// handler that blocks (reads /proc, takes a lock, sleeps) stalls no
  /// connection. Costs two thread hand-offs per task. The default.
  blocking_pool,
  /// Inline, on the connection's I/O thread, as soon as the task is decoded:
  /// no thread hand-off, the fastest path. Only for handlers that never
  /// block: while one runs, the other connections of that I/O thread wait,
  /// and handler_timeout_ms cannot interrupt it.
  inline_on_io_thread,
};

/// A server on one endpoint.
///
/// Thread safety: set_* before start(); start/graceful_shutdown/stop/reload
/// from any one thread at a time; stats() from any thread. The handler is
/// called concurrently from the worker threads (up to
/// flow_control.max_in_flight tasks per connection) and must be thread-safe.
///
/// Lifetime: the destructor stops the server (as stop()).
class interprocess_server {
 public:
  using async_handler = std::function<asio::awaitable<DetectionResult>(DetectionTask)>;
  using sync_handler = std::function<DetectionResult(const DetectionTask&)>;
  /// A plain function that writes its answer into `result` instead of
  /// returning one. The server owns that message and reuses it, cleared, for
  /// later tasks of the connection: an answer of many records then costs no
  /// memory allocation once the connection is warm (build it with
  /// add_processes() / mutable_*() or assign into it; do not keep references
  /// to it after returning).
  using in_place_handler = std::function<void(const DetectionTask&, DetectionResult& result)>;
  /// A coroutine writing its answer into `result`, like in_place_handler.
  /// The server keeps the task and the result alive, and touches neither,
  /// until the coroutine has finished (also when it finishes after its task
  /// was answered HANDLER_TIMEOUT); then it reuses both for a later task of
  /// the connection, so hold no reference to them past the coroutine's end.
  using async_in_place_handler = std::function<asio::awaitable<void>(const DetectionTask&, DetectionResult& result)>;

  explicit interprocess_server(ipc_config config);
  interprocess_server(const interprocess_server&) = delete;
  interprocess_server& operator=(const interprocess_server&) = delete;
  ~interprocess_server();

  /// A coroutine handler, run on the server's threads.
  void set_handler(async_handler handler);
  /// A coroutine filling a reused result, run on the server's threads.
  void set_handler(async_in_place_handler handler);
  /// A plain function. By default it runs on a separate pool so a slow call
  /// does not stall I/O; handler_execution::inline_on_io_thread runs it on
  /// the connection's thread instead (for handlers that never block).
  void set_handler(sync_handler handler, handler_execution execution = handler_execution::blocking_pool);
  /// A plain function filling a reused result; runs as `execution` says.
  void set_handler(in_place_handler handler, handler_execution execution = handler_execution::blocking_pool);
  /// Any callable taking a task and returning DetectionResult or
  /// awaitable<DetectionResult>, or taking (task, DetectionResult&) and
  /// returning void or awaitable<void>.
  template <typename F>
  requires(!std::is_same_v<std::decay_t<F>, async_handler> && !std::is_same_v<std::decay_t<F>, sync_handler> &&
           !std::is_same_v<std::decay_t<F>, in_place_handler> &&
           !std::is_same_v<std::decay_t<F>, async_in_place_handler>) void set_handler(F&& f) {
    if constexpr (std::is_invocable_r_v<asio::awaitable<DetectionResult>, F&, DetectionTask>) {
      set_handler(async_handler(std::forward<F>(f)));
    } else if constexpr (std::is_invocable_r_v<asio::awaitable<void>, F&, const DetectionTask&, DetectionResult&>) {
      set_handler(async_in_place_handler(std::forward<F>(f)));
    } else if constexpr (std::is_invocable_v<F&, const DetectionTask&, DetectionResult&>) {
      set_handler(in_place_handler(std::forward<F>(f)));
    } else {
      set_handler(sync_handler(std::forward<F>(f)));
    }
  }
  /// A plain function (either kind) run as `execution` says.
  template <typename F>
  requires(!std::is_same_v<std::decay_t<F>, sync_handler> &&
           !std::is_same_v<std::decay_t<F>, in_place_handler>) void set_handler(F&& f, handler_execution execution) {
    // As a plain function, a coroutine would only be created, never run.
    static_assert(!std::is_invocable_r_v<asio::awaitable<void>, F&, const DetectionTask&, DetectionResult&> &&
                      !std::is_invocable_r_v<asio::awaitable<DetectionResult>, F&, DetectionTask>,
                  "coroutine handlers always run on the server's threads: pass no handler_execution");
    if constexpr (std::is_invocable_v<F&, const DetectionTask&, DetectionResult&>) {
      set_handler(in_place_handler(std::forward<F>(f)), execution);
    } else {
      set_handler(sync_handler(std::forward<F>(f)), execution);
    }
  }

  /// What capability_negotiation answers (default: no domains).
  void set_capabilities(CollectionCapabilities capabilities);
  /// Produces the text of the built-in `metrics` answer.
  void set_metrics_provider(std::function<std::string()> provider);
  /// Receives events for metrics; must outlive the server.
  void set_observer(server_observer* observer);

  /// Binds and listens, then starts the worker threads. Returns once the
  /// endpoint accepts connections (no sleeping, no polling), or the error
  /// (invalid_config, unsafe_endpoint, endpoint_in_use, io).
  result<void> start();

  /// Stops accepting and removes the socket file; tasks in flight finish and
  /// are answered; tasks arriving meanwhile are answered SHUTTING_DOWN; each
  /// connection closes once it has nothing in flight. After `drain_timeout`
  /// whatever remains is closed. Blocks until done. Idempotent.
  void graceful_shutdown(std::chrono::milliseconds drain_timeout);

  /// Closes everything at once and joins the threads. Idempotent.
  void stop();

  /// Blocks until the server has stopped (by stop() or graceful_shutdown()).
  void wait();

  /// Applies codec, limits and timeouts of `config` to connections accepted
  /// from now on. The endpoint and thread count are not changed.
  void reload(const ipc_config& config);

  [[nodiscard]] const std::string& endpoint() const noexcept;
  [[nodiscard]] server_stats stats() const;
  [[nodiscard]] ipc_config config() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace daemoneye::ipc
