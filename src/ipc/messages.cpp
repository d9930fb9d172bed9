// Builders, validation, framing and error-code mapping of the wire messages.
#include "daemoneye/ipc/messages.hpp"

#include <fmt/format.h>

#include "daemoneye/ipc/utf8.hpp"

namespace daemoneye::ipc {

namespace tasks {
DetectionTask new_test_task(std::string task_id, TaskType type, std::optional<std::string> metadata) {
  DetectionTask task;
  task.set_task_id(std::move(task_id));
  task.set_task_type(type);
  if (metadata) task.set_metadata(std::move(*metadata));
  return task;
}

DetectionTask new_builtin_task(std::string task_id, std::string_view metadata) {
  return new_test_task(std::move(task_id), wire::ENUMERATE_PROCESSES, std::string(metadata));
}
}  // namespace tasks

namespace results {
DetectionResult success(std::string task_id, std::vector<ProcessRecord> processes) {
  DetectionResult r;
  r.set_task_id(std::move(task_id));
  r.set_success(true);
  r.mutable_processes()->Reserve(static_cast<int>(processes.size()));
  for (auto& p : processes) *r.add_processes() = std::move(p);
  return r;
}

DetectionResult failure(std::string task_id, ErrorCode code, std::string message) {
  DetectionResult r;
  r.set_task_id(std::move(task_id));
  r.set_success(false);
  r.set_error_code(code);
  // Messages often quote what came from outside (an exception's text, a path):
  // one invalid byte would make the whole answer unreadable for the peer.
  if (is_valid_utf8(message)) {
    r.set_error_message(std::move(message));
  } else {
    r.set_error_message(to_utf8(message));
  }
  return r;
}
}  // namespace results

std::string task_type_name(int type) {
  if (wire::TaskType_IsValid(type)) return wire::TaskType_Name(static_cast<TaskType>(type));
  return fmt::format("UNKNOWN({})", type);
}

result<void> validate_task(const DetectionTask& task) {
  if (task.task_id().empty()) return fail(errc::invalid_task, "task_id must not be empty");
  if (!wire::TaskType_IsValid(task.task_type())) {
    return fail(errc::invalid_task, fmt::format("unknown task_type {}", static_cast<int>(task.task_type())));
  }
  return {};
}

result<void> append_frame(const codec_options& opts, const google::protobuf::MessageLite& message, byte_buffer& out) {
  const std::size_t payload_size = message.ByteSizeLong();
  if (auto ok = check_payload_size(opts, payload_size); !ok) return fail(std::move(ok).error());
  const std::size_t hsize = header_size(opts, payload_size);
  const std::size_t start = out.size();
  auto room = out.append_uninitialized(hsize + payload_size);
  auto* payload = reinterpret_cast<std::uint8_t*>(room.data() + hsize);  // NOLINT
  // ByteSizeLong() cached the sizes; serialise without computing them again.
  message.SerializeWithCachedSizesToArray(payload);
  if (auto written = write_header(opts, room.subspan(hsize), room.first(hsize)); !written) {
    out.resize_within_capacity(start);
    return fail(std::move(written).error());
  }
  return {};
}

result<void> decode_into(std::span<const std::byte> payload, google::protobuf::MessageLite& message) {
  if (payload.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return fail(errc::decode,
                fmt::format("payload of {} bytes is not a valid {}", payload.size(), message.GetTypeName()));
  }
  return {};
}

ErrorCode to_error_code(errc e) noexcept {
  switch (e) {
    case errc::server_busy: return wire::SERVER_BUSY;
    case errc::rate_limited: return wire::RATE_LIMITED;
    case errc::too_large: return wire::FRAME_TOO_LARGE;
    case errc::crc_mismatch: return wire::CRC_MISMATCH;
    case errc::decode: return wire::DECODE_FAILED;
    case errc::invalid_task: return wire::INVALID_TASK;
    case errc::unsupported_task: return wire::UNSUPPORTED_TASK;
    case errc::handler_failed: return wire::HANDLER_FAILED;
    case errc::handler_timeout: return wire::HANDLER_TIMEOUT;
    case errc::shutting_down: return wire::SHUTTING_DOWN;
    case errc::invalid_length: return wire::INVALID_LENGTH;
    case errc::overloaded: return wire::OVERLOADED;
    default: return wire::ERROR_UNSPECIFIED;
  }
}

errc to_errc(ErrorCode code) noexcept {
  switch (code) {
    case wire::SERVER_BUSY: return errc::server_busy;
    case wire::RATE_LIMITED: return errc::rate_limited;
    case wire::FRAME_TOO_LARGE: return errc::too_large;
    case wire::CRC_MISMATCH: return errc::crc_mismatch;
    case wire::DECODE_FAILED: return errc::decode;
    case wire::INVALID_TASK: return errc::invalid_task;
    case wire::UNSUPPORTED_TASK: return errc::unsupported_task;
    case wire::HANDLER_FAILED: return errc::handler_failed;
    case wire::HANDLER_TIMEOUT: return errc::handler_timeout;
    case wire::SHUTTING_DOWN: return errc::shutting_down;
    case wire::INVALID_LENGTH: return errc::invalid_length;
    case wire::OVERLOADED: return errc::overloaded;
    default: return errc::remote_error;
  }
}

std::optional<ipc_error> transport_error_of(const DetectionResult& result) {
  if (result.success() || !result.has_error_code()) return std::nullopt;
  switch (result.error_code()) {
    case wire::SERVER_BUSY:
    case wire::RATE_LIMITED:
    case wire::OVERLOADED:
    case wire::SHUTTING_DOWN:
    case wire::FRAME_TOO_LARGE:
    case wire::CRC_MISMATCH:
    case wire::INVALID_LENGTH:
    case wire::DECODE_FAILED:
    case wire::HANDLER_TIMEOUT:
      return ipc_error(
          to_errc(result.error_code()),
          fmt::format("server answered {}: {}", wire::ErrorCode_Name(result.error_code()), result.error_message()));
    default: return std::nullopt;
  }
}

}  // namespace daemoneye::ipc
