// resilient_client: a thread-safe client over one or more endpoints that
// survives restarts and failures: pooled blocking connections, load balancing
// (round robin, smooth weighted, priority), failover, retries with jittered
// exponential backoff, a circuit breaker per endpoint, an overall deadline
// per call, and routing by the capabilities each server announces.
//
//   auto client = resilient_client::create(config, {{.id = "primary", .endpoint_path = "/run/a.sock", .priority = 0},
//                                                   {.id = "standby", .endpoint_path = "/run/b.sock", .priority = 1}});
//   if (!client) die(client.error().message());
//   auto r = client->send_task(tasks::new_test_task("t-1", wire::ENUMERATE_PROCESSES));
//   if (!r) std::cerr << r.error().message();   // a definite error: nothing is lost silently
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemoneye/ipc/circuit_breaker.hpp"
#include "daemoneye/ipc/clock.hpp"
#include "daemoneye/ipc/config.hpp"
#include "daemoneye/ipc/error.hpp"
#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::ipc {

/// Whether a task of this type may be sent again after a failure that left
/// it unclear whether the server ran it (the connection broke after the
/// write). True for every current type: they all read state, none changes it.
bool is_idempotent(TaskType type) noexcept;

/// The monitoring domain a server must announce to run tasks of `type`
/// (ENUMERATE_PROCESSES, CHECK_PROCESS_HASH, MONITOR_PROCESS_TREE,
/// VERIFY_EXECUTABLE: PROCESS; MONITOR_NETWORK_CONNECTIONS: NETWORK;
/// TRACK_FILE_OPERATIONS: FILESYSTEM; COLLECT_PERFORMANCE_METRICS: PERFORMANCE).
std::optional<MonitoringDomain> required_domain(TaskType type) noexcept;

/// Whether `capabilities` list the domain tasks of `type` need.
bool supports(const CollectionCapabilities& capabilities, TaskType type) noexcept;

enum class balancing_strategy : std::uint8_t {
  round_robin,  ///< each call starts at the next endpoint in turn
  weighted,     ///< smooth weighted round robin: shares proportional to weight, evenly interleaved
  priority,     ///< lowest priority number first; the next one only when it fails
};

/// "round_robin", "weighted", "priority".
std::string_view to_string(balancing_strategy s) noexcept;

/// One server the client may use. Value type.
struct endpoint_spec {
  /// Unique among the client's endpoints; names the endpoint in errors and stats.
  std::string id;
  std::string endpoint_path;
  /// Priority strategy: lower numbers are tried first.
  std::uint32_t priority = 0;
  /// Weighted strategy: the endpoint's share of calls; at least 1.
  std::uint32_t weight = 1;
};

/// Settings beyond ipc_config.client. Value type.
struct resilient_client_options {
  balancing_strategy strategy = balancing_strategy::priority;
  /// Bounds one send_task call as a whole, retries and waits included
  /// (measured on the client's clock). Overridable per call.
  std::chrono::milliseconds call_deadline{60000};
  /// Circuit breaker probes admitted at once while half-open.
  std::uint32_t half_open_max_probes = 1;
  /// Successful probes that close a half-open breaker.
  std::uint32_t breaker_success_threshold = 2;
  /// Route tasks only to endpoints whose negotiated capabilities support
  /// their type. Built-in tasks (health_check, capability_negotiation,
  /// metrics) go anywhere.
  bool require_capabilities = true;
  /// Capabilities older than this are negotiated again before use.
  std::chrono::milliseconds capabilities_max_age{60000};
  /// Idle connections kept per endpoint.
  std::size_t max_idle_connections = 4;
  /// A pooled connection idle longer than read_timeout_ms minus this margin
  /// is closed before reuse, so the server's idle timeout never closes it
  /// under a call (half of read_timeout_ms when the margin is not smaller).
  std::chrono::milliseconds idle_margin{1000};
  /// Weight of the newest outcome in the health score (exponential moving average).
  double health_smoothing = 0.2;
  /// Seed of the backoff jitter; std::random_device when unset.
  std::optional<std::uint64_t> backoff_seed;
};

/// Per-call overrides of the client's settings. Value type.
struct call_options {
  /// Overall deadline of this call instead of resilient_client_options::call_deadline.
  std::optional<std::chrono::milliseconds> deadline;
  /// Overrides is_idempotent(task type): false means the task is sent again
  /// only when it certainly did not reach a handler.
  std::optional<bool> idempotent;
};

/// Round-trip times of completed tasks in fixed buckets. Value type.
struct latency_histogram {
  /// Upper bounds of the buckets; a last bucket counts everything above.
  static constexpr std::array<std::chrono::microseconds, 6> upper_bounds{
      std::chrono::microseconds(1000),   std::chrono::microseconds(5000),   std::chrono::microseconds(25000),
      std::chrono::microseconds(100000), std::chrono::microseconds(500000), std::chrono::microseconds(2500000)};
  std::array<std::uint64_t, upper_bounds.size() + 1> counts{};
  /// Sum of every recorded latency, in seconds.
  double sum_seconds = 0;

  void record(std::chrono::nanoseconds latency) noexcept;
  [[nodiscard]] std::uint64_t total() const noexcept;
};

/// Counters and state of one endpoint. A snapshot.
struct endpoint_stats {
  std::string id;
  std::string endpoint_path;
  std::uint32_t priority = 0;
  std::uint32_t weight = 1;
  /// Caller tasks written to the endpoint (each send, resends included).
  std::uint64_t tasks_sent = 0;
  /// Caller tasks answered (success or a well-formed success=false).
  std::uint64_t tasks_completed = 0;
  /// Caller task sends that ended in an error.
  std::uint64_t tasks_failed = 0;
  /// Capability negotiations and connection checks sent.
  std::uint64_t control_tasks_sent = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t bytes_in = 0;
  latency_histogram latency;
  std::uint64_t connection_attempts = 0;
  std::uint64_t connection_failures = 0;
  /// Pooled connections found closed by the server and replaced transparently.
  std::uint64_t stale_connections_replaced = 0;
  /// Pooled connections closed by the client for being idle too long.
  std::uint64_t idle_connections_closed = 0;
  std::size_t idle_connections = 0;
  /// Exponentially weighted success rate of calls, 0..1 (1 at start).
  double health_score = 1.0;
  /// The last negotiated capabilities, if any.
  std::optional<CollectionCapabilities> capabilities;
  /// State, transition counts and rejections of the endpoint's breaker.
  circuit_breaker_stats breaker;
};

/// The resilient client.
///
/// Thread safety: send_task, negotiate_capabilities, stats and
/// close_idle_connections may be called from any number of threads at once;
/// each call takes a connection of the chosen endpoint's pool under a mutex,
/// uses it without the lock and returns it afterwards.
/// Blocking: calls block the calling thread (system calls and the clock's
/// sleep_until for backoff waits). Cancellation: none; the deadline bounds a call.
/// Lifetime: the clock must outlive the client. Movable (a moved-from client
/// may only be destroyed or assigned to), not copyable.
///
/// Retries: transient errors (server_not_found, connection_refused,
/// connection_timeout, peer_closed, server_busy, rate_limited, overloaded,
/// shutting_down, timeout) are retried up to client.max_attempts attempts in
/// all, failing over to the next endpoint at once and waiting a jittered
/// backoff once every candidate has failed; other errors end the call at once.
/// A task that may have reached a handler is sent again only if idempotent.
/// Limitation: the deadline is checked between attempts and cuts the backoff
/// waits; a single attempt's I/O is bounded by the socket timeouts of
/// ipc_config (accept/read/write_timeout_ms), as blocking_client has no
/// per-call timeout, so a call may overrun its deadline by up to those.
class resilient_client {
 public:
  /// Checks the configuration (validate(), one endpoint at least, unique
  /// non-empty ids, valid paths, weights of at least 1): errc::invalid_config.
  static result<resilient_client> create(ipc_config config, std::vector<endpoint_spec> endpoints,
                                         resilient_client_options options = {},
                                         clock_source& clock = steady_clock_source());
  /// One endpoint: config.endpoint_path, id "default".
  static result<resilient_client> create(ipc_config config, resilient_client_options options = {},
                                         clock_source& clock = steady_clock_source());

  resilient_client(resilient_client&&) noexcept;
  resilient_client& operator=(resilient_client&&) noexcept;
  resilient_client(const resilient_client&) = delete;
  resilient_client& operator=(const resilient_client&) = delete;
  ~resilient_client();

  /// Sends `task` to an endpoint chosen by the strategy and returns its
  /// answer. A well-formed answer with success=false is a value (and counts
  /// as the endpoint working). Errors: invalid_task or too_large before any
  /// I/O; unsupported_task when no endpoint's capabilities support the type;
  /// circuit_breaker_open when every candidate's breaker rejects the call;
  /// timeout when the deadline passes (the message names the attempts made);
  /// otherwise the last attempt's error.
  result<DetectionResult> send_task(const DetectionTask& task, const call_options& options = {});

  /// Negotiates the capabilities of endpoint `id` now (through its breaker, one attempt).
  result<CollectionCapabilities> negotiate_capabilities(std::string_view id);

  [[nodiscard]] std::vector<endpoint_stats> stats() const;
  [[nodiscard]] std::optional<endpoint_stats> stats(std::string_view id) const;

  /// Closes the connections waiting in the pools; connections in use by a
  /// call go back to the pool as usual when the call ends.
  void close_idle_connections();

  [[nodiscard]] const ipc_config& config() const noexcept;
  [[nodiscard]] const resilient_client_options& options() const noexcept;

 private:
  struct impl;
  explicit resilient_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace daemoneye::ipc
