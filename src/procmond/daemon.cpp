// procmond's life cycle: start serving, react to signals, drain on the way out.
#include "procmond/daemon.hpp"

#include <csignal>
#include <memory>
#include <sstream>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "daemoneye/ipc/logging.hpp"
#include "daemoneye/ipc/metrics.hpp"
#include "daemoneye/ipc/server.hpp"

#include "procmond/collector_service.hpp"

namespace daemoneye::procmond {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// "key: old -> new" for every setting that differs, in file order.
std::vector<std::string> changed_settings(const ipc::ipc_config& before, const ipc::ipc_config& after) {
  const auto a = lines_of(ipc::to_yaml(before));
  const auto b = lines_of(ipc::to_yaml(after));
  std::vector<std::string> changes;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] != b[i]) changes.push_back(fmt::format("'{}' -> '{}'", a[i], b[i]));
  }
  return changes;
}

}  // namespace

daemon::daemon(daemon_sources sources, daemon_settings settings)
    : sources_(std::move(sources)), settings_(std::move(settings)) {}

int daemon::run() {
  auto collector = make_platform_collector();
  if (!collector) {
    spdlog::error("{}", collector.error().message());
    return 1;
  }
  collector_service service(std::move(*collector), {.hash_executables = settings_.hash_executables});

  auto registry = std::make_shared<prometheus::Registry>();
  ipc::server_metrics metrics(registry);
  auto& hashed = prometheus::BuildGauge()
                     .Name("procmond_executables_hashed")
                     .Help("Executables hashed since start (cache misses)")
                     .Register(*registry)
                     .Add({});

  ipc::interprocess_server server(settings_.ipc);
  server.set_handler([&service](const ipc::DetectionTask& task) { return service.handle(task); });
  server.set_capabilities(service.capabilities());
  server.set_observer(&metrics);
  server.set_metrics_provider([&metrics, &hashed, &service] {
    hashed.Set(static_cast<double>(service.hash_computations()));
    return metrics.text();
  });
  spdlog::info("procmond {} starting: collector {}, codec {}, crc32 {}, max_connections {}", ipc::library_version(),
               service.collector_name(), to_string(settings_.ipc.codec), to_string(settings_.ipc.crc_variant),
               settings_.ipc.max_connections);
  // Signals are caught from before the socket exists: whoever sees "listening
  // on" may send SIGTERM at once and must get a graceful shutdown.
  asio::io_context signals_io(1);
  asio::signal_set signals(signals_io, SIGTERM, SIGINT, SIGHUP);
  if (auto ok = server.start(); !ok) {
    spdlog::error("cannot start: {}", ok.error().message());
    return 1;
  }

  std::unique_ptr<prometheus::Exposer> exposer;
  if (!settings_.metrics_listen.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(settings_.metrics_listen, 1);
      exposer->RegisterCollectable(registry);
      // Port 0 asks the system for a free port; log the one actually bound.
      const auto ports = exposer->GetListeningPorts();
      const auto host = settings_.metrics_listen.substr(0, settings_.metrics_listen.rfind(':'));
      spdlog::info("metrics on http://{}:{}/metrics", host, ports.empty() ? 0 : ports.front());
    } catch (const std::exception& e) {
      spdlog::error("cannot serve metrics on {}: {}", settings_.metrics_listen, e.what());
      server.stop();
      return 1;
    }
  }

  server_ = &server;
  std::function<void(std::error_code, int)> on_signal = [&](std::error_code ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      spdlog::info("received SIGHUP: reloading the configuration");
      reload();
      signals.async_wait(on_signal);
      return;
    }
    spdlog::info("received {}: shutting down (draining up to {} ms)", signo == SIGTERM ? "SIGTERM" : "SIGINT",
                 settings_.drain_timeout_ms);
    server.graceful_shutdown(std::chrono::milliseconds(settings_.drain_timeout_ms));
  };
  signals.async_wait(on_signal);
  signals_io.run();
  server_ = nullptr;
  spdlog::info("procmond stopped");
  return 0;
}

void daemon::reload() {
  auto fresh = load_daemon_settings(sources_);
  if (!fresh) {
    spdlog::error("configuration reload rejected, keeping the running configuration: {}", fresh.error().message());
    return;
  }
  const auto changes = changed_settings(settings_.ipc, fresh->ipc);
  if (changes.empty()) {
    spdlog::info("configuration reloaded: no IPC setting changed");
  }
  for (const auto& change : changes) spdlog::info("configuration change for new connections: {}", change);
  if (fresh->ipc.endpoint_path != settings_.ipc.endpoint_path || fresh->ipc.threads != settings_.ipc.threads) {
    spdlog::warn("endpoint_path and threads take effect only after a restart");
  }
  if (fresh->hash_executables != settings_.hash_executables || fresh->metrics_listen != settings_.metrics_listen) {
    spdlog::warn("hash_executables and metrics_listen take effect only after a restart");
  }
  if (fresh->log_level != settings_.log_level || fresh->log_format != settings_.log_format) {
    if (auto ok = ipc::configure_logging(fresh->log_format, fresh->log_level); !ok) {
      spdlog::error("{}", ok.error().message());
    }
  }
  if (server_ != nullptr) server_->reload(fresh->ipc);
  settings_ = std::move(*fresh);
}

}  // namespace daemoneye::procmond
