// process_probe on Linux: /proc/PID/status, /proc/PID/stat and /proc/PID/fd.
#include "process_probe.hpp"

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace daemoneye::soak {

std::optional<process_sample> sample_process(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir + "/status");
  if (!status) return std::nullopt;
  process_sample s;
  bool have_rss = false;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream(line.substr(6)) >> s.rss_kib;
      have_rss = true;
    }
  }
  if (!have_rss) return std::nullopt;  // a zombie has no VmRSS
  std::error_code ec;
  std::filesystem::directory_iterator it(dir + "/fd", ec);
  if (ec) return std::nullopt;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++s.open_fds;
  }
  return s;
}

bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  // "pid (comm) S ...": the state follows the last ')' (comm may contain one).
  const auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return false;
  const char state = text[close + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace daemoneye::soak
