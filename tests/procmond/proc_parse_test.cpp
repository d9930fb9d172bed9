// Tests of procmond/proc_parse.hpp: the /proc text formats, including the
// hostile process names the stat line allows.
#include "procmond/proc_parse.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace daemoneye::procmond {
namespace {

std::string stat_line(std::string_view comm, char state = 'S') {
  return "4321 (" + std::string(comm) + ") " + state +
         " 17 4321 4321 0 -1 4194560 2000 0 3 0 250 125 0 0 20 0 4 0 987654 123456789 2048 18446744073709551615 1 1 0 "
         "0 "
         "0 0 0 4096 1260 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
}

std::vector<std::string> split(std::string_view raw) {
  std::vector<std::string> out;
  for_each_cmdline_arg(raw, [&](std::string_view arg) { out.emplace_back(arg); });
  return out;
}

TEST(ParseProcStat, ReadsTheFieldsTheCollectorUses) {
  const auto line = stat_line("bash");
  auto st = parse_proc_stat(line);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->pid, 4321U);
  EXPECT_EQ(st->comm, "bash");
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 17U);
  EXPECT_EQ(st->flags, 4194560U);
  EXPECT_EQ(st->utime, 250U);
  EXPECT_EQ(st->stime, 125U);
  EXPECT_EQ(st->starttime, 987654U);
  EXPECT_EQ(st->rss_pages, 2048);
}

TEST(ParseProcStat, NameMayContainSpacesAndParentheses) {
  for (std::string_view comm : {"(sd-pam)", "a) b (c", ") ) )", "x)", "two words", ""}) {
    const auto line = stat_line(comm);
    auto st = parse_proc_stat(line);
    ASSERT_TRUE(st) << comm;
    EXPECT_EQ(st->comm, comm);
    EXPECT_EQ(st->ppid, 17U) << comm;
    EXPECT_EQ(st->starttime, 987654U) << comm;
  }
}

TEST(ParseProcStat, ZombieState) {
  const auto line = stat_line("defunct", 'Z');
  auto st = parse_proc_stat(line);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, 'Z');
}

TEST(ParseProcStat, RejectsMalformedLines) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("4321 bash S 17"));                   // no parentheses
  EXPECT_FALSE(parse_proc_stat("4321 (bash) S 17 4321 4321"));       // cut short
  EXPECT_FALSE(parse_proc_stat("x" + stat_line("bash").substr(4)));  // pid not a number
  auto line = stat_line("bash");
  line.replace(line.find(" 250 "), 5, " 2x0 ");
  EXPECT_FALSE(parse_proc_stat(line));
}

TEST(ParseStatusUid, TakesTheRealUidNotTheEffectiveOne) {
  EXPECT_EQ(parse_status_uid("Name:\tsu\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n"), 1000U);
  EXPECT_EQ(parse_status_uid("Uid:\t0\t0\t0\t0\n"), 0U);
  EXPECT_FALSE(parse_status_uid("Name:\tx\nGid:\t0\t0\t0\t0\n"));
  EXPECT_FALSE(parse_status_uid("Uid:\t\n"));
}

TEST(ParseBootTime, FindsTheBtimeLine) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 3\n"), 1700000000);
  EXPECT_EQ(parse_boot_time("btime 42"), 42);
  EXPECT_FALSE(parse_boot_time("cpu  1 2 3\nprocesses 3\n"));
}

TEST(ParseUptime, TakesTheFirstNumber) {
  auto uptime = parse_uptime("12345.67 54321.00\n");
  ASSERT_TRUE(uptime);
  EXPECT_DOUBLE_EQ(*uptime, 12345.67);
  EXPECT_FALSE(parse_uptime(""));
  EXPECT_FALSE(parse_uptime("abc 1\n"));
}

TEST(ForEachCmdlineArg, SplitsOnNulAndDropsTheTerminator) {
  using namespace std::string_view_literals;
  EXPECT_EQ(split("/bin/sleep\0"
                  "30\0"sv),
            (std::vector<std::string>{"/bin/sleep", "30"}));
  EXPECT_EQ(split("a\0\0b\0"sv), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("a\0b"sv), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split("\0"sv), (std::vector<std::string>{""}));
  EXPECT_TRUE(split("").empty());
  // A process that rewrote its argv (setproctitle) may leave no NUL at all.
  EXPECT_EQ(split("sshd: user@pts/0"), (std::vector<std::string>{"sshd: user@pts/0"}));
}

}  // namespace
}  // namespace daemoneye::procmond
