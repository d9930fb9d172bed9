// The local transport: a listener that creates a secured endpoint, connected
// streams, and connect. Unix domain sockets on Linux/macOS; the interface names
// no platform type, so a Windows named-pipe implementation fits behind it.
//
//   auto listener = local_listener::open(executor, {.path = "/run/daemoneye/procmond.sock"});
//   auto stream = co_await listener->async_accept();
//   auto client = co_await async_connect(executor, path, 5000ms);
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "daemoneye/ipc/detail/native_stream.hpp"
#include "daemoneye/ipc/error.hpp"

namespace daemoneye::ipc {

/// Who is on the other end of a connection, as the kernel reports it.
struct peer_credentials {
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> gid;
  std::optional<std::int64_t> pid;
};

/// Checks an endpoint path before any use: non-empty, no embedded NUL, and
/// short enough for the platform (sun_path holds 107 characters on Linux).
/// On Windows it must name a pipe: \\.\pipe\<name>, at most 256 characters.
result<void> validate_endpoint_path(std::string_view path);

/// One connected byte stream. Resource type: movable, not copyable.
/// Thread safety: like an Asio socket, one operation of each direction at a
/// time, from one strand. Cancellation: close() completes pending operations
/// with asio::error::operation_aborted.
class local_stream {
 public:
  using executor_type = asio::any_io_executor;

  explicit local_stream(detail::native_stream stream) : stream_(std::move(stream)) {}

  executor_type get_executor() { return stream_.get_executor(); }

  /// Completes with asio::error::eof when the peer has closed, on every platform.
  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
#ifdef _WIN32
    // A named pipe whose other end closed reports ERROR_BROKEN_PIPE, which
    // Asio passes through; callers expect the end of stream a socket gives.
    return asio::async_compose<Token, void(std::error_code, std::size_t)>(
        [this, buffers, started = false](auto& self, std::error_code ec = {}, std::size_t n = 0) mutable {
          if (!started) {
            started = true;
            stream_.async_read_some(buffers, std::move(self));
            return;
          }
          self.complete(detail::portable_read_error(ec), n);
        },
        token, stream_);
#else
    return stream_.async_read_some(buffers, std::forward<Token>(token));
#endif
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return stream_.async_write_some(buffers, std::forward<Token>(token));
  }

  /// Writes what the transport takes at once, without waiting, and returns
  /// how many bytes that was. 0 when it would block, on an error (the next
  /// async write reports it) and where the transport has no non-blocking write
  /// (named pipes): the caller then writes asynchronously as usual. Call it
  /// only while no async write is running on the stream.
  std::size_t try_write_some(std::span<const std::byte> bytes) noexcept;

  /// Lets the kernel hold at least `bytes` written but not yet read by the
  /// peer (SO_SNDBUF), so that a frame of that size goes out in one write,
  /// not in pieces that each wait for the peer to read the last. Never
  /// lowers it; the kernel caps it at net.core.wmem_max. It costs no memory
  /// while nothing is in flight. No effect on a named pipe, whose buffer is
  /// sized when the pipe is created.
  void reserve_send_buffer(std::size_t bytes) noexcept;

  /// The peer's credentials: uid/gid/pid from the kernel on Unix, the
  /// process id on Windows (GetNamedPipeClientProcessId / ServerProcessId).
  [[nodiscard]] peer_credentials peer() const;
  /// Ends the sending direction; the peer reads end-of-stream after the data sent.
  void shutdown_send() noexcept;
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept { return stream_.is_open(); }

 private:
  detail::native_stream stream_;
};

struct listener_options {
  std::string path;
  /// Accept connections only from these uids (empty: any uid the socket mode admits).
  std::vector<std::uint32_t> allowed_uids;
};

/// A listening endpoint. On Unix, open() creates the parent directory 0700
/// when missing, refuses a parent owned by another user or writable by
/// group/others without the sticky bit, creates the socket 0600 from the start
/// (umask around bind), refuses to replace a live server or a non-socket file,
/// and takes over a stale socket. The socket file is removed by close() and
/// the destructor, but only if it is still the one this listener created.
///
/// Resource type: movable, not copyable. async_accept from one strand at a time.
class local_listener {
 public:
  static result<local_listener> open(const asio::any_io_executor& executor, const listener_options& options);

  local_listener(local_listener&&) noexcept;
  local_listener& operator=(local_listener&&) noexcept;
  local_listener(const local_listener&) = delete;
  local_listener& operator=(const local_listener&) = delete;
  ~local_listener();

  /// Waits for the next connection, whose stream will run on `target` (an
  /// executor of any io_context). Errors are values: asio::error::operation_aborted
  /// after close(), EMFILE/ENFILE when the process is out of descriptors.
  ///
  /// On Windows the next pipe instance is created before a connected one is
  /// handed out, so that clients never find the name missing; the stream may
  /// then run on the `target` of the previous call. Use the stream's own
  /// get_executor() for everything that shares its strand.
  asio::awaitable<std::pair<std::error_code, std::optional<local_stream>>> async_accept(asio::any_io_executor target);
  /// As above, the stream running on the listener's own executor.
  asio::awaitable<std::pair<std::error_code, std::optional<local_stream>>> async_accept();

  /// Stops listening and removes the socket file. Idempotent.
  void close() noexcept;
  [[nodiscard]] const std::string& path() const noexcept;

 private:
  struct state;
  explicit local_listener(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

/// Connects to the endpoint at `path` within `timeout`. Errors name the
/// endpoint and what to check: server_not_found (no such file),
/// connection_refused (stale socket), permission_denied, connection_timeout.
asio::awaitable<result<local_stream>> async_connect(asio::any_io_executor executor, std::string path,
                                                    std::chrono::milliseconds timeout);

/// Maps an OS error from connecting to `endpoint` to the ipc_error a user can act on.
ipc_error connect_error(std::error_code ec, std::string_view endpoint, std::chrono::milliseconds timeout);

}  // namespace daemoneye::ipc
