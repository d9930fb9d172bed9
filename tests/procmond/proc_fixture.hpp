// The fake /proc trees of tests/fixtures/proc: where they are, a writable copy
// for tests that change a process between collections, and the stat line
// format to write such changes with.
//
//   daemoneye::test::temp_dir dir;
//   auto root = copy_proc_fixture(dir);
//   write_stat(root, {.pid = 101, .comm = "x", .utime = 2050});
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "support/temp_dir.hpp"

namespace daemoneye::procmond::test {

/// The read-only fixture tree in the source directory.
inline std::string proc_fixture_root() { return std::string(DAEMONEYE_TEST_FIXTURES) + "/proc"; }

/// A copy of the fixture tree inside `dir` (symbolic links copied as links).
inline std::string copy_proc_fixture(const daemoneye::test::temp_dir& dir) {
  const auto dest = dir.path() / "proc";
  std::filesystem::copy(proc_fixture_root(), dest,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  return dest.string();
}

struct stat_fields {
  std::uint32_t pid = 0;
  std::string comm;
  char state = 'S';
  std::uint32_t ppid = 1;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  std::uint64_t starttime = 0;
  std::int64_t rss_pages = 0;
};

/// Replaces <root>/<pid>/stat with a line in the kernel's format.
inline void write_stat(const std::string& root, const stat_fields& f) {
  std::ofstream out(fmt::format("{}/{}/stat", root, f.pid), std::ios::trunc);
  out << fmt::format("{} ({}) {} {} {} {} 0 -1 4194560 100 0 2 0 {} {} 0 0 20 0 1 0 {} 1000000 {} 18446744073709551615",
                     f.pid, f.comm, f.state, f.ppid, f.pid, f.pid, f.utime, f.stime, f.starttime, f.rss_pages);
  for (int i = 0; i < 27; ++i) out << " 0";
  out << "\n";
}

}  // namespace daemoneye::procmond::test
