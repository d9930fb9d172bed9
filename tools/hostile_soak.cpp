// daemoneye-soak: a hostile-client soak of a running procmond. For a bounded
// time many threads misbehave at once (garbage, huge and zero lengths, CRC
// flips, truncated frames, silent connections, unread pipelines, connect
// storms, bursts far over max_connections) while one well-behaved client must
// keep getting correct answers in time. Every hostile outcome is checked
// against PROTOCOL.md section 5; afterwards procmond's descriptors and RSS must
// be back within bounds. Exit status: 0 pass, 1 a check failed, 2 usage/setup.
//
//   daemoneye-soak --endpoint /run/user/1000/daemoneye/procmond.sock --pid 4242
//       --max-connections 16 --read-timeout-ms 1000 --write-timeout-ms 2000 --seconds 20
#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <random>
#include <stop_token>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <sys/resource.h>
#if __has_include(<google/protobuf/stubs/logging.h>)
#include <google/protobuf/stubs/logging.h>
#define DAEMONEYE_SOAK_PROTOBUF_LOG_HANDLER 1
#endif

#include "daemoneye/ipc/blocking_client.hpp"

#include "soak/hostile_cases.hpp"
#include "soak/outcome_table.hpp"
#include "soak/process_probe.hpp"
#include "soak/raw_connection.hpp"
#include "soak/soak_options.hpp"
#include "soak/well_behaved_client.hpp"

namespace {

using namespace daemoneye;
using namespace daemoneye::soak;
using std::chrono::milliseconds;

/// Bursts of 10 x max_connections sockets per worker need more than the usual 1024.
void raise_descriptor_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

double mib(std::uint64_t kib) { return static_cast<double>(kib) / 1024.0; }

double ms(std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; }

/// Makes the server create what it creates lazily, once, on first use (the
/// reactor of each I/O thread, the handler pool: a few descriptors that are no
/// leak), then waits until its descriptor count is steady, so the baseline is a
/// warm server's. Several connections at once, so that every I/O thread gets one.
void warm_up(const soak_options& opts) {
  const std::size_t k = std::clamp<std::size_t>(opts.max_connections - 1, 1, 8);
  std::vector<raw_connection> conns(k);
  const auto deadline = clock::now() + opts.answer_timeout;
  for (std::size_t i = 0; i < k; ++i) {
    if (raw_connection::connect(opts.endpoint, opts.max_frame_bytes, conns[i]) != connect_status::connected) continue;
    ipc::byte_buffer out;
    auto enumerate = ipc::tasks::new_test_task(fmt::format("soak-warm-{}", i), wire::ENUMERATE_PROCESSES);
    enumerate.mutable_process_filter()->add_pids(static_cast<std::uint32_t>(opts.server_pid));
    (void)ipc::append_frame(ipc::codec_options{.max_frame_bytes = opts.max_frame_bytes}, enumerate, out);
    (void)conns[i].send_all(out.span(), deadline);
  }
  for (auto& c : conns) {
    if (c.is_open()) (void)c.next_event(deadline);
  }
  conns.clear();
  // Steady: the same count for 250 ms (the server closes our connections on EOF).
  std::optional<std::size_t> last;
  int same = 0;
  const auto settle_deadline = clock::now() + opts.answer_timeout;
  while (same < 5 && clock::now() < settle_deadline) {
    std::this_thread::sleep_for(milliseconds(50));
    const auto s = sample_process(opts.server_pid);
    if (!s) return;
    same = last && *last == s->open_fds ? same + 1 : 0;
    last = s->open_fds;
  }
}

/// Polls procmond's descriptor count until it is back to the baseline, or
/// within the slack of it and no longer falling, or the deadline passes.
/// Returns the last sample.
std::optional<process_sample> wait_for_fds(const soak_options& opts, const process_sample& baseline,
                                           clock::time_point deadline) {
  std::optional<clock::time_point> within_slack_since;
  while (true) {
    auto s = sample_process(opts.server_pid);
    if (!s || s->open_fds <= baseline.open_fds || clock::now() >= deadline) return s;
    if (s->open_fds <= baseline.open_fds + opts.fd_slack) {
      if (!within_slack_since) within_slack_since = clock::now();
      if (clock::now() - *within_slack_since >= milliseconds(500)) return s;
    } else {
      within_slack_since.reset();
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed peer is an error value, never a signal
#ifdef DAEMONEYE_SOAK_PROTOBUF_LOG_HANDLER
  // Predicting the server's answer to garbage decodes garbage here too; protobuf's
  // complaints about it (invalid UTF-8 in a string field) are expected, not news.
  google::protobuf::SetLogHandler(nullptr);
#endif
  auto parsed = parse_soak_options(argc, argv);
  if (!parsed) return parsed.error().exit_code;
  const soak_options opts = std::move(*parsed);
  raise_descriptor_limit();

  if (!process_alive(opts.server_pid)) {
    std::cerr << fmt::format("daemoneye-soak: no live process {} (--pid)\n", opts.server_pid);
    return 2;
  }
  warm_up(opts);
  const auto before = sample_process(opts.server_pid);
  if (!before) {
    std::cerr << fmt::format("daemoneye-soak: cannot read /proc/{}/status and fd - run as procmond's user\n",
                             opts.server_pid);
    return 2;
  }

  // The control client takes its slot before anyone else.
  well_behaved_client control(opts);
  if (auto ok = control.connect(); !ok) {
    std::cerr << fmt::format("daemoneye-soak: the well-behaved client cannot start: {}\n", ok.error().message());
    return 2;
  }

  std::cout << fmt::format(
      "daemoneye-soak: {} s against {} (procmond pid {}), seed {}\n"
      "  server: max_connections {}, max_frame_bytes {}, read_timeout {} ms, write_timeout {} ms\n"
      "  {} hostile cases x {} workers, answer timeout {} ms, grace {} ms\n",
      opts.duration.count(), opts.endpoint, opts.server_pid, opts.seed, opts.max_connections, opts.max_frame_bytes,
      opts.read_timeout.count(), opts.write_timeout.count(), hostile_cases().size(), opts.workers_per_case,
      opts.answer_timeout.count(), opts.grace.count());
  std::cout.flush();

  outcome_table table;
  const auto started = clock::now();
  const case_context ctx{opts, table, started + opts.duration};
  std::atomic<bool> server_died{false};

  std::jthread control_thread([&control](const std::stop_token& st) { control.run(st); });
  std::vector<std::jthread> workers;
  std::uint64_t index = 0;
  for (const auto& c : hostile_cases()) {
    for (std::uint32_t w = 0; w < opts.workers_per_case; ++w, ++index) {
      workers.emplace_back([&ctx, &server_died, &c, seed = opts.seed + index * 1000003U] {
        std::mt19937_64 rng(seed);
        while (clock::now() < ctx.soak_end && !server_died.load()) c.run_once(ctx, rng);
      });
    }
  }

  // Watch the server while the soak runs.
  auto next_progress = started + std::chrono::seconds(5);
  while (clock::now() < ctx.soak_end) {
    if (!process_alive(opts.server_pid)) {
      server_died = true;
      break;
    }
    if (clock::now() >= next_progress) {
      std::cerr << fmt::format("daemoneye-soak: {} s, {} contradictions so far\n",
                               std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started).count(),
                               table.violations());
      next_progress += std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  // Iterations in progress finish (each is bounded) while the control client keeps going.
  workers.clear();
  control_thread.request_stop();
  control_thread.join();
  control.close();
  const auto soaked = clock::now() - started;
  if (!process_alive(opts.server_pid)) server_died = true;

  // Our connections are closed; the server's must follow within its timeouts.
  std::optional<process_sample> after;
  auto settle_started = clock::now();
  if (!server_died) {
    after = wait_for_fds(opts, *before, clock::now() + opts.read_timeout + opts.write_timeout + opts.grace);
  }
  const auto settled_ms = std::chrono::duration_cast<milliseconds>(clock::now() - settle_started).count();
  if (!after || !process_alive(opts.server_pid)) server_died = true;

  // Still answering a newcomer?
  std::string final_check = "not run (procmond died)";
  bool final_ok = false;
  if (!server_died) {
    ipc::blocking_client fresh(client_config(opts));
    auto r = fresh.send_task(ipc::tasks::new_builtin_task("soak-final", ipc::health_check_metadata));
    final_ok = r && r->success() && r->task_id() == "soak-final" && r->has_health();
    final_check = final_ok ? fmt::format("ok (tasks_served {}, active_connections {})", r->health().tasks_served(),
                                         r->health().active_connections())
                           : (r ? "wrong answer: " + r->DebugString() : "failed: " + r.error().message());
  }

  // ---- report ----
  std::cout << fmt::format("\nhostile outcomes ({:.1f} s including iterations in progress at the end):\n",
                           std::chrono::duration<double>(soaked).count());
  table.print(std::cout);

  const auto rep = control.report();
  std::cout << fmt::format(
      "\nwell-behaved client: {} tasks, {} failures ({} timeouts); latency p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} "
      "ms (timeout {} ms)\n",
      rep.tasks, rep.failures, rep.timeouts, ms(rep.p50), ms(rep.p99), ms(rep.max), opts.client_timeout.count());
  for (const auto& d : rep.failure_details) std::cout << "  " << d << '\n';

  std::vector<std::string> failed;
  std::cout << fmt::format("\nprocmond pid {}: {}\n", opts.server_pid, server_died ? "DIED" : "alive");
  if (server_died) failed.emplace_back("procmond died");
  if (after) {
    const bool fds_ok = after->open_fds <= before->open_fds + opts.fd_slack;
    const auto growth = after->rss_kib > before->rss_kib ? after->rss_kib - before->rss_kib : 0;
    const bool rss_ok = growth <= opts.max_rss_growth_mib * 1024;
    std::cout << fmt::format("  open fds: before {}, after {} (slack {}; waited {} ms): {}\n", before->open_fds,
                             after->open_fds, opts.fd_slack, settled_ms, fds_ok ? "ok" : "NOT BACK TO BASELINE");
    std::cout << fmt::format("  VmRSS:    before {:.1f} MiB, after {:.1f} MiB, growth {:.1f} MiB (bound {} MiB): {}\n",
                             mib(before->rss_kib), mib(after->rss_kib), mib(growth), opts.max_rss_growth_mib,
                             rss_ok ? "ok" : "EXCEEDED");
    if (!fds_ok) failed.emplace_back("descriptors not back to baseline");
    if (!rss_ok) failed.emplace_back("RSS growth above bound");
  }
  std::cout << "  final health_check from a new connection: " << final_check << '\n';
  if (!server_died && !final_ok) failed.emplace_back("final health_check failed");
  if (rep.failures > 0) failed.emplace_back("well-behaved client failures");
  if (table.violations() > 0) failed.emplace_back(fmt::format("{} outcomes contradict section 5", table.violations()));

  if (failed.empty()) {
    std::cout << "\nverdict: PASS\n";
    return 0;
  }
  std::string why;
  for (const auto& f : failed) why += (why.empty() ? "" : "; ") + f;
  std::cout << "\nverdict: FAIL - " << why << '\n';
  return 1;
}
