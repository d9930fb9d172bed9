// SHA-256 of files through OpenSSL EVP, streamed in fixed-size chunks so memory
// stays constant for any file size. Errors name the file and the errno text.
//
//   auto hex = sha256_file("/usr/bin/sleep");   // lower-case hex, or an ipc_error
//   if (!hex) log(hex.error().message());       // "cannot open /x: No such file or directory"
#pragma once

#include <string>
#include <string_view>

#include "daemoneye/ipc/error.hpp"

namespace daemoneye::procmond {

/// The algorithm name used on the wire (HashCheck/HashResult/ProcessRecord).
inline constexpr std::string_view sha256_algorithm = "sha256";

/// Hex digits in a SHA-256 value.
inline constexpr std::size_t sha256_hex_size = 64;

/// SHA-256 of everything from `fd`'s current offset to end of file. `fd` stays
/// owned by the caller. `what` names the file in error messages. Errors carry
/// the errno as a std::generic_category code.
ipc::result<std::string> sha256_fd(int fd, std::string_view what);

/// SHA-256 of the regular file at `path` (symbolic links followed). Fails
/// without blocking for FIFOs, devices and directories.
ipc::result<std::string> sha256_file(const std::string& path);

}  // namespace daemoneye::procmond
