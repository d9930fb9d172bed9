// `health-check`: asks the collector for its built-in health answer.
#include <chrono>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/json_output.hpp"
#include "cli/platform.hpp"
#include "cli/subcommands.hpp"
#include "cli/user_names.hpp"

namespace daemoneye::cli {
namespace {

struct health_options {
  bool verbose = false;
};

/// "3d 4h 5m 6s", leading zero units left out ("0s" for less than a second).
std::string format_uptime(std::uint64_t ms) {
  auto s = ms / 1000;
  const auto days = s / 86400;
  const auto hours = (s / 3600) % 24;
  const auto minutes = (s / 60) % 60;
  s %= 60;
  if (days > 0) return fmt::format("{}d {}h {}m {}s", days, hours, minutes, s);
  if (hours > 0) return fmt::format("{}h {}m {}s", hours, minutes, s);
  if (minutes > 0) return fmt::format("{}m {}s", minutes, s);
  return fmt::format("{}s", s);
}

/// What --verbose adds: the endpoint as this process sees it, and the round
/// trip. A Windows named pipe has no file mode or owner uid: neither `file`
/// nor `stat_error` is set for it.
struct endpoint_facts {
  std::string path;
  std::optional<platform::file_mode_owner> file;
  std::string stat_error;
  std::optional<std::string> owner_name;
  double round_trip_ms = 0;
};

endpoint_facts inspect_endpoint(const std::string& path, std::chrono::nanoseconds round_trip) {
  endpoint_facts facts;
  facts.path = path;
  facts.round_trip_ms = std::chrono::duration<double, std::milli>(round_trip).count();
  if (!platform::endpoints_are_files) return facts;
  if (auto file = platform::stat_file(path)) {
    facts.file = *file;
    facts.owner_name = lookup_user_name(file->uid);
  } else {
    facts.stat_error = file.error().message();
  }
  return facts;
}

std::string mode_text(const platform::file_mode_owner& file) { return fmt::format("{:04o}", file.mode & 07777U); }

/// `h` is null when the collector sent no health details.
void print_text(cli_context& ctx, const ipc::ServerHealth* h, const std::optional<endpoint_facts>& facts) {
  auto& out = ctx.out();
  const auto line = [&](std::string_view label, const std::string& value) {
    out << fmt::format("{:<14}{}\n", std::string(label) + ":", value);
  };
  if (h != nullptr) {
    line("status", "ok");
    line("version", h->version());
    line("uptime", fmt::format("{} ({} ms)", format_uptime(h->uptime_ms()), h->uptime_ms()));
    line("connections", fmt::format("{}/{} (active/max)", h->active_connections(), h->max_connections()));
    line("codec", fmt::format("{} (crc32 {})", h->codec(), h->crc32_variant()));
    line("tasks served", std::to_string(h->tasks_served()));
  } else {
    // An upstream DaemonEye collector answers the task but knows nothing of our health extension.
    line("status", "ok (no health details: the collector does not implement the health_check extension)");
  }
  if (!facts) return;
  line("endpoint", facts->path);
  if (facts->file) {
    line("mode", mode_text(*facts->file));
    line("owner", fmt::format("{} ({})", facts->file->uid, facts->owner_name.value_or("no user entry")));
  } else if (platform::endpoints_are_files) {
    line("mode", "unknown (stat: " + facts->stat_error + ")");
    line("owner", "unknown");
  }
  line("round trip", fmt::format("{:.3f} ms", facts->round_trip_ms));
}

void print_json(cli_context& ctx, const ipc::ServerHealth& h, const std::optional<endpoint_facts>& facts) {
  std::vector<std::pair<std::string, std::string>> extra;
  if (facts) {
    extra.emplace_back("endpoint_path", json_quote(facts->path));
    if (facts->file) {
      extra.emplace_back("endpoint_mode", json_quote(mode_text(*facts->file)));
      extra.emplace_back("endpoint_uid", std::to_string(facts->file->uid));
      extra.emplace_back("endpoint_user", facts->owner_name ? json_quote(*facts->owner_name) : "null");
    }
    extra.emplace_back("round_trip_ms", fmt::format("{:.3f}", facts->round_trip_ms));
  }
  ctx.out() << append_json_fields(to_json(h), extra) << '\n';
}

exit_code run_health(cli_context& ctx, const health_options& options) {
  auto client = ctx.connect();
  if (!client) return ctx.report(client.error());
  const auto task = ipc::tasks::new_builtin_task(ctx.next_task_id(), ipc::health_check_metadata);
  const auto start = std::chrono::steady_clock::now();
  auto answer = client->send_task(task);
  const auto round_trip = std::chrono::steady_clock::now() - start;
  if (!answer) return ctx.report(answer.error());
  if (!answer->success()) return ctx.report_failed(*answer);

  std::optional<endpoint_facts> facts;
  if (options.verbose) facts = inspect_endpoint(client->config().endpoint_path, round_trip);
  const ipc::ServerHealth* health = answer->has_health() ? &answer->health() : nullptr;
  if (ctx.json()) {
    print_json(ctx, health != nullptr ? *health : ipc::ServerHealth{}, facts);
  } else {
    print_text(ctx, health, facts);
  }
  return exit_code::ok;
}

}  // namespace

void add_health_command(CLI::App& parent, cli_context& ctx) {
  auto options = std::make_shared<health_options>();
  auto* cmd = parent.add_subcommand("health-check", "Check that the collector answers; show its version and load");
  cmd->add_flag("-v,--verbose", options->verbose,
                platform::endpoints_are_files ? "Also show the endpoint's mode and owner, and the round-trip time"
                                              : "Also show the endpoint and the round-trip time");
  cmd->callback([&ctx, options] { ctx.set_action([&ctx, options] { return run_health(ctx, *options); }); });
}

}  // namespace daemoneye::cli
