// Parsers of the /proc text formats the Linux collector reads: a process's stat
// line, the Uid line of its status, its NUL-separated cmdline, btime of
// /proc/stat and /proc/uptime. Pure functions on string_views (no I/O), so
// fixtures and fuzzers can drive them directly.
//
//   if (auto st = parse_proc_stat(text)) record.set_ppid(st->ppid);
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace daemoneye::procmond {

/// The fields of /proc/PID/stat the collector uses (proc(5) numbering in comments).
struct proc_stat {
  std::uint32_t pid = 0;        ///< (1)
  std::string_view comm;        ///< (2) without the parentheses; a view into the parsed text
  char state = '?';             ///< (3) R, S, D, Z, T, ...
  std::uint32_t ppid = 0;       ///< (4)
  std::uint32_t flags = 0;      ///< (9) PF_* flags; PF_KTHREAD marks kernel threads
  std::uint64_t utime = 0;      ///< (14) clock ticks in user mode
  std::uint64_t stime = 0;      ///< (15) clock ticks in kernel mode
  std::uint64_t starttime = 0;  ///< (22) clock ticks after boot
  std::int64_t rss_pages = 0;   ///< (24) resident set size in pages
};

/// PF_KTHREAD of include/linux/sched.h.
inline constexpr std::uint32_t pf_kthread = 0x00200000U;

/// Parses one /proc/PID/stat line. The comm field is delimited by the first '('
/// and the LAST ')' because the name itself may contain spaces and parentheses.
/// std::nullopt when the text is malformed.
std::optional<proc_stat> parse_proc_stat(std::string_view text) noexcept;

/// The real uid: the first number of the "Uid:" line of /proc/PID/status.
std::optional<std::uint32_t> parse_status_uid(std::string_view text) noexcept;

/// btime (boot time, unix seconds) from /proc/stat.
std::optional<std::int64_t> parse_boot_time(std::string_view text) noexcept;

/// Seconds since boot: the first number of /proc/uptime.
std::optional<double> parse_uptime(std::string_view text) noexcept;

/// Calls `f(std::string_view)` for each argument of a /proc/PID/cmdline: the
/// text split on NUL, the terminating NUL dropped (empty arguments in the middle
/// are kept). Nothing for an empty cmdline (kernel threads, zombies).
template <typename F>
void for_each_cmdline_arg(std::string_view raw, F&& f) {
  if (raw.empty()) return;
  if (raw.back() == '\0') raw.remove_suffix(1);
  for (;;) {
    const auto nul = raw.find('\0');
    f(raw.substr(0, nul));
    if (nul == std::string_view::npos) return;
    raw.remove_prefix(nul + 1);
  }
}

}  // namespace daemoneye::procmond
