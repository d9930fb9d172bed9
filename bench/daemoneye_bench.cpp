// daemoneye-bench: the IPC library measured against the floor (a raw Unix
// socket ping-pong of the same byte sizes) in one run, server and client in
// separate processes. Floor and library rows alternate within every round;
// each figure is the median across rounds, because the machine is shared.
//
//   daemoneye-bench                      # 5 rounds x 0.25 s per row, a table
//   daemoneye-bench --rounds 9 --json    # JSON for tools and CI dashboards
//   daemoneye-bench --quick              # a few iterations of every row (CI smoke)
//
// Self-contained (no configuration, no files besides a private temporary
// directory), so `daemoneye-cli ipc bench` can exec it.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <sched.h>
#include <sys/utsname.h>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/logging.hpp"

#include "echo_server.hpp"
#include "floor.hpp"
#include "forked_process.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workload.hpp"

namespace daemoneye::bench {
namespace {

constexpr std::string_view usage = R"(usage: daemoneye-bench [options]

Measures the daemoneye IPC library against a raw Unix-socket ping-pong (the
floor) of the same byte sizes; the server runs in a forked child process.

  --rounds N           rounds; floor and library rows alternate in each (default 5)
  --seconds S          time per row per round (default 0.25)
  --iterations N       a fixed number of operations per row per round instead of --seconds
  --handler KIND       sync (a plain function on the blocking pool, as procmond), inline (a plain function
                       declared non-blocking, run on the I/O threads) or async (a coroutine); default sync
  --in-place           the handler writes its answer into a result message the server reuses
                       (interprocess_server::in_place_handler, or async_in_place_handler with async)
                       instead of returning it
  --server-threads N   server worker threads (default 0: one per hardware thread, as procmond)
  --client-threads N   io_context threads of the 8-connection pipelined row (default: CPUs, at most 8);
                       unless N is 1, the row is also measured with one client thread
  --cpus PLACEMENT     os: where the scheduler puts them (default); same: the client and every server on
                       one CPU, so a round trip costs CPU time and context switches only; split: the client
                       on one CPU and the servers on another, so every message wakes the other CPU
                       (split exits with status 4 where this process may use only one CPU)
  --server-log PATH    where the servers' logs go (default /dev/null)
  --server-config K=V  a server setting, key as in the config file (e.g. write_timeout_ms=30000); repeatable
  --filter TEXT        run only the rows whose name contains TEXT (e.g. for a profiler)
  --json               JSON instead of a table
  --quick              1 round of 20 iterations per row (a smoke run for CI)
  --help
)";

enum class cpu_placement { os, same, split };

struct options {
  std::size_t rounds = 5;
  run_limits limits;
  bool sync_handler = true;
  bool inline_handler = false;
  bool in_place = false;
  std::uint32_t server_threads = 0;
  unsigned client_threads = std::clamp(std::thread::hardware_concurrency(), 1U, 8U);
  cpu_placement placement = cpu_placement::os;
  std::string server_log = "/dev/null";
  std::vector<std::pair<std::string, std::string>> server_settings;
  std::string filter;
  bool json = false;
};

template <typename T>
bool parse_number(std::string_view text, T& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

/// Parses argv; on a bad or --help argument prints and exits.
options parse_options(int argc, char** argv) {
  options o;
  const auto die = [](const std::string& message) {
    std::cerr << "daemoneye-bench: " << message << "\n" << usage;
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) die(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      std::exit(0);
    } else if (arg == "--rounds") {
      if (!parse_number(value(), o.rounds) || o.rounds == 0) die("--rounds needs a positive integer");
    } else if (arg == "--seconds") {
      double s = 0;
      if (!parse_number(value(), s) || !(s > 0)) die("--seconds needs a positive number");
      o.limits.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
      o.limits.iterations = 0;
    } else if (arg == "--iterations") {
      if (!parse_number(value(), o.limits.iterations) || o.limits.iterations == 0) {
        die("--iterations needs a positive integer");
      }
    } else if (arg == "--handler") {
      const auto v = value();
      if (v != "sync" && v != "inline" && v != "async") die("--handler is sync, inline or async");
      o.sync_handler = v != "async";
      o.inline_handler = v == "inline";
    } else if (arg == "--in-place") {
      o.in_place = true;
    } else if (arg == "--server-threads") {
      if (!parse_number(value(), o.server_threads)) die("--server-threads needs an integer");
    } else if (arg == "--client-threads") {
      if (!parse_number(value(), o.client_threads) || o.client_threads == 0) {
        die("--client-threads needs a positive integer");
      }
    } else if (arg == "--cpus") {
      const auto v = value();
      if (v == "os") {
        o.placement = cpu_placement::os;
      } else if (v == "same") {
        o.placement = cpu_placement::same;
      } else if (v == "split") {
        o.placement = cpu_placement::split;
      } else {
        die("--cpus is os, same or split");
      }
    } else if (arg == "--server-log") {
      o.server_log = std::string(value());
    } else if (arg == "--server-config") {
      const auto v = value();
      const auto eq = v.find('=');
      if (eq == std::string_view::npos || eq == 0) die("--server-config needs KEY=VALUE");
      o.server_settings.emplace_back(std::string(v.substr(0, eq)), std::string(v.substr(eq + 1)));
    } else if (arg == "--filter") {
      o.filter = std::string(value());
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--quick") {
      o.rounds = 1;
      o.limits.iterations = 20;
      o.limits.warmup = 2;
    } else {
      die(fmt::format("unknown option {}", arg));
    }
  }
  return o;
}

/// A private directory for the two endpoints, removed at the end.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "daemoneye-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

forked_process start_child(const std::function<int(child_channel&)>& body, std::string_view what) {
  auto child = forked_process::start(body);
  if (auto* error = std::get_if<std::string>(&child)) {
    throw std::runtime_error(fmt::format("the {} did not start: {}", what, *error));
  }
  return std::move(std::get<forked_process>(child));
}

std::string kernel_release() {
  utsname u{};
  if (::uname(&u) != 0) return "unknown kernel";
  return fmt::format("{} {} {}", u.sysname, u.release, u.machine);
}

/// The CPUs this process may run on, in order.
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

/// Binds this process (its threads to come, and the children it forks) to `cpu`.
void run_on_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof(set), &set) != 0) {
    throw std::runtime_error(
        fmt::format("cannot bind to CPU {}: {}", cpu, std::error_code(errno, std::system_category()).message()));
  }
}

/// A row and how to measure one round of it.
struct planned_row {
  row_result result;
  std::function<round_sample()> run;
};

int run(const options& opt) {
  const temp_dir dir;
  const auto floor_path = dir.file("floor.sock");
  // Two library servers: one with the default max_frame_bytes for every row
  // but the ~1 MiB one, which gets its own with max_frame_bytes raised, so a
  // failure of large frames cannot disturb the other rows.
  const echo_server_options server_opts{.endpoint = dir.file("ipc.sock"),
                                        .sync_handler = opt.sync_handler,
                                        .inline_handler = opt.inline_handler,
                                        .in_place = opt.in_place,
                                        .threads = opt.server_threads,
                                        .log_path = opt.server_log,
                                        .log_level = "info",
                                        .max_frame_bytes = ipc::ipc_config{}.max_frame_bytes,
                                        .settings = opt.server_settings};
  echo_server_options large_opts = server_opts;
  large_opts.endpoint = dir.file("ipc-large.sock");
  large_opts.max_frame_bytes = workload::max_frame_bytes;
  auto large_server_cfg = bench_server_config(large_opts);
  if (!large_server_cfg) throw std::runtime_error(large_server_cfg.error().message());
  std::vector<std::string> notes;
  const auto cfg = bench_client_config(server_opts.endpoint, server_opts.max_frame_bytes);
  const auto large_cfg = bench_client_config(large_opts.endpoint, large_opts.max_frame_bytes);

  // The messages, and the byte sizes the floor mirrors.
  namespace wl = workload;
  const auto small = wl::task_for(wl::kind::empty, "bench-000001");
  const auto records = wl::task_for(wl::kind::records, "bench-000001");
  const auto large = wl::task_for(wl::kind::echo, "bench-000001");
  const auto prebuilt = wl::records_result({}, wl::records_per_result);
  const std::size_t small_req = wl::frame_bytes(small);
  const std::size_t small_resp = wl::frame_bytes(wl::answer(small, prebuilt));
  const std::size_t records_req = wl::frame_bytes(records);
  const std::size_t records_resp = wl::frame_bytes(wl::answer(records, prebuilt));
  const std::size_t large_req = wl::frame_bytes(large);
  const std::size_t large_resp = wl::frame_bytes(wl::answer(large, prebuilt));
  const auto small_raw = raw_request(small_req, small_resp);
  const auto records_raw = raw_request(records_req, records_resp);
  const auto large_raw = raw_request(large_req, large_resp);

  // Children inherit the CPU binding in force when they are forked.
  const auto cpus = allowed_cpus();
  std::string placement = "placed by the OS";
  if (opt.placement != cpu_placement::os) {
    if (cpus.empty()) throw std::runtime_error("cannot read the CPUs this process may run on");
    if (opt.placement == cpu_placement::split && cpus.size() < 2) {
      std::cerr << "daemoneye-bench: --cpus split needs two CPUs this process may run on\n";
      return 4;
    }
    const int server_cpu = opt.placement == cpu_placement::split ? cpus[1] : cpus[0];
    run_on_cpu(server_cpu);
    placement = opt.placement == cpu_placement::split
                    ? fmt::format("client on CPU {}, servers on CPU {}", cpus[0], server_cpu)
                    : fmt::format("client and servers all on CPU {}", server_cpu);
  }

  // Both servers start before this process has any thread (fork-safe).
  auto floor_child =
      start_child([&](child_channel& ch) { return run_raw_echo_server(floor_path, ch); }, "floor server");
  auto server_child = start_child([&](child_channel& ch) { return run_echo_server(server_opts, ch); }, "IPC server");
  auto large_child =
      start_child([&](child_channel& ch) { return run_echo_server(large_opts, ch); }, "large-frame IPC server");

  if (opt.placement == cpu_placement::split) run_on_cpu(cpus[0]);

  std::vector<memory_row> memory;
  constexpr unsigned idle_connections = 16;
  if (auto m = read_memory_usage(server_child.pid())) memory.push_back({"listening, no connection", *m, {}});
  if (auto m = memory_with_idle_connections(cfg, small, server_child.pid(), idle_connections)) {
    memory.push_back({fmt::format("{} idle connections (fresh server)", idle_connections), *m, 16.0});
  }

  const auto& lim = opt.limits;
  // Each row is charged the CPU time of the server it talks to.
  const auto limits_for = [&lim](const forked_process& server) {
    run_limits l = lim;
    l.server = server.pid();
    return l;
  };
  const auto floor_lim = limits_for(floor_child);
  const auto ipc_lim = limits_for(server_child);
  const auto large_lim = limits_for(large_child);
  std::vector<planned_row> rows;
  std::vector<std::vector<std::size_t>> groups;
  const auto add = [&](row_result r, std::function<round_sample()> fn) {
    rows.push_back({std::move(r), std::move(fn)});
    groups.back().push_back(rows.size() - 1);
    return rows.size() - 1;
  };
  using tk = row_target::kind;
  const auto rt = [](std::string name, std::size_t req, std::size_t resp, ratio_kind kind, std::size_t baseline,
                     row_target target) {
    row_result r;
    r.name = std::move(name);
    r.request_bytes = req;
    r.response_bytes = resp;
    r.ratio = kind;
    r.baseline = baseline;
    r.target = target;
    return r;
  };

  groups.emplace_back();
  const auto floor_small = add(rt("floor: small -> empty", small_req, small_resp, ratio_kind::none, 0, {}),
                               [&] { return floor_round_trips(floor_path, small_raw, small_resp, floor_lim); });
  add(rt("blocking_client: small -> empty", small_req, small_resp, ratio_kind::latency, floor_small,
         {tk::ratio_at_most, 1.35}),
      [&] { return blocking_round_trips(cfg, small, ipc_lim); });
  add(rt("interprocess_client: small -> empty", small_req, small_resp, ratio_kind::latency, floor_small,
         {tk::ratio_at_most, 1.35}),
      [&] { return coroutine_round_trips(cfg, small, ipc_lim); });

  groups.emplace_back();
  const auto floor_records = add(rt("floor: small -> 500 records", records_req, records_resp, ratio_kind::none, 0, {}),
                                 [&] { return floor_round_trips(floor_path, records_raw, records_resp, floor_lim); });
  add(rt("blocking_client: small -> 500 records", records_req, records_resp, ratio_kind::latency, floor_records,
         {tk::ratio_at_most, 10}),
      [&] { return blocking_round_trips(cfg, records, ipc_lim); });
  add(rt("blocking_client send_task: small -> 500 rec.", records_req, records_resp, ratio_kind::latency, floor_records,
         {tk::ratio_at_most, 10}),
      [&] { return blocking_send_tasks(cfg, records, ipc_lim); });
  add(rt("interprocess_client: small -> 500 records", records_req, records_resp, ratio_kind::latency, floor_records,
         {tk::ratio_at_most, 10}),
      [&] { return coroutine_round_trips(cfg, records, ipc_lim); });
  add(rt("interprocess_client round_trip: small -> 500", records_req, records_resp, ratio_kind::latency, floor_records,
         {tk::ratio_at_most, 10}),
      [&] { return coroutine_reused_round_trips(cfg, records, ipc_lim); });

  groups.emplace_back();
  const auto floor_large = add(rt("floor: 1 MiB -> 1 MiB", large_req, large_resp, ratio_kind::none, 0, {}),
                               [&] { return floor_round_trips(floor_path, large_raw, large_resp, floor_lim); });
  add(rt("blocking_client: 1 MiB -> 1 MiB", large_req, large_resp, ratio_kind::latency, floor_large,
         {tk::ratio_at_most, 1.2}),
      [&] { return blocking_round_trips(large_cfg, large, large_lim); });
  add(rt("interprocess_client: 1 MiB -> 1 MiB", large_req, large_resp, ratio_kind::latency, floor_large,
         {tk::ratio_at_most, 1.2}),
      [&] { return coroutine_round_trips(large_cfg, large, large_lim); });

  // Throughput rows divide by the floor's sequential small round trips of the same round.
  groups.emplace_back();
  add(rt("pipelined: 1 conn x 64 in flight", small_req, small_resp, ratio_kind::throughput, floor_small,
         {tk::ratio_at_least, 4}),
      [&] { return pipelined_round_trips(cfg, small, 1, 64, 1, ipc_lim); });
  add(rt("pipelined: 8 conns x 64 in flight", small_req, small_resp, ratio_kind::throughput, floor_small,
         {tk::ratio_at_least, 6}),
      [&] { return pipelined_round_trips(cfg, small, 8, 64, opt.client_threads, ipc_lim); });
  if (opt.client_threads != 1) {
    // The same 8 connections on one client thread: where client and server
    // share few CPUs, a second client thread costs more than it brings.
    add(rt("pipelined: 8 conns x 64, one client thread", small_req, small_resp, ratio_kind::throughput, floor_small,
           {tk::ratio_at_least, 6}),
        [&] { return pipelined_round_trips(cfg, small, 8, 64, 1, ipc_lim); });
  }
  add(rt("8 threads x blocking_client", small_req, small_resp, ratio_kind::throughput, floor_small, {}),
      [&] { return blocking_thread_round_trips(cfg, small, 8, ipc_lim); });

  groups.emplace_back();
  const auto floor_cold = add(rt("floor: connect + small round trip", small_req, small_resp, ratio_kind::none, 0, {}),
                              [&] { return floor_cold_connects(floor_path, small_raw, small_resp, floor_lim); });
  add(rt("blocking_client: cold connect + first answer", small_req, small_resp, ratio_kind::latency, floor_cold, {}),
      [&] { return cold_connects(cfg, small, ipc_lim); });

  const bool enumerate_selected =
      opt.filter.empty() || std::string_view("ENUMERATE_PROCESSES").find(opt.filter) != std::string_view::npos;
  if (echo_server_has_collector() && enumerate_selected) {
    // The answer's size depends on this host's process table; one probe tells it.
    const auto enumerate = wl::task_for(wl::kind::enumerate, "bench-000001");
    ipc::blocking_client probe(cfg);
    ipc::DetectionResult answer;
    if (auto ok = probe.round_trip(enumerate, answer); !ok) throw std::runtime_error(ok.error().message());
    groups.emplace_back();
    add(rt(fmt::format("ENUMERATE_PROCESSES ({} processes)", answer.processes_size()), wl::frame_bytes(enumerate),
           wl::frame_bytes(answer), ratio_kind::none, 0, {tk::p50_us_at_most, 20'000}),
        [&cfg, enumerate, ipc_lim] {
          run_limits fewer = ipc_lim;  // a collection takes milliseconds; keep the row's time bounded
          if (fewer.iterations > 100) fewer.iterations = 100;
          fewer.warmup = std::min<std::uint64_t>(fewer.warmup, 3);
          return blocking_round_trips(cfg, enumerate, fewer);
        });
  }

  for (std::size_t round = 0; round < opt.rounds; ++round) {
    for (const auto& group : groups) {
      // Alternate which side goes first, so drift within a round does not favour one.
      std::vector<std::size_t> order = group;
      if (round % 2 == 1) std::reverse(order.begin(), order.end());
      for (const auto i : order) {
        auto& row = rows[i].result;
        if (!opt.filter.empty() && row.name.find(opt.filter) == std::string::npos) continue;
        row.rounds.push_back(summarize(rows[i].run(), row.request_bytes + row.response_bytes));
      }
    }
    for (auto& planned : rows) {
      auto& row = planned.result;
      const auto& base_rounds = rows[row.baseline].result.rounds;
      if (row.ratio == ratio_kind::none || row.rounds.size() != round + 1 || base_rounds.size() != round + 1) continue;
      const auto& ours = row.rounds.back();
      const auto& base = base_rounds.back();
      if (ours.ops == 0 || base.ops == 0) continue;  // nothing to compare in this round
      if (row.ratio == ratio_kind::latency && base.p50_us > 0) row.ratios.push_back(ours.p50_us / base.p50_us);
      if (row.ratio == ratio_kind::throughput && base.msgs_per_s > 0) {
        row.ratios.push_back(ours.msgs_per_s / base.msgs_per_s);
      }
    }
  }

  if (auto m = memory_with_idle_connections(cfg, small, server_child.pid(), idle_connections)) {
    memory.push_back({fmt::format("{} idle connections (after the run)", idle_connections), *m, 16.0});
  }

  run_description desc;
  desc.rounds = opt.rounds;
  desc.per_row = lim.iterations > 0 ? fmt::format("{} iterations", lim.iterations)
                                    : fmt::format("{:.2f} s", std::chrono::duration<double>(lim.duration).count());
  desc.handler = !opt.sync_handler    ? "async (coroutine)"
                 : opt.inline_handler ? "sync, inline on the I/O threads"
                                      : "sync on the blocking pool (as procmond)";
  if (opt.in_place) desc.handler += ", answer written in place";
  desc.cpus = std::thread::hardware_concurrency();
  desc.placement = placement;
  desc.server_threads = memory.empty() ? 0 : memory.front().usage.threads;
  desc.client_threads = opt.client_threads;
  desc.kernel = kernel_release();
  if (const char* tunables = std::getenv("GLIBC_TUNABLES")) desc.glibc_tunables = tunables;
  desc.notes = notes;

  // A server that died during the run (a crash, an abort) is worth a line in the report.
  const std::pair<forked_process*, std::string_view> children[] = {
      {&server_child, "IPC server"}, {&large_child, "large-frame IPC server"}, {&floor_child, "floor server"}};
  bool child_failed = false;
  for (const auto& [child, what] : children) {
    const pid_t pid = child->pid();
    if (const int status = child->stop(); status != 0) {
      desc.notes.push_back(fmt::format("the {} (pid {}) ended with status {} - see --server-log", what, pid, status));
      child_failed = true;
    }
  }

  std::vector<row_result> results;
  results.reserve(rows.size());
  for (auto& r : rows) {
    if (!r.result.rounds.empty()) results.push_back(std::move(r.result));
  }
  if (opt.json) {
    print_json(std::cout, desc, results, memory);
  } else {
    print_table(std::cout, desc, results, memory);
  }
  // Timings never fail the run; a server that crashed does.
  return child_failed ? 3 : 0;
}

}  // namespace
}  // namespace daemoneye::bench

int main(int argc, char** argv) {
  using namespace daemoneye;
  const auto opt = bench::parse_options(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  (void)ipc::configure_logging("text", "warn");
  try {
    return bench::run(opt);
  } catch (const std::exception& e) {
    std::cerr << "daemoneye-bench: " << e.what() << "\n";
    return 1;
  }
}
