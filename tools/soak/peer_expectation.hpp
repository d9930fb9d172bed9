// peer_expectation: what PROTOCOL.md section 5 says a client must observe after
// it sent some bytes - which answers (by task_id and error code), and then
// whether the server closes at once, closes after read_timeout of silence, or
// keeps serving - and observe(), which watches a raw_connection and turns what
// actually happened into an outcome (allowed or a contradiction).
//
// A connection beyond max_connections may always be answered SERVER_BUSY and
// closed instead; observe() accepts that for every expectation.
//
//   expectation e{.label = "CRC_MISMATCH+EOF", .then = then_expect::close_now};
//   e.answers.push_back(expect_error("", wire::CRC_MISMATCH, {"0x1234ABCD"}));
//   table.record("crc_flip", observe(conn, e, env));
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemoneye/ipc/messages.hpp"

#include "outcome_table.hpp"
#include "raw_connection.hpp"
#include "soak_options.hpp"

namespace daemoneye::soak {

/// One answer the server owes. Value type.
struct expected_answer {
  std::string task_id;  ///< "" for connection-level answers (frame errors, DECODE_FAILED)
  /// The error code expected; std::nullopt for success.
  std::optional<ipc::ErrorCode> error;
  /// Substrings the error_message must contain (e.g. the limit, the CRC values).
  std::vector<std::string> message_contains;
  /// Any success or failure carrying task_id will do (a task decoded from random bytes).
  bool any_outcome = false;
  /// Further checks of a success; returns the problem, or "" when fine.
  std::function<std::string(const ipc::DetectionResult&)> check;
};

expected_answer expect_success(std::string task_id,
                               std::function<std::string(const ipc::DetectionResult&)> check = nullptr);
expected_answer expect_error(std::string task_id, ipc::ErrorCode code, std::vector<std::string> message_contains = {});

enum class then_expect {
  close_now,            ///< EOF right after the answers (frame error, or our own EOF)
  close_after_silence,  ///< no answer; EOF no sooner than read_timeout after `silent_since`
  stay_open,            ///< the server keeps serving; the caller closes
};

/// Value type.
struct expectation {
  std::string label;  ///< the outcome's name when everything matched
  std::vector<expected_answer> answers;
  then_expect then = then_expect::stay_open;
  /// For close_after_silence: a time no later than the server's last read
  /// from us (taken before sending), and one no earlier (after sending). The
  /// close is due between silent_since + read_timeout and silent_after + read_timeout + grace.
  clock::time_point silent_since{};
  clock::time_point silent_after{};
};

/// What observe() needs besides the connection.
struct observe_env {
  const soak_options& opts;
  /// Silent waits that would end after this point stop there ("still open at soak end").
  clock::time_point soak_end;
  /// Bound on answers and prompt closes; defaults to now + opts.answer_timeout.
  std::optional<clock::time_point> answer_deadline;
  /// Prepended to the detail of a contradiction (what was sent).
  std::string sent;
};

/// Reads from `c` until the expectation is met or contradicted. Every wait is bounded.
outcome observe(raw_connection& c, const expectation& e, const observe_env& env);

/// The outcome name for a connection the server turned away with SERVER_BUSY.
inline constexpr const char* server_busy_outcome = "SERVER_BUSY+EOF";

/// "task_id='x' success=false code=CRC_MISMATCH message='...'" for details.
std::string describe(const ipc::DetectionResult& r);

}  // namespace daemoneye::soak
