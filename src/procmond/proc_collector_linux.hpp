// The Linux collector: reads /proc (or a fixture tree laid out like it) with
// plain reads into one reused buffer, and derives CPU usage from the previous
// collection of the same instance.
//
//   proc_collector_linux collector({.proc_root = "/proc"});
//   auto records = collector.collect({});
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "procmond/process_collector.hpp"

namespace daemoneye::procmond {

struct proc_collector_options {
  /// The procfs mount (tests use a fixture tree with the same layout).
  std::string proc_root = "/proc";
  /// Monotonic time for CPU deltas between collections; steady_clock when empty.
  std::function<std::chrono::nanoseconds()> clock{};
};

/// process_collector over procfs. For each process: pid, ppid, name (stat comm,
/// or the full executable name when the kernel truncated comm to 15 bytes),
/// executable_path, command_line, start_time, cpu_usage, memory_usage (RSS),
/// user_id (real uid), accessible, file_exists, on_disk_mismatch, collection_time.
///
/// cpu_usage is percent of one CPU (a multi-threaded process can exceed 100):
/// since the previous collection by this instance for a process seen before
/// (keyed by pid and start time, so a reused pid starts afresh), otherwise the
/// average over the process's lifetime.
///
/// Thread safety: collect() must not run concurrently with itself; the const
/// members are safe from any thread (see process_collector).
class proc_collector_linux final : public process_collector {
 public:
  explicit proc_collector_linux(proc_collector_options options = {});

  result<std::vector<ProcessRecord>> collect(const collect_options& options) override;
  std::string executable_image_path(const ProcessRecord& record) const override;
  std::string_view name() const noexcept override { return "linux-procfs"; }

 private:
  struct sample_key {
    std::uint32_t pid;
    std::uint64_t starttime;
    bool operator==(const sample_key&) const = default;
  };
  struct sample_key_hash {
    std::size_t operator()(const sample_key& k) const noexcept {
      return std::hash<std::uint64_t>()(k.starttime * 0x9E3779B97F4A7C15ULL ^ k.pid);
    }
  };
  struct cpu_sample {
    std::uint64_t ticks = 0;        // utime + stime
    std::chrono::nanoseconds at{};  // clock_ at the sample
    double usage = 0;               // the value reported then
    std::uint64_t generation = 0;   // the full scan that last saw it
  };
  // What one collection shares across its processes.
  struct scan_context {
    int proc_fd = -1;
    std::int64_t collection_time_ms = 0;
    std::optional<std::int64_t> boot_time;
    std::optional<double> uptime;
    std::chrono::nanoseconds now{};
  };
  enum class read_outcome { ok, gone };

  read_outcome read_process(const scan_context& scan, std::uint32_t pid, const char* pid_name, ProcessRecord& out);
  // Sets the executable fields from the exe link's text; returns the path as
  // the kernel gave it (a view into `link`, without a " (deleted)" it added).
  std::string_view fill_executable(int pid_fd, std::string_view link, ProcessRecord& out);
  std::optional<double> cpu_usage(const scan_context& scan, std::uint32_t pid, std::uint64_t starttime,
                                  std::uint64_t ticks);
  std::string_view buffer_view() const { return {buffer_.data(), buffer_size_}; }
  int read_into_buffer(int dir_fd, const char* name);

  proc_collector_options options_;
  std::uint64_t clock_ticks_;  // sysconf(_SC_CLK_TCK)
  std::uint64_t page_size_;
  std::vector<char> buffer_;  // reused by every read of every collection
  std::size_t buffer_size_ = 0;
  std::unordered_map<sample_key, cpu_sample, sample_key_hash> samples_;
  std::uint64_t generation_ = 0;
};

}  // namespace daemoneye::procmond
