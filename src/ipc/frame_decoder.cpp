// Incremental frame decoding with the length checked before the buffer grows.
#include "daemoneye/ipc/frame_decoder.hpp"

#include <algorithm>
#include <cstring>

#include "detail/little_endian.hpp"

namespace daemoneye::ipc {

frame_decoder::frame_decoder(codec_options opts) : opts_(opts) {}

std::size_t frame_decoder::bound() const noexcept { return std::max(opts_.max_wire_bytes(), read_chunk); }

std::span<std::byte> frame_decoder::prepare() {
  // Compact: move a partial frame to the front so the buffer never needs more
  // than one frame plus one read's worth of room.
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (begin_ > 0 && (end_ == buffer_.capacity() || wanted_ > buffer_.capacity() - begin_)) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // Grow to hold the frame being assembled (its length already checked), or
  // one read chunk when no length is known yet, never beyond bound().
  const std::size_t want = std::min(bound(), std::max(begin_ + wanted_, std::min(read_chunk, bound())));
  if (buffer_.capacity() < want) {
    buffer_.resize_within_capacity(end_);  // reserve() keeps the first size() bytes
    buffer_.reserve(want);
  }
  if (end_ == buffer_.capacity()) {
    // Full of complete-but-unconsumed frames; the caller must call next() first.
    return {};
  }
  return {buffer_.data() + end_, buffer_.capacity() - end_};
}

void frame_decoder::commit(std::size_t n) { end_ = std::min(end_ + n, buffer_.capacity()); }

std::size_t frame_decoder::feed(std::span<const std::byte> bytes) {
  std::size_t taken = 0;
  while (taken < bytes.size()) {
    auto room = prepare();
    if (room.empty() && wanted_ == 0 && !failed_) {
      // Full, and the length of the frame at the read position is unknown
      // because next() has not run since: read (and check) it from the header,
      // so that prepare() grows the buffer for a frame larger than read_chunk.
      if (auto header = parse_header(); !header) failed_ = std::move(header).error();
      room = prepare();
    }
    if (room.empty()) break;  // full of complete frames: the caller drains next() first
    const auto n = std::min(room.size(), bytes.size() - taken);
    std::memcpy(room.data(), bytes.data() + taken, n);
    commit(n);
    taken += n;
  }
  return taken;
}

result<std::optional<frame_decoder::header_info>> frame_decoder::parse_header() {
  const std::byte* p = buffer_.data() + begin_;
  const std::size_t available = end_ - begin_;
  header_info h;
  std::uint64_t length = 0;
  if (opts_.kind == codec_kind::framed) {
    if (available < 4) return std::optional<header_info>{};
    length = detail::load_u32_le(p);
    h.header_bytes = framed_header_size;
  } else {
    std::size_t i = 0;
    bool complete = false;
    for (; i < available && i < max_varint_bytes; ++i) {
      const auto b = static_cast<std::uint8_t>(p[i]);
      length |= static_cast<std::uint64_t>(b & 0x7FU) << (7U * i);
      if ((b & 0x80U) == 0) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      if (i == max_varint_bytes) {
        return fail(invalid_length_error(length, "length varint is longer than 5 bytes"));
      }
      return std::optional<header_info>{};
    }
    if (length > 0xFFFFFFFFULL) return fail(invalid_length_error(length, "length varint overflows 32 bits"));
    h.header_bytes = i + 1 + 4;
  }
  // Checked as soon as the length is known: before any payload byte is kept
  // and before the buffer grows for it.
  if (auto ok = check_payload_size(opts_, length); !ok) return fail(std::move(ok).error());
  h.payload_bytes = static_cast<std::size_t>(length);
  wanted_ = h.header_bytes + h.payload_bytes;
  if (available < h.header_bytes) return std::optional<header_info>{};
  h.crc = detail::load_u32_le(p + h.header_bytes - 4);
  return std::optional<header_info>{h};
}

result<std::optional<std::span<const std::byte>>> frame_decoder::next() {
  using frame = std::optional<std::span<const std::byte>>;
  if (failed_) return fail(*failed_);
  auto header = parse_header();
  if (!header) {
    failed_ = header.error();
    return fail(std::move(header).error());
  }
  if (!*header) return frame{};
  const auto& h = **header;
  if (end_ - begin_ < h.header_bytes + h.payload_bytes) return frame{};
  std::span<const std::byte> payload{buffer_.data() + begin_ + h.header_bytes, h.payload_bytes};
  const auto actual = crc32(opts_.effective_crc(), payload).value();
  if (actual != h.crc) {
    failed_ = crc_mismatch_error(h.crc, actual);
    return fail(*failed_);
  }
  begin_ += h.header_bytes + h.payload_bytes;
  wanted_ = 0;
  return frame{payload};
}

void frame_decoder::release_memory() {
  if (begin_ == end_ && buffer_.capacity() > read_chunk) {
    begin_ = end_ = 0;
    buffer_ = byte_buffer{};
  }
}

}  // namespace daemoneye::ipc
