// `config check FILE`: validates a configuration file without contacting the collector.
#include <memory>
#include <string>

#include "cli/subcommands.hpp"

namespace daemoneye::cli {
namespace {

struct check_options {
  std::string file;
  bool environment = false;
};

exit_code run_check(cli_context& ctx, const check_options& options) {
  ipc::config_sources sources;
  sources.file = options.file;
  if (options.environment) sources.environment = ipc::process_environment();
  auto config = ipc::load_config(sources);
  // An invalid file is the outcome this command reports, not a usage error: exit 1.
  if (!config) return ctx.report(exit_code::failed, config.error().message());
  const auto yaml = ipc::to_yaml(*config);
  ctx.out() << yaml;
  if (yaml.empty() || yaml.back() != '\n') ctx.out() << '\n';
  return exit_code::ok;
}

}  // namespace

void add_config_commands(CLI::App& parent, cli_context& ctx) {
  auto* group = parent.add_subcommand("config", "Configuration tools (they do not contact the collector)");
  group->callback([&ctx] { ctx.require_subcommand_of("config", "check"); });

  auto options = std::make_shared<check_options>();
  auto* check = group->add_subcommand(
      "check", "Validate a YAML or TOML configuration file and print the effective ipc settings as YAML");
  check->add_option("FILE", options->file, "Configuration file (.yaml, .yml or .toml)")->required();
  check->add_flag("--env", options->environment,
                  "Also apply the DAEMONEYE_IPC_* environment variables, as procmond would");
  check->callback([&ctx, options] { ctx.set_action([&ctx, options] { return run_check(ctx, *options); }); });
}

}  // namespace daemoneye::cli
