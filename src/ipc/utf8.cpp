// Lossy UTF-8 repair: utfcpp finds what is invalid; each maximal subpart of
// an ill-formed sequence becomes one U+FFFD (see utf8.hpp).
#include "daemoneye/ipc/utf8.hpp"

#include <cstdint>
#include <string_view>
#include <utility>

#include <utf8.h>

namespace daemoneye::ipc {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

struct byte_range {
  std::uint8_t low;
  std::uint8_t high;
};

/// How many bytes at the start of `bad` (which begins with an ill-formed
/// sequence) form its maximal subpart: the lead byte and the continuation
/// bytes that could still have completed it, by the table of well-formed
/// sequences in the Unicode standard (section 3.9). The count of U+FFFD then
/// matches Rust's String::from_utf8_lossy and the WHATWG decoder, so a
/// collector in either language names the same process the same way.
std::size_t maximal_subpart(std::string_view bad) noexcept {
  const auto lead = static_cast<std::uint8_t>(bad.front());
  constexpr byte_range tail{0x80, 0xBF};
  byte_range second = tail;
  std::size_t length = 0;  // of the whole sequence
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second = {0xA0, 0xBF};  // no overlong forms
    if (lead == 0xED) second = {0x80, 0x9F};  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second = {0x90, 0xBF};  // no overlong forms
    if (lead == 0xF4) second = {0x80, 0x8F};  // nothing above U+10FFFF
  } else {
    return 1;  // a continuation byte, C0, C1 or F5..FF: never starts a character
  }
  std::size_t taken = 1;
  for (; taken < length && taken < bad.size(); ++taken) {
    const auto range = taken == 1 ? second : tail;
    const auto b = static_cast<std::uint8_t>(bad[taken]);
    if (b < range.low || b > range.high) break;
  }
  return taken;
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  return utf8::find_invalid(text.begin(), text.end()) == text.end();
}

void assign_utf8(std::string& out, std::string_view raw) {
  auto bad = utf8::find_invalid(raw.begin(), raw.end());
  if (bad == raw.end()) {
    out.assign(raw);
    return;
  }
  // Built aside: `raw` may view `out` itself.
  std::string fixed;
  fixed.reserve(raw.size() + replacement_character.size());
  auto rest = raw;
  while (bad != rest.end()) {
    const auto valid = static_cast<std::size_t>(bad - rest.begin());
    fixed.append(rest.substr(0, valid));
    fixed.append(replacement_character);
    rest.remove_prefix(valid + maximal_subpart(rest.substr(valid)));
    bad = utf8::find_invalid(rest.begin(), rest.end());
  }
  fixed.append(rest);
  out = std::move(fixed);
}

std::string to_utf8(std::string_view raw) {
  std::string out;
  assign_utf8(out, raw);
  return out;
}

}  // namespace daemoneye::ipc
