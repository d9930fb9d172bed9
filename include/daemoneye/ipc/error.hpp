// The one error model of daemoneye::ipc: an `errc` enum in the "daemoneye.ipc"
// std::error_category, `condition` groups callers test ("is this transient?"),
// and `ipc_error`, a code plus the context a person needs to act on it.
//
//   result<void> r = client.connect();
//   if (!r && r.error().code() == condition::transient) retry();
//   std::cerr << r.error().message();   // "server not found at /run/x.sock - is procmond running?"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "daemoneye/ipc/result.hpp"

namespace daemoneye::ipc {

/// Every failure the IPC layer reports. Values start at 1 (0 means success in
/// std::error_code). The first block is PROTOCOL.md section 6 (client-side
/// IpcError); the second are server answers and local faults.
enum class errc {
  timeout = 1,           ///< an operation's deadline passed
  too_large,             ///< frame length above max_frame_bytes
  crc_mismatch,          ///< payload checksum differs from the header's
  io,                    ///< an operating-system I/O failure
  decode,                ///< payload is not a valid protobuf message
  encode,                ///< a message could not be serialised
  peer_closed,           ///< the other side closed the connection
  invalid_length,        ///< zero length or malformed varint
  server_not_found,      ///< nothing at the endpoint path
  connection_refused,    ///< a socket exists but nobody accepts on it
  permission_denied,     ///< the endpoint's owner or mode forbids access
  connection_timeout,    ///< connect did not complete within accept_timeout
  circuit_breaker_open,  ///< the client's breaker rejects calls for now
  rate_limited,          ///< the server answered RATE_LIMITED
  server_busy,           ///< the server answered SERVER_BUSY (connection limit)
  overloaded,            ///< the server answered OVERLOADED (flow control)
  invalid_task,          ///< the server answered INVALID_TASK
  unsupported_task,      ///< the server answered UNSUPPORTED_TASK
  handler_failed,        ///< the server answered HANDLER_FAILED
  handler_timeout,       ///< the server answered HANDLER_TIMEOUT
  shutting_down,         ///< the server answered SHUTTING_DOWN
  remote_error,          ///< the server answered success=false without a known code
  invalid_config,        ///< a configuration value or file is wrong
  endpoint_in_use,       ///< another server is listening on the endpoint
  unsafe_endpoint,       ///< endpoint path or its directory fails the security checks
  sequence_error,        ///< a sequence number gap, duplicate or regression
  cancelled,             ///< the operation was cancelled (stop, shutdown)
};

/// Groups of errc values that callers test as one.
enum class condition {
  transient = 1,  ///< worth retrying later: the server may come back or calm down
  timeout,        ///< some deadline passed
  protocol,       ///< the byte stream is broken; the connection cannot continue
  remote,         ///< the server answered with an error result
};

}  // namespace daemoneye::ipc

// Declared before anything below converts an errc to std::error_code (the
// ipc_error constructors, fail()): a specialisation after that first use is
// ill-formed ("specialization after instantiation").
template <>
struct std::is_error_code_enum<daemoneye::ipc::errc> : std::true_type {};
template <>
struct std::is_error_condition_enum<daemoneye::ipc::condition> : std::true_type {};

namespace daemoneye::ipc {

const std::error_category& ipc_category() noexcept;
const std::error_category& ipc_condition_category() noexcept;

std::error_code make_error_code(errc e) noexcept;
std::error_condition make_error_condition(condition c) noexcept;

/// The enumerator's name, e.g. "server_not_found" (for logs and metrics labels).
std::string_view to_string(errc e) noexcept;

/// A failure with its context. Value type. The message is composed once, when
/// the failure happens, and says what to check or do.
class ipc_error {
 public:
  ipc_error() = default;
  ipc_error(std::error_code code, std::string message) : code_(code), message_(std::move(message)) {}
  ipc_error(errc code, std::string message) : ipc_error(make_error_code(code), std::move(message)) {}
  explicit ipc_error(std::error_code code) : code_(code) {}
  explicit ipc_error(errc code) : ipc_error(make_error_code(code)) {}

  [[nodiscard]] std::error_code code() const noexcept { return code_; }
  /// The full message for a person; falls back to the code's generic text.
  [[nodiscard]] std::string message() const { return message_.empty() ? code_.message() : message_; }
  [[nodiscard]] bool is(errc e) const noexcept { return code_ == make_error_code(e); }

 private:
  std::error_code code_;
  std::string message_;
};

template <typename T>
using result = basic_result<T, ipc_error>;

/// Shorthand for returning a failure: `return fail(errc::timeout, "...")`.
inline unexpected<ipc_error> fail(errc code, std::string message = {}) {
  return unexpected(ipc_error(code, std::move(message)));
}
inline unexpected<ipc_error> fail(ipc_error error) { return unexpected(std::move(error)); }

// Constructors of the errors that carry data; each writes the message once.
ipc_error too_large_error(std::uint64_t size, std::uint64_t max_size);
ipc_error crc_mismatch_error(std::uint32_t expected, std::uint32_t actual);
ipc_error invalid_length_error(std::uint64_t length, std::string_view why);
ipc_error server_not_found_error(std::string_view endpoint);
ipc_error connection_refused_error(std::string_view endpoint);
ipc_error permission_denied_error(std::string_view endpoint);
ipc_error connection_timeout_error(std::string_view endpoint, std::uint64_t timeout_ms);

}  // namespace daemoneye::ipc
