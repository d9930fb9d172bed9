// Tests of codec.hpp: header layout of both codecs, every error path of
// encoding and decoding one frame, and byte-exact golden frames that pin the
// wire format (PROTOCOL.md sections 2-4).
#include "daemoneye/ipc/codec.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemoneye/ipc/frame_decoder.hpp"
#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::ipc {
namespace {

using ::testing::HasSubstr;

std::vector<std::byte> from_hex(std::string_view hex) {
  auto nibble = [](char c) -> unsigned {
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<unsigned>(c - 'A' + 10);
    ADD_FAILURE() << "not a hex digit: " << c;
    return 0;
  };
  std::vector<std::byte> out;
  for (std::size_t i = 0; i < hex.size();) {
    if (hex[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::byte>((nibble(hex[i]) << 4U) | nibble(hex[i + 1])));
    i += 2;
  }
  return out;
}

std::string to_hex(std::span<const std::byte> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : bytes) {
    out += digits[static_cast<unsigned>(b) >> 4U];
    out += digits[static_cast<unsigned>(b) & 0xFU];
  }
  return out;
}

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text)); }

std::vector<std::byte> encoded(const codec_options& opts, std::span<const std::byte> payload) {
  byte_buffer out;
  auto ok = encode_frame(opts, payload, out);
  EXPECT_TRUE(ok) << ok.error().message();
  return {out.data(), out.data() + out.size()};
}

constexpr codec_options framed_castagnoli{codec_kind::framed, crc32_variant::castagnoli};
constexpr codec_options framed_ieee{codec_kind::framed, crc32_variant::ieee};
constexpr codec_options legacy{codec_kind::legacy, crc32_variant::ieee};

// ---- header layout -------------------------------------------------------

TEST(CodecKind, Names) {
  EXPECT_EQ(to_string(codec_kind::framed), "framed");
  EXPECT_EQ(to_string(codec_kind::legacy), "legacy");
}

TEST(CodecOptions, DefaultIsFramedCastagnoliWithOneMebibyteMax) {
  const codec_options opts;
  EXPECT_EQ(opts.kind, codec_kind::framed);
  EXPECT_EQ(opts.crc, crc32_variant::castagnoli);
  EXPECT_EQ(opts.max_frame_bytes, 1048576U);
  EXPECT_EQ(opts.effective_crc(), crc32_variant::castagnoli);
}

TEST(CodecOptions, LegacyAlwaysUsesIeee) {
  const codec_options opts{codec_kind::legacy, crc32_variant::castagnoli};
  EXPECT_EQ(opts.effective_crc(), crc32_variant::ieee);
}

TEST(HeaderSize, FramedIsAlwaysEightBytes) {
  EXPECT_EQ(header_size(framed_castagnoli, 1), 8U);
  EXPECT_EQ(header_size(framed_castagnoli, 1048576), 8U);
}

TEST(HeaderSize, LegacyIsVarintPlusFourBytes) {
  EXPECT_EQ(header_size(legacy, 1), 5U);
  EXPECT_EQ(header_size(legacy, 127), 5U);
  EXPECT_EQ(header_size(legacy, 128), 6U);
  EXPECT_EQ(header_size(legacy, 16383), 6U);
  EXPECT_EQ(header_size(legacy, 16384), 7U);
  EXPECT_EQ(header_size(legacy, (1U << 21U) - 1), 7U);
  EXPECT_EQ(header_size(legacy, 1U << 21U), 8U);
  EXPECT_EQ(header_size(legacy, 0xFFFFFFFFU), max_header_size);
}

TEST(EncodeFrame, FramedHeaderIsLittleEndianLengthThenCrc) {
  // CRC32C("123456789") = 0xE3069283, CRC32("123456789") = 0xCBF43926.
  EXPECT_EQ(to_hex(encoded(framed_castagnoli, bytes_of("123456789"))), "09000000839206e3313233343536373839");
  EXPECT_EQ(to_hex(encoded(framed_ieee, bytes_of("123456789"))), "090000002639f4cb313233343536373839");
}

TEST(EncodeFrame, LegacyHeaderIsVarintLengthThenIeeeCrc) {
  EXPECT_EQ(to_hex(encoded(legacy, bytes_of("123456789"))), "092639f4cb313233343536373839");
  // The crc option does not apply to the legacy codec.
  const codec_options legacy_castagnoli{codec_kind::legacy, crc32_variant::castagnoli};
  EXPECT_EQ(to_hex(encoded(legacy_castagnoli, bytes_of("123456789"))), "092639f4cb313233343536373839");
  // 200 = 0xC8 -> varint c8 01; CRC32 of 200 zero bytes = 0xC971A876.
  const std::vector<std::byte> zeros(200);
  const auto frame = encoded(legacy, zeros);
  ASSERT_EQ(frame.size(), 6U + 200U);
  EXPECT_EQ(to_hex(std::span(frame).first(6)), "c80176a871c9");
}

TEST(EncodeFrame, AppendsAfterExistingContent) {
  byte_buffer out;
  ASSERT_TRUE(encode_frame(framed_castagnoli, bytes_of("a"), out));
  ASSERT_TRUE(encode_frame(framed_castagnoli, bytes_of("123456789"), out));
  // CRC32C("a") = 0xC1D04330.
  EXPECT_EQ(to_hex(out.span()),
            "010000003043d0c161"
            "09000000839206e3313233343536373839");
}

TEST(EncodeFrame, RejectsEmptyPayloadAndLeavesOutputUnchanged) {
  for (const auto& opts : {framed_castagnoli, legacy}) {
    byte_buffer out;
    ASSERT_TRUE(encode_frame(opts, bytes_of("x"), out));
    const auto before = out.size();
    auto r = encode_frame(opts, {}, out);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::invalid_length));
    EXPECT_EQ(out.size(), before);
  }
}

TEST(EncodeFrame, AcceptsExactlyMaxAndRejectsMaxPlusOne) {
  for (auto opts : {framed_castagnoli, legacy}) {
    opts.max_frame_bytes = 64;
    byte_buffer out;
    const std::vector<std::byte> at_max(64, std::byte{0x5A});
    ASSERT_TRUE(encode_frame(opts, at_max, out));
    EXPECT_EQ(out.size(), header_size(opts, 64) + 64);

    const std::vector<std::byte> above(65, std::byte{0x5A});
    auto r = encode_frame(opts, above, out);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large));
    EXPECT_THAT(r.error().message(), HasSubstr("65"));
    EXPECT_THAT(r.error().message(), HasSubstr("64"));
    EXPECT_EQ(out.size(), header_size(opts, 64) + 64);
  }
}

TEST(CheckPayloadSize, ZeroIsInvalidLengthAboveMaxIsTooLarge) {
  codec_options opts;
  opts.max_frame_bytes = 10;
  EXPECT_TRUE(check_payload_size(opts, 0).error().is(errc::invalid_length));
  EXPECT_TRUE(check_payload_size(opts, 1));
  EXPECT_TRUE(check_payload_size(opts, 10));
  EXPECT_TRUE(check_payload_size(opts, 11).error().is(errc::too_large));
}

TEST(WriteHeader, RejectsAnOutputSpanTooSmallForTheHeader) {
  std::array<std::byte, 7> small{};
  auto r = write_header(framed_castagnoli, bytes_of("abc"), small);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::encode));
}

TEST(WriteHeader, ReturnsTheBytesWritten) {
  std::array<std::byte, max_header_size> out{};
  EXPECT_EQ(write_header(framed_castagnoli, bytes_of("abc"), out).value(), 8U);
  const std::vector<std::byte> payload(300);
  EXPECT_EQ(write_header(legacy, payload, out).value(), 6U);  // 300 -> ac 02
  EXPECT_EQ(to_hex(std::span(out).first(2)), "ac02");
}

// ---- decoding one frame ----------------------------------------------------

TEST(DecodeFrame, ReturnsThePayloadAsAViewIntoTheFrame) {
  for (const auto& opts : {framed_castagnoli, framed_ieee, legacy}) {
    const auto frame = encoded(opts, bytes_of("123456789"));
    auto payload = decode_frame(opts, frame);
    ASSERT_TRUE(payload) << payload.error().message();
    EXPECT_EQ(payload->data(), frame.data() + header_size(opts, 9));
    EXPECT_EQ(to_hex(*payload), "313233343536373839");
  }
}

TEST(DecodeFrame, RejectsZeroLength) {
  auto r = decode_frame(framed_castagnoli, from_hex("00000000 00000000"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_length));
  auto l = decode_frame(legacy, from_hex("00 00000000"));
  ASSERT_FALSE(l);
  EXPECT_TRUE(l.error().is(errc::invalid_length));
}

TEST(DecodeFrame, RejectsLengthAboveMaxFromTheHeaderAlone) {
  // Only the header is present: the length alone decides.
  auto r = decode_frame(framed_castagnoli, from_hex("01001000 00000000"));  // 0x00100001 = 1048577
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::too_large));
  EXPECT_THAT(r.error().message(), HasSubstr("1048577"));
  EXPECT_THAT(r.error().message(), HasSubstr("1048576"));

  auto huge = decode_frame(framed_castagnoli, from_hex("ffffffff"));
  ASSERT_FALSE(huge);
  EXPECT_TRUE(huge.error().is(errc::too_large));
}

TEST(DecodeFrame, AcceptsExactlyMaxAndRejectsMaxPlusOne) {
  for (const auto& wide : {framed_castagnoli, framed_ieee, legacy}) {
    auto narrow = wide;
    narrow.max_frame_bytes = 64;
    const std::vector<std::byte> at_max(64, std::byte{0x11});
    const std::vector<std::byte> above(65, std::byte{0x11});
    EXPECT_TRUE(decode_frame(narrow, encoded(wide, at_max)));
    auto r = decode_frame(narrow, encoded(wide, above));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large));
  }
}

TEST(DecodeFrame, AcceptsAFrameLargerThanOneReadChunk) {
  std::vector<std::byte> payload(frame_decoder::read_chunk * 3 + 17);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(i * 7U);
  for (const auto& opts : {framed_castagnoli, legacy}) {
    const auto frame = encoded(opts, payload);
    auto r = decode_frame(opts, frame);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->size(), payload.size());
    EXPECT_TRUE(std::equal(r->begin(), r->end(), payload.begin()));
  }
}

TEST(DecodeFrame, ReportsCrcMismatchWithExpectedAndActual) {
  auto frame = from_hex("09000000 efbeadde 313233343536373839");
  auto r = decode_frame(framed_castagnoli, frame);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::crc_mismatch));
  EXPECT_THAT(r.error().message(), HasSubstr("expected 0xDEADBEEF"));
  EXPECT_THAT(r.error().message(), HasSubstr("actual 0xE3069283"));
}

TEST(DecodeFrame, ReportsCrcMismatchWhenPeersDisagreeOnTheVariant) {
  auto r = decode_frame(framed_ieee, encoded(framed_castagnoli, bytes_of("123456789")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::crc_mismatch));
  EXPECT_THAT(r.error().message(), HasSubstr("expected 0xE3069283"));
  EXPECT_THAT(r.error().message(), HasSubstr("actual 0xCBF43926"));
}

TEST(DecodeFrame, ReportsATruncatedHeader) {
  for (const auto& [opts, hex] :
       {std::pair{framed_castagnoli, "090000"}, std::pair{framed_castagnoli, "09000000839206"}, std::pair{legacy, ""},
        std::pair{legacy, "89"}, std::pair{legacy, "092639f4"}}) {
    SCOPED_TRACE(hex);
    auto r = decode_frame(opts, from_hex(hex));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::peer_closed));
    EXPECT_THAT(r.error().message(), HasSubstr("truncated"));
  }
}

TEST(DecodeFrame, ReportsATruncatedPayload) {
  for (const auto& opts : {framed_castagnoli, legacy}) {
    const auto frame = encoded(opts, bytes_of("123456789"));
    auto r = decode_frame(opts, std::span(frame).first(frame.size() - 1));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::peer_closed));
  }
}

TEST(DecodeFrame, RejectsTrailingBytes) {
  for (const auto& opts : {framed_castagnoli, legacy}) {
    auto frame = encoded(opts, bytes_of("123456789"));
    frame.push_back(std::byte{0});
    auto r = decode_frame(opts, frame);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::decode));
  }
}

TEST(DecodeFrame, RejectsTrailingBytesAfterAFrameLargerThanOneReadChunk) {
  const std::vector<std::byte> payload(frame_decoder::read_chunk + 100, std::byte{0x42});
  auto frame = encoded(framed_castagnoli, payload);
  frame.resize(frame.size() + 10);
  auto r = decode_frame(framed_castagnoli, frame);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::decode));
}

TEST(DecodeFrame, LegacyRejectsAVarintLongerThanFiveBytes) {
  auto r = decode_frame(legacy, from_hex("8080808080 01 00000000"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_length));
  EXPECT_THAT(r.error().message(), HasSubstr("longer than 5 bytes"));
}

TEST(DecodeFrame, LegacyRejectsAVarintAbove32Bits) {
  codec_options opts = legacy;
  opts.max_frame_bytes = 0xFFFFFFFFU;
  // 0x1F in the fifth byte sets bits 32..35: 2^35 - 1.
  auto r = decode_frame(opts, from_hex("ffffffff1f 00000000"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_length));
  EXPECT_THAT(r.error().message(), HasSubstr("overflows 32 bits"));
}

TEST(DecodeFrame, LegacyRejectsAFiveByteVarintAboveMaxAsTooLarge) {
  auto r = decode_frame(legacy, from_hex("8080808001 00000000"));  // 2^28
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::too_large));
  EXPECT_THAT(r.error().message(), HasSubstr("268435456"));
}

// ---- golden frames ---------------------------------------------------------
// The expected bytes are written out by hand from the protobuf encoding rules
// (tag = field_number << 3 | wire_type; proto3 scalars at their default value
// are omitted; fields in field-number order) and the CRCs computed by a
// bitwise reference implementation, so a change in either the schema or the
// framing breaks these tests.

// DetectionTask{task_id: "test-123", task_type: ENUMERATE_PROCESSES}
//   0a 08 "test-123"     field 1 (LEN), 8 bytes; task_type = 0 is the default, omitted
constexpr std::string_view task_payload = "0a08746573742d313233";
constexpr std::string_view task_framed_castagnoli = "0a000000 13f6977d 0a08746573742d313233";
constexpr std::string_view task_framed_ieee = "0a000000 cc52511a 0a08746573742d313233";
constexpr std::string_view task_legacy = "0a cc52511a 0a08746573742d313233";

// DetectionTask{task_id: "abc-9", task_type: CHECK_PROCESS_HASH, metadata: "health_check", sequence: 7}
//   0a 05 "abc-9"          field 1
//   10 01                  field 2 (VARINT) = 1
//   2a 0c "health_check"   field 5 (LEN), 12 bytes
//   a0 06 07               field 100 (VARINT): tag 800 = varint a0 06; value 7
constexpr std::string_view task2_framed_castagnoli =
    "1a000000 688030ad 0a056162632d39 1001 2a0c6865616c74685f636865636b a00607";

// results::failure("t-1", INVALID_TASK, "task_id must not be empty")
//   0a 03 "t-1"          field 1
//                        success = false is the default, omitted
//   1a 19 "task_id ..."  field 3 (LEN), 25 bytes
//   b0 06 06             field 102 (VARINT): tag 816 = varint b0 06; INVALID_TASK = 6
constexpr std::string_view failure_framed_castagnoli =
    "23000000 95fecf62 0a03742d31 1a19 7461736b5f6964206d757374206e6f7420626520656d707479 b00606";
constexpr std::string_view failure_legacy =
    "23 ab05a243 0a03742d31 1a19 7461736b5f6964206d757374206e6f7420626520656d707479 b00606";

std::string framed_hex(const codec_options& opts, const google::protobuf::MessageLite& message) {
  byte_buffer out;
  auto ok = append_frame(opts, message, out);
  EXPECT_TRUE(ok) << ok.error().message();
  return to_hex(out.span());
}

std::string strip(std::string_view hex) {
  std::string out;
  for (const char c : hex) {
    if (c != ' ') out += c;
  }
  return out;
}

TEST(GoldenFrames, DetectionTaskPayload) {
  const auto task = tasks::new_test_task("test-123", wire::ENUMERATE_PROCESSES);
  EXPECT_EQ(to_hex(bytes_of(task.SerializeAsString())), task_payload);
}

TEST(GoldenFrames, DetectionTaskInEveryCodec) {
  const auto task = tasks::new_test_task("test-123", wire::ENUMERATE_PROCESSES);
  EXPECT_EQ(framed_hex(framed_castagnoli, task), strip(task_framed_castagnoli));
  EXPECT_EQ(framed_hex(framed_ieee, task), strip(task_framed_ieee));
  EXPECT_EQ(framed_hex(legacy, task), strip(task_legacy));
  // encode_frame of the serialised bytes writes the same frame as append_frame.
  const std::string payload = task.SerializeAsString();
  EXPECT_EQ(to_hex(encoded(framed_castagnoli, bytes_of(payload))), strip(task_framed_castagnoli));
}

TEST(GoldenFrames, DetectionTaskWithTypeMetadataAndSequence) {
  auto task = tasks::new_test_task("abc-9", wire::CHECK_PROCESS_HASH, std::string(health_check_metadata));
  task.set_sequence(7);
  EXPECT_EQ(framed_hex(framed_castagnoli, task), strip(task2_framed_castagnoli));
}

TEST(GoldenFrames, DetectionResultFailureWithErrorCode) {
  const auto result = results::failure("t-1", wire::INVALID_TASK, "task_id must not be empty");
  EXPECT_EQ(framed_hex(framed_castagnoli, result), strip(failure_framed_castagnoli));
  EXPECT_EQ(framed_hex(legacy, result), strip(failure_legacy));
}

TEST(GoldenFrames, DecodeBackToTheMessages) {
  // decode_frame returns views into its input: keep the frames alive.
  const auto frame1 = from_hex(task_framed_ieee);
  const auto frame2 = from_hex(task2_framed_castagnoli);
  const auto frame3 = from_hex(failure_legacy);

  auto payload = decode_frame(framed_ieee, frame1);
  ASSERT_TRUE(payload) << payload.error().message();
  auto task = decode_message<DetectionTask>(*payload);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->task_id(), "test-123");
  EXPECT_EQ(task->task_type(), wire::ENUMERATE_PROCESSES);
  EXPECT_FALSE(task->has_metadata());

  auto task2 = decode_message<DetectionTask>(decode_frame(framed_castagnoli, frame2).value());
  ASSERT_TRUE(task2);
  EXPECT_EQ(task2->task_type(), wire::CHECK_PROCESS_HASH);
  EXPECT_EQ(task2->metadata(), "health_check");
  EXPECT_EQ(task2->sequence(), 7U);

  auto failure = decode_message<DetectionResult>(decode_frame(legacy, frame3).value());
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->task_id(), "t-1");
  EXPECT_FALSE(failure->success());
  EXPECT_EQ(failure->error_code(), wire::INVALID_TASK);
  EXPECT_EQ(failure->error_message(), "task_id must not be empty");
}

}  // namespace
}  // namespace daemoneye::ipc
