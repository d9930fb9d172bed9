// The `ipc` group: `ipc test`, an end-to-end check of a running collector.
// `ipc bench` (bench_command.cpp) joins the group returned by add_ipc_commands.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "cli/json_output.hpp"
#include "cli/platform.hpp"
#include "cli/scratch_file.hpp"
#include "cli/sha256.hpp"
#include "cli/subcommands.hpp"

namespace daemoneye::cli {
namespace {

using std::chrono::nanoseconds;
namespace wire = daemoneye::wire;

struct test_options {
  std::uint32_t count = 20;
  std::string scratch_dir;  ///< empty: default_scratch_dir()
};

/// Where the hash steps' file goes unless --scratch-dir says otherwise. Not
/// /tmp first: the packaged procmond.service has PrivateTmp=yes, so the
/// daemon would not see it; $XDG_RUNTIME_DIR and $HOME stay visible to it
/// (ProtectHome=read-only).
std::filesystem::path default_scratch_dir() {
  for (const char* name : {"XDG_RUNTIME_DIR", "HOME"}) {
    // Read once, before anything could call setenv; the CLI has one thread.
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
    std::error_code ec;
    if (value != nullptr && *value != '\0' && std::filesystem::is_directory(value, ec) &&
        platform::may_create_files_in(value)) {
      return value;
    }
  }
  std::error_code ec;
  auto dir = std::filesystem::temp_directory_path(ec);
  return ec ? std::filesystem::path("/tmp") : dir;
}

/// The outcome of one step: `runs` tasks of one kind, each answer checked.
struct step_report {
  std::string name;
  std::uint32_t runs = 0;
  std::uint32_t failures = 0;
  std::vector<nanoseconds> latencies;  ///< of the round trips that got an answer
  std::string first_failure;

  [[nodiscard]] bool passed() const noexcept { return runs > 0 && failures == 0; }
};

/// Nearest-rank percentile in milliseconds; 0 without samples. `sorted` ascending.
double percentile_ms(const std::vector<nanoseconds>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  const auto index = std::clamp<std::size_t>(rank, 1, sorted.size()) - 1;
  return std::chrono::duration<double, std::milli>(sorted[index]).count();
}

/// What is wrong with an answer, or nothing.
using answer_check = std::function<std::optional<std::string>(const ipc::DetectionResult&)>;

class ipc_test {
 public:
  ipc_test(cli_context& ctx, ipc::blocking_client& client, std::uint32_t runs)
      : ctx_(ctx), client_(client), runs_(runs) {}

  /// Sends `runs` tasks made by `make` (from a fresh task id) and checks each answer.
  /// A transport failure ends the step: the next would most likely wait out the same timeout.
  step_report step(std::string name, const std::function<ipc::DetectionTask(std::string)>& make,
                   const answer_check& check) {
    step_report report;
    report.name = std::move(name);
    const auto failed = [&](std::string why) {
      ++report.failures;
      if (report.first_failure.empty()) report.first_failure = std::move(why);
    };
    for (std::uint32_t i = 0; i < runs_; ++i) {
      const auto task = make(ctx_.next_task_id());
      const auto start = std::chrono::steady_clock::now();
      auto answer = client_.send_task(task);
      const auto elapsed = std::chrono::steady_clock::now() - start;
      ++report.runs;
      if (!answer) {
        failed(answer.error().message());
        break;
      }
      report.latencies.push_back(std::chrono::duration_cast<nanoseconds>(elapsed));
      if (answer->task_id() != task.task_id()) {
        failed(fmt::format(R"(answer carries task_id "{}", expected "{}")", answer->task_id(), task.task_id()));
      } else if (auto why = check(*answer)) {
        failed(std::move(*why));
      }
    }
    std::sort(report.latencies.begin(), report.latencies.end());
    return report;
  }

 private:
  cli_context& ctx_;
  ipc::blocking_client& client_;
  std::uint32_t runs_;
};

std::optional<std::string> expect_success(const ipc::DetectionResult& r) {
  if (r.success()) return std::nullopt;
  const auto code = r.has_error_code() ? wire::ErrorCode_Name(r.error_code()) : std::string("no error_code");
  return fmt::format("success=false ({}): {}", code, r.error_message());
}

const ipc::ProcessRecord* find_pid(const ipc::DetectionResult& r, std::uint32_t pid) {
  for (const auto& p : r.processes()) {
    if (p.pid() == pid) return &p;
  }
  return nullptr;
}

/// The answer must list this process with its real parent (where the system can tell the parent).
std::optional<std::string> expect_self(const ipc::DetectionResult& r) {
  if (auto why = expect_success(r)) return why;
  const auto self = platform::process_id();
  const auto* record = find_pid(r, self);
  if (record == nullptr) return fmt::format("own pid {} missing from the {} records", self, r.processes_size());
  const auto parent = platform::parent_process_id();
  if (!parent) return std::nullopt;
  if (!record->has_ppid()) return fmt::format("own pid {} has no ppid (expected {})", self, *parent);
  if (record->ppid() != *parent) {
    return fmt::format("own pid {} has ppid {}, expected {}", self, record->ppid(), *parent);
  }
  return std::nullopt;
}

ipc::DetectionTask hash_task(std::string id, wire::TaskType type, const std::string& path, std::string expected) {
  auto task = ipc::tasks::new_test_task(std::move(id), type);
  auto* check = task.mutable_hash_check();
  check->set_expected_hash(std::move(expected));
  check->set_hash_algorithm("sha256");
  check->set_executable_path(path);
  return task;
}

/// A successful hash answer whose value is `expected`.
answer_check expect_hash(std::string expected) {
  return [expected = std::move(expected)](const ipc::DetectionResult& r) -> std::optional<std::string> {
    if (auto why = expect_success(r)) return why;
    if (!r.has_hash_result()) return "no hash_result in the answer";
    const auto& h = r.hash_result();
    if (!h.success()) return fmt::format("hash_result.success=false: {}", h.error_message());
    if (h.hash_value() != expected) return fmt::format("computed {}, expected {}", h.hash_value(), expected);
    return std::nullopt;
  };
}

std::vector<step_report> run_steps(cli_context& ctx, ipc::blocking_client& client, std::uint32_t runs,
                                   const scratch_file& file, const std::string& file_hash) {
  ipc_test test(ctx, client, runs);
  std::vector<step_report> reports;

  reports.push_back(test.step(
      "capability_negotiation",
      [](std::string id) { return ipc::tasks::new_builtin_task(std::move(id), ipc::capability_negotiation_metadata); },
      [](const ipc::DetectionResult& r) -> std::optional<std::string> {
        if (auto why = expect_success(r)) return why;
        if (!r.has_capabilities()) return "no capabilities in the answer";
        const auto& domains = r.capabilities().supported_domains();
        if (std::find(domains.begin(), domains.end(), wire::PROCESS) == domains.end()) {
          return "the PROCESS domain is not among the supported domains";
        }
        return std::nullopt;
      }));

  reports.push_back(test.step(
      "health_check",
      [](std::string id) { return ipc::tasks::new_builtin_task(std::move(id), ipc::health_check_metadata); },
      [](const ipc::DetectionResult& r) -> std::optional<std::string> {
        if (auto why = expect_success(r)) return why;
        if (!r.has_health()) return "no health in the answer";
        if (r.health().version().empty()) return "health.version is empty";
        return std::nullopt;
      }));

  reports.push_back(test.step(
      "enumerate_processes",
      [](std::string id) { return ipc::tasks::new_test_task(std::move(id), wire::ENUMERATE_PROCESSES); }, expect_self));

  reports.push_back(test.step(
      "monitor_process_tree",
      [](std::string id) {
        auto task = ipc::tasks::new_test_task(std::move(id), wire::MONITOR_PROCESS_TREE);
        task.mutable_process_filter()->add_pids(platform::process_id());
        return task;
      },
      expect_self));

  reports.push_back(test.step(
      "check_process_hash",
      [&](std::string id) { return hash_task(std::move(id), wire::CHECK_PROCESS_HASH, file.path(), {}); },
      expect_hash(file_hash)));

  reports.push_back(test.step(
      "verify_executable",
      [&](std::string id) { return hash_task(std::move(id), wire::VERIFY_EXECUTABLE, file.path(), file_hash); },
      expect_hash(file_hash)));

  // A valid SHA-256 that is not the file's: one digit changed.
  std::string wrong = file_hash;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  reports.push_back(test.step(
      "hash_mismatch",
      [&](std::string id) { return hash_task(std::move(id), wire::CHECK_PROCESS_HASH, file.path(), wrong); },
      [&](const ipc::DetectionResult& r) -> std::optional<std::string> {
        if (r.success()) return "a wrong expected_hash was answered with success=true";
        if (!r.has_hash_result()) return fmt::format("no hash_result in the answer: {}", r.error_message());
        if (r.hash_result().success()) return "hash_result.success=true for a wrong expected_hash";
        if (r.hash_result().hash_value() != file_hash) {
          return fmt::format("computed {}, expected {}", r.hash_result().hash_value(), file_hash);
        }
        return std::nullopt;
      }));

  reports.push_back(test.step(
      "unsupported_task",
      [](std::string id) { return ipc::tasks::new_test_task(std::move(id), wire::MONITOR_NETWORK_CONNECTIONS); },
      [](const ipc::DetectionResult& r) -> std::optional<std::string> {
        if (r.success()) return "MONITOR_NETWORK_CONNECTIONS was answered with success=true";
        if (!r.has_error_code() || r.error_code() != wire::UNSUPPORTED_TASK) {
          const auto code = r.has_error_code() ? wire::ErrorCode_Name(r.error_code()) : std::string("none");
          return fmt::format("error_code {}, expected UNSUPPORTED_TASK", code);
        }
        return std::nullopt;
      }));
  return reports;
}

/// What the run was against, for the report's header.
struct test_setup {
  std::string endpoint;
  std::uint32_t runs = 0;
  std::string scratch_dir;
};

void print_text(cli_context& ctx, const test_setup& setup, const std::vector<step_report>& reports) {
  auto& out = ctx.out();
  out << fmt::format("ipc test of {} ({} runs per step, scratch files in {})\n", setup.endpoint, setup.runs,
                     setup.scratch_dir);
  for (const auto& r : reports) {
    out << fmt::format("{}  {:<24}{:>6}  p50 {:>7.3f} ms  p99 {:>7.3f} ms", r.passed() ? "PASS" : "FAIL", r.name,
                       fmt::format("{}/{}", r.runs - r.failures, r.runs), percentile_ms(r.latencies, 50),
                       percentile_ms(r.latencies, 99));
    if (!r.passed()) out << "  - " << one_line(r.first_failure);
    out << '\n';
  }
}

void print_json(cli_context& ctx, const test_setup& setup, const std::vector<step_report>& reports, bool passed) {
  std::string steps;
  for (const auto& r : reports) {
    if (!steps.empty()) steps += ',';
    steps += fmt::format(
        R"({{"name":{},"passed":{},"runs":{},"failures":{},"p50_ms":{:.3f},"p99_ms":{:.3f},"first_failure":{}}})",
        json_quote(r.name), r.passed(), r.runs, r.failures, percentile_ms(r.latencies, 50),
        percentile_ms(r.latencies, 99), r.first_failure.empty() ? "null" : json_quote(r.first_failure));
  }
  ctx.out() << fmt::format(R"({{"endpoint":{},"runs_per_step":{},"scratch_dir":{},"passed":{},"steps":[{}]}})",
                           json_quote(setup.endpoint), setup.runs, json_quote(setup.scratch_dir), passed, steps)
            << '\n';
}

exit_code run_test(cli_context& ctx, const test_options& options) {
  auto client = ctx.connect();
  if (!client) return ctx.report(client.error());
  const std::string content = fmt::format(
      "daemoneye-cli ipc test scratch file of pid {}\nknown content for CHECK_PROCESS_HASH\n", platform::process_id());
  const auto dir = options.scratch_dir.empty() ? default_scratch_dir() : std::filesystem::path(options.scratch_dir);
  auto file = scratch_file::create(dir, content);
  if (!file) return ctx.report(exit_code::failed, file.error().message());

  const auto reports = run_steps(ctx, *client, options.count, *file, sha256_hex(content));
  const auto failed = std::count_if(reports.begin(), reports.end(), [](const auto& r) { return !r.passed(); });
  const test_setup setup{client->config().endpoint_path, options.count, dir.string()};
  if (ctx.json()) {
    print_json(ctx, setup, reports, failed == 0);
  } else {
    print_text(ctx, setup, reports);
  }
  if (failed == 0) return exit_code::ok;
  const auto first = std::find_if(reports.begin(), reports.end(), [](const auto& r) { return !r.passed(); });
  return ctx.report(exit_code::failed, fmt::format("ipc test failed: {} of {} steps failed, first {}: {}", failed,
                                                   reports.size(), first->name, first->first_failure));
}

}  // namespace

CLI::App& add_ipc_commands(CLI::App& parent, cli_context& ctx) {
  auto* group = parent.add_subcommand("ipc", "IPC diagnostics against a running collector");
  group->callback([&ctx] { ctx.require_subcommand_of("ipc", "test or bench"); });

  auto options = std::make_shared<test_options>();
  auto* test = group->add_subcommand(
      "test",
      "End-to-end check: capability negotiation, a batch of each implemented task type, a deliberate hash mismatch "
      "and an unsupported task type, every answer verified; PASS/FAIL with p50/p99 latency per step");
  test->add_option("--count", options->count, "Tasks per step")
      ->type_name("N")
      ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{100000}))
      ->capture_default_str();
  test->add_option("--scratch-dir", options->scratch_dir,
                   "Directory for the hash steps' temporary file; procmond must be able to read it (under systemd it "
                   "has a private /tmp). Default: $XDG_RUNTIME_DIR, else $HOME, else the temporary directory")
      ->type_name("DIR");
  test->callback([&ctx, options] { ctx.set_action([&ctx, options] { return run_test(ctx, *options); }); });
  return *group;
}

}  // namespace daemoneye::cli
