// procmond's settings: the IPC configuration (library-owned keys under `ipc:`)
// plus the daemon's own keys under `procmond:` in the same YAML/TOML file,
// overridden by command-line flags. Re-read as a whole on SIGHUP.
//
//   auto settings = load_daemon_settings(sources);
//   if (!settings) { log(settings.error().message()); return 2; }
#pragma once

#include <optional>
#include <string>

#include "daemoneye/ipc/config.hpp"

namespace daemoneye::procmond {

struct daemon_settings {
  ipc::ipc_config ipc;
  bool hash_executables = false;
  std::string log_format = "text";
  std::string log_level = "info";
  /// host:port of the optional Prometheus HTTP endpoint; loopback only; empty = off.
  std::string metrics_listen;
  /// How long SIGTERM waits for in-flight tasks.
  std::uint32_t drain_timeout_ms = 5000;
};

/// Where settings come from. Daemon flags are applied over the file's
/// `procmond:` section; IPC flags go through ipc::load_config.
struct daemon_sources {
  ipc::config_sources ipc;
  std::optional<bool> hash_executables;
  std::optional<std::string> log_format;
  std::optional<std::string> log_level;
  std::optional<std::string> metrics_listen;
};

ipc::result<daemon_settings> load_daemon_settings(const daemon_sources& sources);

/// Checks that `listen` is HOST:PORT with a loopback host (127.0.0.0/8, ::1,
/// localhost); metrics are never exposed beyond this machine.
ipc::result<void> validate_metrics_listen(const std::string& listen);

}  // namespace daemoneye::procmond
