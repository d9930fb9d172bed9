// What every connection of one server shares: handlers, built-in answers,
// counters and the observer. Owned by the server; connections hold it by
// shared_ptr so it outlives the last of them.
#pragma once

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "daemoneye/ipc/server.hpp"

namespace daemoneye::ipc::detail {

class server_connection;

struct server_context {
  asio::io_context io;
  std::unique_ptr<asio::thread_pool> blocking_pool;  // runs sync handlers
  interprocess_server::async_handler async_handler;
  interprocess_server::sync_handler sync_handler;
  CollectionCapabilities capabilities;
  std::function<std::string()> metrics_provider;
  server_observer* observer = nullptr;
  std::string endpoint;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  std::atomic<bool> shutting_down{false};
  std::atomic<std::uint32_t> active{0};
  std::atomic<std::uint32_t> pending{0};  // tasks handed to handlers, all connections

  struct counters {
    std::atomic<std::uint64_t> accepted{0}, rejected_busy{0}, rejected_uid{0}, received{0}, answered{0},
        failed{0}, frames_rejected{0}, handler_timeouts{0}, overloaded{0}, rate_limited{0}, bytes_in{0},
        bytes_out{0};
  } count;

  /// Called by a connection when it has closed (any thread).
  std::function<void(const std::shared_ptr<server_connection>&)> on_closed;

  explicit server_context(int threads) : io(threads) {}
};

}  // namespace daemoneye::ipc::detail
