// The subcommands of daemoneye-cli, one registration function per group (each
// defined in the file named after it). A registration adds the subcommand and
// its options to `parent`; its parse callback hands the work to
// cli_context::set_action, which main runs after parsing and logging set-up.
//
//   add_health_command(app, ctx);
//   CLI::App& ipc = add_ipc_commands(app, ctx);   // more `ipc` subcommands can join it
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace daemoneye::cli {

/// health_command.cpp: `health-check [--verbose]`.
void add_health_command(CLI::App& parent, cli_context& ctx);

/// process_commands.cpp: `ps [--name N]... [--pid P]... [--exe GLOB] [--hash]` and `tree [--pid P]...`.
void add_process_commands(CLI::App& parent, cli_context& ctx);

/// hash_command.cpp: `hash PATH [--expect HEX]`.
void add_hash_command(CLI::App& parent, cli_context& ctx);

/// ipc_commands.cpp: the `ipc` group with `test`; returns the group.
CLI::App& add_ipc_commands(CLI::App& parent, cli_context& ctx);

/// bench_command.cpp: `ipc bench [ARGS...]`, which runs daemoneye-bench.
void add_bench_command(CLI::App& ipc_group, cli_context& ctx);

/// metrics_command.cpp: `metrics`.
void add_metrics_command(CLI::App& parent, cli_context& ctx);

/// config_command.cpp: the `config` group with `check FILE`.
void add_config_commands(CLI::App& parent, cli_context& ctx);

}  // namespace daemoneye::cli
