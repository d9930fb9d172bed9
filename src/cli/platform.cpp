// platform.hpp for POSIX (unistd/stat) and for Windows (Win32, Toolhelp).
#include "cli/platform.hpp"

#include <cerrno>
#include <system_error>

#ifdef _WIN32
// clang-format off
#include <windows.h>
#include <tlhelp32.h>
// clang-format on
#else
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace daemoneye::cli::platform {

#ifdef _WIN32

std::uint32_t process_id() noexcept { return static_cast<std::uint32_t>(::GetCurrentProcessId()); }

std::optional<std::uint32_t> parent_process_id() {
  HANDLE snapshot = ::CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snapshot == INVALID_HANDLE_VALUE) return std::nullopt;
  const DWORD self = ::GetCurrentProcessId();
  std::optional<std::uint32_t> parent;
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof(entry);
  for (BOOL more = ::Process32FirstW(snapshot, &entry); more != FALSE; more = ::Process32NextW(snapshot, &entry)) {
    if (entry.th32ProcessID == self) {
      parent = static_cast<std::uint32_t>(entry.th32ParentProcessID);
      break;
    }
  }
  ::CloseHandle(snapshot);
  return parent;
}

bool may_create_files_in(const std::filesystem::path& /*dir*/) { return true; }

ipc::result<file_mode_owner> stat_file(const std::string& path) {
  return ipc::fail(ipc::errc::io, path + " is a named pipe, not a file with a mode and an owner");
}

#else

std::uint32_t process_id() noexcept { return static_cast<std::uint32_t>(::getpid()); }

std::optional<std::uint32_t> parent_process_id() { return static_cast<std::uint32_t>(::getppid()); }

bool may_create_files_in(const std::filesystem::path& dir) { return ::access(dir.c_str(), W_OK) == 0; }

ipc::result<file_mode_owner> stat_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return ipc::fail(ipc::errc::io, std::error_code(errno, std::system_category()).message());
  }
  return file_mode_owner{static_cast<std::uint32_t>(st.st_mode), static_cast<std::uint32_t>(st.st_uid)};
}

#endif

}  // namespace daemoneye::cli::platform
