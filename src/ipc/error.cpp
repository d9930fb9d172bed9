// The "daemoneye.ipc" error category: names, generic messages and the mapping
// of codes to conditions.
#include "daemoneye/ipc/error.hpp"

#include <fmt/format.h>

namespace daemoneye::ipc {
namespace {

class category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "daemoneye.ipc"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::timeout: return "operation timed out";
      case errc::too_large: return "frame is larger than max_frame_bytes";
      case errc::crc_mismatch:
        return "frame checksum mismatch (corrupt data or codec/crc32_variant differs between peers)";
      case errc::io: return "I/O error";
      case errc::decode: return "message could not be decoded";
      case errc::encode: return "message could not be encoded";
      case errc::peer_closed: return "the peer closed the connection";
      case errc::invalid_length: return "invalid frame length";
      case errc::server_not_found: return "server not found - is procmond running?";
      case errc::connection_refused: return "connection refused - the socket exists but no server accepts on it";
      case errc::permission_denied: return "permission denied - check the socket's owner and mode";
      case errc::connection_timeout: return "connection timed out";
      case errc::circuit_breaker_open: return "circuit breaker open - the endpoint failed repeatedly; retry later";
      case errc::rate_limited: return "rate limited by the server - slow down";
      case errc::server_busy: return "server busy - connection limit reached";
      case errc::overloaded: return "server overloaded - too many tasks pending";
      case errc::invalid_task: return "the server rejected the task as invalid";
      case errc::unsupported_task: return "the server does not implement this task type";
      case errc::handler_failed: return "the server's handler failed";
      case errc::handler_timeout: return "the server's handler exceeded its deadline";
      case errc::shutting_down: return "the server is shutting down";
      case errc::remote_error: return "the server answered with an error";
      case errc::invalid_config: return "invalid configuration";
      case errc::endpoint_in_use: return "another server is listening on the endpoint";
      case errc::unsafe_endpoint: return "the endpoint path fails the security checks";
      case errc::sequence_error: return "sequence number out of order";
      case errc::cancelled: return "operation cancelled";
    }
    return "unknown daemoneye.ipc error";
  }

  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::timeout:
      case errc::connection_timeout:
      case errc::handler_timeout: return make_error_condition(condition::timeout);
      case errc::too_large:
      case errc::crc_mismatch:
      case errc::invalid_length:
      case errc::decode:
      case errc::sequence_error: return make_error_condition(condition::protocol);
      default: return {value, *this};
    }
  }

  bool equivalent(int value, const std::error_condition& cond) const noexcept override {
    if (&cond.category() != &ipc_condition_category()) return default_error_condition(value) == cond;
    const auto e = static_cast<errc>(value);
    switch (static_cast<condition>(cond.value())) {
      case condition::transient:
        return e == errc::server_not_found || e == errc::connection_refused || e == errc::connection_timeout ||
               e == errc::peer_closed || e == errc::server_busy || e == errc::rate_limited || e == errc::overloaded ||
               e == errc::timeout || e == errc::shutting_down;
      case condition::timeout: return e == errc::timeout || e == errc::connection_timeout || e == errc::handler_timeout;
      case condition::protocol:
        return e == errc::too_large || e == errc::crc_mismatch || e == errc::invalid_length || e == errc::decode ||
               e == errc::sequence_error;
      case condition::remote:
        return e == errc::rate_limited || e == errc::server_busy || e == errc::overloaded || e == errc::invalid_task ||
               e == errc::unsupported_task || e == errc::handler_failed || e == errc::handler_timeout ||
               e == errc::shutting_down || e == errc::remote_error;
    }
    return false;
  }
};

class condition_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "daemoneye.ipc.condition"; }
  std::string message(int value) const override {
    switch (static_cast<condition>(value)) {
      case condition::transient: return "transient failure, worth retrying";
      case condition::timeout: return "a deadline passed";
      case condition::protocol: return "protocol violation";
      case condition::remote: return "the server answered with an error";
    }
    return "unknown daemoneye.ipc condition";
  }
};

}  // namespace

const std::error_category& ipc_category() noexcept {
  static const category_impl instance;
  return instance;
}

const std::error_category& ipc_condition_category() noexcept {
  static const condition_category_impl instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), ipc_category()}; }

std::error_condition make_error_condition(condition c) noexcept {
  return {static_cast<int>(c), ipc_condition_category()};
}

std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::timeout: return "timeout";
    case errc::too_large: return "too_large";
    case errc::crc_mismatch: return "crc_mismatch";
    case errc::io: return "io";
    case errc::decode: return "decode";
    case errc::encode: return "encode";
    case errc::peer_closed: return "peer_closed";
    case errc::invalid_length: return "invalid_length";
    case errc::server_not_found: return "server_not_found";
    case errc::connection_refused: return "connection_refused";
    case errc::permission_denied: return "permission_denied";
    case errc::connection_timeout: return "connection_timeout";
    case errc::circuit_breaker_open: return "circuit_breaker_open";
    case errc::rate_limited: return "rate_limited";
    case errc::server_busy: return "server_busy";
    case errc::overloaded: return "overloaded";
    case errc::invalid_task: return "invalid_task";
    case errc::unsupported_task: return "unsupported_task";
    case errc::handler_failed: return "handler_failed";
    case errc::handler_timeout: return "handler_timeout";
    case errc::shutting_down: return "shutting_down";
    case errc::remote_error: return "remote_error";
    case errc::invalid_config: return "invalid_config";
    case errc::endpoint_in_use: return "endpoint_in_use";
    case errc::unsafe_endpoint: return "unsafe_endpoint";
    case errc::sequence_error: return "sequence_error";
    case errc::cancelled: return "cancelled";
  }
  return "unknown";
}

ipc_error too_large_error(std::uint64_t size, std::uint64_t max_size) {
  return {errc::too_large,
          fmt::format("frame of {} bytes exceeds max_frame_bytes {} - raise max_frame_bytes on both peers or send less",
                      size, max_size)};
}

ipc_error crc_mismatch_error(std::uint32_t expected, std::uint32_t actual) {
  return {errc::crc_mismatch,
          fmt::format("CRC mismatch: expected 0x{:08X}, actual 0x{:08X} - corrupt data, or the peers disagree on "
                      "codec/crc32_variant",
                      expected, actual)};
}

ipc_error invalid_length_error(std::uint64_t length, std::string_view why) {
  return {errc::invalid_length, fmt::format("invalid frame length {}: {}", length, why)};
}

ipc_error server_not_found_error(std::string_view endpoint) {
  return {errc::server_not_found, fmt::format("server not found at {} - is procmond running?", endpoint)};
}

ipc_error connection_refused_error(std::string_view endpoint) {
  return {errc::connection_refused,
          fmt::format("connection refused at {} - a socket file exists but no server accepts on it; "
                      "restart procmond",
                      endpoint)};
}

ipc_error permission_denied_error(std::string_view endpoint) {
  return {errc::permission_denied,
          fmt::format("permission denied at {} - check the socket's owner and mode (ls -l {})", endpoint, endpoint)};
}

ipc_error connection_timeout_error(std::string_view endpoint, std::uint64_t timeout_ms) {
  return {errc::connection_timeout,
          fmt::format("connection to {} timed out after {} ms - the server may be overloaded; raise "
                      "accept_timeout_ms or check procmond's logs",
                      endpoint, timeout_ms)};
}

}  // namespace daemoneye::ipc
