// Frame headers of both codecs: writing, and decoding a single whole frame.
#include "daemoneye/ipc/codec.hpp"

#include <cstring>

#include "daemoneye/ipc/frame_decoder.hpp"

#include "detail/little_endian.hpp"

namespace daemoneye::ipc {

std::string_view to_string(codec_kind k) noexcept { return k == codec_kind::legacy ? "legacy" : "framed"; }

bool legacy_codec_available() noexcept {
#ifdef DAEMONEYE_IPC_LEGACY
  return true;
#else
  return false;
#endif
}

std::size_t header_size(const codec_options& opts, std::size_t payload_size) noexcept {
  if (opts.kind == codec_kind::framed) return framed_header_size;
  std::size_t varint = 1;
  for (auto n = payload_size >> 7U; n != 0; n >>= 7U) ++varint;
  return varint + 4;
}

ipc_error payload_size_error(const codec_options& opts, std::size_t payload_size) {
  if (payload_size == 0) return invalid_length_error(0, "a frame must carry a non-empty payload");
  return too_large_error(payload_size, opts.max_frame_bytes);
}

result<std::size_t> write_header(const codec_options& opts, std::span<const std::byte> payload,
                                 std::span<std::byte> out) {
  if (auto ok = check_payload_size(opts, payload.size()); !ok) return fail(std::move(ok).error());
  const std::size_t size = header_size(opts, payload.size());
  if (out.size() < size) return fail(errc::encode, "header buffer too small");
  const auto crc = crc32(opts.effective_crc(), payload).value();
  std::byte* p = out.data();
  if (opts.kind == codec_kind::framed) {
    detail::store_u32_le(p, static_cast<std::uint32_t>(payload.size()));
    detail::store_u32_le(p + 4, crc);
    return framed_header_size;
  }
  auto n = payload.size();
  while (n >= 0x80U) {
    *p++ = static_cast<std::byte>((n & 0x7FU) | 0x80U);
    n >>= 7U;
  }
  *p++ = static_cast<std::byte>(n);
  detail::store_u32_le(p, crc);
  return size;
}

result<void> encode_frame(const codec_options& opts, std::span<const std::byte> payload, byte_buffer& out) {
  if (auto ok = check_payload_size(opts, payload.size()); !ok) return fail(std::move(ok).error());
  const std::size_t hsize = header_size(opts, payload.size());
  const std::size_t start = out.size();
  auto room = out.append_uninitialized(hsize + payload.size());
  std::memcpy(room.data() + hsize, payload.data(), payload.size());
  if (auto written = write_header(opts, payload, room.first(hsize)); !written) {
    out.resize_within_capacity(start);
    return fail(std::move(written).error());
  }
  return {};
}

result<std::span<const std::byte>> decode_frame(const codec_options& opts, std::span<const std::byte> frame) {
  frame_decoder decoder(opts);
  const std::size_t taken = decoder.feed(frame);
  auto next = decoder.next();
  if (!next) return fail(std::move(next).error());
  if (!*next) return fail(errc::peer_closed, "truncated frame: the input ended before the frame was complete");
  if (taken != frame.size() || decoder.buffered() != 0) return fail(errc::decode, "trailing bytes after the frame");
  // The payload view points into the decoder's buffer; recompute it inside `frame`.
  const auto payload_size = (*next)->size();
  return frame.subspan(frame.size() - payload_size);
}

}  // namespace daemoneye::ipc
