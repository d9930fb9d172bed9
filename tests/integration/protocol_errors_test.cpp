// PROTOCOL.md section 5, row by row, against a real interprocess_server: a raw
// socket writes hand-made bytes, and the test checks the answer's error_code,
// whether the server then closes the connection, and that a well-behaved
// client is served right after.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/messages.hpp"
#include "daemoneye/ipc/server.hpp"

#include "support/raw_connection.hpp"
#include "support/temp_dir.hpp"

namespace daemoneye::ipc {
namespace {

using namespace std::chrono_literals;
using test::raw_connection;
using outcome = raw_connection::outcome;

constexpr std::size_t small_max_frame = 4096;

/// The application handler of these tests: success for every task, except
/// VERIFY_EXECUTABLE, which this "collector" does not implement.
DetectionResult handle(const DetectionTask& task) {
  if (task.task_type() == wire::VERIFY_EXECUTABLE) {
    return results::failure(task.task_id(), wire::UNSUPPORTED_TASK, "VERIFY_EXECUTABLE is not implemented here");
  }
  return results::success(task.task_id());
}

/// A task whose encoding is exactly `size` bytes, padded with metadata.
DetectionTask task_of_size(const std::string& id, std::size_t size) {
  auto task = tasks::new_test_task(id, wire::ENUMERATE_PROCESSES);
  std::size_t pad = size;
  for (int attempt = 0; attempt < 8; ++attempt) {
    task.set_metadata(std::string(pad, 'x'));
    const auto encoded = task.ByteSizeLong();
    if (encoded == size) break;
    pad = encoded > size ? pad - (encoded - size) : pad + (size - encoded);
  }
  return task;
}

std::vector<std::byte> task_frame(const std::string& id, const codec_options& opts = {}) {
  return test::frame_of(opts, tasks::new_test_task(id, wire::ENUMERATE_PROCESSES));
}

class ProtocolErrors : public ::testing::Test {
 protected:
  ProtocolErrors() {
    config_.endpoint_path = dir_.endpoint("procmond.sock");
    config_.threads = 2;
    config_.max_frame_bytes = small_max_frame;
  }

  void start() {
    server_ = std::make_unique<interprocess_server>(config_);
    server_->set_handler(handle);
    auto ok = server_->start();
    ASSERT_TRUE(ok) << ok.error().message();
  }

  [[nodiscard]] codec_options codec() const { return config_.codec_opts(); }

  raw_connection connect() {
    raw_connection conn(config_.endpoint_path, codec());
    EXPECT_TRUE(conn.connected()) << conn.connect_error();
    return conn;
  }

  /// Reads one answer and checks it is a failure with `code` for `task_id`.
  static DetectionResult expect_error_answer(raw_connection& conn, ErrorCode code, const std::string& task_id) {
    const auto o = conn.read();
    EXPECT_EQ(o.kind, outcome::frame) << raw_connection::describe(o);
    EXPECT_FALSE(o.result.success());
    EXPECT_EQ(o.result.error_code(), code) << raw_connection::describe(o);
    EXPECT_EQ(o.result.task_id(), task_id);
    return o.result;
  }

  /// Sends a valid task on `conn` and expects its answer: the connection still serves.
  void expect_still_serving(raw_connection& conn, const std::string& task_id) {
    ASSERT_TRUE(conn.send(task_frame(task_id, codec())));
    const auto o = conn.read();
    ASSERT_EQ(o.kind, outcome::frame) << raw_connection::describe(o);
    EXPECT_EQ(o.result.task_id(), task_id);
    EXPECT_TRUE(o.result.success()) << raw_connection::describe(o);
  }

  static void expect_closed(raw_connection& conn) {
    const auto o = conn.read();
    EXPECT_EQ(o.kind, outcome::eof) << raw_connection::describe(o);
  }

  /// A well-behaved client on a fresh connection gets its answer.
  void expect_served_after() {
    auto client_config = config_;
    client_config.read_timeout_ms = 10000;
    blocking_client client(client_config);
    auto r = client.send_task(tasks::new_test_task("after", wire::ENUMERATE_PROCESSES));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->task_id(), "after");
    EXPECT_TRUE(r->success());
  }

  test::temp_dir dir_;
  ipc_config config_;
  std::unique_ptr<interprocess_server> server_;
};

TEST_F(ProtocolErrors, LengthAboveMaxFrameBytesIsFrameTooLargeNamingBothThenClosed) {
  start();
  auto conn = connect();
  // Only the header: the server must answer without waiting for a megabyte of payload.
  ASSERT_TRUE(conn.send(test::framed_header(1'000'000, 0)));
  const auto answer = expect_error_answer(conn, wire::FRAME_TOO_LARGE, "");
  EXPECT_NE(answer.error_message().find("1000000"), std::string::npos) << answer.error_message();
  EXPECT_NE(answer.error_message().find("4096"), std::string::npos) << answer.error_message();
  expect_closed(conn);
  expect_served_after();
}

TEST_F(ProtocolErrors, FrameOfExactlyMaxFrameBytesIsAccepted) {
  start();
  const auto task = task_of_size("exactly-max", small_max_frame);
  ASSERT_EQ(task.ByteSizeLong(), small_max_frame);
  auto conn = connect();
  ASSERT_TRUE(conn.send(test::frame_of(codec(), task)));
  const auto o = conn.read();
  ASSERT_EQ(o.kind, outcome::frame) << raw_connection::describe(o);
  EXPECT_EQ(o.result.task_id(), "exactly-max");
  EXPECT_TRUE(o.result.success());
  expect_still_serving(conn, "next");
}

TEST_F(ProtocolErrors, FrameOneByteAboveMaxFrameBytesIsFrameTooLargeThenClosed) {
  start();
  const auto task = task_of_size("one-too-many", small_max_frame + 1);
  ASSERT_EQ(task.ByteSizeLong(), small_max_frame + 1);
  auto larger = codec();
  larger.max_frame_bytes = 2 * small_max_frame;
  auto conn = connect();
  ASSERT_TRUE(conn.send(test::frame_of(larger, task)));
  const auto answer = expect_error_answer(conn, wire::FRAME_TOO_LARGE, "");
  EXPECT_NE(answer.error_message().find("4097"), std::string::npos) << answer.error_message();
  EXPECT_NE(answer.error_message().find("4096"), std::string::npos) << answer.error_message();
  expect_closed(conn);
  expect_served_after();
}

TEST_F(ProtocolErrors, ZeroLengthIsInvalidLengthThenClosed) {
  start();
  auto conn = connect();
  ASSERT_TRUE(conn.send(test::framed_header(0, 0)));
  expect_error_answer(conn, wire::INVALID_LENGTH, "");
  expect_closed(conn);
  expect_served_after();
}

TEST_F(ProtocolErrors, CrcMismatchIsAnsweredWithExpectedAndActualHexThenClosed) {
  start();
  std::string payload;
  ASSERT_TRUE(tasks::new_test_task("bad-crc", wire::ENUMERATE_PROCESSES).SerializeToString(&payload));
  const auto bytes = test::bytes_of(payload);
  const std::uint32_t actual = crc32(crc32_variant::castagnoli, bytes).value();
  const std::uint32_t claimed = actual ^ 0x5A5A5A5AU;
  auto frame = test::framed_header(static_cast<std::uint32_t>(bytes.size()), claimed);
  frame.insert(frame.end(), bytes.begin(), bytes.end());

  auto conn = connect();
  ASSERT_TRUE(conn.send(frame));
  const auto answer = expect_error_answer(conn, wire::CRC_MISMATCH, "");
  EXPECT_NE(answer.error_message().find(fmt::format("0x{:08X}", claimed)), std::string::npos) << answer.error_message();
  EXPECT_NE(answer.error_message().find(fmt::format("0x{:08X}", actual)), std::string::npos) << answer.error_message();
  expect_closed(conn);
  expect_served_after();
}

TEST_F(ProtocolErrors, PayloadThatIsNotADetectionTaskIsDecodeFailedAndTheConnectionKeepsServing) {
  start();
  // Field 1 (task_id) claims 5 bytes but only 1 follows.
  const std::vector<std::byte> garbage{std::byte{0x0A}, std::byte{0x05}, std::byte{'a'}};
  auto conn = connect();
  ASSERT_TRUE(conn.send(test::framed_frame(garbage)));
  expect_error_answer(conn, wire::DECODE_FAILED, "");
  expect_still_serving(conn, "after-garbage");
  expect_served_after();
}

TEST_F(ProtocolErrors, EmptyTaskIdIsInvalidTaskAndTheConnectionKeepsServing) {
  start();
  // A non-default task_type so that the payload is not empty.
  auto task = tasks::new_test_task("", wire::CHECK_PROCESS_HASH);
  auto conn = connect();
  ASSERT_TRUE(conn.send(test::frame_of(codec(), task)));
  expect_error_answer(conn, wire::INVALID_TASK, "");
  expect_still_serving(conn, "after-empty-id");
  expect_served_after();
}

TEST_F(ProtocolErrors, UnknownTaskTypeIsInvalidTaskEchoingTheTaskId) {
  start();
  // By hand: field 1 "t-99", field 2 (task_type) = 99.
  const std::vector<std::byte> payload{std::byte{0x0A}, std::byte{0x04}, std::byte{'t'},  std::byte{'-'},
                                       std::byte{'9'},  std::byte{'9'},  std::byte{0x10}, std::byte{99}};
  auto conn = connect();
  ASSERT_TRUE(conn.send(test::framed_frame(payload)));
  const auto answer = expect_error_answer(conn, wire::INVALID_TASK, "t-99");
  EXPECT_NE(answer.error_message().find("99"), std::string::npos) << answer.error_message();
  expect_still_serving(conn, "after-unknown-type");
  expect_served_after();
}

TEST_F(ProtocolErrors, UnsupportedTaskAnswerOfTheHandlerPassesThroughAndTheConnectionKeepsServing) {
  start();
  auto conn = connect();
  ASSERT_TRUE(conn.send(test::frame_of(codec(), tasks::new_test_task("verify-1", wire::VERIFY_EXECUTABLE))));
  const auto answer = expect_error_answer(conn, wire::UNSUPPORTED_TASK, "verify-1");
  EXPECT_NE(answer.error_message().find("VERIFY_EXECUTABLE"), std::string::npos) << answer.error_message();
  expect_still_serving(conn, "after-unsupported");

  // The typed client hands an application-level failure back as a value.
  auto client_config = config_;
  client_config.read_timeout_ms = 10000;
  blocking_client client(client_config);
  auto r = client.send_task(tasks::new_test_task("verify-2", wire::VERIFY_EXECUTABLE));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->error_code(), wire::UNSUPPORTED_TASK);
  EXPECT_EQ(r->task_id(), "verify-2");
}

TEST_F(ProtocolErrors, PartialFrameThenSilenceIsClosedAfterReadTimeoutWithNothingSent) {
  config_.read_timeout_ms = 200;
  start();
  const auto frame = task_frame("partial", codec());
  auto conn = connect();
  const auto sent_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(conn.send(std::span<const std::byte>(frame).first(5)));
  expect_closed(conn);
  EXPECT_GE(std::chrono::steady_clock::now() - sent_at, 200ms);
  EXPECT_EQ(conn.bytes_received(), 0U);
  expect_served_after();
}

TEST_F(ProtocolErrors, IdleConnectionIsClosedAfterReadTimeout) {
  config_.read_timeout_ms = 200;
  start();
  const auto opened_at = std::chrono::steady_clock::now();
  auto conn = connect();
  expect_closed(conn);
  EXPECT_GE(std::chrono::steady_clock::now() - opened_at, 200ms);
  EXPECT_EQ(conn.bytes_received(), 0U);
  expect_served_after();
}

TEST_F(ProtocolErrors, LegacyCodecServerAnswersLegacyFrames) {
  if (!legacy_codec_available()) GTEST_SKIP() << "built without the legacy codec (DAEMONEYE_IPC_LEGACY=OFF)";
  config_.codec = codec_kind::legacy;
  start();
  auto conn = connect();
  ASSERT_TRUE(conn.send(task_frame("legacy-1", codec())));
  const auto o = conn.read();
  ASSERT_EQ(o.kind, outcome::frame) << raw_connection::describe(o);
  EXPECT_EQ(o.result.task_id(), "legacy-1");
  EXPECT_TRUE(o.result.success());
  expect_still_serving(conn, "legacy-2");
  expect_served_after();
}

TEST_F(ProtocolErrors, LegacyVarintLongerThanFiveBytesIsInvalidLengthThenClosed) {
  if (!legacy_codec_available()) GTEST_SKIP() << "built without the legacy codec (DAEMONEYE_IPC_LEGACY=OFF)";
  config_.codec = codec_kind::legacy;
  start();
  auto conn = connect();
  const std::vector<std::byte> six_byte_varint{std::byte{0x80}, std::byte{0x80}, std::byte{0x80},
                                               std::byte{0x80}, std::byte{0x80}, std::byte{0x01}};
  ASSERT_TRUE(conn.send(six_byte_varint));
  expect_error_answer(conn, wire::INVALID_LENGTH, "");
  expect_closed(conn);
  expect_served_after();
}

TEST_F(ProtocolErrors, ConnectionsBeyondMaxConnectionsGetServerBusyAndFreedSlotsAreReused) {
  constexpr std::uint32_t limit = 3;
  constexpr std::uint32_t extra = 5;
  config_.max_connections = limit;
  start();

  // Connected in order from one thread: the server accepts them in that order,
  // so the first `limit` are served and the rest are over the limit.
  std::vector<raw_connection> conns;
  for (std::uint32_t i = 0; i < limit + extra; ++i) conns.push_back(connect());

  for (std::uint32_t i = limit; i < limit + extra; ++i) {
    SCOPED_TRACE(fmt::format("connection {}", i));
    const auto answer = expect_error_answer(conns[i], wire::SERVER_BUSY, "");
    EXPECT_NE(answer.error_message().find(fmt::format("max_connections ({})", limit)), std::string::npos)
        << answer.error_message();
    expect_closed(conns[i]);
  }
  for (std::uint32_t i = 0; i < limit; ++i) {
    SCOPED_TRACE(fmt::format("connection {}", i));
    expect_still_serving(conns[i], fmt::format("served-{}", i));
  }
  auto stats = server_->stats();
  EXPECT_EQ(stats.connections_accepted, limit);
  EXPECT_EQ(stats.connections_rejected_busy, extra);
  EXPECT_EQ(stats.connections_active, limit);

  // Free the slots; the server sees the closes asynchronously.
  for (std::uint32_t i = 0; i < limit; ++i) conns[i].close();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server_->stats().connections_active != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the server never noticed the closed connections";
    std::this_thread::yield();
  }

  std::vector<raw_connection> fresh;
  for (std::uint32_t i = 0; i < limit; ++i) fresh.push_back(connect());
  for (std::uint32_t i = 0; i < limit; ++i) {
    SCOPED_TRACE(fmt::format("fresh connection {}", i));
    expect_still_serving(fresh[i], fmt::format("reused-{}", i));
  }
  auto one_more = connect();
  expect_error_answer(one_more, wire::SERVER_BUSY, "");
  expect_closed(one_more);
}

TEST_F(ProtocolErrors, BlockingClientAgainstAFullServerReportsServerBusy) {
  config_.max_connections = 1;
  start();
  auto occupant = connect();
  expect_still_serving(occupant, "occupant");

  auto client_config = config_;
  client_config.read_timeout_ms = 10000;
  blocking_client client(client_config);
  auto r = client.send_task(tasks::new_test_task("turned-away", wire::ENUMERATE_PROCESSES));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::server_busy)) << r.error().message();
  EXPECT_NE(r.error().message().find("max_connections (1)"), std::string::npos) << r.error().message();
}

// ---- handlers run inline on the I/O thread -------------------------------------

TEST_F(ProtocolErrors, InlineHandlerAnswersTheTasksBeforeACorruptFrameThenTheErrorThenCloses) {
  server_ = std::make_unique<interprocess_server>(config_);
  server_->set_handler(handle, handler_execution::inline_on_io_thread);
  ASSERT_TRUE(server_->start());
  // Two tasks and a frame whose CRC is wrong, in one write: one batch for the server.
  std::vector<std::byte> bytes;
  for (const auto* id : {"before-1", "before-2"}) {
    const auto frame = task_frame(id, codec());
    bytes.insert(bytes.end(), frame.begin(), frame.end());
  }
  auto corrupt = task_frame("bad-crc", codec());
  corrupt[4] ^= std::byte{0x5A};  // the CRC field of the header
  bytes.insert(bytes.end(), corrupt.begin(), corrupt.end());

  auto conn = connect();
  ASSERT_TRUE(conn.send(bytes));
  for (const std::string id : {"before-1", "before-2"}) {
    const auto o = conn.read();
    ASSERT_EQ(o.kind, outcome::frame) << raw_connection::describe(o);
    EXPECT_EQ(o.result.task_id(), id);
    EXPECT_TRUE(o.result.success()) << raw_connection::describe(o);
  }
  expect_error_answer(conn, wire::CRC_MISMATCH, "");
  expect_closed(conn);
  expect_served_after();
}

TEST_F(ProtocolErrors, InlineHandlerBehindMaxInFlightAnswersEveryTaskInOrder) {
  config_.flow_control.max_in_flight = 2;
  server_ = std::make_unique<interprocess_server>(config_);
  server_->set_handler(handle, handler_execution::inline_on_io_thread);
  ASSERT_TRUE(server_->start());
  // Ten tasks at once: the server decodes two, answers them, waits for the
  // write, and goes on; nothing is lost or reordered.
  constexpr int count = 10;
  std::vector<std::byte> bytes;
  for (int i = 0; i < count; ++i) {
    const auto frame = task_frame(fmt::format("queued-{}", i), codec());
    bytes.insert(bytes.end(), frame.begin(), frame.end());
  }
  auto conn = connect();
  ASSERT_TRUE(conn.send(bytes));
  for (int i = 0; i < count; ++i) {
    const auto o = conn.read();
    ASSERT_EQ(o.kind, outcome::frame) << raw_connection::describe(o);
    EXPECT_EQ(o.result.task_id(), fmt::format("queued-{}", i));
    EXPECT_TRUE(o.result.success());
  }
  expect_still_serving(conn, "after-queue");
}

}  // namespace
}  // namespace daemoneye::ipc
