// A fresh private directory for one test, removed with everything in it at
// the end of the test, and endpoint names that belong to it: a socket path
// inside the directory on Unix, a pipe name derived from it on Windows.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>

namespace daemoneye::test {

class temp_dir {
 public:
  temp_dir() {
#ifdef _WIN32
    std::random_device random;
    for (int attempt = 0; attempt < 100 && path_.empty(); ++attempt) {
      auto candidate = std::filesystem::temp_directory_path() / ("daemoneye-test-" + std::to_string(random()));
      if (std::filesystem::create_directory(candidate)) path_ = candidate;
    }
    if (path_.empty()) throw std::runtime_error("cannot create a temporary directory");
#else
    std::string pattern = (std::filesystem::temp_directory_path() / "daemoneye-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
#endif
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// A path inside the directory.
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// An endpoint no other test uses: file(name) on Unix, a pipe on Windows.
  [[nodiscard]] std::string endpoint(const std::string& name) const {
#ifdef _WIN32
    return R"(\\.\pipe\)" + path_.filename().string() + "-" + name;
#else
    return file(name);
#endif
  }

 private:
  std::filesystem::path path_;
};

}  // namespace daemoneye::test
