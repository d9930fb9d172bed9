// user_names: uid -> user name through the system's password database
// (getpwuid_r), cached per run because a process table repeats few uids.
// Windows has no uids: there every lookup finds nothing.
//
//   user_names users;
//   users.display("1000");   // "alice", or "1000" when the uid has no entry
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace daemoneye::cli {

/// The name of `uid`, or nullopt when the password database has no entry
/// (always nullopt on Windows).
std::optional<std::string> lookup_user_name(std::uint32_t uid);

/// Value type holding a cache. Not thread-safe.
class user_names {
 public:
  /// The user name for a ProcessRecord's user_id (decimal uid text); the text
  /// itself when it is not a uid or has no entry.
  std::string display(std::string_view uid_text);

 private:
  std::map<std::uint32_t, std::string> cache_;
};

}  // namespace daemoneye::cli
