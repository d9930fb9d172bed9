// procmond: the process collector daemon. Parses the command line, sets up
// logging and hands over to daemon::run().
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "daemoneye/ipc/logging.hpp"
#include "daemoneye/ipc/version.hpp"

#include "procmond/daemon.hpp"

int main(int argc, char** argv) {
  using namespace daemoneye;
  // Writes to a vanished peer must fail with EPIPE, never kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"procmond - DaemonEye process collector: answers detection tasks over a local socket"};
  app.set_version_flag("--version", std::string(ipc::library_version()));
  std::string config_file;
  procmond::daemon_sources sources;
  auto& flags = sources.ipc.flags;
  auto flag = [&flags](const char* key) {
    return [&flags, key](const std::string& value) { flags.emplace_back(key, value); };
  };
  app.add_option("--config", config_file, "YAML or TOML configuration file (keys under ipc: and procmond:)")
      ->check(CLI::ExistingFile);
  app.add_option_function<std::string>("--endpoint", flag("endpoint_path"), "socket path to listen on");
  app.add_option_function<std::string>("--max-connections", flag("max_connections"), "connection limit");
  app.add_option_function<std::string>("--max-frame-bytes", flag("max_frame_bytes"), "largest frame accepted");
  app.add_option_function<std::string>("--read-timeout-ms", flag("read_timeout_ms"), "idle/partial-frame timeout");
  app.add_option_function<std::string>("--write-timeout-ms", flag("write_timeout_ms"), "write timeout");
  app.add_option_function<std::string>("--handler-timeout-ms", flag("handler_timeout_ms"), "deadline of one task");
  app.add_option_function<std::string>("--codec", flag("codec"), "framed|legacy");
  app.add_option_function<std::string>("--crc32-variant", flag("crc32_variant"), "castagnoli|ieee");
  app.add_option_function<std::string>("--threads", flag("threads"), "worker threads (0 = one per CPU)");
  app.add_option_function<std::string>(
      "--log-format", [&sources](const std::string& v) { sources.log_format = v; }, "text|json");
  app.add_option_function<std::string>(
      "--log-level", [&sources](const std::string& v) { sources.log_level = v; }, "trace|debug|info|warn|error");
  app.add_option_function<std::string>(
      "--metrics-listen", [&sources](const std::string& v) { sources.metrics_listen = v; },
      "serve Prometheus metrics over HTTP on a loopback HOST:PORT (off by default)");
  app.add_flag_function(
      "--hash-executables", [&sources](std::int64_t n) { sources.hash_executables = n > 0; },
      "hash every enumerated executable (SHA-256, cached)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (!config_file.empty()) sources.ipc.file = config_file;
  sources.ipc.environment = ipc::process_environment();

  // Log settings first, from flags alone, so that configuration errors are logged in the requested format.
  (void)ipc::configure_logging(sources.log_format.value_or("text"), sources.log_level.value_or("info"));
  auto settings = procmond::load_daemon_settings(sources);
  if (!settings) {
    spdlog::error("invalid configuration: {}", settings.error().message());
    return 2;
  }
  if (auto ok = ipc::configure_logging(settings->log_format, settings->log_level); !ok) {
    spdlog::error("invalid configuration: {}", ok.error().message());
    return 2;
  }
  procmond::daemon d(std::move(sources), std::move(*settings));
  return d.run();
}
