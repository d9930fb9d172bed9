// Table and tree rendering of process records.
#include "cli/process_view.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string_view>

#include <fmt/format.h>

namespace daemoneye::cli {
namespace {

using row = std::vector<std::string>;

std::string cpu_text(const ipc::ProcessRecord& r) {
  return r.has_cpu_usage() ? fmt::format("{:.1f}", r.cpu_usage()) : std::string("-");
}

/// How many terminal columns fmt gives `text` when it pads it: one per code
/// point, two for East Asian wide ones. A name with U+FFFD or accented letters
/// is narrower on screen than in bytes, and the columns are sized by what fmt
/// will do. Measured through fmt itself: padded to as many columns as it has
/// bytes (never fewer than it is wide), it gets one space per column it lacks.
std::size_t display_width(std::string_view text) {
  const std::size_t padded = fmt::formatted_size("{:{}}", text, text.size());
  return (2 * text.size()) - padded;
}

void render_rows(const std::vector<row>& rows, const std::vector<bool>& right_aligned, std::string& out) {
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], display_width(r[i]));
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      const bool last = i + 1 == r.size();
      if (i > 0) line += "  ";
      if (right_aligned[i]) {
        line += fmt::format("{:>{}}", r[i], widths[i]);
      } else {
        line += last ? r[i] : fmt::format("{:<{}}", r[i], widths[i]);
      }
    }
    out += line;
    out += '\n';
  }
}

}  // namespace

std::vector<ipc::ProcessRecord> records_by_pid(ipc::DetectionResult answer) {
  auto& processes = *answer.mutable_processes();
  std::vector<ipc::ProcessRecord> records(std::make_move_iterator(processes.begin()),
                                          std::make_move_iterator(processes.end()));
  std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.pid() < b.pid(); });
  return records;
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr std::array<char, 6> units{'K', 'M', 'G', 'T', 'P', 'E'};
  if (bytes < 1024) return fmt::format("{}B", bytes);
  auto value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < units.size()) {
    value /= 1024.0;
    ++unit;
  }
  // 9.96 would print as "10.0": switch to whole numbers by the rounded value.
  if (value < 9.95) return fmt::format("{:.1f}{}", value, units[unit]);
  return fmt::format("{:.0f}{}", value, units[unit]);
}

std::string render_process_table(const std::vector<ipc::ProcessRecord>& records, user_names& users,
                                 table_options options) {
  std::vector<row> rows;
  rows.reserve(records.size() + 1);
  row header{"PID", "PPID", "USER", "CPU%", "RSS", "NAME"};
  std::vector<bool> right{true, true, false, true, true, false};
  if (options.with_hash) {
    header.emplace_back("HASH");
    right.push_back(false);
  }
  header.emplace_back("EXE");
  right.push_back(false);
  rows.push_back(std::move(header));
  for (const auto& r : records) {
    row line{
        std::to_string(r.pid()),
        r.has_ppid() ? std::to_string(r.ppid()) : std::string("-"),
        r.has_user_id() ? users.display(r.user_id()) : std::string("-"),
        cpu_text(r),
        r.has_memory_usage() ? format_bytes(r.memory_usage()) : std::string("-"),
        r.name().empty() ? std::string("-") : r.name(),
    };
    if (options.with_hash) line.push_back(r.has_executable_hash() ? r.executable_hash() : std::string("-"));
    line.push_back(r.has_executable_path() && !r.executable_path().empty() ? r.executable_path() : std::string("-"));
    rows.push_back(std::move(line));
  }
  std::string out;
  render_rows(rows, right, out);
  return out;
}

std::string render_process_tree(const std::vector<ipc::ProcessRecord>& records) {
  std::map<std::uint32_t, const ipc::ProcessRecord*> by_pid;
  for (const auto& r : records) by_pid.emplace(r.pid(), &r);
  std::map<std::uint32_t, std::vector<std::uint32_t>> children;  // sorted by pid: map keys and sorted vectors
  std::vector<std::uint32_t> roots;
  for (const auto& [pid, r] : by_pid) {
    if (r->has_ppid() && r->ppid() != pid && by_pid.contains(r->ppid())) {
      children[r->ppid()].push_back(pid);
    } else {
      roots.push_back(pid);
    }
  }

  std::string out;
  std::set<std::uint32_t> shown;
  // Depth-first with an explicit stack: a deep chain must not exhaust the call stack.
  const auto show_from = [&](std::uint32_t root) {
    std::vector<std::pair<std::uint32_t, std::size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      const auto [pid, depth] = stack.back();
      stack.pop_back();
      if (!shown.insert(pid).second) continue;
      const auto* r = by_pid.at(pid);
      out += fmt::format("{:{}}{} {}\n", "", depth * 2, pid, r->name().empty() ? std::string("-") : r->name());
      if (auto it = children.find(pid); it != children.end()) {
        // Pushed in reverse so the lowest pid is shown first.
        std::for_each(it->second.rbegin(), it->second.rend(),
                      [&, d = depth](std::uint32_t child) { stack.emplace_back(child, d + 1); });
      }
    }
  };
  for (const auto pid : roots) show_from(pid);
  // What is left hangs off a ppid cycle (pid reuse between reads): show it rather than drop it.
  for (const auto& [pid, r] : by_pid) {
    if (!shown.contains(pid)) show_from(pid);
  }
  return out;
}

}  // namespace daemoneye::cli
