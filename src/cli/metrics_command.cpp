// `metrics`: the collector's Prometheus text, from its built-in metrics answer.
#include "cli/json_output.hpp"
#include "cli/subcommands.hpp"

namespace daemoneye::cli {
namespace {

exit_code run_metrics(cli_context& ctx) {
  auto answer = ctx.request(ipc::tasks::new_builtin_task(ctx.next_task_id(), ipc::metrics_metadata));
  if (!answer) return ctx.report(answer.error());
  if (!answer->success()) return ctx.report_failed(*answer);
  const std::string& text = answer->metrics_text();
  if (ctx.json()) {
    ctx.out() << "{\"metrics_text\":" << json_quote(text) << "}\n";
  } else {
    ctx.out() << text;
    if (!text.empty() && text.back() != '\n') ctx.out() << '\n';
  }
  return exit_code::ok;
}

}  // namespace

void add_metrics_command(CLI::App& parent, cli_context& ctx) {
  auto* cmd = parent.add_subcommand("metrics", "Print the collector's metrics (Prometheus text format)");
  cmd->callback([&ctx] { ctx.set_action([&ctx] { return run_metrics(ctx); }); });
}

}  // namespace daemoneye::cli
