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
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" char** environ;  // NOLINT(readability-redundant-declaration): POSIX, not always declared
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

ipc::result<std::filesystem::path> own_executable() {
  std::wstring buffer(MAX_PATH, L'\0');
  while (true) {
    const DWORD n = ::GetModuleFileNameW(nullptr, buffer.data(), static_cast<DWORD>(buffer.size()));
    if (n == 0) return ipc::fail(ipc::errc::io, "cannot find this program's path");
    if (n < buffer.size()) return std::filesystem::path(buffer.substr(0, n));
    buffer.resize(buffer.size() * 2);
  }
}

bool is_executable(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

ipc::result<int> run_program(const std::filesystem::path& path, const std::vector<std::string>& /*argv*/) {
  return ipc::fail(ipc::errc::io, "cannot run " + path.string() + ": starting programs is not implemented on Windows");
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

ipc::result<std::filesystem::path> own_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return ipc::fail(ipc::errc::io, "cannot read /proc/self/exe: " + ec.message());
  return path;
}

bool is_executable(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

ipc::result<int> run_program(const std::filesystem::path& path, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));  // NOLINT: the API's signature
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, path.c_str(), nullptr, nullptr, args.data(), environ);
  if (rc != 0) {
    return ipc::fail(ipc::errc::io,
                     "cannot run " + path.string() + ": " + std::error_code(rc, std::system_category()).message());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ipc::fail(ipc::errc::io, "lost track of " + path.string());
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

#endif

}  // namespace daemoneye::cli::platform
