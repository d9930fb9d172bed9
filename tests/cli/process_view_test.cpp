// The `ps` table and `tree` text that daemoneye-cli prints, from records built here.
#include "cli/process_view.hpp"

#include <cstddef>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace daemoneye::cli {
namespace {

ipc::ProcessRecord record(std::uint32_t pid, std::string name, std::string exe) {
  ipc::ProcessRecord r;
  r.set_pid(pid);
  r.set_ppid(1);
  r.set_name(std::move(name));
  r.set_executable_path(std::move(exe));
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// Code points before byte `offset`: a terminal column each for the text used here.
std::size_t column_of(std::string_view line, std::size_t offset) {
  std::size_t columns = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0U) != 0x80U) ++columns;
  }
  return columns;
}

TEST(ProcessTable, ColumnsLineUpOnScreenWhenNamesAreNotAscii) {
  const std::vector<ipc::ProcessRecord> records{
      record(1, "init", "/sbin/init"),
      record(20, "\xEF\xBF\xBD\xEF\xBF\xBD-sleeper", "/bin/sleep"),  // two U+FFFD: 8 bytes more than columns
      record(300, "caf\xC3\xA9", "/usr/bin/cafe"),                   // an accented letter: one byte more
  };
  user_names users;
  const auto lines = lines_of(render_process_table(records, users));
  ASSERT_EQ(lines.size(), 4U);
  std::vector<std::size_t> exe_columns;
  for (const auto& line : lines) {
    const auto at = line.find_last_of(' ') + 1;  // EXE, the last column, holds no spaces here
    exe_columns.push_back(column_of(line, at));
  }
  EXPECT_EQ(lines[0].substr(lines[0].find_last_of(' ') + 1), "EXE");
  for (std::size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(exe_columns[i], exe_columns[0]) << "line " << i << ":\n" << lines[0] << "\n" << lines[i];
  }
  // The widest NAME ("\uFFFD\uFFFD-sleeper", 10 columns) and the two spaces between columns, no more.
  const auto name_at = lines[2].find("\xEF\xBF\xBD");
  EXPECT_EQ(exe_columns[2] - column_of(lines[2], name_at), 10U + 2U) << lines[2];
}

TEST(ProcessTable, AbsentValuesAreDashes) {
  ipc::ProcessRecord bare;
  bare.set_pid(7);
  user_names users;
  const auto lines = lines_of(render_process_table({bare}, users, {.with_hash = true}));
  ASSERT_EQ(lines.size(), 2U);
  std::istringstream fields(lines[1]);
  std::vector<std::string> got;
  for (std::string field; fields >> field;) got.push_back(field);
  EXPECT_EQ(got, (std::vector<std::string>{"7", "-", "-", "-", "-", "-", "-", "-"})) << lines[1];
}

TEST(ProcessTree, ChildIsIndentedUnderItsParent) {
  auto parent = record(10, "parent", "/bin/p");
  auto child = record(11, "child", "/bin/c");
  child.set_ppid(10);
  EXPECT_EQ(render_process_tree({child, parent}), "10 parent\n  11 child\n");
}

}  // namespace
}  // namespace daemoneye::cli
