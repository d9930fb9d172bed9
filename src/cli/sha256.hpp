// sha256_hex: a SHA-256 digest as lower-case hex, from the platform's crypto
// library (OpenSSL's EVP on POSIX, CNG's BCrypt on Windows).
//
//   sha256_hex("abc");   // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#pragma once

#include <string>
#include <string_view>

namespace daemoneye::cli {

/// SHA-256 of `data` as 64 lower-case hex digits. Throws std::runtime_error
/// when the crypto library fails (it does not for valid input).
std::string sha256_hex(std::string_view data);

}  // namespace daemoneye::cli
