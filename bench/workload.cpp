// Deterministic, realistic benchmark messages; see workload.hpp.
#include "workload.hpp"

#include <array>
#include <cstdint>

#include <fmt/format.h>

namespace daemoneye::bench::workload {
namespace {

constexpr std::string_view empty_metadata = "bench.empty";
constexpr std::string_view records_metadata = "bench.records";
constexpr std::string_view echo_prefix = "bench.echo:";
constexpr std::string_view enumerate_metadata = "bench.enumerate";

/// splitmix64: a small deterministic generator, so every run sends the same bytes.
class generator {
 public:
  explicit generator(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
  }
  std::size_t below(std::size_t n) noexcept { return static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t state_;
};

struct program {
  std::string_view name;
  std::string_view exe;
  std::array<std::string_view, 4> args;  // argv[1..]; empty entries are left out
};

// What a server's process table holds: daemons, shells, runtimes, workers.
constexpr std::array<program, 16> programs{{
    {"systemd", "/usr/lib/systemd/systemd", {"--system", "--deserialize", "31", ""}},
    {"sshd", "/usr/sbin/sshd", {"-D", "-o", "AuthorizedKeysCommand=/usr/bin/sss_ssh_authorizedkeys", ""}},
    {"bash", "/usr/bin/bash", {"--login", "-i", "", ""}},
    {"postgres",
     "/usr/lib/postgresql/15/bin/postgres",
     {"-D", "/var/lib/postgresql/15/main", "-c", "config_file=/etc/postgresql/15/main/postgresql.conf"}},
    {"nginx", "/usr/sbin/nginx", {"-g", "daemon on; master_process on;", "", ""}},
    {"python3", "/usr/bin/python3.11", {"-m", "gunicorn", "--workers=4", "app.wsgi:application"}},
    {"containerd", "/usr/bin/containerd", {"--config", "/etc/containerd/config.toml", "", ""}},
    {"dockerd", "/usr/bin/dockerd", {"-H", "fd://", "--containerd=/run/containerd/containerd.sock", ""}},
    {"node", "/usr/local/bin/node", {"--max-old-space-size=4096", "/srv/api/dist/server.js", "--port", "8080"}},
    {"java", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", {"-Xmx2g", "-jar", "/opt/app/service.jar", ""}},
    {"rsyslogd", "/usr/sbin/rsyslogd", {"-n", "-iNONE", "", ""}},
    {"cron", "/usr/sbin/cron", {"-f", "-P", "", ""}},
    {"dbus-daemon", "/usr/bin/dbus-daemon", {"--system", "--address=systemd:", "--nofork", "--nopidfile"}},
    {"kubelet",
     "/usr/bin/kubelet",
     {"--config=/var/lib/kubelet/config.yaml", "--container-runtime-endpoint", "unix:///run/containerd/containerd.sock",
      ""}},
    {"redis-server", "/usr/bin/redis-server", {"127.0.0.1:6379", "--supervised", "systemd", ""}},
    {"php-fpm8.2", "/usr/sbin/php-fpm8.2", {"--nodaemonize", "--fpm-config", "/etc/php/8.2/fpm/php-fpm.conf", ""}},
}};

std::string hex_digest(generator& gen) {
  std::string out;
  out.reserve(64);
  for (int i = 0; i < 4; ++i) out += fmt::format("{:016x}", gen.next());
  return out;
}

}  // namespace

std::string_view to_string(kind k) noexcept {
  switch (k) {
    case kind::empty: return "empty";
    case kind::records: return "records";
    case kind::echo: return "echo";
    case kind::enumerate: return "enumerate";
  }
  return "?";
}

std::vector<ProcessRecord> records(std::size_t count) {
  generator gen(0xDAE0E7EULL);
  const std::int64_t now_ms = 1'700'000'000'000LL;
  std::vector<ProcessRecord> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& prog = programs[gen.below(programs.size())];
    ProcessRecord r;
    r.set_pid(static_cast<std::uint32_t>(300 + i * 7 + gen.below(7)));
    r.set_ppid(i == 0 ? 0U : static_cast<std::uint32_t>(1 + gen.below(300 + i * 7)));
    r.set_name(std::string(prog.name));
    r.set_executable_path(std::string(prog.exe));
    r.add_command_line(std::string(prog.exe));
    for (const auto arg : prog.args) {
      if (!arg.empty()) r.add_command_line(std::string(arg));
    }
    r.set_start_time(now_ms - static_cast<std::int64_t>(gen.below(86'400'000)));
    r.set_cpu_usage(static_cast<double>(gen.below(10'000)) / 100.0);
    r.set_memory_usage(static_cast<std::uint64_t>(4096U) * (256U + gen.below(500'000)));
    r.set_executable_hash(hex_digest(gen));
    r.set_hash_algorithm("sha256");
    r.set_user_id(std::to_string(gen.below(4) == 0 ? 0 : 1000 + gen.below(3)));
    r.set_accessible(true);
    r.set_file_exists(true);
    r.set_collection_time(now_ms);
    out.push_back(std::move(r));
  }
  return out;
}

DetectionResult records_result(std::string task_id, std::size_t count) {
  return ipc::results::success(std::move(task_id), records(count));
}

DetectionTask task_for(kind k, std::string task_id) {
  switch (k) {
    case kind::empty:
      return ipc::tasks::new_test_task(std::move(task_id), wire::ENUMERATE_PROCESSES, std::string(empty_metadata));
    case kind::records:
      return ipc::tasks::new_test_task(std::move(task_id), wire::ENUMERATE_PROCESSES, std::string(records_metadata));
    case kind::echo: {
      std::string padding(echo_prefix);
      padding.resize(large_payload_bytes, 'x');
      return ipc::tasks::new_test_task(std::move(task_id), wire::COLLECT_PERFORMANCE_METRICS, std::move(padding));
    }
    case kind::enumerate:
      return ipc::tasks::new_test_task(std::move(task_id), wire::ENUMERATE_PROCESSES, std::string(enumerate_metadata));
  }
  return {};
}

kind kind_of(const DetectionTask& task) noexcept {
  const std::string_view meta = task.metadata();
  if (meta == records_metadata) return kind::records;
  if (meta == enumerate_metadata) return kind::enumerate;
  if (meta.starts_with(echo_prefix)) return kind::echo;
  return kind::empty;
}

DetectionResult answer(const DetectionTask& task, const DetectionResult& prebuilt) {
  switch (kind_of(task)) {
    case kind::records: {
      DetectionResult r = prebuilt;
      r.set_task_id(task.task_id());
      return r;
    }
    case kind::echo: {
      auto r = ipc::results::success(task.task_id());
      r.set_metrics_text(task.metadata());
      return r;
    }
    case kind::empty:
    case kind::enumerate: break;
  }
  return ipc::results::success(task.task_id());
}

DetectionResult answer(DetectionTask&& task, const DetectionResult& prebuilt) {
  if (kind_of(task) != kind::echo) return answer(static_cast<const DetectionTask&>(task), prebuilt);
  auto r = ipc::results::success(std::move(*task.mutable_task_id()));
  r.set_metrics_text(std::move(*task.mutable_metadata()));
  return r;
}

void answer_into(const DetectionTask& task, const DetectionResult& prebuilt, DetectionResult& out) {
  switch (kind_of(task)) {
    case kind::records: out.CopyFrom(prebuilt); break;
    case kind::echo: out.set_metrics_text(task.metadata()); break;
    case kind::empty:
    case kind::enumerate: break;
  }
  out.set_task_id(task.task_id());
  out.set_success(true);
}

std::size_t frame_bytes(const google::protobuf::MessageLite& message) {
  return ipc::framed_header_size + message.ByteSizeLong();
}

}  // namespace daemoneye::bench::workload
