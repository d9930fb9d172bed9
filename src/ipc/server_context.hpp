// What every connection of one server shares: handlers, built-in answers,
// counters and the observer. Owned by the server; connections hold it by
// shared_ptr so it outlives the last of them.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include "daemoneye/ipc/server.hpp"
#include "daemoneye/ipc/token_bucket.hpp"

namespace daemoneye::ipc::detail {

class server_connection;

struct server_context {
  /// One io_context per worker thread: a connection lives on one of them, so
  /// its handlers never hop between threads and need no strand.
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::atomic<std::size_t> next_io{0};
  std::unique_ptr<asio::thread_pool> blocking_pool;  // runs sync handlers
  unsigned blocking_threads = 0;                     // its size
  // At most one of the four handlers is set.
  interprocess_server::async_handler async_handler;
  interprocess_server::async_in_place_handler async_in_place_handler;
  interprocess_server::sync_handler sync_handler;
  interprocess_server::in_place_handler in_place_handler;
  handler_execution sync_execution = handler_execution::blocking_pool;  // of either plain-function kind
  CollectionCapabilities capabilities;
  std::function<std::string()> metrics_provider;
  server_observer* observer = nullptr;
  std::string endpoint;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  std::atomic<bool> shutting_down{false};
  std::atomic<std::uint32_t> active{0};
  std::atomic<std::uint32_t> pending{0};  // tasks handed to handlers, all connections

  struct counters {
    std::atomic<std::uint64_t> accepted{0}, rejected_busy{0}, rejected_uid{0}, received{0}, answered{0}, failed{0},
        frames_rejected{0}, handler_timeouts{0}, overloaded{0}, rate_limited{0}, bytes_in{0}, bytes_out{0};
  } count;

  /// The server-wide rate limit (requests_per_second, burst), when enabled.
  std::mutex global_bucket_mutex;
  std::optional<token_bucket> global_bucket;
  std::atomic<bool> global_limit{false};  // lets the common, unlimited case skip the mutex
  bool take_global_token(std::chrono::steady_clock::time_point now) {
    if (!global_limit.load(std::memory_order_relaxed)) return true;
    const std::lock_guard lock(global_bucket_mutex);
    return !global_bucket || global_bucket->try_take(now);
  }

  std::atomic<std::uint64_t> sequence_errors{0};

  /// Called by a connection when it has closed (any thread).
  std::function<void(const std::shared_ptr<server_connection>&)> on_closed;

  explicit server_context(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
  }

  void clear_handlers() noexcept {
    async_handler = nullptr;
    async_in_place_handler = nullptr;
    sync_handler = nullptr;
    in_place_handler = nullptr;
  }
  [[nodiscard]] bool has_coroutine_handler() const noexcept { return async_handler || async_in_place_handler; }
  [[nodiscard]] bool has_plain_handler() const noexcept { return sync_handler || in_place_handler; }
  /// Runs the plain-function handler for `task`; its answer ends up in `result`.
  void run_plain_handler(const DetectionTask& task, DetectionResult& result) const {
    if (in_place_handler) {
      in_place_handler(task, result);
    } else {
      result = sync_handler(task);
    }
  }

  /// The io_context for the next connection (round robin).
  asio::io_context& pick_io() noexcept { return *ios[next_io.fetch_add(1, std::memory_order_relaxed) % ios.size()]; }
  /// The io_context an accepted stream runs on (one of ios; see local_listener::async_accept).
  asio::io_context& io_of(const asio::any_io_executor& executor) noexcept {
    auto& context = asio::query(executor, asio::execution::context);
    for (auto& io : ios) {
      if (io.get() == &context) return *io;
    }
    return *ios.front();
  }
};

}  // namespace daemoneye::ipc::detail
