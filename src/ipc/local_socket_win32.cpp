// Windows named-pipe transport: the counterpart of local_socket_posix.cpp.
//
// A listener keeps one pipe instance waiting in ConnectNamedPipe; when a
// client arrives it creates the next instance before handing the connected
// one out, so clients never find the name missing. The first instance is
// created with FILE_FLAG_FIRST_PIPE_INSTANCE, which makes a second server (or
// a squatter) fail instead of sharing the name, and every instance carries a
// security descriptor that admits only the creating user and SYSTEM.
#ifdef _WIN32

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <asio/steady_timer.hpp>
#include <asio/windows/overlapped_ptr.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

// clang-format off
#include <windows.h>
#include <sddl.h>  // after windows.h, whose types it uses
// clang-format on

#include "daemoneye/ipc/detail/use_awaitable.hpp"
#include "daemoneye/ipc/transport.hpp"

#include "win32_util.hpp"

namespace daemoneye::ipc {
namespace detail {

std::error_code portable_read_error(std::error_code ec) noexcept {
  // ERROR_PIPE_NOT_CONNECTED: the server end was closed (wine reports this where Windows says broken pipe).
  if (detail::is_win32(ec) && (ec.value() == ERROR_BROKEN_PIPE || ec.value() == ERROR_PIPE_NOT_CONNECTED)) {
    return asio::error::eof;
  }
  return ec;
}

}  // namespace detail

namespace {

using detail::open_pipe_client;
using detail::use_nothrow_awaitable;
using detail::wide;
using detail::win32_error;
using detail::win32_message;

constexpr std::string_view pipe_prefix = R"(\\.\pipe\)";
constexpr std::size_t max_pipe_name = 256;
constexpr DWORD pipe_buffer_bytes = 64 * 1024;

/// LocalAlloc'd memory (security descriptors, SID strings), freed with LocalFree.
struct local_free {
  void operator()(void* p) const noexcept { ::LocalFree(p); }
};
using local_ptr = std::unique_ptr<void, local_free>;

/// A security descriptor granting full access to the current user and to
/// SYSTEM, and to nobody else (the "P" flag blocks inherited entries).
result<local_ptr> owner_only_descriptor() {
  HANDLE token = nullptr;
  if (::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token) == 0) {
    return fail(errc::unsafe_endpoint, "cannot read this process's token: " + win32_message(::GetLastError()));
  }
  DWORD size = 0;
  ::GetTokenInformation(token, TokenUser, nullptr, 0, &size);
  std::vector<std::byte> buffer(size);
  const BOOL ok = ::GetTokenInformation(token, TokenUser, buffer.data(), size, &size);
  const DWORD token_error = ::GetLastError();
  ::CloseHandle(token);
  if (ok == 0) return fail(errc::unsafe_endpoint, "cannot read this process's user: " + win32_message(token_error));
  const auto* user = reinterpret_cast<const TOKEN_USER*>(buffer.data());  // NOLINT: the API's layout
  LPWSTR sid_text = nullptr;
  if (::ConvertSidToStringSidW(user->User.Sid, &sid_text) == 0) {
    return fail(errc::unsafe_endpoint, "cannot format this process's SID: " + win32_message(::GetLastError()));
  }
  const local_ptr sid_owner(sid_text);
  const std::wstring sddl = L"D:P(A;;GA;;;SY)(A;;GA;;;" + std::wstring(sid_text) + L")";
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  if (::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &descriptor, nullptr) ==
      0) {
    return fail(errc::unsafe_endpoint,
                "cannot build the pipe's security descriptor: " + win32_message(::GetLastError()));
  }
  return local_ptr(descriptor);
}

/// Hands an overlapped pipe handle to the event loop; closes it on failure.
result<asio::windows::stream_handle> adopt_pipe(const asio::any_io_executor& executor, HANDLE handle,
                                                const std::string& path) {
  asio::windows::stream_handle pipe(executor);
  std::error_code ec;
  pipe.assign(handle, ec);
  if (ec) {
    ::CloseHandle(handle);
    return fail(errc::io, fmt::format("cannot register pipe {} with the event loop: {}", path, ec.message()));
  }
  return pipe;
}

/// Waits, without blocking the thread, for a client to connect to `pipe`:
/// ConnectNamedPipe with an OVERLAPPED that Asio completes through the
/// io_context. ERROR_PIPE_CONNECTED (a client came between creation and the
/// call) completes at once, successfully.
template <typename Token>
auto async_wait_for_client(asio::windows::stream_handle& pipe, Token&& token) {
  return asio::async_initiate<Token, void(std::error_code)>(
      [&pipe](auto handler) {
        asio::windows::overlapped_ptr op(
            pipe.get_executor(),
            [h = std::move(handler)](std::error_code ec, std::size_t) mutable { std::move(h)(ec); });
        const BOOL ok = ::ConnectNamedPipe(pipe.native_handle(), op.get());
        const DWORD error = ok != 0 ? ERROR_SUCCESS : ::GetLastError();
        if (error == ERROR_IO_PENDING) {
          op.release();  // Asio owns the OVERLAPPED until the completion arrives
        } else if (error == ERROR_SUCCESS || error == ERROR_PIPE_CONNECTED) {
          op.complete(std::error_code(), 0);
        } else {
          op.complete(win32_error(error), 0);
        }
      },
      token);
}

bool is_server_end(HANDLE handle) {
  DWORD flags = 0;
  return ::GetNamedPipeInfo(handle, &flags, nullptr, nullptr, nullptr) != 0 && (flags & PIPE_SERVER_END) != 0;
}

}  // namespace

result<void> validate_endpoint_path(std::string_view path) {
  if (path.empty()) return fail(errc::invalid_config, "endpoint_path is empty");
  if (path.find('\0') != std::string_view::npos) {
    return fail(errc::invalid_config, "endpoint_path contains a NUL character");
  }
  const bool under_pipe =
      path.size() > pipe_prefix.size() &&
      std::equal(pipe_prefix.begin(), pipe_prefix.end(), path.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      });
  if (!under_pipe) {
    return fail(errc::invalid_config,
                fmt::format(R"(endpoint_path {} is not a named pipe; on Windows it must start with \\.\pipe\, )"
                            R"(e.g. \\.\pipe\daemoneye\procmond)",
                            path));
  }
  if (path.size() > max_pipe_name) {
    return fail(errc::invalid_config,
                fmt::format("endpoint_path is {} characters long; pipe names are limited to {} - choose a shorter name",
                            path.size(), max_pipe_name));
  }
  return {};
}

// ---- local_stream ----------------------------------------------------------

peer_credentials local_stream::peer() const {
  peer_credentials creds;
  auto& pipe = const_cast<detail::native_stream&>(stream_);  // NOLINT: native_handle is not const in Asio
  ULONG pid = 0;
  const HANDLE handle = pipe.native_handle();
  const BOOL ok =
      is_server_end(handle) ? ::GetNamedPipeClientProcessId(handle, &pid) : ::GetNamedPipeServerProcessId(handle, &pid);
  if (ok != 0) creds.pid = pid;
  return creds;
}

std::size_t local_stream::try_write_some(std::span<const std::byte> /*bytes*/) noexcept {
  // An overlapped pipe handle has no "write only if it does not block".
  return 0;
}

void local_stream::reserve_send_buffer(std::size_t /*bytes*/) noexcept {
  // A pipe's buffer sizes are fixed by CreateNamedPipe.
}

void local_stream::shutdown_send() noexcept {
  // A pipe has no half-close. What was written stays readable by the peer
  // after close(), so close() is what ends the stream.
}

void local_stream::close() noexcept {
  std::error_code ec;
  stream_.close(ec);
}

// ---- local_listener --------------------------------------------------------

struct local_listener::state {
  std::string path;
  std::wstring name;
  local_ptr descriptor;
  SECURITY_ATTRIBUTES attributes{};
  /// The instance waiting for the next client, if any.
  std::optional<asio::windows::stream_handle> waiting;
  bool closed = false;

  /// A new instance of the pipe, registered with `executor`'s io_context.
  result<asio::windows::stream_handle> create_instance(const asio::any_io_executor& executor, bool first) {
    const DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
    const DWORD pipe_mode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
    const HANDLE handle = ::CreateNamedPipeW(name.c_str(), open_mode, pipe_mode, PIPE_UNLIMITED_INSTANCES,
                                             pipe_buffer_bytes, pipe_buffer_bytes, 0, &attributes);
    if (handle == INVALID_HANDLE_VALUE) {
      const DWORD error = ::GetLastError();
      if (first && (error == ERROR_ACCESS_DENIED || error == ERROR_PIPE_BUSY)) {
        return fail(errc::endpoint_in_use, fmt::format("another server is listening on {}", path));
      }
      return fail(errc::io, fmt::format("cannot create pipe {}: {}", path, win32_message(error)));
    }
    return adopt_pipe(executor, handle, path);
  }
};

local_listener::local_listener(std::unique_ptr<state> s) : state_(std::move(s)) {}
local_listener::local_listener(local_listener&&) noexcept = default;
local_listener& local_listener::operator=(local_listener&&) noexcept = default;
local_listener::~local_listener() { close(); }

const std::string& local_listener::path() const noexcept { return state_->path; }

result<local_listener> local_listener::open(const asio::any_io_executor& executor, const listener_options& options) {
  if (auto ok = validate_endpoint_path(options.path); !ok) return fail(std::move(ok).error());
  if (!options.allowed_uids.empty()) {
    return fail(errc::invalid_config,
                "allowed_uids is not supported on Windows; the pipe admits only the user running the server");
  }
  auto s = std::make_unique<state>();
  s->path = options.path;
  s->name = wide(options.path);
  auto descriptor = owner_only_descriptor();
  if (!descriptor) return fail(std::move(descriptor).error());
  s->descriptor = std::move(*descriptor);
  s->attributes.nLength = sizeof(SECURITY_ATTRIBUTES);
  s->attributes.lpSecurityDescriptor = s->descriptor.get();
  s->attributes.bInheritHandle = FALSE;
  // FILE_FLAG_FIRST_PIPE_INSTANCE is what makes the name ours; wine does not
  // enforce it, so first ask whether any instance exists. WaitNamedPipeW
  // neither connects nor disturbs the server that owns the name.
  // TRUE: an instance is free; ERROR_SEM_TIMEOUT: all are busy. Either way the name is taken.
  if (::WaitNamedPipeW(s->name.c_str(), 1) != 0 || ::GetLastError() == ERROR_SEM_TIMEOUT) {
    return fail(errc::endpoint_in_use, fmt::format("another server is listening on {}", s->path));
  }
  auto first = s->create_instance(executor, true);
  if (!first) return fail(std::move(first).error());
  s->waiting.emplace(std::move(*first));
  return local_listener(std::move(s));
}

asio::awaitable<std::pair<std::error_code, std::optional<local_stream>>> local_listener::async_accept(
    asio::any_io_executor target) {
  using outcome = std::pair<std::error_code, std::optional<local_stream>>;
  while (true) {
    if (state_->closed) co_return outcome{asio::error::operation_aborted, std::nullopt};
    if (!state_->waiting) {
      auto next = state_->create_instance(target, false);
      if (!next) {
        spdlog::warn("{}", next.error().message());
        co_return outcome{std::make_error_code(std::errc::too_many_files_open), std::nullopt};
      }
      state_->waiting.emplace(std::move(*next));
    }
    auto [ec] = co_await async_wait_for_client(*state_->waiting, use_nothrow_awaitable);
    if (state_->closed) co_return outcome{asio::error::operation_aborted, std::nullopt};
    if (ec) {
      // ERROR_NO_DATA: the client connected and left before we looked. The
      // instance is spent either way; the next round makes a fresh one.
      state_->waiting.reset();
      if (ec.value() == ERROR_NO_DATA) continue;
      co_return outcome{ec, std::nullopt};
    }
    local_stream connected(std::move(*state_->waiting));
    state_->waiting.reset();
    if (auto next = state_->create_instance(target, false)) {
      state_->waiting.emplace(std::move(*next));
    } else {
      spdlog::warn("{}; retrying on the next accept", next.error().message());
    }
    co_return outcome{std::error_code(), std::optional<local_stream>(std::move(connected))};
  }
}

asio::awaitable<std::pair<std::error_code, std::optional<local_stream>>> local_listener::async_accept() {
  auto executor = co_await asio::this_coro::executor;
  co_return co_await async_accept(executor);
}

void local_listener::close() noexcept {
  if (!state_) return;
  state_->closed = true;
  if (state_->waiting) {
    // Closing the handle completes the pending ConnectNamedPipe with
    // ERROR_OPERATION_ABORTED; the accept coroutine then returns.
    std::error_code ec;
    state_->waiting->close(ec);
  }
}

// ---- connect ---------------------------------------------------------------

ipc_error connect_error(std::error_code ec, std::string_view endpoint, std::chrono::milliseconds timeout) {
  const bool win32 = detail::is_win32(ec);
  const auto is = [&](DWORD code) { return win32 && ec.value() == static_cast<int>(code); };
  if (is(ERROR_FILE_NOT_FOUND) || is(ERROR_PATH_NOT_FOUND) || is(ERROR_BAD_PATHNAME)) {
    return server_not_found_error(endpoint);
  }
  if (is(ERROR_ACCESS_DENIED)) return permission_denied_error(endpoint);
  if (is(ERROR_PIPE_BUSY) || is(ERROR_SEM_TIMEOUT) || ec == std::errc::timed_out) {
    return connection_timeout_error(endpoint, static_cast<std::uint64_t>(timeout.count()));
  }
  return {errc::io,
          fmt::format("cannot connect to {}: {}", endpoint, win32 ? win32_message(ec.value()) : ec.message())};
}

asio::awaitable<result<local_stream>> async_connect(asio::any_io_executor executor, std::string path,
                                                    std::chrono::milliseconds timeout) {
  if (auto ok = validate_endpoint_path(path); !ok) co_return fail(std::move(ok).error());
  const std::wstring name = wide(path);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(1);
  asio::steady_timer timer(executor);
  while (true) {
    const HANDLE handle = open_pipe_client(name);
    if (handle != INVALID_HANDLE_VALUE) {
      auto pipe = adopt_pipe(executor, handle, path);
      if (!pipe) co_return fail(std::move(pipe).error());
      co_return local_stream(std::move(*pipe));
    }
    const DWORD error = ::GetLastError();
    // Every instance busy is the only condition that may clear by itself
    // within the timeout. WaitNamedPipeW would block this thread, so wait on
    // a timer instead and try again.
    if (error != ERROR_PIPE_BUSY) co_return fail(connect_error(win32_error(error), path, timeout));
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) co_return fail(connect_error(win32_error(ERROR_PIPE_BUSY), path, timeout));
    timer.expires_at(std::min(deadline, now + backoff));
    co_await timer.async_wait(use_nothrow_awaitable);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace daemoneye::ipc

#endif  // _WIN32
