// The soak's well-behaved client: blocking round trips, checked answers, latencies.
#include "well_behaved_client.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

namespace daemoneye::soak {
namespace {

constexpr std::size_t max_failure_details = 10;

std::chrono::microseconds percentile(std::vector<std::chrono::microseconds> v, double p) {
  if (v.empty()) return std::chrono::microseconds(0);
  const auto k = static_cast<std::size_t>(std::lround(p * static_cast<double>(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

bool has_pid(const ipc::DetectionResult& r, std::uint32_t pid) {
  return std::any_of(r.processes().begin(), r.processes().end(), [pid](const auto& p) { return p.pid() == pid; });
}

}  // namespace

ipc::ipc_config client_config(const soak_options& opts) {
  ipc::ipc_config cfg;
  cfg.endpoint_path = opts.endpoint;
  cfg.max_frame_bytes = opts.max_frame_bytes;
  const auto ms = static_cast<std::uint32_t>(opts.client_timeout.count());
  cfg.accept_timeout_ms = ms;
  cfg.read_timeout_ms = ms;
  cfg.write_timeout_ms = ms;
  return cfg;
}

well_behaved_client::well_behaved_client(const soak_options& opts) : opts_(opts), client_(client_config(opts)) {}

ipc::result<void> well_behaved_client::connect() {
  auto task = ipc::tasks::new_builtin_task("soak-wb-hello", ipc::health_check_metadata);
  auto r = client_.send_task(task);
  if (!r) return ipc::fail(std::move(r).error());
  if (auto problem = check_answer(task, *r); !problem.empty()) {
    return ipc::fail(ipc::errc::invalid_config, fmt::format("first health_check: {}", problem));
  }
  return {};
}

std::string well_behaved_client::check_answer(const ipc::DetectionTask& task, const ipc::DetectionResult& r) const {
  if (r.task_id() != task.task_id()) {
    return fmt::format("answer to {} carries task_id '{}'", task.task_id(), r.task_id());
  }
  if (!r.success()) {
    return fmt::format("task {} failed: {} ({})", task.task_id(), wire::ErrorCode_Name(r.error_code()),
                       r.error_message());
  }
  if (task.metadata() == ipc::health_check_metadata) {
    if (!r.has_health()) return fmt::format("health_check {} answered without health", task.task_id());
    const auto& h = r.health();
    if (h.max_connections() != opts_.max_connections) {
      return fmt::format("server reports max_connections {}, the soak was told {} (--max-connections)",
                         h.max_connections(), opts_.max_connections);
    }
    if (h.active_connections() > h.max_connections()) {
      return fmt::format("health reports {} active connections above max_connections {}", h.active_connections(),
                         h.max_connections());
    }
    if (h.codec() != "framed" || h.crc32_variant() != "castagnoli") {
      return fmt::format("server speaks {}/{}; the soak speaks framed/castagnoli only", h.codec(), h.crc32_variant());
    }
    return {};
  }
  const auto server = static_cast<std::uint32_t>(opts_.server_pid);
  const auto self = static_cast<std::uint32_t>(::getpid());
  if (task.has_process_filter()) {
    const auto& pids = task.process_filter().pids();
    for (const auto& p : r.processes()) {
      if (std::find(pids.begin(), pids.end(), p.pid()) == pids.end()) {
        return fmt::format("task {} filtered on pids but returned pid {}", task.task_id(), p.pid());
      }
    }
  }
  if (!has_pid(r, server) || !has_pid(r, self)) {
    return fmt::format("task {}: enumeration of {} processes misses procmond ({}) or the soak ({})", task.task_id(),
                       r.processes_size(), server, self);
  }
  return {};
}

void well_behaved_client::fail(std::string detail, bool timeout) {
  ++failures_;
  if (timeout) ++timeouts_;
  if (failure_details_.size() < max_failure_details) failure_details_.push_back(std::move(detail));
}

void well_behaved_client::run(const std::stop_token& stop) {
  const auto server = static_cast<std::uint32_t>(opts_.server_pid);
  const auto self = static_cast<std::uint32_t>(::getpid());
  for (std::uint64_t i = 0; !stop.stop_requested(); ++i) {
    const auto id = fmt::format("soak-wb-{}", i);
    ipc::DetectionTask task;
    if (i % 2 == 0) {
      task = ipc::tasks::new_builtin_task(id, ipc::health_check_metadata);
    } else {
      task = ipc::tasks::new_test_task(id, wire::ENUMERATE_PROCESSES);
      // Mostly the cheap filtered form; now and then a full enumeration.
      if (i % 32 != 1) {
        task.mutable_process_filter()->add_pids(server);
        task.mutable_process_filter()->add_pids(self);
      }
    }
    ++tasks_;
    const auto start = std::chrono::steady_clock::now();
    auto r = client_.send_task(task);
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    if (!r) {
      fail(fmt::format("task {} after {} ms: {}", id, took.count() / 1000, r.error().message()),
           r.error().is(ipc::errc::timeout));
      continue;
    }
    latencies_.push_back(took);
    if (auto problem = check_answer(task, *r); !problem.empty()) fail(std::move(problem), false);
    if (took > opts_.client_timeout) fail(fmt::format("task {} took {} ms", id, took.count() / 1000), true);
    if (opts_.client_interval.count() > 0) std::this_thread::sleep_for(opts_.client_interval);
  }
}

client_report well_behaved_client::report() const {
  client_report rep;
  rep.tasks = tasks_;
  rep.failures = failures_;
  rep.timeouts = timeouts_;
  rep.p50 = percentile(latencies_, 0.50);
  rep.p99 = percentile(latencies_, 0.99);
  rep.max = latencies_.empty() ? std::chrono::microseconds(0) : *std::max_element(latencies_.begin(), latencies_.end());
  rep.failure_details = failure_details_;
  return rep;
}

}  // namespace daemoneye::soak
