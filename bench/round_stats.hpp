// What one row of daemoneye-bench measured in one round (every latency, the
// operations, the wall time) and its summary: p50/p99, messages/s, MB/s.
// Rounds are summarised separately and combined by their median.
//
//   round_sample s; s.latencies.push_back(t1 - t0); ... s.elapsed = end - start;
//   round_summary r = summarize(s, request_bytes + response_bytes);
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include <sys/types.h>

namespace daemoneye::bench {

using bench_clock = std::chrono::steady_clock;

/// Raw measurements of one row in one round. Value type.
struct round_sample {
  std::vector<std::chrono::nanoseconds> latencies;  ///< one per successful operation
  std::chrono::nanoseconds elapsed{0};              ///< wall time of the timed part
  std::uint64_t errors = 0;
  std::uint64_t server_cpu_ns = 0;    ///< CPU time the server process used in the timed part, all threads
  std::uint64_t client_cpu_ns = 0;    ///< the same for this process
  std::uint64_t server_switches = 0;  ///< context switches of the server's threads in the timed part

  /// Appends the latencies and errors of `other` (another worker of the same row).
  void merge(const round_sample& other) {
    latencies.insert(latencies.end(), other.latencies.begin(), other.latencies.end());
    errors += other.errors;
  }
};

/// One round of one row, summarised. Value type.
struct round_summary {
  double p50_us = 0;
  double p99_us = 0;
  double msgs_per_s = 0;
  double mb_per_s = 0;         ///< request + response bytes, 10^6 bytes per MB
  double server_cpu_us = 0;    ///< server CPU time per operation
  double client_cpu_us = 0;    ///< client CPU time per operation
  double server_switches = 0;  ///< server context switches (thread hand-offs, waits) per operation
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;
};

/// The `q` quantile (0..1) of `values` by nearest rank; sorts `values`.
inline double quantile(std::vector<double>& values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

inline double median(std::vector<double> values) { return quantile(values, 0.5); }

inline round_summary summarize(const round_sample& s, std::size_t bytes_per_op) {
  round_summary r;
  std::vector<double> us;
  us.reserve(s.latencies.size());
  for (const auto d : s.latencies) us.push_back(std::chrono::duration<double, std::micro>(d).count());
  r.p50_us = quantile(us, 0.50);
  r.p99_us = quantile(us, 0.99);
  r.ops = s.latencies.size();
  r.errors = s.errors;
  if (r.ops > 0) {
    r.server_cpu_us = static_cast<double>(s.server_cpu_ns) / 1e3 / static_cast<double>(r.ops);
    r.client_cpu_us = static_cast<double>(s.client_cpu_ns) / 1e3 / static_cast<double>(r.ops);
    r.server_switches = static_cast<double>(s.server_switches) / static_cast<double>(r.ops);
  }
  const double seconds = std::chrono::duration<double>(s.elapsed).count();
  if (seconds > 0) {
    r.msgs_per_s = static_cast<double>(r.ops) / seconds;
    r.mb_per_s = r.msgs_per_s * static_cast<double>(bytes_per_op) / 1e6;
  }
  return r;
}

/// How long a row runs in one round: a fixed number of operations, or a fixed time.
struct run_limits {
  std::uint64_t iterations = 0;  ///< when > 0, exactly this many timed operations
  std::chrono::nanoseconds duration{std::chrono::milliseconds(250)};
  std::uint64_t warmup = 20;  ///< untimed operations first, on the same connection
  pid_t server = -1;          ///< the process whose CPU time the row is charged

  /// Whether an operation numbered `done` (0-based) should still run.
  [[nodiscard]] bool more(std::uint64_t done, bench_clock::time_point deadline) const {
    return iterations > 0 ? done < iterations : bench_clock::now() < deadline;
  }
};

/// CPU time (ns, every thread) of this process and of the server, and the
/// server's context switches, read at the start and the end of a timed part.
class cpu_meter {
 public:
  explicit cpu_meter(pid_t server);
  /// Stores the CPU used since construction into `s`.
  void stop(round_sample& s) const;

 private:
  pid_t server_;
  std::uint64_t server_start_;
  std::uint64_t client_start_;
  std::uint64_t switches_start_;
};

/// CPU time of every thread of `pid` so far, from /proc/<pid>/task/*/schedstat (0 if unreadable).
std::uint64_t process_cpu_ns(pid_t pid);
/// Context switches (voluntary and not) of every thread of `pid` so far.
std::uint64_t process_context_switches(pid_t pid);
/// CPU time of this process so far (every thread).
std::uint64_t own_cpu_ns();

}  // namespace daemoneye::bench
