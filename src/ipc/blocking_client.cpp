// blocking_client: framing, task/answer matching and sequence checks over a
// detail::blocking_stream (blocking_stream_posix.cpp / blocking_stream_win32.cpp).
#include "daemoneye/ipc/blocking_client.hpp"

#include <fmt/format.h>

namespace daemoneye::ipc {

blocking_client::blocking_client(ipc_config config)
    : config_(std::move(config)), codec_(config_.codec_opts()), decoder_(codec_) {}

blocking_client::blocking_client(blocking_client&& other) noexcept
    : config_(std::move(other.config_)),
      codec_(other.codec_),
      stream_(std::move(other.stream_)),
      out_(std::move(other.out_)),
      decoder_(std::move(other.decoder_)),
      next_sequence_(other.next_sequence_),
      sequence_errors_(other.sequence_errors_) {}

blocking_client& blocking_client::operator=(blocking_client&& other) noexcept {
  if (this != &other) {
    close();
    config_ = std::move(other.config_);
    codec_ = other.codec_;
    stream_ = std::move(other.stream_);
    out_ = std::move(other.out_);
    decoder_ = std::move(other.decoder_);
    next_sequence_ = other.next_sequence_;
    sequence_errors_ = other.sequence_errors_;
  }
  return *this;
}

blocking_client::~blocking_client() { close(); }

void blocking_client::close() noexcept {
  stream_.close();
  decoder_ = frame_decoder(codec_);
}

result<void> blocking_client::connect() {
  if (stream_.is_open()) return {};
  auto stream =
      detail::blocking_stream::connect(config_.endpoint_path, std::chrono::milliseconds(config_.accept_timeout_ms));
  if (!stream) return fail(std::move(stream).error());
  stream_ = std::move(*stream);
  // A task of any allowed size leaves in one write.
  stream_.reserve_send_buffer(codec_.max_wire_bytes());
  stream_.set_timeouts(std::chrono::milliseconds(config_.read_timeout_ms),
                       std::chrono::milliseconds(config_.write_timeout_ms));
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
    const auto sent = stream_.send_some(bytes);
    switch (sent.status) {
      case detail::io_outcome::done: bytes = bytes.subspan(sent.bytes); continue;
      case detail::io_outcome::timed_out:
        return fail(fail_connection({errc::timeout, fmt::format("write to {} did not complete within {} ms",
                                                                config_.endpoint_path, config_.write_timeout_ms)}));
      case detail::io_outcome::end_of_stream:
      case detail::io_outcome::reset:
        // The server may have said why before closing (SERVER_BUSY, a frame error).
        if (auto why = connection_answer_pending()) return fail(fail_connection(std::move(*why)));
        return fail(
            fail_connection({errc::peer_closed, fmt::format("{} closed the connection - the server may have restarted",
                                                            config_.endpoint_path)}));
      case detail::io_outcome::would_block:
      case detail::io_outcome::failed: break;
    }
    return fail(
        fail_connection({errc::io, fmt::format("write to {}: {}", config_.endpoint_path, sent.error.message())}));
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
    const auto got = stream_.receive_available(decoder_.prepare());
    if (got.status != detail::io_outcome::done) return std::nullopt;
    decoder_.commit(got.bytes);
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
    const auto got = stream_.receive_some(decoder_.prepare());
    switch (got.status) {
      case detail::io_outcome::done: decoder_.commit(got.bytes); continue;
      case detail::io_outcome::end_of_stream:
      case detail::io_outcome::reset:
        // A reset: the server closed while our task was still unread on its
        // side (e.g. a peer rejected by allowed_uids); for us that is a close too.
        return fail(fail_connection({errc::peer_closed, fmt::format("{} closed the connection before answering task {}",
                                                                    config_.endpoint_path, task_id)}));
      case detail::io_outcome::timed_out:
        return fail(fail_connection({errc::timeout, fmt::format("no answer to task {} from {} within {} ms", task_id,
                                                                config_.endpoint_path, config_.read_timeout_ms)}));
      case detail::io_outcome::would_block:
      case detail::io_outcome::failed: break;
    }
    return fail(
        fail_connection({errc::io, fmt::format("read from {}: {}", config_.endpoint_path, got.error.message())}));
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
