// Lossy UTF-8 repair on top of utfcpp; see utf8.hpp.
#include "daemoneye/ipc/utf8.hpp"

#include <iterator>

#include <utf8.h>

namespace daemoneye::ipc {

bool is_valid_utf8(std::string_view text) noexcept {
  return utf8::find_invalid(text.begin(), text.end()) == text.end();
}

void assign_utf8(std::string& out, std::string_view raw) {
  const auto bad = utf8::find_invalid(raw.begin(), raw.end());
  if (bad == raw.end()) {
    out.assign(raw);
    return;
  }
  // The valid prefix as it is, then the rest through the repair.
  out.assign(raw.begin(), bad);
  utf8::replace_invalid(bad, raw.end(), std::back_inserter(out));
}

std::string to_utf8(std::string_view raw) {
  std::string out;
  assign_utf8(out, raw);
  return out;
}

}  // namespace daemoneye::ipc
