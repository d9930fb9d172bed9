// Prometheus metrics of a server (and, through client_metrics, of a client),
// kept in a prometheus-cpp registry. The server reports events through the
// server_observer interface; text() renders the exposition format served by
// the built-in `metrics` answer and by an optional HTTP endpoint.
//
//   auto metrics = std::make_shared<server_metrics>();
//   server.set_observer(metrics.get());
//   server.set_metrics_provider([metrics] { return metrics->text(); });
#pragma once

#include <array>
#include <memory>
#include <string>

#include "daemoneye/ipc/server.hpp"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace daemoneye::ipc {

/// Renders every metric of `registry` in the Prometheus text format.
std::string render_prometheus_text(const prometheus::Registry& registry);

/// Thread safety: all members are safe to call concurrently.
class server_metrics final : public server_observer {
 public:
  /// Registers the metrics in `registry` (a fresh one when null).
  explicit server_metrics(std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~server_metrics() override;
  server_metrics(const server_metrics&) = delete;
  server_metrics& operator=(const server_metrics&) = delete;

  void connection_opened() override;
  void connection_closed(std::string_view reason) override;
  void connection_rejected(std::string_view reason) override;
  void frame_rejected(std::string_view reason) override;
  void task_answered(int task_type, std::string_view outcome, std::chrono::nanoseconds latency) override;
  void bytes_transferred(std::uint64_t in, std::uint64_t out) override;

  [[nodiscard]] std::string text() const;
  [[nodiscard]] const std::shared_ptr<prometheus::Registry>& registry() const noexcept { return registry_; }

 private:
  static constexpr std::size_t task_types = 9;  // the seven TaskTypes, "BUILTIN" and "UNKNOWN"
  static constexpr std::size_t outcomes = 14;   // "success" and ErrorCode 0..12

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* active_;
  prometheus::Counter* accepted_;
  prometheus::Family<prometheus::Counter>* closed_;
  prometheus::Family<prometheus::Counter>* rejected_;
  prometheus::Family<prometheus::Counter>* frames_rejected_;
  prometheus::Counter* bytes_in_;
  prometheus::Counter* bytes_out_;
  prometheus::Histogram* latency_;
  // Pre-created so answering a task costs no label lookup.
  std::array<std::array<prometheus::Counter*, outcomes>, task_types> tasks_{};
};

}  // namespace daemoneye::ipc
