// blocking_stream on a Windows named pipe. The handle is opened for
// overlapped I/O so that every read and write can be waited on with a
// timeout and cancelled when it passes; WaitNamedPipeW bounds the connect.
#ifdef _WIN32

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <windows.h>

#include "daemoneye/ipc/detail/blocking_stream.hpp"
#include "daemoneye/ipc/transport.hpp"

#include "win32_util.hpp"

namespace daemoneye::ipc::detail {
namespace {

HANDLE as_handle(std::intptr_t h) { return reinterpret_cast<HANDLE>(h); }  // NOLINT: HANDLE is a pointer

DWORD as_wait(std::chrono::milliseconds timeout) {
  return static_cast<DWORD>(std::clamp<std::int64_t>(timeout.count(), 0, INFINITE - 1));
}

io_outcome failure_of(DWORD error, bool reading) {
  switch (error) {
    case ERROR_BROKEN_PIPE:
    case ERROR_PIPE_NOT_CONNECTED:
      return {reading ? io_outcome::end_of_stream : io_outcome::reset, 0, win32_error(error)};
    case ERROR_NO_DATA:  // the pipe is being closed
      return {io_outcome::reset, 0, win32_error(error)};
    default: return {io_outcome::failed, 0, win32_error(error)};
  }
}

/// One ReadFile or WriteFile, waited on for at most `timeout`, then cancelled.
io_outcome transfer(HANDLE handle, bool reading, void* data, std::size_t size, std::chrono::milliseconds timeout) {
  OVERLAPPED op{};
  op.hEvent = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (op.hEvent == nullptr) return {io_outcome::failed, 0, win32_error(::GetLastError())};
  const auto chunk = static_cast<DWORD>(std::min<std::size_t>(size, 1U << 30U));
  const BOOL started =
      reading ? ::ReadFile(handle, data, chunk, nullptr, &op) : ::WriteFile(handle, data, chunk, nullptr, &op);
  DWORD error = started != 0 ? ERROR_SUCCESS : ::GetLastError();
  bool cancelled = false;
  if (error == ERROR_IO_PENDING) {
    if (::WaitForSingleObject(op.hEvent, as_wait(timeout)) == WAIT_TIMEOUT) {
      ::CancelIoEx(handle, &op);
      cancelled = true;
    }
    error = ERROR_SUCCESS;
  }
  DWORD transferred = 0;
  if (error == ERROR_SUCCESS && ::GetOverlappedResult(handle, &op, &transferred, TRUE) == 0) {
    error = ::GetLastError();
  }
  ::CloseHandle(op.hEvent);
  if (error == ERROR_SUCCESS || error == ERROR_MORE_DATA) {
    if (transferred > 0) return {io_outcome::done, transferred, {}};
    if (cancelled) return {io_outcome::timed_out, 0, {}};
    return {reading ? io_outcome::end_of_stream : io_outcome::failed, 0, {}};
  }
  if (error == ERROR_OPERATION_ABORTED && cancelled) return {io_outcome::timed_out, 0, win32_error(error)};
  return failure_of(error, reading);
}

}  // namespace

void blocking_stream::reserve_send_buffer(std::size_t /*bytes*/) noexcept {
  // A pipe's buffer sizes are fixed by CreateNamedPipe.
}

void blocking_stream::close() noexcept {
  if (handle_ != invalid) ::CloseHandle(as_handle(handle_));
  handle_ = invalid;
}

result<blocking_stream> blocking_stream::connect(const std::string& path, std::chrono::milliseconds timeout) {
  if (auto ok = validate_endpoint_path(path); !ok) return fail(std::move(ok).error());
  const std::wstring name = wide(path);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const HANDLE handle = open_pipe_client(name);
    if (handle != INVALID_HANDLE_VALUE) return blocking_stream(reinterpret_cast<std::intptr_t>(handle));  // NOLINT
    const DWORD error = ::GetLastError();
    if (error != ERROR_PIPE_BUSY) return fail(connect_error(win32_error(error), path, timeout));
    // Every instance is busy: wait, within the timeout, for one to free up.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::WaitNamedPipeW(name.c_str(), std::max<DWORD>(1, as_wait(left))) == 0) {
      if (::GetLastError() == ERROR_FILE_NOT_FOUND) continue;  // the server is between instances
      return fail(connect_error(win32_error(ERROR_PIPE_BUSY), path, timeout));
    }
  }
}

void blocking_stream::set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) noexcept {
  read_timeout_ = read;
  write_timeout_ = write;
}

io_outcome blocking_stream::send_some(std::span<const std::byte> bytes) noexcept {
  // WriteFile does not change the buffer; its signature is merely not const.
  return transfer(as_handle(handle_), false, const_cast<std::byte*>(bytes.data()), bytes.size(),  // NOLINT
                  write_timeout_);
}

io_outcome blocking_stream::receive_some(std::span<std::byte> room) noexcept {
  return transfer(as_handle(handle_), true, room.data(), room.size(), read_timeout_);
}

io_outcome blocking_stream::receive_available(std::span<std::byte> room) noexcept {
  DWORD available = 0;
  if (::PeekNamedPipe(as_handle(handle_), nullptr, 0, nullptr, &available, nullptr) == 0) {
    return failure_of(::GetLastError(), true);
  }
  if (available == 0) return {io_outcome::would_block, 0, {}};
  return transfer(as_handle(handle_), true, room.data(), std::min<std::size_t>(room.size(), available), read_timeout_);
}

}  // namespace daemoneye::ipc::detail

#endif  // _WIN32
