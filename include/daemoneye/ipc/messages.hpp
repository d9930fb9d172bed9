// The wire messages (generated from proto/ into daemoneye::wire) and the typed
// helpers around them: builders, validation, framing of a message straight
// into an output buffer, and the mapping between ErrorCode and errc.
//
//   auto task = tasks::new_test_task("test-123", TaskType::ENUMERATE_PROCESSES);
//   byte_buffer out;
//   append_frame(opts, task, out);
//   auto back = decode_message<DetectionTask>(payload);
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemoneye/ipc/byte_buffer.hpp"
#include "daemoneye/ipc/codec.hpp"
#include "daemoneye/ipc/error.hpp"
#include "daemoneye/wire/ipc.pb.h"

namespace daemoneye::ipc {

/// The generated schema: enumerators such as ipc::wire::ENUMERATE_PROCESSES.
namespace wire = ::daemoneye::wire;

using wire::CollectionCapabilities;
using wire::DetectionResult;
using wire::DetectionTask;
using wire::ErrorCode;
using wire::HashCheck;
using wire::HashResult;
using wire::MonitoringDomain;
using wire::ProcessFilter;
using wire::ProcessRecord;
using wire::ServerHealth;
using wire::TaskType;

/// Metadata values that select the server's built-in answers.
inline constexpr std::string_view health_check_metadata = "health_check";
inline constexpr std::string_view capability_negotiation_metadata = "capability_negotiation";
inline constexpr std::string_view metrics_metadata = "metrics";

namespace tasks {
/// A task with the given id and type, and metadata when given.
DetectionTask new_test_task(std::string task_id, TaskType type, std::optional<std::string> metadata = {});
/// A task asking for one of the built-in answers (health_check, capability_negotiation, metrics).
DetectionTask new_builtin_task(std::string task_id, std::string_view metadata);
}  // namespace tasks

namespace results {
DetectionResult success(std::string task_id, std::vector<ProcessRecord> processes = {});
/// success=false with the machine-readable code and a message for people
/// (made valid UTF-8 if it is not; see utf8.hpp).
DetectionResult failure(std::string task_id, ErrorCode code, std::string message);
}  // namespace results

/// INVALID_TASK rules of PROTOCOL.md section 5: a non-empty task_id and a known task_type.
result<void> validate_task(const DetectionTask& task);

/// The TaskType's name ("ENUMERATE_PROCESSES"), or "UNKNOWN(n)".
std::string task_type_name(int type);

/// Serialises `message` as one frame appended to `out`, straight into the
/// buffer (no intermediate copy). Fails with too_large / invalid_length / encode.
result<void> append_frame(const codec_options& opts, const google::protobuf::MessageLite& message, byte_buffer& out);

/// Parses a payload into `message` (cleared first). Fails with errc::decode.
result<void> decode_into(std::span<const std::byte> payload, google::protobuf::MessageLite& message);

template <typename Message>
result<Message> decode_message(std::span<const std::byte> payload) {
  Message m;
  if (auto ok = decode_into(payload, m); !ok) return fail(std::move(ok).error());
  return m;
}

/// ErrorCode a server sends for a local failure, and the errc a client reports
/// for a received ErrorCode.
ErrorCode to_error_code(errc e) noexcept;
errc to_errc(ErrorCode code) noexcept;

/// The client-side error for a result with success=false that carries an
/// error_code the transport layer treats as a failure of the call
/// (SERVER_BUSY, RATE_LIMITED, ...). std::nullopt for success or for an
/// application-level failure (error_code unset or ERROR_UNSPECIFIED), which
/// the caller receives as the DetectionResult itself.
std::optional<ipc_error> transport_error_of(const DetectionResult& result);

}  // namespace daemoneye::ipc
