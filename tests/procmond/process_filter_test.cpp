// Tests of procmond/process_filter.hpp: AND across fields, OR within a list,
// globs over the executable path.
#include "procmond/process_filter.hpp"

#include <gtest/gtest.h>

namespace daemoneye::procmond {
namespace {

ipc::ProcessRecord record(std::uint32_t pid, std::string name, std::optional<std::string> exe) {
  ipc::ProcessRecord r;
  r.set_pid(pid);
  r.set_name(std::move(name));
  if (exe) r.set_executable_path(std::move(*exe));
  return r;
}

TEST(ProcessFilter, EmptyFilterSelectsEverything) {
  ipc::ProcessFilter f;
  EXPECT_TRUE(selects_everything(f));
  EXPECT_TRUE(matches(f, record(1, "init", {})));
  f.add_pids(1);
  EXPECT_FALSE(selects_everything(f));
  ipc::ProcessFilter pattern_only;
  pattern_only.set_executable_pattern("");
  EXPECT_FALSE(selects_everything(pattern_only));  // an explicit pattern is a restriction
}

TEST(ProcessFilter, NamesMatchExactlyAndAnyOfThem) {
  ipc::ProcessFilter f;
  f.add_process_names("sshd");
  f.add_process_names("bash");
  EXPECT_TRUE(matches(f, record(1, "bash", {})));
  EXPECT_TRUE(matches(f, record(1, "sshd", {})));
  EXPECT_FALSE(matches(f, record(1, "bas", {})));
  EXPECT_FALSE(matches(f, record(1, "bash2", {})));
  EXPECT_FALSE(matches(f, record(1, "BASH", {})));
}

TEST(ProcessFilter, PatternIsAGlobOverTheExecutablePath) {
  ipc::ProcessFilter f;
  f.set_executable_pattern("/usr/*/ssh?");
  EXPECT_TRUE(matches(f, record(1, "sshd", "/usr/sbin/sshd")));
  EXPECT_FALSE(matches(f, record(1, "sshd", "/opt/sbin/sshd")));
  EXPECT_FALSE(matches(f, record(1, "sshd", {})));  // no executable: never matches a pattern
  f.set_executable_pattern("*sshd");
  EXPECT_TRUE(matches(f, record(1, "sshd", "/usr/local/sbin/sshd")));  // '*' crosses '/'
}

TEST(ProcessFilter, FieldsCombineWithAnd) {
  ipc::ProcessFilter f;
  f.add_process_names("bash");
  f.add_pids(7);
  f.set_executable_pattern("/bin/*");
  EXPECT_TRUE(matches(f, record(7, "bash", "/bin/bash")));
  EXPECT_FALSE(matches(f, record(8, "bash", "/bin/bash")));
  EXPECT_FALSE(matches(f, record(7, "zsh", "/bin/bash")));
  EXPECT_FALSE(matches(f, record(7, "bash", "/usr/bin/bash")));
}

}  // namespace
}  // namespace daemoneye::procmond
