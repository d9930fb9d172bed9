// Tests of procmond/proc_collector_linux.hpp: parsing of fake /proc trees
// (tests/fixtures/proc, see its README) and collection of this machine's real
// processes, including the test itself and children it starts.
#include "procmond/proc_collector_linux.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemoneye/ipc/utf8.hpp"

#include "procmond/child_process.hpp"
#include "procmond/proc_fixture.hpp"
#include "support/temp_dir.hpp"

namespace {
// argv as main() received it, before GoogleTest removed its own flags.
std::vector<std::string> g_argv;  // NOLINT: written once in main()
}  // namespace

namespace daemoneye::procmond {
namespace {

using namespace std::chrono_literals;
using test::child_process;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::int64_t fixture_btime = 1700000000;

std::map<std::uint32_t, ProcessRecord> by_pid(const std::vector<ProcessRecord>& records) {
  std::map<std::uint32_t, ProcessRecord> out;
  for (const auto& r : records) out.emplace(r.pid(), r);
  return out;
}

std::vector<std::string> args_of(const ProcessRecord& r) { return {r.command_line().begin(), r.command_line().end()}; }

std::map<std::uint32_t, ProcessRecord> collect_fixture(proc_collector_options options = {}) {
  if (options.proc_root == "/proc") options.proc_root = test::proc_fixture_root();
  proc_collector_linux collector(std::move(options));
  auto records = collector.collect({});
  EXPECT_TRUE(records) << records.error().message();
  return records ? by_pid(*records) : std::map<std::uint32_t, ProcessRecord>{};
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string self_exe() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

// Collects `pid` until `ready` holds for its record, or fails after a generous deadline.
template <typename Ready>
std::optional<ProcessRecord> poll_for(process_collector& collector, std::uint32_t pid, Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto records = collector.collect({.pids = {pid}});
    if (records && records->size() == 1 && ready(records->front())) return records->front();
  }
  return std::nullopt;
}

// ---- fixture trees ---------------------------------------------------------

TEST(ProcCollectorFixture, ListsEveryProcessAndIgnoresOtherEntries) {
  auto records = collect_fixture();
  std::vector<std::uint32_t> pids;
  for (const auto& [pid, r] : records) pids.push_back(pid);
  // 600 has no stat (exited mid-scan); self, cpuinfo, stat, uptime, README.md are not processes.
  EXPECT_THAT(pids, ElementsAre(1, 2, 100, 101, 200, 300, 400, 500));
}

TEST(ProcCollectorFixture, ReadsAnOrdinaryProcess) {
  const auto before = unix_ms();
  auto records = collect_fixture();
  const auto after = unix_ms();
  const auto& r = records.at(1);
  EXPECT_EQ(r.name(), "systemd");
  EXPECT_EQ(r.ppid(), 0U);
  EXPECT_EQ(r.executable_path(), "/bin/sh");
  EXPECT_THAT(args_of(r), ElementsAre("/sbin/init", "splash"));
  EXPECT_EQ(r.start_time(), fixture_btime + 1);  // starttime 150 ticks = 1.5 s after boot
  EXPECT_EQ(r.memory_usage(), 3000U * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
  EXPECT_EQ(r.user_id(), "0");
  EXPECT_TRUE(r.accessible());
  EXPECT_TRUE(r.file_exists());
  EXPECT_FALSE(r.on_disk_mismatch());
  EXPECT_GE(r.collection_time(), before);
  EXPECT_LE(r.collection_time(), after);
}

TEST(ProcCollectorFixture, NamesWithSpacesAndParenthesesParseFromTheLastParenthesis) {
  auto records = collect_fixture();
  EXPECT_EQ(records.at(100).name(), "(sd-pam)");
  EXPECT_EQ(records.at(100).ppid(), 1U);
  const auto& r = records.at(101);
  EXPECT_EQ(r.name(), "a) b (c");
  EXPECT_EQ(r.ppid(), 100U);
  EXPECT_EQ(r.start_time(), fixture_btime + 3000);
  EXPECT_THAT(args_of(r), ElementsAre("/usr/bin/a) b (c", "--flag=x y", "", "last"));
  EXPECT_EQ(r.user_id(), "1000");  // the real uid; the effective one is 0
}

TEST(ProcCollectorFixture, KernelThreadHasNoExecutableAndNoCommandLine) {
  const auto r = collect_fixture().at(2);
  EXPECT_EQ(r.name(), "kthreadd");
  EXPECT_FALSE(r.has_executable_path());
  EXPECT_THAT(args_of(r), IsEmpty());
  EXPECT_FALSE(r.file_exists());
  EXPECT_FALSE(r.on_disk_mismatch());
  EXPECT_TRUE(r.accessible());
  EXPECT_EQ(r.memory_usage(), 0U);
}

TEST(ProcCollectorFixture, ZombieIsReportedWithoutExecutable) {
  const auto r = collect_fixture().at(200);
  EXPECT_EQ(r.name(), "defunct-child");
  EXPECT_EQ(r.ppid(), 1U);
  EXPECT_FALSE(r.has_executable_path());
  EXPECT_THAT(args_of(r), IsEmpty());
  EXPECT_TRUE(r.accessible());
  EXPECT_EQ(r.user_id(), "1000");
}

TEST(ProcCollectorFixture, DeletedExecutableIsAMismatchWithoutTheSuffix) {
  const auto r = collect_fixture().at(300);
  EXPECT_EQ(r.executable_path(), "/nonexistent/daemoneye-fixture/payload");
  EXPECT_TRUE(r.on_disk_mismatch());
  EXPECT_FALSE(r.file_exists());
  EXPECT_TRUE(r.accessible());
}

TEST(ProcCollectorFixture, UnreadableEntryMakesTheProcessInaccessibleNotTheScan) {
  auto records = collect_fixture();
  const auto& r = records.at(400);
  EXPECT_FALSE(r.accessible());
  EXPECT_EQ(r.name(), "locked");
  EXPECT_EQ(r.ppid(), 1U);
  EXPECT_EQ(r.executable_path(), "/bin/sh");
  EXPECT_TRUE(records.at(1).accessible());
}

TEST(ProcCollectorFixture, TruncatedCommIsCompletedFromTheExecutableName) {
  EXPECT_EQ(collect_fixture().at(500).name(), "procmond_long_name_daemon");
}

// Process 700 of a copied tree: name, executable and arguments that are not
// UTF-8, as any user can create them. One such string used to make the whole
// answer unparseable for every peer.
TEST(ProcCollectorFixture, TextThatIsNotUtf8IsRepairedAndTheAnswerStillParses) {
  daemoneye::test::temp_dir dir;
  const auto root = test::copy_proc_fixture(dir);
  const auto proc = std::filesystem::path(root) / "700";
  std::filesystem::copy(std::filesystem::path(root) / "100", proc,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  test::write_stat(root, {.pid = 700, .comm = "bad\xFFname"});
  const char cmdline[] = "/opt/\xC3(x\0--flag=\xE2\x82";  // the final NUL ends the second argument
  std::ofstream(proc / "cmdline", std::ios::binary | std::ios::trunc).write(cmdline, sizeof cmdline);
  std::filesystem::remove(proc / "exe");
  std::filesystem::create_symlink("/opt/\xED\xA0\x80-surrogate", proc / "exe");

  const auto records = collect_fixture({.proc_root = root});
  ASSERT_TRUE(records.contains(700));
  const auto& r = records.at(700);
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(r.name(), "bad" + fffd + "name");
  EXPECT_THAT(args_of(r), ElementsAre("/opt/" + fffd + "(x", "--flag=" + fffd));
  EXPECT_EQ(r.executable_path(), "/opt/" + fffd + fffd + fffd + "-surrogate");  // one per byte, as in Rust
  EXPECT_FALSE(r.file_exists());

  // What a peer does with the answer: every record of the scan survives the round trip.
  auto answer = ipc::results::success("t-1");
  for (const auto& [pid, record] : records) *answer.add_processes() = record;
  ipc::DetectionResult back;
  ASSERT_TRUE(back.ParseFromString(answer.SerializeAsString()));
  EXPECT_EQ(back.processes_size(), static_cast<int>(records.size()));
}

TEST(ProcCollectorFixture, CommCutInsideACharacterIsCompletedFromTheExecutableName) {
  daemoneye::test::temp_dir dir;
  const auto root = test::copy_proc_fixture(dir);
  const auto proc = std::filesystem::path(root) / "500";
  // 14 bytes of name, then the first byte of U+00E9: the kernel cut the 15-byte comm there.
  test::write_stat(root, {.pid = 500, .comm = "aaaaaaaaaaaaaa\xC3"});
  std::filesystem::remove(proc / "exe");
  std::filesystem::create_symlink("/usr/sbin/aaaaaaaaaaaaaa\xC3\xA9-daemon", proc / "exe");
  const auto r = collect_fixture({.proc_root = root}).at(500);
  EXPECT_EQ(r.name(), "aaaaaaaaaaaaaa\xC3\xA9-daemon");
}

// The kernel cuts comm from the file name's bytes, so comm is a prefix of those
// bytes, not of their repaired text: a name with an invalid byte early on must
// still be completed, and only then repaired.
TEST(ProcCollectorFixture, TruncatedCommIsCompletedFromANameThatIsNotUtf8) {
  daemoneye::test::temp_dir dir;
  const auto root = test::copy_proc_fixture(dir);
  const auto proc = std::filesystem::path(root) / "500";
  const std::string fffd = "\xEF\xBF\xBD";

  // From the executable's own name.
  test::write_stat(root, {.pid = 500, .comm = "bin\xFF-aaaaaaaaaa"});
  std::filesystem::remove(proc / "exe");
  std::filesystem::create_symlink("/opt/bin\xFF-aaaaaaaaaa-daemon", proc / "exe");
  auto r = collect_fixture({.proc_root = root}).at(500);
  EXPECT_EQ(r.name(), "bin" + fffd + "-aaaaaaaaaa-daemon");
  EXPECT_EQ(r.executable_path(), "/opt/bin" + fffd + "-aaaaaaaaaa-daemon");

  // From a script's path, the interpreter's first argument.
  test::write_stat(root, {.pid = 500, .comm = "x\xFF-tooling-scri"});
  std::filesystem::remove(proc / "exe");
  std::filesystem::create_symlink("/bin/sh", proc / "exe");
  const char cmdline[] = "/bin/sh\0/srv/x\xFF-tooling-script.sh";  // the final NUL ends the second argument
  std::ofstream(proc / "cmdline", std::ios::binary | std::ios::trunc).write(cmdline, sizeof cmdline);
  r = collect_fixture({.proc_root = root}).at(500);
  EXPECT_EQ(r.name(), "x" + fffd + "-tooling-script.sh");
  EXPECT_THAT(args_of(r), ElementsAre("/bin/sh", "/srv/x" + fffd + "-tooling-script.sh"));
}

TEST(ProcCollectorFixture, FirstCpuSampleAveragesOverTheLifetime) {
  const auto r = collect_fixture().at(101);
  // utime+stime = 3000 ticks = 30 s of CPU; started 3000 s after boot; uptime 10000 s.
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double expected = 3000.0 / ticks / (10000.0 - 300000.0 / ticks) * 100.0;
  EXPECT_NEAR(r.cpu_usage(), expected, 1e-9);
}

TEST(ProcCollectorFixture, CpuUsageIsMeasuredSinceThePreviousCollection) {
  daemoneye::test::temp_dir dir;
  const auto root = test::copy_proc_fixture(dir);
  std::chrono::nanoseconds now = 0s;
  proc_collector_linux collector({.proc_root = root, .clock = [&] { return now; }});
  ASSERT_TRUE(collector.collect({}));

  const auto ticks = static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK));
  // Half a CPU for two seconds: ticks/second * 2 s * 0.5.
  test::write_stat(
      root, {.pid = 101, .comm = "a) b (c", .ppid = 100, .utime = 2000 + ticks, .stime = 1000, .starttime = 300000});
  now = 2s;
  auto records = collector.collect({});
  ASSERT_TRUE(records);
  EXPECT_NEAR(by_pid(*records).at(101).cpu_usage(), 50.0, 1e-9);
  EXPECT_NEAR(by_pid(*records).at(1).cpu_usage(), 0.0, 1e-9);  // no new ticks

  // Too soon after the previous sample: tick rounding would dominate, so the last value stands.
  test::write_stat(
      root,
      {.pid = 101, .comm = "a) b (c", .ppid = 100, .utime = 2000 + 2 * ticks, .stime = 1000, .starttime = 300000});
  now = 2s + 50ms;
  records = collector.collect({.pids = {101}});
  ASSERT_TRUE(records);
  EXPECT_NEAR(records->front().cpu_usage(), 50.0, 1e-9);
}

TEST(ProcCollectorFixture, ReusedPidIsTreatedAsANewProcess) {
  daemoneye::test::temp_dir dir;
  const auto root = test::copy_proc_fixture(dir);
  std::chrono::nanoseconds now = 0s;
  proc_collector_linux collector({.proc_root = root, .clock = [&] { return now; }});
  ASSERT_TRUE(collector.collect({}));

  const auto ticks = static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK));
  // pid 101 exited and a new process got the pid, started at 9000 s with 1 s of CPU.
  test::write_stat(root, {.pid = 101, .comm = "newcomer", .ppid = 1, .utime = ticks, .starttime = 9000 * ticks});
  now = 1s;
  auto records = collector.collect({});
  ASSERT_TRUE(records);
  const auto r = by_pid(*records).at(101);
  EXPECT_EQ(r.name(), "newcomer");
  EXPECT_NEAR(r.cpu_usage(), 0.1, 1e-9);  // 1 s of CPU over its 1000 s lifetime, not a delta against the old one
  EXPECT_EQ(r.start_time(), fixture_btime + 9000);
}

TEST(ProcCollectorFixture, PidsOptionReadsOnlyThoseProcesses) {
  proc_collector_linux collector({.proc_root = test::proc_fixture_root()});
  auto records = collector.collect({.pids = {101, 2, 9999, 101}});
  ASSERT_TRUE(records);
  std::vector<std::uint32_t> pids;
  for (const auto& r : *records) pids.push_back(r.pid());
  EXPECT_THAT(pids, ElementsAre(2, 101));
}

TEST(ProcCollectorFixture, MissingProcRootIsAnError) {
  proc_collector_linux collector({.proc_root = "/nonexistent/daemoneye-proc"});
  auto records = collector.collect({});
  ASSERT_FALSE(records);
  EXPECT_TRUE(records.error().is(ipc::errc::io));
  EXPECT_THAT(records.error().message(), ::testing::HasSubstr("/nonexistent/daemoneye-proc"));
}

TEST(ProcCollectorFixture, ExecutableImagePathIsTheExeLink) {
  proc_collector_linux collector({.proc_root = test::proc_fixture_root()});
  auto records = collector.collect({.pids = {1, 2}});
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 2U);
  EXPECT_EQ(collector.executable_image_path((*records)[0]), test::proc_fixture_root() + "/1/exe");
  EXPECT_EQ(collector.executable_image_path((*records)[1]), "");  // kernel thread
}

// ---- the real /proc ----------------------------------------------------------

TEST(ProcCollectorLive, FindsThisTestProcess) {
  proc_collector_linux collector;
  auto records = collector.collect({});
  ASSERT_TRUE(records) << records.error().message();
  auto all = by_pid(*records);
  ASSERT_TRUE(all.contains(static_cast<std::uint32_t>(::getpid())));
  const auto& self = all.at(static_cast<std::uint32_t>(::getpid()));
  const auto exe = self_exe();
  EXPECT_EQ(self.name(), std::filesystem::path(exe).filename().string());
  EXPECT_EQ(self.ppid(), static_cast<std::uint32_t>(::getppid()));
  EXPECT_EQ(self.user_id(), std::to_string(::getuid()));
  EXPECT_EQ(self.executable_path(), exe);
  EXPECT_EQ(args_of(self), g_argv);
  EXPECT_TRUE(self.accessible());
  EXPECT_TRUE(self.file_exists());
  EXPECT_FALSE(self.on_disk_mismatch());
  EXPECT_GT(self.memory_usage(), 0U);
  // Started after boot and not in the future.
  const auto now_s = unix_ms() / 1000;
  EXPECT_LE(self.start_time(), now_s + 1);
  EXPECT_GT(self.start_time(), now_s - 24 * 3600);
  EXPECT_GE(self.cpu_usage(), 0.0);
}

TEST(ProcCollectorLive, SeesAChildWithItsCommandLine) {
  auto child = child_process::spawn({"/bin/sleep", "30"});
  ASSERT_TRUE(child) << child.error();
  proc_collector_linux collector;
  const auto pid = static_cast<std::uint32_t>(child->pid());
  // The name changes early in execve, the command line only once the new image's
  // arguments are in place: wait for both.
  auto r = poll_for(collector, pid,
                    [](const ProcessRecord& rec) { return rec.name() == "sleep" && rec.command_line_size() > 0; });
  ASSERT_TRUE(r) << "the child never appeared as sleep";
  EXPECT_EQ(r->ppid(), static_cast<std::uint32_t>(::getpid()));
  EXPECT_THAT(args_of(*r), ElementsAre("/bin/sleep", "30"));
  EXPECT_EQ(r->executable_path(), std::filesystem::canonical("/bin/sleep").string());
}

TEST(ProcCollectorLive, ReplacedAndDeletedExecutablesAreMismatches) {
  daemoneye::test::temp_dir dir;
  const auto path = (std::filesystem::canonical(dir.path()) / "payload").string();
  std::filesystem::copy_file("/bin/sleep", path);
  auto child = child_process::spawn({path, "30"});
  if (!child) GTEST_SKIP() << "cannot execute from " << dir.path() << ": " << child.error();
  proc_collector_linux collector;
  const auto pid = static_cast<std::uint32_t>(child->pid());
  auto r = poll_for(collector, pid, [](const ProcessRecord& rec) { return rec.name() == "payload"; });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->executable_path(), path);
  EXPECT_TRUE(r->file_exists());
  EXPECT_FALSE(r->on_disk_mismatch());

  // Another file renamed over the path: the running image is no longer what is on disk.
  std::filesystem::copy_file("/bin/sleep", path + ".new");
  std::filesystem::rename(path + ".new", path);
  r = collector.collect({.pids = {pid}})->front();
  EXPECT_EQ(r->executable_path(), path);
  EXPECT_TRUE(r->file_exists());
  EXPECT_TRUE(r->on_disk_mismatch());

  // The running image deleted: the kernel reports "<path> (deleted)".
  std::filesystem::remove(path);
  r = collector.collect({.pids = {pid}})->front();
  EXPECT_EQ(r->executable_path(), path);
  EXPECT_FALSE(r->file_exists());
  EXPECT_TRUE(r->on_disk_mismatch());
}

TEST(ProcCollectorLive, ChildWhoseNameAndArgumentsAreNotUtf8IsReportedAsValidText) {
  daemoneye::test::temp_dir dir;
  // Executing a link gives the process the link's name: comm and argv[0] are these bytes.
  const auto link = (std::filesystem::canonical(dir.path()) / "\xFF\xFE-sleeper").string();
  std::filesystem::create_symlink("/bin/sleep", link);
  auto child = child_process::spawn({link, "30"});
  ASSERT_TRUE(child) << child.error();
  proc_collector_linux collector;
  const auto pid = static_cast<std::uint32_t>(child->pid());
  const std::string fffd = "\xEF\xBF\xBD";
  const std::string name = fffd + fffd + "-sleeper";
  auto r = poll_for(collector, pid,
                    [&](const ProcessRecord& rec) { return rec.name() == name && rec.command_line_size() == 2; });
  ASSERT_TRUE(r) << "the child never appeared as " << name;
  EXPECT_EQ(r->command_line(0), (std::filesystem::canonical(dir.path()) / name).string());
  EXPECT_TRUE(ipc::is_valid_utf8(r->executable_path())) << r->executable_path();
  ProcessRecord back;
  EXPECT_TRUE(back.ParseFromString(r->SerializeAsString()));
}

// The kernel's own 15-byte cut of long link names: one inside a two-byte
// character, one after an invalid byte. Both names are completed from argv[0].
TEST(ProcCollectorLive, ChildWhoseCommTheKernelCutIsNamedInFull) {
  daemoneye::test::temp_dir dir;
  const auto base = std::filesystem::canonical(dir.path());
  const std::string fffd = "\xEF\xBF\xBD";
  struct example {
    std::string file_name;
    std::string expected;
  };
  const example examples[] = {
      {"aaaaaaaaaaaaaa\xC3\xA9-sleeper", "aaaaaaaaaaaaaa\xC3\xA9-sleeper"},
      {"bin\xFF-aaaaaaaaaa-sleeper", "bin" + fffd + "-aaaaaaaaaa-sleeper"},
  };
  proc_collector_linux collector;
  for (const auto& [file_name, expected] : examples) {
    const auto link = (base / file_name).string();
    std::filesystem::create_symlink("/bin/sleep", link);
    auto child = child_process::spawn({link, "30"});
    ASSERT_TRUE(child) << child.error();
    const auto pid = static_cast<std::uint32_t>(child->pid());
    auto r = poll_for(collector, pid, [&](const ProcessRecord& rec) { return rec.name() == expected; });
    ASSERT_TRUE(r) << "the child never appeared as " << expected;
    EXPECT_TRUE(ipc::is_valid_utf8(r->command_line(0))) << r->command_line(0);
  }
}

TEST(ProcCollectorLive, ExitedProcessIsLeftOut) {
  pid_t pid = 0;
  {
    auto child = child_process::spawn({"/bin/sleep", "30"});
    ASSERT_TRUE(child) << child.error();
    pid = child->pid();
  }  // killed and reaped
  proc_collector_linux collector;
  auto records = collector.collect({.pids = {static_cast<std::uint32_t>(pid)}});
  ASSERT_TRUE(records);
  EXPECT_THAT(*records, IsEmpty());
}

TEST(ProcCollectorLive, PlatformFactoryGivesTheProcfsCollector) {
  auto collector = make_platform_collector();
  ASSERT_TRUE(collector);
  EXPECT_EQ((*collector)->name(), "linux-procfs");
  auto records = (*collector)->collect({.pids = {static_cast<std::uint32_t>(::getpid())}});
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 1U);
}

}  // namespace
}  // namespace daemoneye::procmond

int main(int argc, char** argv) {
  g_argv.assign(argv, argv + argc);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
