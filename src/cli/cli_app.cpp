// The top-level CLI11 application: global options, subcommands, exit codes.
#include "cli/cli_app.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include <CLI/CLI.hpp>

#include "daemoneye/ipc/logging.hpp"
#include "daemoneye/ipc/version.hpp"

#include "cli/subcommands.hpp"

namespace daemoneye::cli {
namespace {

constexpr const char* subcommand_help =
    "Global options (--endpoint, --config, --json, --timeout-ms, --log-level) may also follow the subcommand;\n"
    "see 'daemoneye-cli --help' for them, the exit status and where settings come from.";

constexpr const char* exit_status_help =
    "Exit status: 0 ok, 1 the operation failed (the collector answered success=false, a hash mismatch,\n"
    "a failed test step), 2 usage error (bad flag or configuration), 3 the collector is unreachable\n"
    "(not found, connection refused, permission denied, connect timeout).\n"
    "Settings come from defaults, then --config FILE (keys under ipc:), then DAEMONEYE_IPC_* variables\n"
    "(e.g. DAEMONEYE_IPC_ENDPOINT_PATH), then --endpoint and --timeout-ms.";

#ifdef _WIN32
constexpr const char* endpoint_help =
    "Collector pipe name, \\\\.\\pipe\\... (default: from config, else the platform default)";
#else
constexpr const char* endpoint_help = "Collector socket path (default: from config, else the platform default)";
#endif

void add_global_options(CLI::App& app, global_options& options) {
  app.add_option("--endpoint", options.endpoint, endpoint_help)->type_name("PATH")->check([](const std::string& path) {
    return path.empty() ? std::string("the path must not be empty") : "";
  });
  app.add_option("--config", options.config_file, "YAML or TOML file with an ipc: section")->type_name("FILE");
  app.add_flag("--json", options.json, "Print results as JSON (protobuf field names)");
  app.add_option("--timeout-ms", options.timeout_ms, "Connect, read and write timeout in milliseconds")
      ->type_name("N")
      ->check(CLI::Range(std::uint32_t{1}, std::numeric_limits<std::uint32_t>::max()));
  app.add_option("--log-level", options.log_level, "Library log level on stderr")
      ->type_name("LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

}  // namespace

exit_code run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  cli_context ctx(out, err);
  CLI::App app("Operator's command line for the DaemonEye collector (procmond), over its local IPC endpoint.",
               "daemoneye-cli");
  // Set before the subcommands exist: CLI11 copies these into each one.
  app.fallthrough();  // global options may follow the subcommand: `daemoneye-cli ps --endpoint X`
  // CLI11 reads "/name" as an option on Windows by default; here it stays a
  // positional argument (a path), as on every other platform.
  app.allow_windows_style_options(false);
  app.failure_message([](const CLI::App* /*app*/, const CLI::Error& e) {
    return "daemoneye-cli: " + one_line(e.what()) + " - run 'daemoneye-cli --help' for usage\n";
  });
  app.set_version_flag("--version", std::string(ipc::library_version()));
  add_global_options(app, ctx.options());
  app.footer(subcommand_help);  // inherited by every subcommand created below

  add_health_command(app, ctx);
  add_process_commands(app, ctx);
  add_hash_command(app, ctx);
  add_bench_command(add_ipc_commands(app, ctx), ctx);
  add_metrics_command(app, ctx);
  add_config_commands(app, ctx);
  // No require_subcommand(): CLI11 would then call a mistyped command "missing"
  // rather than "not expected"; run_action() reports a missing command instead.
  app.footer(exit_status_help);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes (105 for a conversion error, ...) are not ours: every parse failure is a usage error.
    return app.exit(e, out, err) == 0 ? exit_code::ok : exit_code::usage;
  }
  if (auto ok = ipc::configure_logging("text", ctx.options().log_level); !ok) {
    return ctx.report(exit_code::usage, ok.error().message());
  }
  return ctx.run_action();
}

}  // namespace daemoneye::cli
