// libFuzzer target for frame_decoder: arbitrary bytes, cut into arbitrary
// pieces, under either codec, either CRC variant and a range of
// max_frame_bytes. Traps when an invariant of frame_decoder.hpp breaks.
//
// Input layout:
//   byte 0    bit 0: codec (framed/legacy), bit 1: CRC variant (castagnoli/ieee),
//             bits 2-4: max_frame_bytes (index into max_frames),
//             bit 5: alternate feed() with prepare()/commit()
//   byte 1    seed of the piece sizes; bits 6-7 also cap them (8, 64, 512, 4096 bytes)
//   the rest  the byte stream
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "daemoneye/ipc/codec.hpp"
#include "daemoneye/ipc/frame_decoder.hpp"

namespace {

using daemoneye::ipc::byte_buffer;
using daemoneye::ipc::codec_kind;
using daemoneye::ipc::codec_options;
using daemoneye::ipc::crc32_variant;
using daemoneye::ipc::errc;
using daemoneye::ipc::frame_decoder;

constexpr std::array<std::size_t, 8> max_frames{1, 8, 64, 255, 1024, 4096, 65536, 1048576};
constexpr std::array<std::size_t, 4> max_pieces{8, 64, 512, 4096};

void check(bool invariant) {
  if (!invariant) __builtin_trap();
}

/// Piece sizes from a small xorshift seeded by the input, so the same input always cuts the same way.
class piece_sizes {
 public:
  explicit piece_sizes(std::uint8_t seed) : state_(0x9E3779B9U ^ seed), max_(max_pieces[seed >> 6U]) {}
  std::size_t next() {
    state_ ^= state_ << 13U;
    state_ ^= state_ >> 17U;
    state_ ^= state_ << 5U;
    return 1 + state_ % max_;
  }

 private:
  std::uint32_t state_;
  std::size_t max_;
};

/// Checks one payload the decoder returned: within the limits, and decoded
/// the same by decode_frame once re-encoded.
void check_payload(const codec_options& opts, std::span<const std::byte> payload) {
  check(!payload.empty());
  check(payload.size() <= opts.max_frame_bytes);
  byte_buffer frame;
  check(static_cast<bool>(encode_frame(opts, payload, frame)));
  auto again = decode_frame(opts, frame.span());
  check(static_cast<bool>(again));
  check(again->size() == payload.size() && std::memcmp(again->data(), payload.data(), payload.size()) == 0);
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t mode = data[0];
  codec_options opts;
  opts.kind = (mode & 1U) != 0 ? codec_kind::legacy : codec_kind::framed;
  opts.crc = (mode & 2U) != 0 ? crc32_variant::ieee : crc32_variant::castagnoli;
  opts.max_frame_bytes = max_frames[(mode >> 2U) & 7U];
  const bool alternate = (mode & 0x20U) != 0;
  piece_sizes pieces(data[1]);
  const std::size_t bound = std::max(daemoneye::ipc::max_header_size + opts.max_frame_bytes, frame_decoder::read_chunk);

  frame_decoder dec(opts);
  auto rest = std::as_bytes(std::span(data + 2, size - 2));
  bool use_prepare = false;
  while (!rest.empty()) {
    const auto piece = rest.first(std::min(rest.size(), pieces.next()));
    std::size_t taken = 0;
    if (use_prepare) {
      auto room = dec.prepare();
      check(!room.empty());  // never empty for a caller that drains next()
      taken = std::min(room.size(), piece.size());
      std::memcpy(room.data(), piece.data(), taken);
      dec.commit(taken);
    } else {
      taken = dec.feed(piece);
    }
    check(taken > 0 && taken <= piece.size());
    rest = rest.subspan(taken);
    use_prepare = alternate && !use_prepare;
    check(dec.capacity() <= bound);
    check(dec.buffered() <= dec.capacity());

    while (true) {
      auto f = dec.next();
      if (!f) {
        const auto& e = f.error();
        check(e.is(errc::too_large) || e.is(errc::invalid_length) || e.is(errc::crc_mismatch));
        check(dec.failed());
        // Sticky: the same error again.
        auto again = dec.next();
        check(!again && again.error().code() == e.code() && again.error().message() == e.message());
        return 0;
      }
      if (!*f) break;
      check_payload(opts, **f);
    }
    check(!dec.failed());
  }
  check(dec.capacity() <= bound);
  return 0;
}
