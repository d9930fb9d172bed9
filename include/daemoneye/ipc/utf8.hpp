// Text made fit for a protobuf `string` field. Every peer (ours and the
// upstream prost one) rejects a whole message when one string field holds
// invalid UTF-8, so text that comes from outside (process names and
// arguments, file paths, exception messages) is repaired before it goes into
// one: each maximal ill-formed subsequence becomes one U+FFFD, exactly as
// Rust's String::from_utf8_lossy does it (so collectors in either language
// report the same text). Validation is utfcpp's.
//
//   ipc::assign_utf8(*record.add_command_line(), raw_arg);
//   auto r = results::failure(id, wire::HANDLER_FAILED, e.what());   // repaired inside
#pragma once

#include <string>
#include <string_view>

namespace daemoneye::ipc {

/// Whether `text` is valid UTF-8 (no overlong forms, surrogates or values beyond U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

/// Sets `out` to `raw`, with each maximal ill-formed UTF-8 subsequence
/// replaced by U+FFFD (an overlong form or a surrogate gives one per byte, a
/// truncated character one in all).
/// Valid text (the usual case) is copied as it is, into out's memory.
void assign_utf8(std::string& out, std::string_view raw);

/// The same, as a new string.
std::string to_utf8(std::string_view raw);

}  // namespace daemoneye::ipc
