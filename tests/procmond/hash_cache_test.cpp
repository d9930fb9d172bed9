// Tests of procmond/hash_cache.hpp: identity from stat(2), hits, misses on any
// changed identity field, and the size bound.
#include "procmond/hash_cache.hpp"

#include <fstream>

#include <fcntl.h>
#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace daemoneye::procmond {
namespace {

file_identity sample() { return {.device = 1, .inode = 2, .mtime_ns = 3, .ctime_ns = 4, .size = 5}; }

TEST(HashCache, FindsWhatWasInserted) {
  hash_cache cache;
  EXPECT_FALSE(cache.find(sample()));
  cache.insert(sample(), "abc");
  EXPECT_EQ(cache.find(sample()), "abc");
  EXPECT_EQ(cache.size(), 1U);
}

TEST(HashCache, AnyChangedIdentityFieldIsAMiss) {
  hash_cache cache;
  cache.insert(sample(), "abc");
  for (auto change : {+[](file_identity& id) { ++id.device; }, +[](file_identity& id) { ++id.inode; },
                      +[](file_identity& id) { ++id.mtime_ns; }, +[](file_identity& id) { ++id.ctime_ns; },
                      +[](file_identity& id) { ++id.size; }}) {
    auto id = sample();
    change(id);
    EXPECT_FALSE(cache.find(id));
  }
}

TEST(HashCache, StaysWithinItsBound) {
  hash_cache cache(3);
  for (std::uint64_t i = 0; i < 10; ++i) {
    auto id = sample();
    id.inode = i;
    cache.insert(id, "h");
    EXPECT_LE(cache.size(), 3U);
  }
}

TEST(IdentityOf, TracksContentChangesOfAFile) {
  daemoneye::test::temp_dir dir;
  const auto path = dir.file("f");
  std::ofstream(path) << "one";
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  std::ofstream(path, std::ios::trunc) << "two";
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  // Restore the old mtime, as an attacker covering tracks would: ctime still moves.
  const timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(identity_of(before).mtime_ns, identity_of(after).mtime_ns);
  EXPECT_EQ(identity_of(before).size, identity_of(after).size);
  EXPECT_NE(identity_of(before), identity_of(after));
}

}  // namespace
}  // namespace daemoneye::procmond
