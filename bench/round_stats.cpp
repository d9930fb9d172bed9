// CPU time of the two processes of a row; see round_stats.hpp.
#include "round_stats.hpp"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

namespace daemoneye::bench {

std::uint64_t process_cpu_ns(pid_t pid) {
  if (pid <= 0) return 0;
  std::uint64_t total = 0;
  std::error_code ec;
  // schedstat's first field: nanoseconds on a CPU, exact (not tick-sampled).
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "schedstat");
    std::uint64_t ns = 0;
    if (in >> ns) total += ns;
  }
  return total;
}

std::uint64_t process_context_switches(pid_t pid) {
  if (pid <= 0) return 0;
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "status");
    std::string key;
    std::uint64_t value = 0;
    while (in >> key) {
      if (key == "voluntary_ctxt_switches:" || key == "nonvoluntary_ctxt_switches:") {
        if (in >> value) total += value;
      }
    }
  }
  return total;
}

std::uint64_t own_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

cpu_meter::cpu_meter(pid_t server)
    : server_(server),
      server_start_(process_cpu_ns(server)),
      client_start_(own_cpu_ns()),
      switches_start_(process_context_switches(server)) {}

void cpu_meter::stop(round_sample& s) const {
  s.client_cpu_ns = own_cpu_ns() - client_start_;
  s.server_cpu_ns = process_cpu_ns(server_) - server_start_;
  s.server_switches = process_context_switches(server_) - switches_start_;
}

}  // namespace daemoneye::bench
