// The frame formats at the byte level, independent of sockets and of protobuf:
//   framed (default): [u32 LE length][u32 LE CRC][payload]
//   legacy (rollback): [LEB128 varint length, 1..5 bytes][u32 LE CRC-32/IEEE][payload]
// See docs/protocol.md. frame_decoder.hpp decodes a byte stream incrementally.
//
//   byte_buffer out;
//   if (auto r = encode_frame(opts, payload, out); !r) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "daemoneye/ipc/byte_buffer.hpp"
#include "daemoneye/ipc/crc.hpp"
#include "daemoneye/ipc/error.hpp"

namespace daemoneye::ipc {

enum class codec_kind : std::uint8_t {
  framed,  ///< u32 length + u32 CRC header, the default
  legacy,  ///< varint length + u32 CRC-32/IEEE header, kept as the rollback path
};

std::string_view to_string(codec_kind k) noexcept;

/// Whether this build includes the legacy codec (CMake option DAEMONEYE_IPC_LEGACY).
bool legacy_codec_available() noexcept;

/// How frames are written and read on one connection. Value type.
struct codec_options {
  codec_kind kind = codec_kind::framed;
  /// CRC of the framed codec; the legacy codec always uses ieee.
  crc32_variant crc = crc32_variant::castagnoli;
  std::size_t max_frame_bytes = std::size_t{1024} * 1024;

  /// The CRC variant actually used on the wire.
  [[nodiscard]] crc32_variant effective_crc() const noexcept {
    return kind == codec_kind::legacy ? crc32_variant::ieee : crc;
  }
  /// The most bytes one frame can take on the wire, header included.
  [[nodiscard]] std::size_t max_wire_bytes() const noexcept;
};

inline constexpr std::size_t framed_header_size = 8;
inline constexpr std::size_t max_varint_bytes = 5;
inline constexpr std::size_t max_header_size = max_varint_bytes + 4;

inline std::size_t codec_options::max_wire_bytes() const noexcept { return max_header_size + max_frame_bytes; }

/// Header size for a payload of `payload_size` bytes under `opts`.
std::size_t header_size(const codec_options& opts, std::size_t payload_size) noexcept;

/// Why `payload_size` breaks the rules check_payload_size applies.
ipc_error payload_size_error(const codec_options& opts, std::size_t payload_size);

/// Checks a payload length against the rules both directions share
/// (non-zero, at most max_frame_bytes). Inline: it runs for every frame.
inline result<void> check_payload_size(const codec_options& opts, std::size_t payload_size) {
  if (payload_size == 0 || payload_size > opts.max_frame_bytes) [[unlikely]] {
    return fail(payload_size_error(opts, payload_size));
  }
  return {};
}

/// Writes the header for `payload` into `out`, which must hold
/// header_size(opts, payload.size()) bytes. Returns the bytes written.
result<std::size_t> write_header(const codec_options& opts, std::span<const std::byte> payload,
                                 std::span<std::byte> out);

/// Appends one complete frame (header and payload) to `out`.
result<void> encode_frame(const codec_options& opts, std::span<const std::byte> payload, byte_buffer& out);

/// Decodes a buffer holding exactly one frame; returns its payload (a view into `frame`).
result<std::span<const std::byte>> decode_frame(const codec_options& opts, std::span<const std::byte> frame);

}  // namespace daemoneye::ipc
