// Tests of messages.hpp: builders, task validation, framing a message and
// decoding it back, and the ErrorCode <-> errc mapping.
#include "daemoneye/ipc/messages.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemoneye/ipc/frame_decoder.hpp"

namespace daemoneye::ipc {
namespace {

using ::testing::HasSubstr;

std::span<const std::byte> bytes_of(const std::string& text) { return std::as_bytes(std::span(text)); }

// ---- builders --------------------------------------------------------------

TEST(Tasks, NewTestTaskSetsIdTypeAndOptionalMetadata) {
  const auto plain = tasks::new_test_task("test-123", wire::CHECK_PROCESS_HASH);
  EXPECT_EQ(plain.task_id(), "test-123");
  EXPECT_EQ(plain.task_type(), wire::CHECK_PROCESS_HASH);
  EXPECT_FALSE(plain.has_metadata());
  EXPECT_FALSE(plain.has_sequence());

  const auto with_metadata = tasks::new_test_task("t", wire::ENUMERATE_PROCESSES, "free text");
  ASSERT_TRUE(with_metadata.has_metadata());
  EXPECT_EQ(with_metadata.metadata(), "free text");
}

TEST(Tasks, NewBuiltinTaskCarriesTheMetadataThatSelectsIt) {
  for (const auto metadata : {health_check_metadata, capability_negotiation_metadata, metrics_metadata}) {
    const auto task = tasks::new_builtin_task("b-1", metadata);
    EXPECT_EQ(task.task_id(), "b-1");
    EXPECT_EQ(task.task_type(), wire::ENUMERATE_PROCESSES);
    ASSERT_TRUE(task.has_metadata());
    EXPECT_EQ(task.metadata(), metadata);
  }
  EXPECT_EQ(health_check_metadata, "health_check");
  EXPECT_EQ(capability_negotiation_metadata, "capability_negotiation");
  EXPECT_EQ(metrics_metadata, "metrics");
}

TEST(Results, SuccessCarriesTheProcessesAndNoErrorCode) {
  ProcessRecord p1;
  p1.set_pid(1);
  p1.set_name("init");
  ProcessRecord p2;
  p2.set_pid(42);
  p2.set_ppid(1);
  p2.set_name("sshd");
  const auto r = results::success("t-9", {p1, p2});
  EXPECT_EQ(r.task_id(), "t-9");
  EXPECT_TRUE(r.success());
  EXPECT_FALSE(r.has_error_code());
  EXPECT_FALSE(r.has_error_message());
  ASSERT_EQ(r.processes_size(), 2);
  EXPECT_EQ(r.processes(0).name(), "init");
  EXPECT_EQ(r.processes(1).pid(), 42U);
  EXPECT_EQ(r.processes(1).ppid(), 1U);

  const auto empty = results::success("t-10");
  EXPECT_TRUE(empty.success());
  EXPECT_EQ(empty.processes_size(), 0);
}

TEST(Results, FailureCarriesCodeAndMessage) {
  const auto r = results::failure("t-1", wire::RATE_LIMITED, "10 tasks/s exceeded");
  EXPECT_EQ(r.task_id(), "t-1");
  EXPECT_FALSE(r.success());
  ASSERT_TRUE(r.has_error_code());
  EXPECT_EQ(r.error_code(), wire::RATE_LIMITED);
  EXPECT_EQ(r.error_message(), "10 tasks/s exceeded");
}

TEST(Results, FailureMessageThatIsNotUtf8IsRepairedSoThePeerCanParseTheAnswer) {
  const auto r = results::failure("t-1", wire::HANDLER_FAILED, "cannot open /tmp/\xFF\xFE: denied");
  EXPECT_EQ(r.error_message(), "cannot open /tmp/\xEF\xBF\xBD\xEF\xBF\xBD: denied");
  DetectionResult back;
  ASSERT_TRUE(back.ParseFromString(r.SerializeAsString()));
  EXPECT_EQ(back.error_message(), r.error_message());
}

// ---- validation ----------------------------------------------------------------

TEST(ValidateTask, AcceptsEveryKnownTaskType) {
  for (int t = wire::TaskType_MIN; t <= wire::TaskType_MAX; ++t) {
    EXPECT_TRUE(validate_task(tasks::new_test_task("id", static_cast<TaskType>(t)))) << t;
  }
}

TEST(ValidateTask, RejectsAnEmptyTaskId) {
  auto r = validate_task(tasks::new_test_task("", wire::ENUMERATE_PROCESSES));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_task));
  EXPECT_THAT(r.error().message(), HasSubstr("task_id"));
}

TEST(ValidateTask, RejectsAnUnknownTaskType) {
  for (const int t : {7, 42, -1}) {
    auto r = validate_task(tasks::new_test_task("id", static_cast<TaskType>(t)));
    ASSERT_FALSE(r) << t;
    EXPECT_TRUE(r.error().is(errc::invalid_task));
    EXPECT_THAT(r.error().message(), HasSubstr("unknown task_type " + std::to_string(t)));
  }
}

TEST(TaskTypeName, NamesKnownTypesAndMarksUnknownOnes) {
  EXPECT_EQ(task_type_name(0), "ENUMERATE_PROCESSES");
  EXPECT_EQ(task_type_name(1), "CHECK_PROCESS_HASH");
  EXPECT_EQ(task_type_name(6), "COLLECT_PERFORMANCE_METRICS");
  EXPECT_EQ(task_type_name(7), "UNKNOWN(7)");
  EXPECT_EQ(task_type_name(-3), "UNKNOWN(-3)");
}

// ---- ErrorCode <-> errc ------------------------------------------------------------

TEST(ErrorCodeMapping, EveryErrorCodeRoundTripsThroughErrc) {
  for (int c = wire::ErrorCode_MIN; c <= wire::ErrorCode_MAX; ++c) {
    ASSERT_TRUE(wire::ErrorCode_IsValid(c));
    const auto code = static_cast<ErrorCode>(c);
    EXPECT_EQ(to_error_code(to_errc(code)), code) << wire::ErrorCode_Name(code);
  }
}

TEST(ErrorCodeMapping, KnownCodesMapToTheirErrc) {
  EXPECT_EQ(to_errc(wire::SERVER_BUSY), errc::server_busy);
  EXPECT_EQ(to_errc(wire::RATE_LIMITED), errc::rate_limited);
  EXPECT_EQ(to_errc(wire::FRAME_TOO_LARGE), errc::too_large);
  EXPECT_EQ(to_errc(wire::CRC_MISMATCH), errc::crc_mismatch);
  EXPECT_EQ(to_errc(wire::DECODE_FAILED), errc::decode);
  EXPECT_EQ(to_errc(wire::INVALID_TASK), errc::invalid_task);
  EXPECT_EQ(to_errc(wire::UNSUPPORTED_TASK), errc::unsupported_task);
  EXPECT_EQ(to_errc(wire::HANDLER_FAILED), errc::handler_failed);
  EXPECT_EQ(to_errc(wire::HANDLER_TIMEOUT), errc::handler_timeout);
  EXPECT_EQ(to_errc(wire::SHUTTING_DOWN), errc::shutting_down);
  EXPECT_EQ(to_errc(wire::INVALID_LENGTH), errc::invalid_length);
  EXPECT_EQ(to_errc(wire::OVERLOADED), errc::overloaded);
}

TEST(ErrorCodeMapping, UnspecifiedAndUnknownCodesAreRemoteErrors) {
  EXPECT_EQ(to_errc(wire::ERROR_UNSPECIFIED), errc::remote_error);
  EXPECT_EQ(to_errc(static_cast<ErrorCode>(99)), errc::remote_error);  // a newer peer's code
}

TEST(ErrorCodeMapping, LocalOnlyErrcsHaveNoWireCode) {
  for (const auto e : {errc::timeout, errc::io, errc::encode, errc::peer_closed, errc::server_not_found,
                       errc::circuit_breaker_open, errc::invalid_config, errc::cancelled, errc::remote_error}) {
    EXPECT_EQ(to_error_code(e), wire::ERROR_UNSPECIFIED) << to_string(e);
  }
}

TEST(TransportErrorOf, SuccessIsNotAnError) {
  auto ok = results::success("t");
  ok.set_error_code(wire::SERVER_BUSY);  // ignored when success=true
  EXPECT_FALSE(transport_error_of(ok));
}

TEST(TransportErrorOf, ApplicationFailuresReachTheCaller) {
  DetectionResult no_code;
  no_code.set_task_id("t");
  no_code.set_success(false);
  no_code.set_error_message("collector failed");
  EXPECT_FALSE(transport_error_of(no_code));
  EXPECT_FALSE(transport_error_of(results::failure("t", wire::ERROR_UNSPECIFIED, "app failure")));
}

TEST(TransportErrorOf, WalksEveryErrorCode) {
  const std::vector<ErrorCode> transport{wire::SERVER_BUSY,    wire::RATE_LIMITED,    wire::OVERLOADED,
                                         wire::SHUTTING_DOWN,  wire::FRAME_TOO_LARGE, wire::CRC_MISMATCH,
                                         wire::INVALID_LENGTH, wire::DECODE_FAILED,   wire::HANDLER_TIMEOUT};
  for (int c = wire::ErrorCode_MIN; c <= wire::ErrorCode_MAX; ++c) {
    const auto code = static_cast<ErrorCode>(c);
    SCOPED_TRACE(wire::ErrorCode_Name(code));
    const auto e = transport_error_of(results::failure("t", code, "the server's words"));
    const bool is_transport = std::find(transport.begin(), transport.end(), code) != transport.end();
    ASSERT_EQ(e.has_value(), is_transport);
    if (e) {
      EXPECT_TRUE(e->is(to_errc(code)));
      EXPECT_THAT(e->message(), HasSubstr(wire::ErrorCode_Name(code)));
      EXPECT_THAT(e->message(), HasSubstr("the server's words"));
    }
  }
}

// ---- framing and decoding ------------------------------------------------------

TEST(AppendFrame, RoundTripsThroughTheDecoderInEveryCodec) {
  auto task = tasks::new_test_task("round-trip", wire::VERIFY_EXECUTABLE, "meta");
  task.set_sequence(123456789);
  task.mutable_process_filter()->add_process_names("sshd");
  task.mutable_process_filter()->add_pids(22);
  task.mutable_hash_check()->set_hash_algorithm("sha256");
  auto result = results::failure("round-trip", wire::HANDLER_FAILED, "boom");
  result.add_processes()->set_name("x");

  for (const auto& opts : {codec_options{codec_kind::framed, crc32_variant::castagnoli},
                           codec_options{codec_kind::framed, crc32_variant::ieee},
                           codec_options{codec_kind::legacy, crc32_variant::ieee}}) {
    byte_buffer out;
    ASSERT_TRUE(append_frame(opts, task, out));
    ASSERT_TRUE(append_frame(opts, result, out));
    EXPECT_EQ(out.size(), header_size(opts, task.ByteSizeLong()) + task.ByteSizeLong() +
                              header_size(opts, result.ByteSizeLong()) + result.ByteSizeLong());

    frame_decoder dec(opts);
    ASSERT_EQ(dec.feed(out.span()), out.size());
    auto f1 = dec.next();
    ASSERT_TRUE(f1 && *f1);
    auto back_task = decode_message<DetectionTask>(**f1);
    ASSERT_TRUE(back_task);
    EXPECT_EQ(back_task->SerializeAsString(), task.SerializeAsString());
    auto f2 = dec.next();
    ASSERT_TRUE(f2 && *f2);
    auto back_result = decode_message<DetectionResult>(**f2);
    ASSERT_TRUE(back_result);
    EXPECT_EQ(back_result->SerializeAsString(), result.SerializeAsString());
  }
}

TEST(AppendFrame, WritesTheSameBytesAsEncodeFrame) {
  const auto task = tasks::new_test_task("same-bytes", wire::TRACK_FILE_OPERATIONS);
  const std::string payload = task.SerializeAsString();
  byte_buffer a;
  byte_buffer b;
  ASSERT_TRUE(append_frame({}, task, a));
  ASSERT_TRUE(encode_frame({}, bytes_of(payload), b));
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(std::equal(a.span().begin(), a.span().end(), b.span().begin()));
}

TEST(AppendFrame, RejectsAnEmptyMessageAndLeavesOutputUnchanged) {
  byte_buffer out;
  ASSERT_TRUE(append_frame({}, tasks::new_test_task("x", wire::ENUMERATE_PROCESSES), out));
  const auto before = out.size();
  auto r = append_frame({}, DetectionTask{}, out);  // every field at its default: 0 bytes
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_length));
  EXPECT_EQ(out.size(), before);
}

TEST(AppendFrame, RejectsAMessageAboveMaxAndLeavesOutputUnchanged) {
  codec_options opts;
  opts.max_frame_bytes = 32;
  const auto fits = tasks::new_test_task(std::string(30, 'a'), wire::ENUMERATE_PROCESSES);  // 2 + 30 bytes
  const auto too_big = tasks::new_test_task(std::string(31, 'a'), wire::ENUMERATE_PROCESSES);
  byte_buffer out;
  ASSERT_TRUE(append_frame(opts, fits, out));
  const auto before = out.size();
  auto r = append_frame(opts, too_big, out);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::too_large));
  EXPECT_THAT(r.error().message(), HasSubstr("33"));
  EXPECT_EQ(out.size(), before);
}

TEST(DecodeMessage, RejectsGarbageAsDecodeError) {
  const std::vector<std::string> garbage{
      std::string("\xff", 1),               // a tag varint that never ends
      std::string("\x0f", 1),               // field 1 with wire type 7, which does not exist
      std::string("\x0a\x10short", 7),      // a length running past the end
      std::string("\x0a\x02\xc3\x28", 4),   // task_id that is not UTF-8 (proto3 string)
      std::string("\x1a\x05\x0a\x03", 4)};  // process_filter cut short
  for (const auto& g : garbage) {
    auto r = decode_message<DetectionTask>(bytes_of(g));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::decode));
    EXPECT_THAT(r.error().message(), HasSubstr("DetectionTask"));
  }
}

TEST(DecodeMessage, SkipsUnknownFieldsOfANewerPeer) {
  // task_id "a", then field 200 (varint) = 1 that this schema does not know.
  const std::string payload(
      "\x0a\x01"
      "a"
      "\xc0\x0c\x01",
      6);
  auto r = decode_message<DetectionTask>(bytes_of(payload));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->task_id(), "a");
}

TEST(DecodeInto, ClearsTheMessageFirst) {
  auto task = tasks::new_test_task("old", wire::CHECK_PROCESS_HASH, "old metadata");
  const std::string payload = tasks::new_test_task("new", wire::ENUMERATE_PROCESSES).SerializeAsString();
  ASSERT_TRUE(decode_into(bytes_of(payload), task));
  EXPECT_EQ(task.task_id(), "new");
  EXPECT_EQ(task.task_type(), wire::ENUMERATE_PROCESSES);
  EXPECT_FALSE(task.has_metadata());
}

}  // namespace
}  // namespace daemoneye::ipc
