// scratch_file: mkstemp/write/fchmod on POSIX; CreateFileW with CREATE_NEW
// under a random name on Windows, which has no mkstemp.
#include "cli/scratch_file.hpp"

#include <cerrno>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#ifdef _WIN32
#include <algorithm>
#include <cstdint>
#include <random>

#include <windows.h>
#else
#include <cstdlib>

#include <sys/stat.h>
#include <unistd.h>
#endif

namespace daemoneye::cli {
namespace {

constexpr const char* name_prefix = "daemoneye-cli-ipc-test-";

ipc::unexpected<ipc::ipc_error> cannot_create(const std::filesystem::path& dir, const std::string& why) {
  return ipc::fail(ipc::errc::io, fmt::format("cannot create a scratch file in {}: {} - choose a writable "
                                              "directory with --scratch-dir",
                                              dir.string(), why));
}

ipc::unexpected<ipc::ipc_error> cannot_write(const std::string& name, const std::string& why) {
  return ipc::fail(ipc::errc::io, fmt::format("cannot write {}: {}", name, why));
}

#ifdef _WIN32

/// The system's text for a Win32 error code, without the trailing line break and full stop.
std::string win32_message(DWORD code) {
  char* text = nullptr;
  const DWORD length = ::FormatMessageA(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, code, 0,
      reinterpret_cast<LPSTR>(&text), 0, nullptr);  // NOLINT: with ALLOCATE_BUFFER the API takes a char**
  std::string out = length > 0 ? std::string(text, length) : std::string();
  if (text != nullptr) ::LocalFree(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == '.')) out.pop_back();
  return out.empty() ? fmt::format("Windows error {}", code) : out;
}

/// Closes the handle on every path out.
class handle_closer {
 public:
  explicit handle_closer(HANDLE handle) noexcept : handle_(handle) {}
  handle_closer(const handle_closer&) = delete;
  handle_closer& operator=(const handle_closer&) = delete;
  ~handle_closer() { ::CloseHandle(handle_); }

 private:
  HANDLE handle_;
};

#else

std::string errno_message() { return std::error_code(errno, std::system_category()).message(); }

#endif

}  // namespace

#ifdef _WIN32

ipc::result<scratch_file> scratch_file::create(const std::filesystem::path& dir, std::string_view content) {
  std::random_device seed;
  std::mt19937 random(seed());
  std::uniform_int_distribution<std::uint32_t> suffix(0, 0xffffff);
  for (int attempt = 0;; ++attempt) {
    const auto path = dir / fmt::format("{}{:06x}", name_prefix, suffix(random));
    // CREATE_NEW fails on anything already there, so the name is ours alone.
    HANDLE handle = ::CreateFileW(path.c_str(), GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE, nullptr, CREATE_NEW,
                                  FILE_ATTRIBUTE_NORMAL, nullptr);
    if (handle == INVALID_HANDLE_VALUE) {
      const DWORD error = ::GetLastError();
      if ((error == ERROR_FILE_EXISTS || error == ERROR_ALREADY_EXISTS) && attempt < 100) continue;
      return cannot_create(dir, win32_message(error));
    }
    scratch_file file(path.string());  // declared first: the handle is closed before the file is removed
    const handle_closer closer(handle);
    std::string_view rest = content;
    while (!rest.empty()) {
      const auto chunk = static_cast<DWORD>(std::min<std::size_t>(rest.size(), 1U << 20U));
      DWORD written = 0;
      if (::WriteFile(handle, rest.data(), chunk, &written, nullptr) == FALSE || written == 0) {
        return cannot_write(file.path(), win32_message(::GetLastError()));
      }
      rest.remove_prefix(written);
    }
    return file;
  }
}

#else

ipc::result<scratch_file> scratch_file::create(const std::filesystem::path& dir, std::string_view content) {
  std::string name = (dir / (std::string(name_prefix) + "XXXXXX")).string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return cannot_create(dir, errno_message());
  scratch_file file(name);
  std::string_view rest = content;
  while (!rest.empty()) {
    const auto n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto why = errno_message();
      ::close(fd);
      return cannot_write(name, why);
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ::fchmod(fd, 0644);
  ::close(fd);
  return file;
}

#endif

scratch_file::scratch_file(scratch_file&& other) noexcept : path_(std::exchange(other.path_, {})) {}

scratch_file::~scratch_file() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove(std::filesystem::path(path_), ignored);
}

}  // namespace daemoneye::cli
