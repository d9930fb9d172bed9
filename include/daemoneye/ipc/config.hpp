// IpcConfig: every setting of the IPC layer, its defaults, and where it comes
// from. Sources apply in order: defaults, a YAML or TOML file (keys under
// `ipc:` / `[ipc]`), DAEMONEYE_IPC_* environment variables, command-line flags.
//
//   auto cfg = load_config({.file = "procmond.yaml", .environment = process_environment()});
//   if (!cfg) { std::cerr << cfg.error().message(); return 2; }
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemoneye/ipc/codec.hpp"
#include "daemoneye/ipc/error.hpp"

namespace daemoneye::ipc {

/// Upper bound accepted for max_frame_bytes.
inline constexpr std::size_t max_frame_bytes_limit = std::size_t{64} * 1024 * 1024;

struct rate_limit_config {
  /// Per connection: tokens added per second; 0 disables the per-connection limit.
  double requests_per_second = 0;
  /// Per connection: bucket size, how many tasks may arrive at once.
  std::uint32_t burst = 0;
  /// Across all connections: tokens per second; 0 disables the global limit.
  double global_requests_per_second = 0;
  std::uint32_t global_burst = 0;
  [[nodiscard]] bool enabled() const noexcept { return requests_per_second > 0; }
  [[nodiscard]] bool global_enabled() const noexcept { return global_requests_per_second > 0; }
  friend bool operator==(const rate_limit_config&, const rate_limit_config&) = default;
};

struct flow_control_config {
  /// Tasks of one connection processed at once; beyond it the server stops reading.
  std::uint32_t max_in_flight = 32;
  /// Tasks pending across all connections before new ones are answered OVERLOADED.
  std::uint32_t max_pending = 1024;
  friend bool operator==(const flow_control_config&, const flow_control_config&) = default;
};

struct client_config {
  std::uint32_t max_attempts = 10;
  std::uint32_t backoff_base_ms = 100;
  std::uint32_t backoff_max_ms = 30000;
  std::uint32_t breaker_failure_threshold = 5;
  std::uint32_t breaker_recovery_ms = 30000;
  friend bool operator==(const client_config&, const client_config&) = default;
};

/// All settings. Value type; cheap enough to copy at start-up and on reload.
struct ipc_config {
  std::string endpoint_path = default_endpoint_path();
  std::size_t max_frame_bytes = std::size_t{1024} * 1024;
  std::uint32_t accept_timeout_ms = 5000;
  std::uint32_t read_timeout_ms = 30000;
  std::uint32_t write_timeout_ms = 10000;
  /// Deadline for one task's handler; past it the task is answered HANDLER_TIMEOUT.
  std::uint32_t handler_timeout_ms = 30000;
  std::uint32_t max_connections = 16;
  crc32_variant crc_variant = crc32_variant::castagnoli;
  codec_kind codec = codec_kind::framed;
  rate_limit_config rate_limit;
  flow_control_config flow_control;
  bool enable_sequence_numbers = false;
  /// Peer uids allowed to connect; empty means any peer the socket's mode admits.
  std::vector<std::uint32_t> allowed_uids;
  /// Worker threads of the server; 0 means one per hardware thread.
  std::uint32_t threads = 0;
  client_config client;

  /// The codec settings derived from this configuration.
  [[nodiscard]] codec_options codec_opts() const noexcept { return {codec, crc_variant, max_frame_bytes}; }

  /// The platform default endpoint for the current user (PROTOCOL.md section 1).
  static std::string default_endpoint_path();

  /// Field-wise equality (e.g. to tell whether a reload changed anything).
  friend bool operator==(const ipc_config&, const ipc_config&) = default;
};

/// Checks ranges and cross-field rules; the message names the key and the allowed range.
result<void> validate(const ipc_config& config);

/// Applies one `key = value` setting, with `key` as in the file (dotted for
/// nested sections, e.g. "client.max_attempts"). `origin` names the source in
/// error messages ("DAEMONEYE_IPC_MAX_CONNECTIONS", "--max-connections").
result<void> apply_setting(ipc_config& config, std::string_view key, std::string_view value, std::string_view origin);

/// Reads a YAML (.yaml/.yml) or TOML (.toml) file over `config`. Keys live
/// under `ipc:` (YAML) or `[ipc]` (TOML); other top-level sections are left to
/// the application. An unknown key under ipc names the key, the file and line.
result<void> apply_file(ipc_config& config, const std::filesystem::path& file);

/// Applies DAEMONEYE_IPC_<KEY> variables (KEY upper-case, nested keys joined
/// with '_': DAEMONEYE_IPC_CLIENT_MAX_ATTEMPTS). Unknown DAEMONEYE_IPC_ names are errors.
result<void> apply_environment(ipc_config& config, const std::map<std::string, std::string>& environment);

/// The process environment as a map (for apply_environment).
std::map<std::string, std::string> process_environment();

struct config_sources {
  std::optional<std::filesystem::path> file;
  std::map<std::string, std::string> environment;
  /// Flag settings, applied last: (key, value) in file key syntax.
  std::vector<std::pair<std::string, std::string>> flags;
};

/// Defaults, then file, then environment, then flags; validated.
result<ipc_config> load_config(const config_sources& sources);

/// The effective configuration as YAML (for `daemoneye-cli config check`).
std::string to_yaml(const ipc_config& config);

}  // namespace daemoneye::ipc
