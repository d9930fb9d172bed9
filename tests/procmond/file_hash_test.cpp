// Tests of procmond/file_hash.hpp: known SHA-256 vectors, files larger than
// one read chunk, and the errors for files that cannot be hashed.
#include "procmond/file_hash.hpp"

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/temp_dir.hpp"

namespace daemoneye::procmond {
namespace {

using ::testing::HasSubstr;

std::string write_file(const daemoneye::test::temp_dir& dir, const std::string& name, const std::string& content) {
  const auto path = dir.file(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(Sha256File, KnownVectors) {
  daemoneye::test::temp_dir dir;
  EXPECT_EQ(*sha256_file(write_file(dir, "empty", "")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(*sha256_file(write_file(dir, "abc", "abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256File, StreamsFilesLargerThanOneChunk) {
  daemoneye::test::temp_dir dir;
  // The FIPS 180-2 vector: one million 'a', about 15 chunks of 64 KiB and a partial one.
  EXPECT_EQ(*sha256_file(write_file(dir, "million", std::string(1'000'000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256File, MissingFileNamesThePathAndTheErrno) {
  daemoneye::test::temp_dir dir;
  const auto path = dir.file("nope");
  auto r = sha256_file(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_THAT(r.error().message(), HasSubstr(path));
  EXPECT_THAT(r.error().message(), HasSubstr("No such file or directory"));
}

TEST(Sha256File, RefusesNonRegularFilesWithoutBlocking) {
  daemoneye::test::temp_dir dir;
  const auto fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = sha256_file(fifo);  // would block forever in open(2) without O_NONBLOCK
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("not a regular file"));
  EXPECT_FALSE(sha256_file(dir.path().string()));
}

TEST(Sha256Fd, HashesFromTheCurrentOffset) {
  daemoneye::test::temp_dir dir;
  const auto path = write_file(dir, "xabc", "xabc");
  FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fgetc(f), 'x');
  ASSERT_EQ(::lseek(fileno(f), 1, SEEK_SET), 1);
  EXPECT_EQ(*sha256_fd(fileno(f), path), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::fclose(f);
}

}  // namespace
}  // namespace daemoneye::procmond
