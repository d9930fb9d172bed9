// The benchmark server child; see echo_server.hpp.
#include "echo_server.hpp"

#include <memory>

#include <asio/awaitable.hpp>
#include <fcntl.h>
#include <unistd.h>

#include "daemoneye/ipc/logging.hpp"
#include "daemoneye/ipc/server.hpp"

#if DAEMONEYE_BENCH_WITH_PROCMOND
#include "procmond/collector_service.hpp"
#include "procmond/process_collector.hpp"
#endif

#include "workload.hpp"

namespace daemoneye::bench {
namespace {

#if DAEMONEYE_BENCH_WITH_PROCMOND
using collector = procmond::collector_service;
#else
/// Stand-in when procmond_core is not built: the enumerate workload is never sent.
struct collector {
  ipc::DetectionResult handle(const ipc::DetectionTask& task) { return ipc::results::success(task.task_id()); }
};
#endif

/// The answer, shared by both handler kinds. `service` may be null.
ipc::DetectionResult answer_sync(const ipc::DetectionTask& task, const ipc::DetectionResult& prebuilt,
                                 collector* service) {
  if (service != nullptr && workload::kind_of(task) == workload::kind::enumerate) return service->handle(task);
  return workload::answer(task, prebuilt);
}

asio::awaitable<ipc::DetectionResult> answer_async(ipc::DetectionTask task, const ipc::DetectionResult* prebuilt,
                                                   collector* service) {
  // A real collection would block an I/O thread here; only the enumerate row does that.
  if (service != nullptr && workload::kind_of(task) == workload::kind::enumerate) co_return service->handle(task);
  co_return workload::answer(std::move(task), *prebuilt);
}

/// The same answer written into `out`, shared by both in-place handler kinds.
void answer_sync_into(const ipc::DetectionTask& task, const ipc::DetectionResult& prebuilt, ipc::DetectionResult& out,
                      collector* service) {
  if (service != nullptr && workload::kind_of(task) == workload::kind::enumerate) {
    out = service->handle(task);
  } else {
    workload::answer_into(task, prebuilt, out);
  }
}

asio::awaitable<void> answer_async_into(const ipc::DetectionTask& task, ipc::DetectionResult& out,
                                        const ipc::DetectionResult* prebuilt, collector* service) {
  answer_sync_into(task, *prebuilt, out, service);
  co_return;
}

std::unique_ptr<collector> make_collector() {
#if DAEMONEYE_BENCH_WITH_PROCMOND
  auto platform = procmond::make_platform_collector();
  if (!platform) return nullptr;
  return std::make_unique<collector>(std::move(*platform));
#else
  return nullptr;
#endif
}

}  // namespace

ipc::ipc_config bench_client_config(const std::string& endpoint, std::size_t max_frame_bytes) {
  ipc::ipc_config cfg;
  cfg.endpoint_path = endpoint;
  cfg.max_frame_bytes = max_frame_bytes;
  return cfg;
}

ipc::result<ipc::ipc_config> bench_server_config(const echo_server_options& options) {
  auto cfg = bench_client_config(options.endpoint, options.max_frame_bytes);
  cfg.max_connections = 64;
  cfg.threads = options.threads;
  for (const auto& [key, value] : options.settings) {
    if (auto ok = ipc::apply_setting(cfg, key, value, "--server-config"); !ok) return ipc::fail(std::move(ok).error());
  }
  if (auto ok = ipc::validate(cfg); !ok) return ipc::fail(std::move(ok).error());
  return cfg;
}

bool echo_server_has_collector() noexcept { return DAEMONEYE_BENCH_WITH_PROCMOND != 0; }

int run_echo_server(const echo_server_options& options, child_channel& channel) {
  // The server logs at procmond's default level, but not into the report.
  const int log_fd = ::open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    channel.failed("cannot open the server log " + options.log_path);
    return 1;
  }
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
  ::close(log_fd);
  if (auto ok = ipc::configure_logging("text", options.log_level); !ok) {
    channel.failed(ok.error().message());
    return 1;
  }

  auto config = bench_server_config(options);
  if (!config) {
    channel.failed(config.error().message());
    return 1;
  }
  // Built once; the handler returns a copy (it must return a value).
  const auto prebuilt = workload::records_result({}, workload::records_per_result);
  const auto service = make_collector();

  ipc::interprocess_server server(std::move(*config));
  const auto execution =
      options.inline_handler ? ipc::handler_execution::inline_on_io_thread : ipc::handler_execution::blocking_pool;
  if (options.sync_handler && options.in_place) {
    server.set_handler(ipc::interprocess_server::in_place_handler(
                           [&prebuilt, svc = service.get()](const ipc::DetectionTask& task, ipc::DetectionResult& out) {
                             answer_sync_into(task, prebuilt, out, svc);
                           }),
                       execution);
  } else if (options.sync_handler) {
    server.set_handler(
        ipc::interprocess_server::sync_handler([&prebuilt, svc = service.get()](const ipc::DetectionTask& task) {
          return answer_sync(task, prebuilt, svc);
        }),
        execution);
  } else if (options.in_place) {
    server.set_handler(ipc::interprocess_server::async_in_place_handler(
        [&prebuilt, svc = service.get()](const ipc::DetectionTask& task, ipc::DetectionResult& out) {
          return answer_async_into(task, out, &prebuilt, svc);
        }));
  } else {
    server.set_handler(
        ipc::interprocess_server::async_handler([&prebuilt, svc = service.get()](ipc::DetectionTask task) {
          return answer_async(std::move(task), &prebuilt, svc);
        }));
  }
  if (auto ok = server.start(); !ok) {
    channel.failed(ok.error().message());
    return 1;
  }
  channel.ready();
  channel.wait_for_release();
  server.stop();
  return 0;
}

}  // namespace daemoneye::bench
