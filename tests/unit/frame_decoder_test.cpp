// Tests of frame_decoder.hpp: streams arriving in pieces of any size, the
// sticky error, and the memory bound (the length is checked before the buffer
// grows for a frame).
#include "daemoneye/ipc/frame_decoder.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "daemoneye/ipc/codec.hpp"

namespace daemoneye::ipc {
namespace {

constexpr codec_options framed_castagnoli{codec_kind::framed, crc32_variant::castagnoli};
constexpr codec_options framed_ieee{codec_kind::framed, crc32_variant::ieee};
constexpr codec_options legacy{codec_kind::legacy, crc32_variant::ieee};
constexpr std::array all_codecs{framed_castagnoli, framed_ieee, legacy};

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text)); }

std::string text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};  // NOLINT
}

std::vector<std::byte> stream_of(const codec_options& opts, const std::vector<std::string>& payloads) {
  byte_buffer out;
  for (const auto& p : payloads) {
    auto ok = encode_frame(opts, bytes_of(p), out);
    EXPECT_TRUE(ok) << ok.error().message();
  }
  return {out.data(), out.data() + out.size()};
}

/// Every frame next() returns until it needs more bytes; fails the test on an error.
std::vector<std::string> drain(frame_decoder& dec) {
  std::vector<std::string> frames;
  while (true) {
    auto f = dec.next();
    if (!f) {
      ADD_FAILURE() << "unexpected error: " << f.error().message();
      return frames;
    }
    if (!*f) return frames;
    frames.push_back(text_of(**f));
  }
}

/// Feeds bytes the decoder must take whole (less than a buffer's worth of undrained frames).
void feed_all(frame_decoder& dec, std::span<const std::byte> bytes) { EXPECT_EQ(dec.feed(bytes), bytes.size()); }

/// The error next() reports after feeding `bytes`, or a test failure.
ipc_error error_after(const codec_options& opts, std::span<const std::byte> bytes) {
  frame_decoder dec(opts);
  feed_all(dec, bytes);
  auto f = dec.next();
  if (f) {
    ADD_FAILURE() << (*f ? "returned a frame" : "asked for more bytes");
    return {};
  }
  return f.error();
}

std::vector<std::string> three_payloads() { return {"first", std::string(300, 'x'), "third frame"}; }

TEST(FrameDecoder, DecodesAStreamFedOneByteAtATime) {
  for (const auto& opts : all_codecs) {
    const auto stream = stream_of(opts, three_payloads());
    frame_decoder dec(opts);
    std::vector<std::string> frames;
    for (const auto b : stream) {
      EXPECT_EQ(dec.feed(std::span(&b, 1)), 1U);
      for (auto& f : drain(dec)) frames.push_back(std::move(f));
    }
    EXPECT_EQ(frames, three_payloads());
    EXPECT_EQ(dec.buffered(), 0U);
  }
}

TEST(FrameDecoder, DecodesSeveralFramesFromOneFeed) {
  for (const auto& opts : all_codecs) {
    const auto stream = stream_of(opts, three_payloads());
    frame_decoder dec(opts);
    EXPECT_EQ(dec.feed(stream), stream.size());
    EXPECT_EQ(drain(dec), three_payloads());
    EXPECT_EQ(dec.buffered(), 0U);
  }
}

TEST(FrameDecoder, ReadsStraightIntoPreparedSpace) {
  const auto stream = stream_of(framed_castagnoli, three_payloads());
  frame_decoder dec(framed_castagnoli);
  std::vector<std::string> frames;
  std::span<const std::byte> rest(stream);
  while (!rest.empty()) {
    auto room = dec.prepare();
    ASSERT_FALSE(room.empty());
    const auto n = std::min<std::size_t>({room.size(), rest.size(), 7});  // a socket that returns 7 bytes at most
    std::memcpy(room.data(), rest.data(), n);
    dec.commit(n);
    rest = rest.subspan(n);
    for (auto& f : drain(dec)) frames.push_back(std::move(f));
  }
  EXPECT_EQ(frames, three_payloads());
}

TEST(FrameDecoder, AsksForMoreBytesAndCountsThePartialFrame) {
  const auto stream = stream_of(framed_castagnoli, {"hello"});
  frame_decoder dec(framed_castagnoli);
  feed_all(dec, std::span(stream).first(10));
  auto f = dec.next();
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
  EXPECT_EQ(dec.buffered(), 10U);
  feed_all(dec, std::span(stream).subspan(10));
  EXPECT_EQ(drain(dec), std::vector<std::string>{"hello"});
  EXPECT_EQ(dec.buffered(), 0U);
}

TEST(FrameDecoder, EmptyDecoderNeedsMoreBytes) {
  frame_decoder dec;
  auto f = dec.next();
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
  EXPECT_FALSE(dec.failed());
}

TEST(FrameDecoder, ReportsCrcMismatch) {
  auto stream = stream_of(framed_castagnoli, {"payload"});
  stream.back() ^= std::byte{0x01};
  EXPECT_TRUE(error_after(framed_castagnoli, stream).is(errc::crc_mismatch));
}

TEST(FrameDecoder, ReportsZeroLengthAsInvalidLength) {
  const std::vector<std::byte> framed_zero(8);
  EXPECT_TRUE(error_after(framed_castagnoli, framed_zero).is(errc::invalid_length));
  const std::vector<std::byte> legacy_zero(5);
  EXPECT_TRUE(error_after(legacy, legacy_zero).is(errc::invalid_length));
}

TEST(FrameDecoder, ReportsTooLargeAsSoonAsTheLengthArrives) {
  codec_options opts;
  opts.max_frame_bytes = 100;
  // Four bytes: the length (101) is known, the CRC is not there yet.
  const std::vector<std::byte> length_only{std::byte{101}, std::byte{0}, std::byte{0}, std::byte{0}};
  EXPECT_TRUE(error_after(opts, length_only).is(errc::too_large));
  // Legacy: the varint alone.
  opts.kind = codec_kind::legacy;
  EXPECT_TRUE(error_after(opts, std::span(length_only).first(1)).is(errc::too_large));
}

TEST(FrameDecoder, LegacyRejectsAVarintLongerThanFiveBytesWithoutWaitingForMore) {
  const std::vector<std::byte> five_continuations(5, std::byte{0x80});
  EXPECT_TRUE(error_after(legacy, five_continuations).is(errc::invalid_length));
}

TEST(FrameDecoder, LegacyWaitsForAnIncompleteVarint) {
  frame_decoder dec(legacy);
  const std::vector<std::byte> four_continuations(4, std::byte{0x80});
  feed_all(dec, four_continuations);
  auto f = dec.next();
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
}

TEST(FrameDecoder, ErrorIsStickyEvenWhenValidFramesFollow) {
  auto stream = stream_of(framed_castagnoli, {"corrupt"});
  stream[9] ^= std::byte{0x40};
  frame_decoder dec(framed_castagnoli);
  feed_all(dec, stream);
  auto first = dec.next();
  ASSERT_FALSE(first);
  EXPECT_TRUE(first.error().is(errc::crc_mismatch));
  EXPECT_TRUE(dec.failed());

  feed_all(dec, stream_of(framed_castagnoli, {"valid"}));
  for (int i = 0; i < 3; ++i) {
    auto again = dec.next();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), first.error().code());
    EXPECT_EQ(again.error().message(), first.error().message());
  }
}

TEST(FrameDecoder, RejectsLengthAboveMaxBeforeAllocating) {
  for (const std::uint32_t length : {0x00100001U, 0x7FFFFFFFU, 0xFFFFFFFFU}) {
    frame_decoder dec;  // max_frame_bytes 1 MiB
    std::vector<std::byte> header(8);
    header[0] = static_cast<std::byte>(length);
    header[1] = static_cast<std::byte>(length >> 8U);
    header[2] = static_cast<std::byte>(length >> 16U);
    header[3] = static_cast<std::byte>(length >> 24U);
    feed_all(dec, header);
    auto f = dec.next();
    ASSERT_FALSE(f);
    EXPECT_TRUE(f.error().is(errc::too_large));
    // A later read must not make room for the rejected frame either.
    EXPECT_FALSE(dec.prepare().empty());
    EXPECT_LE(dec.capacity(), frame_decoder::read_chunk);
  }
}

TEST(FrameDecoder, GrowsForALargeFrameOnlyOnceItsLengthIsChecked) {
  std::string big(frame_decoder::read_chunk * 4, 'b');
  const auto stream = stream_of(framed_castagnoli, {big});
  frame_decoder dec;
  // Before the header is seen, reads are at most one chunk.
  EXPECT_EQ(dec.prepare().size(), frame_decoder::read_chunk);
  feed_all(dec, std::span(stream).first(8));
  ASSERT_TRUE(dec.next());
  // Now the length is known and accepted: room for the whole frame.
  EXPECT_GE(dec.prepare().size(), big.size());
  EXPECT_EQ(dec.capacity(), 8 + big.size());
  feed_all(dec, std::span(stream).subspan(8));
  EXPECT_EQ(drain(dec), std::vector<std::string>{big});
}

TEST(FrameDecoder, CapacityNeverExceedsTheBound) {
  codec_options opts;
  opts.max_frame_bytes = 200'000;
  const std::size_t bound = max_header_size + opts.max_frame_bytes;
  const std::vector<std::string> payloads{std::string(opts.max_frame_bytes, 'm'), "small",
                                          std::string(opts.max_frame_bytes, 'n')};
  const auto stream = stream_of(opts, payloads);
  frame_decoder dec(opts);
  std::vector<std::string> frames;
  std::span<const std::byte> rest(stream);
  while (!rest.empty()) {
    const auto n = std::min<std::size_t>(rest.size(), 50'000);
    rest = rest.subspan(dec.feed(rest.first(n)));
    for (auto& f : drain(dec)) frames.push_back(std::move(f));
    ASSERT_LE(dec.capacity(), bound);
  }
  EXPECT_EQ(frames, payloads);
}

TEST(FrameDecoder, FeedTakesAFrameLargerThanOneReadChunkInOneCall) {
  const std::string big(frame_decoder::read_chunk + 1000, 'q');
  for (const auto& opts : all_codecs) {
    const auto stream = stream_of(opts, {big});
    frame_decoder dec(opts);
    EXPECT_EQ(dec.feed(stream), stream.size());
    EXPECT_EQ(drain(dec), std::vector<std::string>{big});
  }
}

TEST(FrameDecoder, FeedStopsWhenFullOfUndrainedFramesAndResumesAfterNext) {
  std::vector<std::string> payloads(200, std::string(1000, 'f'));
  const auto stream = stream_of(framed_castagnoli, payloads);
  ASSERT_GT(stream.size(), frame_decoder::read_chunk);
  frame_decoder dec;
  std::span<const std::byte> rest(stream);
  const std::size_t first = dec.feed(rest);
  EXPECT_LT(first, stream.size());  // no byte dropped: the rest is left to the caller
  rest = rest.subspan(first);
  std::vector<std::string> frames;
  while (true) {
    for (auto& f : drain(dec)) frames.push_back(std::move(f));
    ASSERT_LE(dec.capacity(), frame_decoder::read_chunk);
    if (rest.empty()) break;
    const std::size_t taken = dec.feed(rest);
    ASSERT_GT(taken, 0U);
    rest = rest.subspan(taken);
  }
  EXPECT_EQ(frames, payloads);
}

TEST(FrameDecoder, ReleaseMemoryGivesBackWhatALargeFrameGrew) {
  const std::string big(frame_decoder::read_chunk * 2, 'r');
  frame_decoder dec;
  feed_all(dec, stream_of(framed_castagnoli, {big}));
  EXPECT_EQ(drain(dec), std::vector<std::string>{big});
  EXPECT_GT(dec.capacity(), frame_decoder::read_chunk);
  dec.release_memory();
  EXPECT_LE(dec.capacity(), frame_decoder::read_chunk);
  // Still usable afterwards.
  feed_all(dec, stream_of(framed_castagnoli, {"after"}));
  EXPECT_EQ(drain(dec), std::vector<std::string>{"after"});
}

TEST(FrameDecoder, ReleaseMemoryKeepsAPartialFrame) {
  const std::string big(frame_decoder::read_chunk * 2, 'p');
  const auto stream = stream_of(framed_castagnoli, {big, "tail"});
  frame_decoder dec;
  const std::size_t cut = stream.size() - 3;  // inside the second frame
  // The first feed stops when the big frame fills the buffer.
  const std::size_t taken = dec.feed(std::span(stream).first(cut));
  EXPECT_EQ(drain(dec), std::vector<std::string>{big});
  EXPECT_EQ(dec.feed(std::span(stream).subspan(taken, cut - taken)), cut - taken);
  EXPECT_EQ(drain(dec), std::vector<std::string>{});
  ASSERT_GT(dec.buffered(), 0U);
  const auto capacity = dec.capacity();
  dec.release_memory();
  EXPECT_EQ(dec.capacity(), capacity);
  feed_all(dec, std::span(stream).subspan(cut));
  EXPECT_EQ(drain(dec), std::vector<std::string>{"tail"});
}

TEST(FrameDecoder, KeepsItsOptions) {
  codec_options opts = legacy;
  opts.max_frame_bytes = 4096;
  const frame_decoder dec(opts);
  EXPECT_EQ(dec.options().kind, codec_kind::legacy);
  EXPECT_EQ(dec.options().max_frame_bytes, 4096U);
}

}  // namespace
}  // namespace daemoneye::ipc
