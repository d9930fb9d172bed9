// /proc text parsing with std::from_chars: no locale, no allocation.
#include "procmond/proc_parse.hpp"

#include <array>
#include <charconv>

namespace daemoneye::procmond {
namespace {

template <typename T>
bool parse_number(std::string_view text, T& out) noexcept {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

std::string_view skip_blanks(std::string_view text) noexcept {
  const auto first = text.find_first_not_of(" \t");
  return first == std::string_view::npos ? std::string_view() : text.substr(first);
}

std::string_view first_word(std::string_view text) noexcept {
  text = skip_blanks(text);
  return text.substr(0, text.find_first_of(" \t\n"));
}

// The value of the line starting with `key` (e.g. "Uid:"), up to the newline.
std::optional<std::string_view> line_value(std::string_view text, std::string_view key) noexcept {
  for (std::size_t pos = 0; pos < text.size();) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const auto line = text.substr(pos, eol - pos);
    if (line.starts_with(key)) return line.substr(key.size());
    pos = eol + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view text) noexcept {
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;

  proc_stat st;
  auto pid_text = text.substr(0, open);
  while (!pid_text.empty() && pid_text.back() == ' ') pid_text.remove_suffix(1);
  if (!parse_number(pid_text, st.pid)) return std::nullopt;
  st.comm = text.substr(open + 1, close - open - 1);

  // Fields 3.. follow the ')' separated by single spaces; we need up to field 24.
  constexpr std::size_t wanted = 22;  // fields 3..24
  std::array<std::string_view, wanted> fields;
  auto rest = text.substr(close + 1);
  for (auto& field : fields) {
    if (rest.empty() || rest.front() != ' ') return std::nullopt;
    rest.remove_prefix(1);
    const auto end = rest.find_first_of(" \n");
    field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  // fields[i] is proc(5) field i + 3.
  if (fields[0].size() != 1) return std::nullopt;
  st.state = fields[0].front();
  std::int64_t ppid = 0;
  if (!parse_number(fields[1], ppid) || ppid < 0) return std::nullopt;
  st.ppid = static_cast<std::uint32_t>(ppid);
  if (!parse_number(fields[6], st.flags) || !parse_number(fields[11], st.utime) ||
      !parse_number(fields[12], st.stime) || !parse_number(fields[19], st.starttime) ||
      !parse_number(fields[21], st.rss_pages)) {
    return std::nullopt;
  }
  return st;
}

std::optional<std::uint32_t> parse_status_uid(std::string_view text) noexcept {
  auto value = line_value(text, "Uid:");
  if (!value) return std::nullopt;
  std::uint32_t uid = 0;
  if (!parse_number(first_word(*value), uid)) return std::nullopt;
  return uid;
}

std::optional<std::int64_t> parse_boot_time(std::string_view text) noexcept {
  auto value = line_value(text, "btime ");
  if (!value) return std::nullopt;
  std::int64_t btime = 0;
  if (!parse_number(first_word(*value), btime)) return std::nullopt;
  return btime;
}

std::optional<double> parse_uptime(std::string_view text) noexcept {
  double uptime = 0;
  if (!parse_number(first_word(text), uptime) || uptime < 0) return std::nullopt;
  return uptime;
}

}  // namespace daemoneye::procmond
