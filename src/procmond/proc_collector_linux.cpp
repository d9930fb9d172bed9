// procfs collection. Per process: one directory descriptor (so every later read
// refers to the same process even if its pid is reused mid-scan), then stat,
// the exe link, cmdline and status, each read with read(2) into buffer_.
#include "procmond/proc_collector_linux.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <memory>
#include <system_error>

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemoneye/ipc/utf8.hpp"

#include "procmond/proc_parse.hpp"
#include "procmond/unique_fd.hpp"

namespace daemoneye::procmond {
namespace {

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// comm is cut to TASK_COMM_LEN - 1 bytes by the kernel.
constexpr std::size_t comm_max = 15;
// Deltas over shorter intervals are mostly clock-tick rounding (one tick is
// usually 10 ms), so below this the previous value is reported and the
// baseline kept.
constexpr nanoseconds min_cpu_interval = milliseconds(200);
constexpr std::string_view deleted_suffix = " (deleted)";

// The process is gone (exited, or reaped between two reads).
bool is_gone(int err) noexcept { return err == ENOENT || err == ESRCH; }

std::string_view basename_of(std::string_view path) noexcept {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool same_file(const struct stat& a, const struct stat& b) noexcept {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// stat(2) of `path` as the process sees it: through /proc/PID/root, so a process
// in a container or chroot is checked against its own filesystem. Falls back to
// our own view when its root cannot be followed (no permission, or a fixture
// tree without a root link).
bool stat_as_process(int pid_fd, std::string_view path, struct stat& out) {
  std::string path_z(path);
  if (path.starts_with('/')) {
    const std::string rooted = "root" + path_z;
    if (::fstatat(pid_fd, rooted.c_str(), &out, 0) == 0) return true;
    const int err = errno;
    struct stat root {};
    if (err != EACCES && err != EPERM && ::fstatat(pid_fd, "root", &root, 0) == 0) return false;
  }
  return ::stat(path_z.c_str(), &out) == 0;
}

// "cannot <action> <path>: <errno text>" for the current errno (the category's
// message() is thread-safe, unlike strerror(3)). results::failure makes it
// valid UTF-8 when it goes to a peer.
std::string errno_message(std::string_view action, std::string_view path) {
  const int err = errno;
  return fmt::format("cannot {} {}: {}", action, path, std::generic_category().message(err));
}

struct dir_closer {
  void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};

std::chrono::nanoseconds steady_now() { return std::chrono::steady_clock::now().time_since_epoch(); }

}  // namespace

proc_collector_linux::proc_collector_linux(proc_collector_options options)
    : options_(std::move(options)),
      clock_ticks_(static_cast<std::uint64_t>(std::max(1L, ::sysconf(_SC_CLK_TCK)))),
      page_size_(static_cast<std::uint64_t>(std::max(1L, ::sysconf(_SC_PAGESIZE)))),
      buffer_(std::size_t{16} * 1024) {
  if (!options_.clock) options_.clock = steady_now;
}

std::string proc_collector_linux::executable_image_path(const ProcessRecord& record) const {
  if (!record.has_executable_path()) return {};
  return fmt::format("{}/{}/exe", options_.proc_root, record.pid());
}

int proc_collector_linux::read_into_buffer(int dir_fd, const char* name) {
  buffer_size_ = 0;
  unique_fd fd(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return errno;
  for (;;) {
    if (buffer_size_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    const ssize_t n = ::read(fd.get(), buffer_.data() + buffer_size_, buffer_.size() - buffer_size_);
    if (n > 0) {
      buffer_size_ += static_cast<std::size_t>(n);
    } else if (n == 0) {
      return 0;
    } else if (errno != EINTR) {
      return errno;
    }
  }
}

result<std::vector<ProcessRecord>> proc_collector_linux::collect(const collect_options& options) {
  scan_context scan;
  scan.collection_time_ms = duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  unique_fd proc(::open(options_.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc) return ipc::fail(ipc::errc::io, errno_message("open the process table", options_.proc_root));
  scan.proc_fd = proc.get();
  if (read_into_buffer(scan.proc_fd, "stat") == 0) scan.boot_time = parse_boot_time(buffer_view());
  if (read_into_buffer(scan.proc_fd, "uptime") == 0) scan.uptime = parse_uptime(buffer_view());
  scan.now = options_.clock();

  std::vector<ProcessRecord> records;
  auto visit = [&](std::uint32_t pid, const char* pid_name) {
    ProcessRecord record;
    if (read_process(scan, pid, pid_name, record) == read_outcome::ok) records.push_back(std::move(record));
  };

  const bool full_scan = options.pids.empty();
  if (full_scan) {
    ++generation_;
    // fdopendir takes ownership of its descriptor; give it a duplicate.
    unique_fd dir_fd(::fcntl(scan.proc_fd, F_DUPFD_CLOEXEC, 0));
    std::unique_ptr<DIR, dir_closer> dir(dir_fd ? ::fdopendir(dir_fd.get()) : nullptr);
    if (!dir) return ipc::fail(ipc::errc::io, errno_message("list the process table", options_.proc_root));
    static_cast<void>(dir_fd.release());
    records.reserve(512);
    while (const dirent* entry = ::readdir(dir.get())) {  // NOLINT(concurrency-mt-unsafe): a DIR of our own
      std::uint32_t pid = 0;
      const char* end = entry->d_name + std::strlen(entry->d_name);
      auto [ptr, ec] = std::from_chars(entry->d_name, end, pid);
      if (ec != std::errc() || ptr != end) continue;  // self, sys, cpuinfo, ...
      visit(pid, entry->d_name);
    }
    std::erase_if(samples_, [this](const auto& s) { return s.second.generation != generation_; });
  } else {
    std::vector<std::uint32_t> pids = options.pids;
    std::sort(pids.begin(), pids.end());
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
    for (auto pid : pids) {
      std::array<char, 16> name{};
      std::to_chars(name.data(), name.data() + name.size() - 1, pid);
      visit(pid, name.data());
    }
  }
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.pid() < b.pid(); });
  return records;
}

proc_collector_linux::read_outcome proc_collector_linux::read_process(const scan_context& scan, std::uint32_t pid,
                                                                      const char* pid_name, ProcessRecord& out) {
  out.set_pid(pid);
  out.set_collection_time(scan.collection_time_ms);
  out.set_accessible(false);

  unique_fd dir(::openat(scan.proc_fd, pid_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return is_gone(errno) ? read_outcome::gone : read_outcome::ok;

  if (int err = read_into_buffer(dir.get(), "stat"); err != 0) {
    return is_gone(err) ? read_outcome::gone : read_outcome::ok;
  }
  const auto st = parse_proc_stat(buffer_view());
  if (!st || st->pid != pid) return read_outcome::ok;  // unreadable: reported, not accessible
  std::string name(st->comm);                          // st->comm points into buffer_, which the next read reuses
  const bool kernel_thread = (st->flags & pf_kthread) != 0;
  out.set_ppid(st->ppid);
  if (scan.boot_time) out.set_start_time(*scan.boot_time + static_cast<std::int64_t>(st->starttime / clock_ticks_));
  out.set_memory_usage(st->rss_pages > 0 ? static_cast<std::uint64_t>(st->rss_pages) * page_size_ : 0);
  if (auto cpu = cpu_usage(scan, pid, st->starttime, st->utime + st->stime)) out.set_cpu_usage(*cpu);

  bool accessible = true;
  std::array<char, PATH_MAX + deleted_suffix.size() + 1> link{};
  std::string_view raw_exe;  // into link
  const ssize_t link_size = ::readlinkat(dir.get(), "exe", link.data(), link.size());
  if (link_size >= 0 && static_cast<std::size_t>(link_size) < link.size()) {
    raw_exe = fill_executable(dir.get(), std::string_view(link.data(), static_cast<std::size_t>(link_size)), out);
  } else if (link_size < 0 && errno == ESRCH) {
    return read_outcome::gone;
  } else if (link_size >= 0 || errno != ENOENT) {
    // ENOENT is a kernel thread or a zombie: no executable. Anything else
    // (EACCES for another user's process) means we cannot see it.
    accessible = false;
  }

  std::array<std::string_view, 2> raw_args{};  // into buffer_, until the next read
  if (int err = read_into_buffer(dir.get(), "cmdline"); err == 0) {
    std::size_t index = 0;
    for_each_cmdline_arg(buffer_view(), [&](std::string_view arg) {
      if (index < raw_args.size()) raw_args.at(index++) = arg;
      ipc::assign_utf8(*out.add_command_line(), arg);
    });
  } else if (is_gone(err)) {
    return read_outcome::gone;
  } else {
    accessible = false;
  }

  // The kernel truncates comm; prefer the executable's (or script's) full file
  // name when it extends the truncated one. Both sides are compared as raw
  // bytes, before either is repaired: comm is cut from the file name's bytes,
  // so it is a prefix of those even when it ends inside a multi-byte character
  // or the name holds invalid UTF-8. Done before the status read reuses buffer_.
  if (name.size() == comm_max && !kernel_thread) {
    const std::array candidates{basename_of(raw_exe), basename_of(raw_args[0]), basename_of(raw_args[1])};
    for (auto candidate : candidates) {
      if (candidate.size() > name.size() && candidate.starts_with(name)) {
        name.assign(candidate);
        break;
      }
    }
  }
  ipc::assign_utf8(*out.mutable_name(), name);

  if (int err = read_into_buffer(dir.get(), "status"); err == 0) {
    if (auto uid = parse_status_uid(buffer_view())) out.set_user_id(std::to_string(*uid));
  } else if (is_gone(err)) {
    return read_outcome::gone;
  } else {
    accessible = false;
  }

  out.set_accessible(accessible);
  return read_outcome::ok;
}

std::string_view proc_collector_linux::fill_executable(int pid_fd, std::string_view link, ProcessRecord& out) {
  struct stat image {};
  const bool image_ok = ::fstatat(pid_fd, "exe", &image, 0) == 0;
  std::string_view path = link;
  bool deleted = false;
  if (link.ends_with(deleted_suffix)) {
    // The kernel appends " (deleted)" to an unlinked image; a file really named
    // so is still the image itself.
    struct stat named {};
    if (!(image_ok && stat_as_process(pid_fd, link, named) && same_file(named, image))) {
      deleted = true;
      path.remove_suffix(deleted_suffix.size());
    }
  }
  // The record carries text; the checks below use the path's real bytes.
  ipc::assign_utf8(*out.mutable_executable_path(), path);
  struct stat disk {};
  const bool exists = stat_as_process(pid_fd, path, disk);
  out.set_file_exists(exists);
  out.set_on_disk_mismatch(deleted || (image_ok && exists && !same_file(image, disk)));
  return path;
}

std::optional<double> proc_collector_linux::cpu_usage(const scan_context& scan, std::uint32_t pid,
                                                      std::uint64_t starttime, std::uint64_t ticks) {
  const auto tps = static_cast<double>(clock_ticks_);
  auto [it, first] = samples_.try_emplace(sample_key{pid, starttime});
  cpu_sample& sample = it->second;
  sample.generation = generation_;
  if (!first) {
    const auto elapsed = scan.now - sample.at;
    if (elapsed < min_cpu_interval || ticks < sample.ticks) return sample.usage;
    const double seconds = duration<double>(elapsed).count();
    sample.usage = static_cast<double>(ticks - sample.ticks) / tps / seconds * 100.0;
  } else if (scan.uptime) {
    const double age = *scan.uptime - static_cast<double>(starttime) / tps;
    sample.usage = age > 0 ? static_cast<double>(ticks) / tps / age * 100.0 : 0.0;
  } else {
    sample.usage = 0;
  }
  sample.ticks = ticks;
  sample.at = scan.now;
  if (first && !scan.uptime) return std::nullopt;
  return sample.usage;
}

}  // namespace daemoneye::procmond
