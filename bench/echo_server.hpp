// The server side of daemoneye-bench: an interprocess_server whose handler
// answers the workloads of workload.hpp (empty, 500 records, ~1 MiB echo and,
// when procmond_core is linked in, a real ENUMERATE_PROCESSES). Runs in a
// forked child; the parent measures it from outside.
//
//   forked_process::start([&](child_channel& ch) { return run_echo_server(opts, ch); });
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "daemoneye/ipc/config.hpp"

#include "forked_process.hpp"

namespace daemoneye::bench {

/// How the benchmark server runs. Value type.
struct echo_server_options {
  std::string endpoint;
  /// A plain function on the server's blocking pool, as procmond registers
  /// its handler; false: a coroutine handler on the I/O threads.
  bool sync_handler = true;
  /// With sync_handler: run it inline on the I/O threads
  /// (handler_execution::inline_on_io_thread) instead of on the pool.
  bool inline_handler = false;
  /// The handler (either kind) writes its answer into the message the
  /// server reuses (an in-place handler) instead of returning it.
  bool in_place = false;
  /// Worker threads; 0: the library default (one per hardware thread).
  std::uint32_t threads = 0;
  /// Where the server's log goes (its stderr), at `log_level`.
  std::string log_path = "/dev/null";
  std::string log_level = "info";
  /// Largest frame both sides accept (the ~1 MiB workload needs workload::max_frame_bytes).
  std::size_t max_frame_bytes = ipc::ipc_config{}.max_frame_bytes;
  /// Further settings (`key`, `value`, keys as in the config file) applied last.
  std::vector<std::pair<std::string, std::string>> settings;
};

/// The client's configuration: defaults, the endpoint and max_frame_bytes.
ipc::ipc_config bench_client_config(const std::string& endpoint, std::size_t max_frame_bytes);
/// The server's: as the client's, plus 64 connections (the cold-connect row
/// must not race the reaping of closed ones), `threads` and `settings`.
ipc::result<ipc::ipc_config> bench_server_config(const echo_server_options& options);

/// Whether this build answers workload::kind::enumerate with procmond's collector.
bool echo_server_has_collector() noexcept;

/// Child side: starts the server, calls channel.ready() once it listens, and
/// runs until the parent releases it. Returns the exit code.
int run_echo_server(const echo_server_options& options, child_channel& channel);

}  // namespace daemoneye::bench
