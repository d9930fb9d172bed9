// process_probe: what /proc says about the server under test - alive or not,
// resident memory (VmRSS) and open descriptors - read before and after a soak.
//
//   auto before = sample_process(pid);
//   if (!process_alive(pid)) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <sys/types.h>

namespace daemoneye::soak {

/// Value type.
struct process_sample {
  std::uint64_t rss_kib = 0;
  std::size_t open_fds = 0;
};

/// RSS and descriptor count of `pid`; std::nullopt when the process is gone
/// or its /proc entries are not readable (another user's process).
std::optional<process_sample> sample_process(pid_t pid);

/// Whether `pid` exists and is not a zombie.
bool process_alive(pid_t pid);

}  // namespace daemoneye::soak
