// The daemoneye-cli program as a function: parses the command line, sets up
// logging, runs the chosen subcommand, and returns the exit status. main()
// only forwards to it, so tests can run the CLI in-process with string streams.
//
//   std::ostringstream out, err;
//   auto code = run_cli(argc, argv, out, err);   // exit_code::usage for a bad flag
#pragma once

#include <ostream>

#include "cli/cli_context.hpp"

namespace daemoneye::cli {

/// Runs one command line. Help and results go to `out`, failures as one
/// line each to `err`. CLI11's own exit codes are mapped: help and --version
/// give ok, every parse error gives usage (2).
exit_code run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace daemoneye::cli
