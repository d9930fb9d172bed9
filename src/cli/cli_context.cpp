// Configuration, connection and failure reporting shared by the subcommands.
#include "cli/cli_context.hpp"

#include <fmt/format.h>

#include "cli/platform.hpp"

namespace daemoneye::cli {

exit_code exit_code_of(const ipc::ipc_error& error) noexcept {
  using ipc::errc;
  if (error.is(errc::server_not_found) || error.is(errc::connection_refused) || error.is(errc::permission_denied) ||
      error.is(errc::connection_timeout)) {
    return exit_code::unreachable;
  }
  if (error.is(errc::invalid_config)) return exit_code::usage;
  return exit_code::failed;
}

std::string one_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    if (c == '\n' || c == '\r') {
      out += "; ";
    } else {
      out += c;
    }
  }
  return out;
}

ipc::result<ipc::ipc_config> cli_context::client_config() const {
  ipc::config_sources sources;
  if (!options_.config_file.empty()) sources.file = options_.config_file;
  sources.environment = ipc::process_environment();
  auto config = ipc::load_config(sources);
  if (!config) return config;
  // Flags are applied here rather than through config_sources::flags so that
  // an error names the flag as the user typed it ("--timeout-ms").
  if (!options_.endpoint.empty()) {
    if (auto ok = ipc::apply_setting(*config, "endpoint_path", options_.endpoint, "--endpoint"); !ok) {
      return ipc::fail(std::move(ok).error());
    }
  }
  if (options_.timeout_ms != 0) {
    const auto ms = std::to_string(options_.timeout_ms);
    for (const char* key : {"read_timeout_ms", "write_timeout_ms", "accept_timeout_ms"}) {
      if (auto ok = ipc::apply_setting(*config, key, ms, "--timeout-ms"); !ok) return ipc::fail(std::move(ok).error());
    }
  }
  if (auto ok = ipc::validate(*config); !ok) return ipc::fail(std::move(ok).error());
  return config;
}

ipc::result<ipc::blocking_client> cli_context::connect() const {
  auto config = client_config();
  if (!config) return ipc::fail(std::move(config).error());
  ipc::blocking_client client(std::move(*config));
  if (auto ok = client.connect(); !ok) return ipc::fail(std::move(ok).error());
  return client;
}

ipc::result<ipc::DetectionResult> cli_context::request(const ipc::DetectionTask& task) const {
  auto client = connect();
  if (!client) return ipc::fail(std::move(client).error());
  return client->send_task(task);
}

std::string cli_context::next_task_id() { return fmt::format("cli-{}-{}", platform::process_id(), ++task_counter_); }

exit_code cli_context::report(const ipc::ipc_error& error) { return report(exit_code_of(error), error.message()); }

exit_code cli_context::report(exit_code code, std::string_view message) {
  err_ << "daemoneye-cli: " << one_line(message) << '\n' << std::flush;
  return code;
}

exit_code cli_context::report_failed(const ipc::DetectionResult& result) {
  if (result.has_error_message() && !result.error_message().empty()) {
    return report(exit_code::failed, result.error_message());
  }
  const auto code = result.has_error_code() ? wire::ErrorCode_Name(result.error_code()) : std::string("no error_code");
  return report(exit_code::failed,
                fmt::format("the collector answered task {} with success=false ({})", result.task_id(), code));
}

void cli_context::require_subcommand_of(std::string group, std::string choices) {
  if (has_action()) return;
  set_action([this, group = std::move(group), choices = std::move(choices)] {
    return report(exit_code::usage,
                  fmt::format("'{}' needs a subcommand ({}) - run 'daemoneye-cli {} --help'", group, choices, group));
  });
}

exit_code cli_context::run_action() {
  if (!action_) {
    return report(exit_code::usage, "no command given - run 'daemoneye-cli --help' for the list of commands");
  }
  return action_();
}

}  // namespace daemoneye::cli
