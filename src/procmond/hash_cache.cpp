// hash_cache: a mutex-guarded unordered_map.
#include "procmond/hash_cache.hpp"

#include <functional>

namespace daemoneye::procmond {
namespace {
constexpr std::int64_t ns_per_s = 1'000'000'000;
std::int64_t to_ns(const timespec& ts) noexcept { return static_cast<std::int64_t>(ts.tv_sec) * ns_per_s + ts.tv_nsec; }
}  // namespace

file_identity identity_of(const struct stat& st) noexcept {
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino), to_ns(st.st_mtim),
          to_ns(st.st_ctim), static_cast<std::uint64_t>(st.st_size)};
}

std::size_t hash_cache::identity_hash::operator()(const file_identity& id) const noexcept {
  std::size_t h = std::hash<std::uint64_t>()(id.inode);
  for (std::uint64_t v :
       {id.device, static_cast<std::uint64_t>(id.mtime_ns), static_cast<std::uint64_t>(id.ctime_ns), id.size}) {
    h ^= std::hash<std::uint64_t>()(v) + 0x9E3779B97F4A7C15ULL + (h << 6U) + (h >> 2U);
  }
  return h;
}

std::optional<std::string> hash_cache::find(const file_identity& id) const {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(id); it != entries_.end()) return it->second;
  return std::nullopt;
}

void hash_cache::insert(const file_identity& id, std::string hex) {
  std::lock_guard lock(mutex_);
  // TODO(perf): evict least recently used instead; a machine runs far fewer
  // distinct executables than the bound, so a full cache means churn anyway.
  if (entries_.size() >= max_entries_ && !entries_.contains(id)) entries_.clear();
  entries_.insert_or_assign(id, std::move(hex));
}

std::size_t hash_cache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace daemoneye::procmond
