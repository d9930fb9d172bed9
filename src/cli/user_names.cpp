// getpwuid_r with a growing buffer (sysconf's hint may be absent or too small).
// Windows has no uids (a collector there reports what it likes as user_id):
// every lookup finds nothing, so the text is shown as the collector sent it.
#include "cli/user_names.hpp"

#include <charconv>

#ifndef _WIN32
#include <cerrno>
#include <vector>

#include <pwd.h>
#include <unistd.h>
#endif

namespace daemoneye::cli {

#ifdef _WIN32

std::optional<std::string> lookup_user_name(std::uint32_t /*uid*/) { return std::nullopt; }

#else

std::optional<std::string> lookup_user_name(std::uint32_t uid) {
  const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(hint > 0 ? static_cast<std::size_t>(hint) : 1024U);
  while (true) {
    passwd entry{};
    passwd* found = nullptr;
    const int rc = ::getpwuid_r(static_cast<uid_t>(uid), &entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < std::size_t{1024} * 1024) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0 || found == nullptr || entry.pw_name == nullptr) return std::nullopt;
    return std::string(entry.pw_name);
  }
}

#endif

std::string user_names::display(std::string_view uid_text) {
  std::uint32_t uid = 0;
  const char* const end = uid_text.data() + uid_text.size();
  const auto [ptr, ec] = std::from_chars(uid_text.data(), end, uid);
  if (uid_text.empty() || ec != std::errc{} || ptr != end) return std::string(uid_text);
  if (auto it = cache_.find(uid); it != cache_.end()) return it->second;
  auto name = lookup_user_name(uid).value_or(std::string(uid_text));
  cache_.emplace(uid, name);
  return name;
}

}  // namespace daemoneye::cli
