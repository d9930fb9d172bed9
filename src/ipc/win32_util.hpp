// Small Win32 helpers shared by the named-pipe transport and the blocking
// client: UTF-8 to UTF-16 names, opening the client end of a pipe, and Win32
// error codes as std::error_code and as readable text.
#pragma once
#ifdef _WIN32

#include <string>
#include <string_view>
#include <system_error>

#include <asio/error.hpp>
#include <windows.h>

namespace daemoneye::ipc::detail {

/// UTF-8 to the UTF-16 the W functions take.
inline std::wstring wide(std::string_view text) {
  if (text.empty()) return {};
  const int size = ::MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(size), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), out.data(), size);
  return out;
}

/// Opens the client end of the pipe `name` for overlapped I/O, or returns
/// INVALID_HANDLE_VALUE (GetLastError() says why). SECURITY_IDENTIFICATION:
/// the server may learn who we are, not act as us.
inline HANDLE open_pipe_client(const std::wstring& name) {
  return ::CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                       FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, nullptr);
}

inline std::error_code win32_error(unsigned long code) { return {static_cast<int>(code), std::system_category()}; }

/// Whether `ec` carries a Win32 error code: ours (std::system_category) or
/// one from Asio, which has a system category of its own on Windows.
inline bool is_win32(const std::error_code& ec) noexcept {
  return ec.category() == std::system_category() || ec.category() == asio::error::get_system_category();
}

/// The system's text for a Win32 error code, without the trailing newline.
inline std::string win32_message(unsigned long code) {
  char* text = nullptr;
  const DWORD length = ::FormatMessageA(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, code, 0,
      reinterpret_cast<LPSTR>(&text), 0, nullptr);  // NOLINT: the API's calling convention
  std::string out = length > 0 ? std::string(text, length) : std::string();
  if (text != nullptr) ::LocalFree(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == '.')) out.pop_back();
  if (out.empty()) out = "Windows error " + std::to_string(code);
  return out;
}

}  // namespace daemoneye::ipc::detail

#endif  // _WIN32
