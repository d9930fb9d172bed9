// End to end: the real procmond binary driven by the real daemoneye-cli
// binary, on an endpoint in a fresh temporary directory. Readiness is the
// "listening on" line procmond promises; nothing sleeps.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/server.hpp"

#include "support/child_process.hpp"
#include "support/prometheus_text.hpp"
#include "support/temp_dir.hpp"

#ifndef PROCMOND_PATH
#error "PROCMOND_PATH must name the procmond binary (tests/CMakeLists.txt)"
#endif
#ifndef CLI_PATH
#error "CLI_PATH must name the daemoneye-cli binary (tests/CMakeLists.txt)"
#endif

namespace daemoneye {
namespace {

using test::sample;

using namespace std::chrono_literals;
using test::child_process;
using test::run_to_completion;
using test::steady;

/// A procmond serving on `endpoint` for the duration of one test.
class running_procmond {
 public:
  explicit running_procmond(const std::string& endpoint, std::vector<std::string> extra = {}) : endpoint_(endpoint) {
    std::vector<std::string> argv = {PROCMOND_PATH, "--endpoint", endpoint, "--log-level", "info"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string error;
    child_ = child_process::start(argv, error);
    if (!child_) {
      error_ = error;
      return;
    }
    if (!child_->output().wait_for("listening on " + endpoint, steady::now() + 15s)) {
      error_ = "procmond did not report readiness:\n" + child_->output().text();
    }
  }
  [[nodiscard]] bool ready() const { return error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  child_process& process() { return *child_; }

  /// SIGTERM and the exit status (nullopt if it did not exit in time).
  std::optional<int> terminate() {
    ::kill(child_->pid(), SIGTERM);
    return child_->wait_exit(steady::now() + 15s);
  }

 private:
  std::string endpoint_;
  std::unique_ptr<child_process> child_;
  std::string error_;
};

test::completed_run cli(const std::string& endpoint, std::vector<std::string> args) {
  std::vector<std::string> argv = {CLI_PATH, "--endpoint", endpoint, "--timeout-ms", "10000"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_to_completion(argv);
}

/// The records of `daemoneye-cli ps/tree --json` (an array of ProcessRecord objects).
std::vector<ipc::ProcessRecord> records_of(const std::string& json_array) {
  ipc::DetectionResult wrapper;
  const auto status = google::protobuf::util::JsonStringToMessage("{\"processes\":" + json_array + "}", &wrapper);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json_array;
  return {wrapper.processes().begin(), wrapper.processes().end()};
}

const ipc::ProcessRecord* find_pid(const std::vector<ipc::ProcessRecord>& records, std::uint32_t pid) {
  for (const auto& r : records) {
    if (r.pid() == pid) return &r;
  }
  return nullptr;
}

TEST(ProcmondCli, HealthCheckAnswersWhileUpAndExits3WhenDown) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  running_procmond procmond(endpoint);
  ASSERT_TRUE(procmond.ready()) << procmond.error();

  auto up = cli(endpoint, {"health-check", "--verbose"});
  EXPECT_EQ(up.exit_code(), 0) << up.output;
  EXPECT_NE(up.output.find(std::string(ipc::library_version())), std::string::npos) << up.output;
  EXPECT_NE(up.output.find("framed"), std::string::npos) << up.output;
  EXPECT_NE(up.output.find(endpoint), std::string::npos) << up.output;
  EXPECT_NE(up.output.find("0600"), std::string::npos) << up.output;

  auto status = procmond.terminate();
  ASSERT_TRUE(status);
  auto down = cli(endpoint, {"health-check"});
  EXPECT_EQ(down.exit_code(), 3) << down.output;
  EXPECT_NE(down.output.find("server not found at " + endpoint + " - is procmond running?"), std::string::npos)
      << down.output;
}

TEST(ProcmondCli, PsFindsThisTestWithItsNameParentAndUser) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  running_procmond procmond(endpoint);
  ASSERT_TRUE(procmond.ready()) << procmond.error();

  auto r = cli(endpoint, {"--json", "ps", "--pid", std::to_string(::getpid())});
  ASSERT_EQ(r.exit_code(), 0) << r.output;
  const auto records = records_of(r.output);
  ASSERT_EQ(records.size(), 1U) << r.output;
  const auto& me = records.front();
  EXPECT_EQ(me.pid(), static_cast<std::uint32_t>(::getpid()));
  EXPECT_EQ(me.ppid(), static_cast<std::uint32_t>(::getppid()));
  EXPECT_EQ(me.user_id(), std::to_string(::getuid()));
  const auto exe = std::filesystem::read_symlink("/proc/self/exe");
  EXPECT_EQ(me.name(), exe.filename().string());
  EXPECT_EQ(me.executable_path(), exe.string());
  EXPECT_TRUE(me.accessible());

  auto table = cli(endpoint, {"ps", "--pid", std::to_string(::getpid())});
  ASSERT_EQ(table.exit_code(), 0) << table.output;
  EXPECT_NE(table.output.find(exe.filename().string()), std::string::npos) << table.output;
}

// Any user can start a process whose name and arguments are not UTF-8. The
// listing must still reach the operator, with that process in it.
TEST(ProcmondCli, PsListsEveryProcessWhileOneHasANameThatIsNotUtf8) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  running_procmond procmond(endpoint);
  ASSERT_TRUE(procmond.ready()) << procmond.error();
  const auto link = dir.file("\xFF\xFE-sleeper");
  std::filesystem::create_symlink("/bin/sleep", link);
  std::string error;
  auto odd = child_process::start({link, "30"}, error);
  ASSERT_TRUE(odd) << error;
  const auto pid = static_cast<std::uint32_t>(odd->pid());
  const std::string name = "\xEF\xBF\xBD\xEF\xBF\xBD-sleeper";  // each invalid byte as U+FFFD

  // exec has happened; its name and arguments settle within the kernel's exec path.
  const ipc::ProcessRecord* seen = nullptr;
  std::vector<ipc::ProcessRecord> records;
  test::completed_run all;
  for (const auto deadline = steady::now() + 10s; steady::now() < deadline;) {
    all = cli(endpoint, {"--json", "ps"});
    ASSERT_EQ(all.exit_code(), 0) << all.output;
    records = records_of(all.output);
    seen = find_pid(records, pid);
    if (seen != nullptr && seen->name() == name && seen->command_line_size() == 2) break;
  }
  ASSERT_NE(seen, nullptr) << all.output;
  EXPECT_EQ(seen->name(), name);
  EXPECT_EQ(seen->command_line(1), "30");
  EXPECT_NE(find_pid(records, static_cast<std::uint32_t>(::getpid())), nullptr) << "the rest of the table is there";

  auto table = cli(endpoint, {"ps", "--pid", std::to_string(pid)});
  ASSERT_EQ(table.exit_code(), 0) << table.output;
  EXPECT_NE(table.output.find(name), std::string::npos) << table.output;
}

TEST(ProcmondCli, TreeShowsThisTestUnderItsParent) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  running_procmond procmond(endpoint);
  ASSERT_TRUE(procmond.ready()) << procmond.error();

  auto r = cli(endpoint, {"--json", "tree", "--pid", std::to_string(::getppid())});
  ASSERT_EQ(r.exit_code(), 0) << r.output;
  const auto records = records_of(r.output);
  const auto* parent = find_pid(records, static_cast<std::uint32_t>(::getppid()));
  const auto* me = find_pid(records, static_cast<std::uint32_t>(::getpid()));
  ASSERT_NE(parent, nullptr) << r.output;
  ASSERT_NE(me, nullptr) << r.output;
  EXPECT_EQ(me->ppid(), parent->pid());

  // In the text form the child's line comes after the parent's, indented deeper.
  auto text = cli(endpoint, {"tree", "--pid", std::to_string(::getppid())});
  ASSERT_EQ(text.exit_code(), 0) << text.output;
  const std::regex parent_line("(^|\n)( *)[^\n]*\\b" + std::to_string(::getppid()) + "\\b");
  const std::regex my_line("\n( *)[^\n]*\\b" + std::to_string(::getpid()) + "\\b");
  std::smatch pm;
  std::smatch mm;
  ASSERT_TRUE(std::regex_search(text.output, pm, parent_line)) << text.output;
  ASSERT_TRUE(std::regex_search(text.output, mm, my_line)) << text.output;
  EXPECT_GT(mm.position(0), pm.position(0));
  EXPECT_GT(mm[1].length(), pm[2].length()) << text.output;
}

TEST(ProcmondCli, HashOfAFileTheTestWroteAndAMismatch) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  running_procmond procmond(endpoint);
  ASSERT_TRUE(procmond.ready()) << procmond.error();

  const auto file = dir.file("abc.txt");
  std::ofstream(file) << "abc";
  const std::string sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  auto r = cli(endpoint, {"hash", file});
  EXPECT_EQ(r.exit_code(), 0) << r.output;
  EXPECT_NE(r.output.find(sha + "  " + file), std::string::npos) << r.output;

  auto match = cli(endpoint, {"hash", file, "--expect", sha});
  EXPECT_EQ(match.exit_code(), 0) << match.output;

  const std::string wrong(64, '0');
  auto mismatch = cli(endpoint, {"hash", file, "--expect", wrong});
  EXPECT_EQ(mismatch.exit_code(), 1) << mismatch.output;
  EXPECT_NE(mismatch.output.find(sha), std::string::npos) << mismatch.output;
  EXPECT_NE(mismatch.output.find(wrong), std::string::npos) << mismatch.output;

  auto missing = cli(endpoint, {"hash", dir.file("missing")});
  EXPECT_EQ(missing.exit_code(), 1) << missing.output;
  EXPECT_NE(missing.output.find("missing"), std::string::npos) << missing.output;
}

TEST(ProcmondCli, IpcTestPassesEveryStep) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  running_procmond procmond(endpoint);
  ASSERT_TRUE(procmond.ready()) << procmond.error();
  auto r = cli(endpoint, {"ipc", "test"});
  EXPECT_EQ(r.exit_code(), 0) << r.output;
  EXPECT_EQ(r.output.find("FAIL"), std::string::npos) << r.output;
}

TEST(ProcmondCli, SigtermDrainsExitsZeroAndRemovesTheSocket) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  running_procmond procmond(endpoint);
  ASSERT_TRUE(procmond.ready()) << procmond.error();
  ASSERT_TRUE(std::filesystem::exists(endpoint));
  auto status = procmond.terminate();
  ASSERT_TRUE(status) << "procmond did not exit after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status)) << test::describe_status(*status);
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_FALSE(std::filesystem::exists(endpoint));
}

TEST(ProcmondCli, SecondProcmondOnTheSameEndpointRefusesToStart) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  running_procmond first(endpoint);
  ASSERT_TRUE(first.ready()) << first.error();
  auto second = run_to_completion({PROCMOND_PATH, "--endpoint", endpoint});
  EXPECT_NE(second.exit_code(), 0) << second.output;
  EXPECT_NE(second.output.find("another server is listening on " + endpoint), std::string::npos) << second.output;
  // The first one is untouched and still serves.
  auto r = cli(endpoint, {"health-check"});
  EXPECT_EQ(r.exit_code(), 0) << r.output;
}

TEST(ProcmondCli, SighupSwitchesNewConnectionsToTheLegacyCodec) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  const auto config = dir.file("procmond.yaml");
  std::ofstream(config) << "ipc:\n  codec: framed\n";
  running_procmond procmond(endpoint, {"--config", config});
  ASSERT_TRUE(procmond.ready()) << procmond.error();

  const auto legacy_client = dir.file("legacy-client.yaml");
  std::ofstream(legacy_client) << "ipc:\n  codec: legacy\n";
  std::ofstream(config, std::ios::trunc) << "ipc:\n  codec: legacy\n";
  ::kill(procmond.process().pid(), SIGHUP);
  ASSERT_TRUE(procmond.process().output().wait_for("codec: legacy", steady::now() + 15s))
      << procmond.process().output().text();

  auto legacy = cli(endpoint, {"--config", legacy_client, "--json", "health-check"});
  EXPECT_EQ(legacy.exit_code(), 0) << legacy.output;
  EXPECT_NE(legacy.output.find("legacy"), std::string::npos) << legacy.output;
  // A framed client no longer gets through: its frames do not parse under the legacy codec.
  auto framed = cli(endpoint, {"health-check"});
  EXPECT_NE(framed.exit_code(), 0) << framed.output;
}

TEST(ProcmondCli, BadConfigOnSighupIsRejectedAndTheOldOneStays) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  const auto config = dir.file("procmond.yaml");
  std::ofstream(config) << "ipc:\n  max_connections: 4\n";
  running_procmond procmond(endpoint, {"--config", config});
  ASSERT_TRUE(procmond.ready()) << procmond.error();
  std::ofstream(config, std::ios::trunc) << "ipc:\n  codec: carrier-pigeon\n";
  ::kill(procmond.process().pid(), SIGHUP);
  ASSERT_TRUE(procmond.process().output().wait_for("reload rejected", steady::now() + 15s))
      << procmond.process().output().text();
  auto r = cli(endpoint, {"--json", "health-check"});
  EXPECT_EQ(r.exit_code(), 0) << r.output;
  EXPECT_NE(r.output.find("framed"), std::string::npos) << r.output;
}

/// GET http://127.0.0.1:port/metrics with a plain socket.
std::string http_get_metrics(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {  // NOLINT
    ::close(fd);
    return {};
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buf[4096];
  for (ssize_t n = 0; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return response;
}

TEST(ProcmondCli, MetricsMoveOverTheIpcAndOverHttp) {
  test::temp_dir dir;
  const auto endpoint = dir.file("procmond.sock");
  running_procmond procmond(endpoint, {"--metrics-listen", "127.0.0.1:0"});
  ASSERT_TRUE(procmond.ready()) << procmond.error();
  ASSERT_TRUE(procmond.process().output().wait_for("/metrics", steady::now() + 15s));
  std::smatch m;
  const auto log = procmond.process().output().text();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("http://127\\.0\\.0\\.1:([0-9]+)/metrics"))) << log;
  const int port = std::stoi(m[1]);

  const std::string enumerate = R"(daemoneye_ipc_tasks_total{outcome="success",type="ENUMERATE_PROCESSES"})";
  auto before = cli(endpoint, {"metrics"});
  ASSERT_EQ(before.exit_code(), 0) << before.output;
  const double enumerations_before = std::max(0.0, sample(before.output, enumerate));
  ASSERT_EQ(cli(endpoint, {"ps", "--pid", "1"}).exit_code(), 0);
  auto after = cli(endpoint, {"metrics"});
  ASSERT_EQ(after.exit_code(), 0) << after.output;
  EXPECT_EQ(sample(after.output, enumerate), enumerations_before + 1) << after.output;

  const auto scraped = http_get_metrics(port);
  EXPECT_NE(scraped.find("200 OK"), std::string::npos) << scraped;
  EXPECT_GE(sample(scraped, enumerate), enumerations_before + 1) << scraped;
  EXPECT_GE(sample(scraped, "daemoneye_ipc_connections_accepted_total"), 3) << scraped;
}

TEST(ProcmondCli, MetricsListenRefusesANonLoopbackAddress) {
  test::temp_dir dir;
  auto r = run_to_completion({PROCMOND_PATH, "--endpoint", dir.file("p.sock"), "--metrics-listen", "0.0.0.0:9464"});
  EXPECT_EQ(r.exit_code(), 2) << r.output;
  EXPECT_NE(r.output.find("not a loopback address"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("p.sock")));
}

TEST(ProcmondCli, ConfigCheckPrintsTheEffectiveConfigurationOrTheError) {
  test::temp_dir dir;
  const auto good = dir.file("good.toml");
  std::ofstream(good) << "[ipc]\nmax_connections = 7\n";
  auto ok = run_to_completion({CLI_PATH, "config", "check", good});
  EXPECT_EQ(ok.exit_code(), 0) << ok.output;
  EXPECT_NE(ok.output.find("max_connections: 7"), std::string::npos) << ok.output;

  const auto bad = dir.file("bad.yaml");
  std::ofstream(bad) << "ipc:\n  max_conections: 7\n";
  auto err = run_to_completion({CLI_PATH, "config", "check", bad});
  EXPECT_EQ(err.exit_code(), 1) << err.output;
  EXPECT_NE(err.output.find("max_conections"), std::string::npos) << err.output;
  EXPECT_NE(err.output.find(bad), std::string::npos) << err.output;
}

TEST(ProcmondCli, UsageErrorExits2) {
  auto r = run_to_completion({CLI_PATH, "ps", "--no-such-flag"});
  EXPECT_EQ(r.exit_code(), 2) << r.output;
}

}  // namespace
}  // namespace daemoneye
