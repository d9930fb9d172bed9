// The platform's stream type behind local_stream: a Unix domain socket, or a
// named-pipe handle on Windows. Only transport code names these types.
#pragma once

#include <asio.hpp>

namespace daemoneye::ipc::detail {

#ifdef _WIN32
using native_stream = asio::windows::stream_handle;

/// ERROR_BROKEN_PIPE (the other end closed) as asio::error::eof; else unchanged.
std::error_code portable_read_error(std::error_code ec) noexcept;
#else
using native_stream = asio::local::stream_protocol::socket;
#endif

}  // namespace daemoneye::ipc::detail
