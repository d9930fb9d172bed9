// well_behaved_client: the control group of the soak. One ipc::blocking_client
// on one persistent connection sends health_check and ENUMERATE_PROCESSES
// tasks back to back and checks every answer; any error, timeout or wrong
// answer while the hostile clients run is a failure of the server.
//
//   well_behaved_client c(opts);
//   if (auto ok = c.connect(); !ok) ...     // before the hostile clients start
//   std::jthread t([&](std::stop_token st) { c.run(st); });
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "daemoneye/ipc/blocking_client.hpp"

#include "soak_options.hpp"

namespace daemoneye::soak {

/// Latencies and failures of the run. Value type.
struct client_report {
  std::uint64_t tasks = 0;
  std::uint64_t failures = 0;  ///< includes timeouts
  std::uint64_t timeouts = 0;
  std::chrono::microseconds p50{0};
  std::chrono::microseconds p99{0};
  std::chrono::microseconds max{0};
  std::vector<std::string> failure_details;  ///< the first few
};

/// Resource type. run() on one thread; report() after it returned.
class well_behaved_client {
 public:
  explicit well_behaved_client(const soak_options& opts);

  /// Connects and checks one health_check answer against the options (the
  /// server's max_connections and codec). Call before the hostile clients start,
  /// so that the connection has its slot.
  ipc::result<void> connect();
  /// Sends tasks until `stop` is requested.
  void run(const std::stop_token& stop);
  [[nodiscard]] client_report report() const;
  void close() noexcept { client_.close(); }

 private:
  /// The problem with `r` as the answer to `task`, or empty when it is right.
  [[nodiscard]] std::string check_answer(const ipc::DetectionTask& task, const ipc::DetectionResult& r) const;
  void fail(std::string detail, bool timeout);

  const soak_options& opts_;
  ipc::blocking_client client_;
  std::vector<std::chrono::microseconds> latencies_;
  std::uint64_t tasks_ = 0;
  std::uint64_t failures_ = 0;
  std::uint64_t timeouts_ = 0;
  std::vector<std::string> failure_details_;
};

/// An ipc_config for a client of the server described by `opts`.
ipc::ipc_config client_config(const soak_options& opts);

}  // namespace daemoneye::soak
