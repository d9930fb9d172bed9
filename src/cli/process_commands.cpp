// `ps` and `tree`: ENUMERATE_PROCESSES and MONITOR_PROCESS_TREE with a ProcessFilter.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/json_output.hpp"
#include "cli/process_view.hpp"
#include "cli/subcommands.hpp"

namespace daemoneye::cli {
namespace {

struct ps_options {
  std::vector<std::string> names;
  std::vector<std::uint32_t> pids;
  std::string exe_glob;
  bool hash = false;
};

struct tree_options {
  std::vector<std::uint32_t> pids;
};

/// Sends `task`; on success returns its records sorted by pid, else reports
/// the failure and stores the exit status in `code`.
std::optional<std::vector<ipc::ProcessRecord>> fetch_records(cli_context& ctx, const ipc::DetectionTask& task,
                                                             exit_code& code) {
  auto answer = ctx.request(task);
  if (!answer) {
    code = ctx.report(answer.error());
    return std::nullopt;
  }
  if (!answer->success()) {
    code = ctx.report_failed(*answer);
    return std::nullopt;
  }
  return records_by_pid(std::move(*answer));
}

exit_code run_ps(cli_context& ctx, const ps_options& options) {
  auto task = ipc::tasks::new_test_task(ctx.next_task_id(), wire::ENUMERATE_PROCESSES);
  if (!options.names.empty() || !options.pids.empty() || !options.exe_glob.empty()) {
    auto* filter = task.mutable_process_filter();
    for (const auto& n : options.names) filter->add_process_names(n);
    for (const auto p : options.pids) filter->add_pids(p);
    if (!options.exe_glob.empty()) filter->set_executable_pattern(options.exe_glob);
  }
  exit_code code = exit_code::ok;
  auto records = fetch_records(ctx, task, code);
  if (!records) return code;
  if (ctx.json()) {
    ctx.out() << records_to_json(*records) << '\n';
  } else {
    user_names users;
    ctx.out() << render_process_table(*records, users, {.with_hash = options.hash});
  }
  if (options.hash && !records->empty() &&
      std::none_of(records->begin(), records->end(), [](const auto& r) { return r.has_executable_hash(); })) {
    // Not a failure: the wire has no per-task switch for hashing, the daemon decides.
    ctx.err() << "daemoneye-cli: note: the collector sent no executable hashes - start procmond with "
                 "--hash-executables to have them\n";
  }
  return exit_code::ok;
}

exit_code run_tree(cli_context& ctx, const tree_options& options) {
  auto task = ipc::tasks::new_test_task(ctx.next_task_id(), wire::MONITOR_PROCESS_TREE);
  if (!options.pids.empty()) {
    auto* filter = task.mutable_process_filter();
    for (const auto p : options.pids) filter->add_pids(p);
  }
  exit_code code = exit_code::ok;
  auto records = fetch_records(ctx, task, code);
  if (!records) return code;
  if (ctx.json()) {
    ctx.out() << records_to_json(*records) << '\n';
    return exit_code::ok;
  }
  ctx.out() << render_process_tree(*records);
  if (records->empty() && !options.pids.empty()) {
    ctx.err() << fmt::format("daemoneye-cli: note: no process with pid {}\n", fmt::join(options.pids, " or "));
  }
  return exit_code::ok;
}

}  // namespace

void add_process_commands(CLI::App& parent, cli_context& ctx) {
  auto ps = std::make_shared<ps_options>();
  auto* ps_cmd = parent.add_subcommand("ps", "List processes (ENUMERATE_PROCESSES); filters combine with AND");
  ps_cmd->add_option("--name", ps->names, "Process name to include (repeatable; any of them matches)")
      ->type_name("NAME")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  ps_cmd->add_option("--pid", ps->pids, "Process id to include (repeatable)")
      ->type_name("PID")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  ps_cmd->add_option("--exe", ps->exe_glob, "Glob the executable path must match, e.g. '/usr/bin/*'")
      ->type_name("GLOB");
  ps_cmd->add_flag("--hash", ps->hash,
                   "Show executable SHA-256 hashes (HASH column); procmond sends them only when started with "
                   "--hash-executables, there is no per-request switch");
  ps_cmd->callback([&ctx, ps] { ctx.set_action([&ctx, ps] { return run_ps(ctx, *ps); }); });

  auto tree = std::make_shared<tree_options>();
  auto* tree_cmd =
      parent.add_subcommand("tree", "Show the process tree (MONITOR_PROCESS_TREE), children indented below parents");
  tree_cmd->add_option("--pid", tree->pids, "Show only the subtree rooted at this process (repeatable)")
      ->type_name("PID")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  tree_cmd->callback([&ctx, tree] { ctx.set_action([&ctx, tree] { return run_tree(ctx, *tree); }); });
}

}  // namespace daemoneye::cli
