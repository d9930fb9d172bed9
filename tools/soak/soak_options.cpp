// Command-line parsing of daemoneye-soak (CLI11, as procmond).
#include "soak_options.hpp"

#include <random>

#include <CLI/CLI.hpp>

namespace daemoneye::soak {

ipc::basic_result<soak_options, parse_stop> parse_soak_options(int argc, char** argv) {
  soak_options o;
  CLI::App app{
      "daemoneye-soak - hostile-client soak of a running procmond: many misbehaving connections at once, "
      "while a well-behaved client must keep getting correct answers in time"};
  std::uint32_t seconds = 20;
  std::uint32_t read_timeout_ms = 30000;
  std::uint32_t write_timeout_ms = 10000;
  std::uint32_t answer_timeout_ms = 5000;
  std::uint32_t grace_ms = 2000;
  std::uint32_t client_timeout_ms = 5000;
  std::uint32_t client_interval_ms = 5;
  std::int64_t pid = 0;
  app.add_option("--endpoint", o.endpoint, "socket path procmond listens on")->required();
  app.add_option("--pid", pid, "procmond's pid (for liveness, RSS and descriptor checks)")
      ->required()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{0x7FFFFFFF}));
  app.add_option("--seconds", seconds, "how long the hostile clients run")->check(CLI::Range(1U, 86400U));
  app.add_option("--max-connections", o.max_connections, "procmond's max_connections")->check(CLI::Range(1U, 65535U));
  app.add_option("--max-frame-bytes", o.max_frame_bytes, "procmond's max_frame_bytes")
      ->check(CLI::Range(std::size_t{16}, std::size_t{64} * 1024 * 1024));
  app.add_option("--read-timeout-ms", read_timeout_ms, "procmond's read_timeout_ms (silent connections close after)")
      ->check(CLI::Range(1U, 3600000U));
  app.add_option("--write-timeout-ms", write_timeout_ms, "procmond's write_timeout_ms (unread answers close after)")
      ->check(CLI::Range(1U, 3600000U));
  app.add_option("--workers-per-case", o.workers_per_case, "threads running each hostile case")
      ->check(CLI::Range(1U, 64U));
  app.add_option("--answer-timeout-ms", answer_timeout_ms, "bound on any answer or close the protocol promises")
      ->check(CLI::Range(1U, 600000U));
  app.add_option("--grace-ms", grace_ms, "slack on top of the server's read/write timeouts")
      ->check(CLI::Range(0U, 600000U));
  app.add_option("--client-timeout-ms", client_timeout_ms, "the well-behaved client's timeouts")
      ->check(CLI::Range(1U, 600000U));
  app.add_option("--client-interval-ms", client_interval_ms, "pause between the well-behaved client's tasks")
      ->check(CLI::Range(0U, 60000U));
  app.add_option("--seed", o.seed, "random seed (0: pick one; printed for reproduction)");
  app.add_option("--fd-slack", o.fd_slack, "descriptors procmond may hold above its baseline after the run");
  app.add_option("--max-rss-growth-mib", o.max_rss_growth_mib, "RSS growth of procmond allowed over the run");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ipc::unexpected(parse_stop{app.exit(e) == 0 ? 0 : 2});
  }
  o.server_pid = static_cast<pid_t>(pid);
  o.duration = std::chrono::seconds(seconds);
  o.read_timeout = std::chrono::milliseconds(read_timeout_ms);
  o.write_timeout = std::chrono::milliseconds(write_timeout_ms);
  o.answer_timeout = std::chrono::milliseconds(answer_timeout_ms);
  o.grace = std::chrono::milliseconds(grace_ms);
  o.client_timeout = std::chrono::milliseconds(client_timeout_ms);
  o.client_interval = std::chrono::milliseconds(client_interval_ms);
  if (o.seed == 0) o.seed = std::random_device{}() | 1U;
  return o;
}

}  // namespace daemoneye::soak
