// A client that speaks bytes instead of messages, for integration tests that
// send hand-made (often malformed) frames and observe what the server answers
// and whether it closes the connection. Plain blocking system calls; every
// read is bounded by poll() so a test can never hang on it.
//
//   test::raw_connection conn(path);
//   conn.send(test::framed_header(0, 0));
//   auto answer = conn.read();            // a DetectionResult, EOF, reset or timeout
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemoneye/ipc/detail/blocking_stream.hpp"
#include "daemoneye/ipc/frame_decoder.hpp"
#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::test {

/// Bytes of a framed-codec header with any length and CRC, valid or not.
inline std::vector<std::byte> framed_header(std::uint32_t length, std::uint32_t crc) {
  std::vector<std::byte> out(8);
  for (unsigned i = 0; i < 4; ++i) {
    out[i] = static_cast<std::byte>((length >> (8U * i)) & 0xFFU);
    out[4 + i] = static_cast<std::byte>((crc >> (8U * i)) & 0xFFU);
  }
  return out;
}

/// `text` as bytes.
inline std::vector<std::byte> bytes_of(std::string_view text) {
  const auto view = std::as_bytes(std::span(text.data(), text.size()));
  return {view.begin(), view.end()};
}

/// A framed-codec frame around `payload` with the correct CRC under `variant`.
inline std::vector<std::byte> framed_frame(std::span<const std::byte> payload,
                                           ipc::crc32_variant variant = ipc::crc32_variant::castagnoli) {
  auto out = framed_header(static_cast<std::uint32_t>(payload.size()), ipc::crc32(variant, payload).value());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

/// `message` serialised as one frame under `opts` (which may allow larger
/// frames than the server does, to produce oversized frames on purpose).
inline std::vector<std::byte> frame_of(const ipc::codec_options& opts, const google::protobuf::MessageLite& message) {
  ipc::byte_buffer buffer;
  if (!ipc::append_frame(opts, message, buffer)) return {};
  const auto view = buffer.span();
  return {view.begin(), view.end()};
}

class raw_connection {
 public:
  /// What one read() observed.
  struct outcome {
    enum kind_type { frame, eof, reset, timeout, protocol_error, io_error };
    kind_type kind = timeout;
    ipc::DetectionResult result;  ///< when kind == frame
    std::string detail;           ///< the OS's error text or the decoder's error otherwise
  };

  /// Connects to `path` (blocking); check connected() afterwards.
  explicit raw_connection(const std::string& path, ipc::codec_options opts = {}) : decoder_(opts) {
    auto stream = ipc::detail::blocking_stream::connect(path, std::chrono::seconds(10));
    if (!stream) {
      connect_error_ = stream.error().message();
      return;
    }
    stream_ = std::move(*stream);
    stream_.set_timeouts(std::chrono::seconds(10), std::chrono::seconds(10));
  }
  raw_connection(raw_connection&& other) noexcept
      : stream_(std::move(other.stream_)),
        connect_error_(std::move(other.connect_error_)),
        decoder_(std::move(other.decoder_)),
        bytes_received_(other.bytes_received_) {}
  raw_connection& operator=(raw_connection&&) = delete;
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  ~raw_connection() = default;

  [[nodiscard]] bool connected() const noexcept { return stream_.is_open(); }
  [[nodiscard]] const std::string& connect_error() const noexcept { return connect_error_; }

  /// Writes all of `bytes`; false if the peer is gone or the write failed.
  bool send(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      const auto sent = stream_.send_some(bytes);
      if (sent.status != ipc::detail::io_outcome::done) return false;
      bytes = bytes.subspan(sent.bytes);
    }
    return true;
  }
  bool send(const std::vector<std::byte>& bytes) { return send(std::span<const std::byte>(bytes)); }

  /// The next answer frame, or what ended the wait: EOF, a reset, or `limit` passing.
  outcome read(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      auto next = decoder_.next();
      if (!next) return {outcome::protocol_error, {}, next.error().message()};
      if (*next) {
        outcome o{outcome::frame, {}, {}};
        if (!ipc::decode_into(**next, o.result))
          return {outcome::protocol_error, {}, "answer is not a DetectionResult"};
        return o;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {outcome::timeout, {}, "no data"};
      stream_.set_timeouts(left, std::chrono::seconds(10));
      const auto got = stream_.receive_some(decoder_.prepare());
      switch (got.status) {
        case ipc::detail::io_outcome::done:
          decoder_.commit(got.bytes);
          bytes_received_ += got.bytes;
          continue;
        case ipc::detail::io_outcome::end_of_stream: return {outcome::eof, {}, {}};
        case ipc::detail::io_outcome::reset: return {outcome::reset, {}, got.error.message()};
        case ipc::detail::io_outcome::timed_out:
        case ipc::detail::io_outcome::would_block: return {outcome::timeout, {}, "no data"};
        case ipc::detail::io_outcome::failed: return {outcome::io_error, {}, got.error.message()};
      }
    }
  }

  /// A description of `o` for assertion messages.
  static std::string describe(const outcome& o) {
    switch (o.kind) {
      case outcome::frame:
        return "frame: task_id='" + o.result.task_id() + "' success=" + (o.result.success() ? "true" : "false") +
               " error_code=" + wire::ErrorCode_Name(o.result.error_code()) + " message='" + o.result.error_message() +
               "'";
      case outcome::eof: return "end of stream";
      case outcome::reset: return "connection reset: " + o.detail;
      case outcome::timeout: return "timeout: " + o.detail;
      case outcome::protocol_error: return "undecodable answer: " + o.detail;
      case outcome::io_error: return "read error: " + o.detail;
    }
    return "?";
  }

  /// Bytes received so far, frames or not.
  [[nodiscard]] std::size_t bytes_received() const noexcept { return bytes_received_; }

  void close() noexcept { stream_.close(); }

 private:
  ipc::detail::blocking_stream stream_;
  std::string connect_error_;
  ipc::frame_decoder decoder_;
  std::size_t bytes_received_ = 0;
};

}  // namespace daemoneye::test
