// The client side of every daemoneye-bench row: the floor (raw socket
// ping-pong) and the library (blocking_client, interprocess_client, pipelined,
// cold connects), each measured for one round against a server in another
// process, plus the server's memory with idle connections.
//
//   auto s = blocking_round_trips(cfg, task, limits);
//   auto summary = summarize(s, request_bytes + response_bytes);
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include <sys/types.h>

#include "daemoneye/ipc/config.hpp"
#include "daemoneye/ipc/messages.hpp"

#include "forked_process.hpp"
#include "round_stats.hpp"

namespace daemoneye::bench {

/// Floor: one connection, `request` out and `response_bytes` back, one at a time.
round_sample floor_round_trips(const std::string& path, std::span<const std::byte> request, std::size_t response_bytes,
                               const run_limits& limits);
/// Floor: connect, one round trip, close; per operation.
round_sample floor_cold_connects(const std::string& path, std::span<const std::byte> request,
                                 std::size_t response_bytes, const run_limits& limits);

/// blocking_client::round_trip on one connection, one task at a time.
round_sample blocking_round_trips(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                  const run_limits& limits);
/// blocking_client::send_task (a fresh DetectionResult per answer) on one connection.
round_sample blocking_send_tasks(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                 const run_limits& limits);
/// interprocess_client::async_send_task on one connection, one task at a time, one thread.
round_sample coroutine_round_trips(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                   const run_limits& limits);
/// interprocess_client::async_round_trip into one reused result, one task at a time, one thread.
round_sample coroutine_reused_round_trips(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                          const run_limits& limits);
/// `connections` interprocess_clients, each with `in_flight` coroutines sending
/// in a loop, on an io_context run by `threads` threads. Latency is per task,
/// measured under that load.
round_sample pipelined_round_trips(const ipc::ipc_config& config, const ipc::DetectionTask& task, unsigned connections,
                                   unsigned in_flight, unsigned threads, const run_limits& limits);
/// `threads` threads, each with its own blocking_client, one task at a time.
round_sample blocking_thread_round_trips(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                         unsigned threads, const run_limits& limits);
/// A new blocking_client per operation: connect, one round trip, close.
round_sample cold_connects(const ipc::ipc_config& config, const ipc::DetectionTask& task, const run_limits& limits);

/// Opens `connections` blocking_clients, makes one round trip of `task` on
/// each, reads the server's memory while they sit idle, then closes them.
std::optional<memory_usage> memory_with_idle_connections(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                                         pid_t server, unsigned connections);

}  // namespace daemoneye::bench
