// blocking_client on Unix domain sockets: a blocking descriptor whose send and
// receive timeouts are socket options, so no poll() is needed per call.
#ifndef _WIN32

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/transport.hpp"

namespace daemoneye::ipc {
namespace {

timeval to_timeval(std::uint32_t ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

void set_timeout(int fd, int option, std::uint32_t ms) {
  const auto tv = to_timeval(ms);
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

}  // namespace

blocking_client::blocking_client(ipc_config config)
    : config_(std::move(config)), codec_(config_.codec_opts()), decoder_(codec_) {}

blocking_client::blocking_client(blocking_client&& other) noexcept
    : config_(std::move(other.config_)),
      codec_(other.codec_),
      fd_(std::exchange(other.fd_, -1)),
      out_(std::move(other.out_)),
      decoder_(std::move(other.decoder_)),
      next_sequence_(other.next_sequence_),
      sequence_errors_(other.sequence_errors_) {}

blocking_client& blocking_client::operator=(blocking_client&& other) noexcept {
  if (this != &other) {
    close();
    config_ = std::move(other.config_);
    codec_ = other.codec_;
    fd_ = std::exchange(other.fd_, -1);
    out_ = std::move(other.out_);
    decoder_ = std::move(other.decoder_);
    next_sequence_ = other.next_sequence_;
    sequence_errors_ = other.sequence_errors_;
  }
  return *this;
}

blocking_client::~blocking_client() { close(); }

void blocking_client::close() noexcept {
  if (fd_ >= 0) ::close(static_cast<int>(fd_));
  fd_ = -1;
  decoder_ = frame_decoder(codec_);
}

result<void> blocking_client::connect() {
  if (fd_ >= 0) return {};
  const auto& path = config_.endpoint_path;
  if (auto ok = validate_endpoint_path(path); !ok) return ok;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(errc::io, fmt::format("socket(): {}", std::strerror(errno)));
  // A blocking connect to a Unix socket waits while the listen backlog is
  // full, for at most the send timeout.
  set_timeout(fd, SO_SNDTIMEO, config_.accept_timeout_ms);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {  // NOLINT
    const std::error_code ec(errno == EINPROGRESS ? ETIMEDOUT : errno, std::system_category());
    ::close(fd);
    return fail(connect_error(ec, path, std::chrono::milliseconds(config_.accept_timeout_ms)));
  }
  set_timeout(fd, SO_SNDTIMEO, config_.write_timeout_ms);
  set_timeout(fd, SO_RCVTIMEO, config_.read_timeout_ms);
  fd_ = fd;
  decoder_ = frame_decoder(codec_);
  next_sequence_ = 1;
  return {};
}

ipc_error blocking_client::fail_connection(ipc_error error) {
  close();
  return error;
}

result<void> blocking_client::write_all(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(static_cast<int>(fd_), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return fail(fail_connection({errc::timeout, fmt::format("write to {} did not complete within {} ms",
                                                                config_.endpoint_path, config_.write_timeout_ms)}));
      }
      if (errno == EPIPE || errno == ECONNRESET) {
        // The server may have said why before closing (SERVER_BUSY, a frame error).
        if (auto why = connection_answer_pending()) return fail(fail_connection(std::move(*why)));
        return fail(fail_connection({errc::peer_closed, fmt::format("{} closed the connection - the server may "
                                                                    "have restarted",
                                                                    config_.endpoint_path)}));
      }
      return fail(
          fail_connection({errc::io, fmt::format("write to {}: {}", config_.endpoint_path, std::strerror(errno))}));
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

std::optional<ipc_error> blocking_client::connection_answer_pending() {
  while (true) {
    auto frame = decoder_.next();
    if (!frame) return std::nullopt;
    if (*frame) {
      DetectionResult r;
      if (decode_into(**frame, r) && r.task_id().empty()) return transport_error_of(r);
      continue;
    }
    auto room = decoder_.prepare();
    const auto n = ::recv(static_cast<int>(fd_), room.data(), room.size(), MSG_DONTWAIT);
    if (n <= 0) return std::nullopt;
    decoder_.commit(static_cast<std::size_t>(n));
  }
}

result<void> blocking_client::read_answer(const std::string& task_id, DetectionResult& out) {
  while (true) {
    auto frame = decoder_.next();
    if (!frame) return fail(fail_connection(std::move(frame).error()));
    if (*frame) {
      if (auto ok = decode_into(**frame, out); !ok) return fail(fail_connection(std::move(ok).error()));
      if (out.task_id() == task_id) {
        if (auto err = transport_error_of(out)) return fail(std::move(*err));
        return {};
      }
      if (out.task_id().empty()) {
        // A connection-level answer (SERVER_BUSY, a frame error): the server closes next.
        auto err = transport_error_of(out);
        return fail(fail_connection(err ? std::move(*err)
                                        : ipc_error(errc::remote_error, "server answered: " + out.error_message())));
      }
      continue;  // the late answer of an earlier call that timed out
    }
    auto room = decoder_.prepare();
    const auto n = ::recv(static_cast<int>(fd_), room.data(), room.size(), 0);
    if (n > 0) {
      decoder_.commit(static_cast<std::size_t>(n));
      continue;
    }
    // ECONNRESET: the server closed while our task was still unread on its
    // side (e.g. a peer rejected by allowed_uids); for us that is a close too.
    if (n == 0 || errno == ECONNRESET) {
      return fail(fail_connection({errc::peer_closed, fmt::format("{} closed the connection before answering "
                                                                  "task {}",
                                                                  config_.endpoint_path, task_id)}));
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return fail(fail_connection({errc::timeout, fmt::format("no answer to task {} from {} within {} ms", task_id,
                                                              config_.endpoint_path, config_.read_timeout_ms)}));
    }
    return fail(
        fail_connection({errc::io, fmt::format("read from {}: {}", config_.endpoint_path, std::strerror(errno))}));
  }
}

result<void> blocking_client::round_trip(const DetectionTask& task, DetectionResult& out) {
  if (auto ok = connect(); !ok) return ok;
  out_.clear();
  std::optional<std::uint64_t> sequence;
  if (config_.enable_sequence_numbers) {
    // Numbered per connection from 1; the caller's task stays untouched.
    DetectionTask numbered = task;
    sequence = next_sequence_++;
    numbered.set_sequence(*sequence);
    if (auto ok = append_frame(codec_, numbered, out_); !ok) {
      --next_sequence_;  // nothing was sent: the number is free again
      return ok;
    }
  } else if (auto ok = append_frame(codec_, task, out_); !ok) {
    return ok;
  }
  if (auto ok = write_all(out_.span()); !ok) return ok;
  if (auto ok = read_answer(task.task_id(), out); !ok) return ok;
  if (sequence && (!out.has_sequence() || out.sequence() != *sequence)) {
    ++sequence_errors_;
    return fail(fail_connection(
        {errc::sequence_error, fmt::format("answer to task {} carries sequence {} instead of {}", task.task_id(),
                                           out.has_sequence() ? std::to_string(out.sequence()) : "none", *sequence)}));
  }
  return {};
}

result<DetectionResult> blocking_client::send_task(const DetectionTask& task) {
  DetectionResult out;
  if (auto ok = round_trip(task, out); !ok) return fail(std::move(ok).error());
  return out;
}

}  // namespace daemoneye::ipc

#endif  // _WIN32
