// Unix domain socket transport: endpoint security, listen, accept, connect.
// Windows named pipes live in local_socket_win32.cpp behind the same interface.
#ifndef _WIN32

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include <asio/steady_timer.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemoneye/ipc/detail/use_awaitable.hpp"
#include "daemoneye/ipc/transport.hpp"

#include "detail/send_buffer_posix.hpp"

namespace daemoneye::ipc {
namespace {

using asio::local::stream_protocol;
using detail::use_nothrow_awaitable;

constexpr std::size_t max_path_length = sizeof(sockaddr_un::sun_path) - 1;

std::error_code last_error() { return {errno, std::system_category()}; }

sockaddr_un make_address(std::string_view path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

/// A descriptor closed on scope exit unless released.
class unique_fd {
 public:
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

int new_socket() {
  // SOCK_CLOEXEC: a child process must not inherit the endpoint; SOCK_NONBLOCK for Asio.
  return ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

/// Connects a fresh non-blocking socket once; returns the fd or the errno.
std::pair<int, std::error_code> try_connect(std::string_view path) {
  unique_fd fd(new_socket());
  if (fd.get() < 0) return {-1, last_error()};
  const auto addr = make_address(path);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {  // NOLINT
    return {-1, last_error()};
  }
  return {fd.release(), {}};
}

/// Creates `dir` and any missing parents with mode 0700 from the start.
result<void> create_private_directory(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> missing;
  for (auto p = dir; !p.empty() && p != p.root_path(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) break;
    missing.push_back(p);
  }
  static std::mutex umask_mutex;
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    int rc = 0;
    {
      const std::lock_guard lock(umask_mutex);
      const mode_t old = ::umask(0077);
      rc = ::mkdir(it->c_str(), 0700);
      ::umask(old);
    }
    if (rc != 0 && errno != EEXIST) {
      return fail(errc::unsafe_endpoint,
                  fmt::format("cannot create directory {}: {}", it->string(), std::strerror(errno)));
    }
  }
  return {};
}

/// PROTOCOL.md section 1: the directory must belong to us (or root) and must
/// not be writable by others unless it has the sticky bit.
result<void> check_directory(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return fail(errc::unsafe_endpoint,
                fmt::format("cannot inspect directory {}: {}", dir.string(), std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return fail(errc::unsafe_endpoint, fmt::format("{} is not a directory", dir.string()));
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me && st.st_uid != 0) {
    return fail(errc::unsafe_endpoint,
                fmt::format("refusing endpoint directory {}: it is owned by uid {}, not by this user (uid {}); "
                            "use a directory you own",
                            dir.string(), st.st_uid, me));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    return fail(errc::unsafe_endpoint,
                fmt::format("refusing endpoint directory {}: mode {:04o} lets group or others write without the "
                            "sticky bit; chmod 0700 {}",
                            dir.string(), st.st_mode & 07777U, dir.string()));
  }
  return {};
}

/// Handles whatever already exists at `path` before bind.
result<void> clear_existing_endpoint(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail(errc::unsafe_endpoint, fmt::format("cannot inspect {}: {}", path, std::strerror(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return fail(errc::unsafe_endpoint,
                fmt::format("refusing to start: {} exists and is not a socket; it was left untouched - remove it "
                            "or choose another endpoint",
                            path));
  }
  auto [fd, ec] = try_connect(path);
  if (fd >= 0) {
    ::close(fd);
    return fail(errc::endpoint_in_use, fmt::format("another server is listening on {}", path));
  }
  if (ec == std::errc::connection_refused) {
    // A socket nobody listens on: left behind by a server that died.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return fail(errc::unsafe_endpoint, fmt::format("cannot remove stale socket {}: {}", path, std::strerror(errno)));
    }
    spdlog::info("removed stale socket {}", path);
    return {};
  }
  if (ec == std::errc::resource_unavailable_try_again) {
    // Backlog full: someone is listening.
    return fail(errc::endpoint_in_use, fmt::format("another server is listening on {}", path));
  }
  return fail(errc::unsafe_endpoint, fmt::format("cannot probe existing socket {}: {}", path, ec.message()));
}

}  // namespace

result<void> validate_endpoint_path(std::string_view path) {
  if (path.empty()) return fail(errc::invalid_config, "endpoint_path is empty");
  if (path.find('\0') != std::string_view::npos) {
    return fail(errc::invalid_config, "endpoint_path contains a NUL character");
  }
  if (path.size() > max_path_length) {
    return fail(errc::invalid_config,
                fmt::format("endpoint_path is {} characters long; Unix socket paths are limited to {} on this "
                            "platform - choose a shorter path",
                            path.size(), max_path_length));
  }
  return {};
}

// ---- local_stream ----------------------------------------------------------

peer_credentials local_stream::peer() const {
  peer_credentials creds;
  auto& sock = const_cast<detail::native_stream&>(stream_);  // NOLINT: native_handle is not const in Asio
#if defined(SO_PEERCRED)
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(sock.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    creds.uid = cred.uid;
    creds.gid = cred.gid;
    creds.pid = cred.pid;
  }
#else
  uid_t uid = 0;
  gid_t gid = 0;
  if (::getpeereid(sock.native_handle(), &uid, &gid) == 0) {
    creds.uid = uid;
    creds.gid = gid;
  }
#endif
  return creds;
}

std::size_t local_stream::try_write_some(std::span<const std::byte> bytes) noexcept {
  int flags = MSG_DONTWAIT;
#ifdef MSG_NOSIGNAL
  flags |= MSG_NOSIGNAL;  // elsewhere Asio has set SO_NOSIGPIPE on the socket
#endif
  const auto n = ::send(stream_.native_handle(), bytes.data(), bytes.size(), flags);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

void local_stream::reserve_send_buffer(std::size_t bytes) noexcept {
  detail::reserve_send_buffer(stream_.native_handle(), bytes);
}

void local_stream::shutdown_send() noexcept {
  std::error_code ec;
  stream_.shutdown(asio::socket_base::shutdown_send, ec);
}

void local_stream::close() noexcept {
  std::error_code ec;
  stream_.close(ec);
}

// ---- local_listener --------------------------------------------------------

struct local_listener::state {
  explicit state(const asio::any_io_executor& ex) : acceptor(ex) {}
  stream_protocol::acceptor acceptor;
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  bool file_owned = false;
};

local_listener::local_listener(std::unique_ptr<state> s) : state_(std::move(s)) {}
local_listener::local_listener(local_listener&&) noexcept = default;
local_listener& local_listener::operator=(local_listener&&) noexcept = default;
local_listener::~local_listener() { close(); }

const std::string& local_listener::path() const noexcept { return state_->path; }

result<local_listener> local_listener::open(const asio::any_io_executor& executor, const listener_options& options) {
  const std::string& path = options.path;
  if (auto ok = validate_endpoint_path(path); !ok) return fail(std::move(ok).error());
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    if (auto ok = create_private_directory(dir); !ok) return fail(std::move(ok).error());
    if (auto ok = check_directory(dir); !ok) return fail(std::move(ok).error());
  }
  if (auto ok = clear_existing_endpoint(path); !ok) return fail(std::move(ok).error());

  unique_fd fd(new_socket());
  if (fd.get() < 0) return fail(errc::io, fmt::format("socket(): {}", std::strerror(errno)));
  const auto addr = make_address(path);
  int rc = 0;
  int bind_errno = 0;
  {
    // The socket file must be 0600 from the moment it exists, so the mode is
    // set by umask around bind rather than by chmod afterwards. umask is
    // process-wide; the lock keeps our own binds from racing each other.
    // TODO(portability): other threads creating files meanwhile get a stricter mode.
    static std::mutex umask_mutex;
    const std::lock_guard lock(umask_mutex);
    const mode_t old = ::umask(0177);
    rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));  // NOLINT
    bind_errno = errno;
    ::umask(old);
  }
  if (rc != 0) {
    if (bind_errno == EADDRINUSE) {
      return fail(errc::endpoint_in_use, fmt::format("another server is listening on {}", path));
    }
    return fail(errc::io, fmt::format("cannot bind {}: {}", path, std::strerror(bind_errno)));
  }
  auto s = std::make_unique<state>(executor);
  s->path = path;
  s->file_owned = true;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    s->dev = st.st_dev;
    s->ino = st.st_ino;
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    return fail(errc::io, fmt::format("cannot listen on {}: {}", path, std::strerror(e)));
  }
  std::error_code ec;
  s->acceptor.assign(stream_protocol(), fd.get(), ec);
  if (ec) {
    ::unlink(path.c_str());
    return fail(errc::io, fmt::format("cannot adopt listening socket: {}", ec.message()));
  }
  fd.release();
  return local_listener(std::move(s));
}

asio::awaitable<std::pair<std::error_code, std::optional<local_stream>>> local_listener::async_accept(
    asio::any_io_executor target) {
  auto [ec, socket] = co_await state_->acceptor.async_accept(target, use_nothrow_awaitable);
  if (ec) co_return std::pair{ec, std::optional<local_stream>{}};
  co_return std::pair{std::error_code{}, std::optional<local_stream>{local_stream(std::move(socket))}};
}

asio::awaitable<std::pair<std::error_code, std::optional<local_stream>>> local_listener::async_accept() {
  // A coroutine, not a plain forwarding call: the overload takes the executor
  // by reference, and the temporary must live in this frame until it completes.
  co_return co_await async_accept(state_->acceptor.get_executor());
}

void local_listener::close() noexcept {
  if (!state_) return;
  std::error_code ec;
  state_->acceptor.close(ec);
  if (state_->file_owned) {
    // Remove the file only if it is still ours: a successor may have replaced it.
    struct stat st {};
    if (::lstat(state_->path.c_str(), &st) == 0 && st.st_dev == state_->dev && st.st_ino == state_->ino) {
      ::unlink(state_->path.c_str());
    }
    state_->file_owned = false;
  }
}

// ---- connect ---------------------------------------------------------------

ipc_error connect_error(std::error_code ec, std::string_view endpoint, std::chrono::milliseconds timeout) {
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
    return server_not_found_error(endpoint);
  }
  if (ec == std::errc::connection_refused) return connection_refused_error(endpoint);
  if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted) {
    return permission_denied_error(endpoint);
  }
  if (ec == std::errc::timed_out || ec == std::errc::resource_unavailable_try_again) {
    return connection_timeout_error(endpoint, static_cast<std::uint64_t>(timeout.count()));
  }
  return {errc::io, fmt::format("cannot connect to {}: {}", endpoint, ec.message())};
}

asio::awaitable<result<local_stream>> async_connect(asio::any_io_executor executor, std::string path,
                                                    std::chrono::milliseconds timeout) {
  if (auto ok = validate_endpoint_path(path); !ok) co_return fail(std::move(ok).error());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(1);
  asio::steady_timer timer(executor);
  while (true) {
    auto [fd, ec] = try_connect(path);
    if (fd >= 0) {
      stream_protocol::socket socket(executor);
      std::error_code assign_ec;
      socket.assign(stream_protocol(), fd, assign_ec);
      if (assign_ec) {
        ::close(fd);
        co_return fail(errc::io, fmt::format("cannot adopt connected socket: {}", assign_ec.message()));
      }
      co_return local_stream(std::move(socket));
    }
    // A full backlog (EAGAIN) is the only condition that may clear by itself
    // within the timeout: the server accepts, then there is room.
    if (ec != std::errc::resource_unavailable_try_again) co_return fail(connect_error(ec, path, timeout));
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) co_return fail(connect_error(std::make_error_code(std::errc::timed_out), path, timeout));
    timer.expires_at(std::min(deadline, now + backoff));
    co_await timer.async_wait(use_nothrow_awaitable);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace daemoneye::ipc

#endif  // _WIN32
