// scratch_file: a new file with known content for `ipc test`'s hash steps,
// created under a fresh name (never over an existing file or link) and
// removed when the object is destroyed.
//
//   auto file = scratch_file::create(dir, "known content\n");
//   if (!file) return ctx.report(exit_code::failed, file.error().message());
//   task.mutable_hash_check()->set_executable_path(file->path());
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "daemoneye/ipc/error.hpp"

namespace daemoneye::cli {

/// Resource type (moves, no copies). Readable by other users (mode 0644 on
/// POSIX; on Windows the directory's inherited ACL): the collector may run
/// as another user.
class scratch_file {
 public:
  /// A file named daemoneye-cli-ipc-test-XXXXXX in `dir` holding `content`;
  /// errc::io naming the directory or file when it cannot be made.
  static ipc::result<scratch_file> create(const std::filesystem::path& dir, std::string_view content);

  scratch_file(scratch_file&& other) noexcept;
  scratch_file& operator=(scratch_file&&) = delete;
  scratch_file(const scratch_file&) = delete;
  scratch_file& operator=(const scratch_file&) = delete;
  ~scratch_file();

  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  explicit scratch_file(std::string path) : path_(std::move(path)) {}
  std::string path_;  ///< empty once moved from
};

}  // namespace daemoneye::cli
