// soak_options: the settings of one daemoneye-soak run, parsed from the
// command line. The server-side values (limits, timeouts) must match the
// procmond under test: the soak derives what PROTOCOL.md section 5 promises from them.
//
//   auto opts = parse_soak_options(argc, argv);
//   if (!opts) return opts.error().exit_code;
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <sys/types.h>

#include "daemoneye/ipc/result.hpp"

namespace daemoneye::soak {

/// Value type.
struct soak_options {
  std::string endpoint;
  pid_t server_pid = 0;
  std::chrono::seconds duration{20};

  // What the server was started with.
  std::uint32_t max_connections = 16;
  std::size_t max_frame_bytes = std::size_t{1024} * 1024;
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{10000};

  // How hard and how long the soak pushes.
  std::uint32_t workers_per_case = 3;
  std::chrono::milliseconds answer_timeout{5000};  ///< bound on any expected answer or close
  std::chrono::milliseconds grace{2000};           ///< slack on top of a server timeout
  std::chrono::milliseconds client_timeout{5000};  ///< the well-behaved client's read/write/connect timeouts
  std::chrono::milliseconds client_interval{5};    ///< pause between its tasks
  std::uint64_t seed = 0;

  // Resource bounds checked after the run.
  std::size_t fd_slack = 2;
  std::uint64_t max_rss_growth_mib = 32;
};

/// Why parsing stopped: help was asked for (exit 0) or a flag is wrong (exit 2).
struct parse_stop {
  int exit_code = 2;
};

/// Parses argv; prints help or the error itself.
ipc::basic_result<soak_options, parse_stop> parse_soak_options(int argc, char** argv);

}  // namespace daemoneye::soak
