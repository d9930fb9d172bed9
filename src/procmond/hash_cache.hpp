// hash_cache: executable hashes remembered by file identity (device, inode,
// mtime, ctime, size), so repeated enumerations hash each binary once.
//
//   if (auto hit = cache.find(identity_of(st))) return *hit;
//   cache.insert(identity_of(st), compute());
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <sys/stat.h>

namespace daemoneye::procmond {

/// What makes a cached hash still valid. ctime is part of it because a write
/// followed by utimensat(2) can restore mtime, but not ctime.
struct file_identity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t size = 0;
  bool operator==(const file_identity&) const = default;
};

file_identity identity_of(const struct stat& st) noexcept;

/// A bounded map file_identity -> hex hash. Resource type.
/// Thread safety: every member is safe to call concurrently.
class hash_cache {
 public:
  explicit hash_cache(std::size_t max_entries = 4096) : max_entries_(max_entries) {}
  hash_cache(const hash_cache&) = delete;
  hash_cache& operator=(const hash_cache&) = delete;

  [[nodiscard]] std::optional<std::string> find(const file_identity& id) const;
  /// Remembers `hex` for `id`. When full, forgets everything first.
  void insert(const file_identity& id, std::string hex);
  [[nodiscard]] std::size_t size() const;

 private:
  struct identity_hash {
    std::size_t operator()(const file_identity& id) const noexcept;
  };

  std::size_t max_entries_;
  mutable std::mutex mutex_;  // guards entries_
  std::unordered_map<file_identity, std::string, identity_hash> entries_;
};

}  // namespace daemoneye::procmond
