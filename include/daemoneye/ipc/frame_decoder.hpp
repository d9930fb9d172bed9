// frame_decoder: turns a byte stream, arriving in pieces of any size, into
// complete frame payloads or a typed error. Length and CRC are checked here;
// the payload's meaning is not (messages.hpp does that).
//
//   frame_decoder dec(opts);
//   auto room = dec.prepare();            // read() straight into room
//   dec.commit(n);
//   while (true) {
//     auto f = dec.next();
//     if (!f) { /* protocol error: answer and close */ }
//     if (!*f) break;                    // need more bytes
//     handle(**f);                       // payload view, valid until the next prepare/feed/next
//   }
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "daemoneye/ipc/byte_buffer.hpp"
#include "daemoneye/ipc/codec.hpp"
#include "daemoneye/ipc/error.hpp"

namespace daemoneye::ipc {

/// Incremental decoder for one connection. Resource type; not thread-safe.
///
/// Memory: the length in a header is checked against max_frame_bytes before
/// the buffer grows for that frame, so the buffer never exceeds
/// max(codec_options::max_wire_bytes(), read_chunk) whatever the input.
/// After an error the decoder stays failed and returns the same error.
class frame_decoder {
 public:
  /// Preferred size of one read when no frame length is known yet.
  static constexpr std::size_t read_chunk = std::size_t{64} * 1024;

  explicit frame_decoder(codec_options opts = {});

  /// Writable space for the next read: at least one byte, at most what the
  /// memory bound allows. Valid until commit().
  std::span<std::byte> prepare();
  /// Marks `n` bytes of the span returned by prepare() as received.
  void commit(std::size_t n);
  /// Copies `bytes` in (prepare + commit in a loop) and returns how many it
  /// took: all of them, unless the buffer fills up with complete frames that
  /// next() has not returned yet; then drain next() and feed the rest.
  [[nodiscard]] std::size_t feed(std::span<const std::byte> bytes);

  /// The next complete frame's payload, std::nullopt when more bytes are
  /// needed, or the protocol error (too_large, invalid_length, crc_mismatch).
  result<std::optional<std::span<const std::byte>>> next();

  /// Bytes received but not yet returned as frames (a partial frame when > 0
  /// after next() returned nullopt).
  [[nodiscard]] std::size_t buffered() const noexcept { return end_ - begin_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return buffer_.capacity(); }
  [[nodiscard]] bool failed() const noexcept { return failed_.has_value(); }
  [[nodiscard]] const codec_options& options() const noexcept { return opts_; }

  /// Gives back memory grown for a large frame once nothing is buffered.
  void release_memory();

 private:
  struct header_info {
    std::size_t header_bytes = 0;
    std::size_t payload_bytes = 0;
    std::uint32_t crc = 0;
  };
  /// Parses the header at the read position; nullopt when incomplete.
  result<std::optional<header_info>> parse_header();
  std::size_t bound() const noexcept;

  codec_options opts_;
  byte_buffer buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t wanted_ = 0;  // bytes of the frame being assembled, when known
  std::optional<ipc_error> failed_;
};

}  // namespace daemoneye::ipc
