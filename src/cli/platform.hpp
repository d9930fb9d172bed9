// The few operating-system facts the subcommands need that the standard
// library does not give: process ids, whether a directory takes new files,
// the mode and owner of a Unix socket endpoint, and running another program.
// POSIX and Windows versions live side by side in platform.cpp.
//
//   const auto self = platform::process_id();
//   if (platform::endpoints_are_files) auto file = platform::stat_file(path);
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "daemoneye/ipc/error.hpp"

namespace daemoneye::cli::platform {

/// Whether an IPC endpoint is a file with mode bits and an owner uid: true
/// for Unix sockets, false for Windows named pipes (\\.\pipe\...).
#ifdef _WIN32
inline constexpr bool endpoints_are_files = false;
#else
inline constexpr bool endpoints_are_files = true;
#endif

/// This process's id.
std::uint32_t process_id() noexcept;

/// The id of this process's parent; nullopt when the system cannot tell
/// (Windows keeps it only in a process snapshot).
std::optional<std::uint32_t> parent_process_id();

/// Whether this process may create files in the existing directory `dir`, as
/// far as can be told without trying (access(W_OK) on POSIX; always true on
/// Windows, where only creating a file tells).
bool may_create_files_in(const std::filesystem::path& dir);

/// A file's permission bits and owner, as stat(2) reports them.
struct file_mode_owner {
  std::uint32_t mode = 0;  ///< st_mode
  std::uint32_t uid = 0;   ///< st_uid
};

/// stat(2) of `path`; errc::io with the system's message when it fails.
/// Only meaningful where endpoints_are_files; fails on Windows.
ipc::result<file_mode_owner> stat_file(const std::string& path);

/// The path of this program's executable (/proc/self/exe, GetModuleFileNameW).
ipc::result<std::filesystem::path> own_executable();

/// Whether `path` names a file this process may execute.
bool is_executable(const std::filesystem::path& path);

/// Runs the program at `path` with `argv` (argv[0] included), sharing this
/// process's standard streams, and waits for it: its exit status, or 128 +
/// the signal that ended it. errc::io when it cannot be started.
ipc::result<int> run_program(const std::filesystem::path& path, const std::vector<std::string>& argv);

}  // namespace daemoneye::cli::platform
