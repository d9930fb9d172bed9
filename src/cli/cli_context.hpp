// cli_context: what every daemoneye-cli subcommand shares - the global
// options, the configuration and client built from them, the output streams,
// and the mapping of failures to exit codes and one-line messages.
//
//   auto answer = ctx.request(ipc::tasks::new_builtin_task(ctx.next_task_id(), ipc::metrics_metadata));
//   if (!answer) return ctx.report(answer.error());           // exit 3 when unreachable
//   if (!answer->success()) return ctx.report_failed(*answer); // exit 1, the server's message
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/config.hpp"
#include "daemoneye/ipc/error.hpp"
#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::cli {

/// The process exit status of daemoneye-cli (documented in --help).
enum class exit_code : int {
  ok = 0,           ///< the operation succeeded
  failed = 1,       ///< the operation ran and failed (success=false, hash mismatch, test failure)
  usage = 2,        ///< bad command line or configuration
  unreachable = 3,  ///< no collector to talk to (not found, refused, permission denied, connect timeout)
};

/// The exit status for a failure of the IPC layer: unreachable for the four
/// connect errors, usage for invalid_config, failed for everything else.
exit_code exit_code_of(const ipc::ipc_error& error) noexcept;

/// The global options, as CLI11 stores them. Empty / 0 means "not given".
struct global_options {
  std::string endpoint;
  std::string config_file;
  bool json = false;
  std::uint32_t timeout_ms = 0;
  std::string log_level = "warn";
};

/// One run of the command line. Resource type (neither copies nor moves: the
/// subcommands keep references to it). Not thread-safe; the CLI is single-threaded.
/// The streams must outlive the context.
class cli_context {
 public:
  /// Where a command, once chosen on the command line, does its work.
  using action = std::function<exit_code()>;

  cli_context(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}
  cli_context(const cli_context&) = delete;
  cli_context& operator=(const cli_context&) = delete;

  [[nodiscard]] global_options& options() noexcept { return options_; }
  [[nodiscard]] const global_options& options() const noexcept { return options_; }
  [[nodiscard]] bool json() const noexcept { return options_.json; }
  [[nodiscard]] std::ostream& out() noexcept { return out_; }
  [[nodiscard]] std::ostream& err() noexcept { return err_; }

  /// Defaults, the --config file, DAEMONEYE_IPC_* variables, then --endpoint
  /// and --timeout-ms (read, write and accept timeouts); validated.
  /// Fails with errc::invalid_config naming the source.
  [[nodiscard]] ipc::result<ipc::ipc_config> client_config() const;

  /// A client connected to the configured endpoint, or why not.
  [[nodiscard]] ipc::result<ipc::blocking_client> connect() const;

  /// Connects, sends `task` and waits for its answer. The answer may carry
  /// success=false; the error is a transport failure.
  [[nodiscard]] ipc::result<ipc::DetectionResult> request(const ipc::DetectionTask& task) const;

  /// A task id unique within this run: "cli-<pid>-<n>".
  std::string next_task_id();

  /// Writes "daemoneye-cli: <message>" as exactly one line on err() and
  /// returns the exit status for the failure.
  exit_code report(const ipc::ipc_error& error);
  exit_code report(exit_code code, std::string_view message);

  /// A DetectionResult with success=false: its error_message (or error_code
  /// name), one line, exit status failed.
  exit_code report_failed(const ipc::DetectionResult& result);

  /// Chooses the command to run (called from a subcommand's parse callback).
  void set_action(action chosen) { action_ = std::move(chosen); }
  [[nodiscard]] bool has_action() const noexcept { return static_cast<bool>(action_); }
  /// For a group (`ipc`, `config`) given without one of its subcommands:
  /// chooses a usage failure naming them. CLI11 runs a group's callback after
  /// its subcommand's, so this keeps an action already chosen.
  void require_subcommand_of(std::string group, std::string choices);
  /// Runs the chosen command; `usage` when none was chosen.
  exit_code run_action();

 private:
  std::ostream& out_;
  std::ostream& err_;
  global_options options_;
  action action_;
  std::uint64_t task_counter_ = 0;
};

/// `text` with every line break replaced by "; ", so a message stays one line.
std::string one_line(std::string_view text);

}  // namespace daemoneye::cli
