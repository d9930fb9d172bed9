// client_metrics: a resilient_client's per-endpoint counters, breaker state
// and latency histogram as Prometheus metrics, read from its stats() when
// scraped, so the call path pays nothing for them.
//
//   auto metrics = std::make_shared<client_metrics>(client);
//   registry->Register(metrics);            // or exposer.RegisterCollectable(metrics)
//   std::cout << metrics->text();
#pragma once

#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "daemoneye/ipc/resilient_client.hpp"

namespace daemoneye::ipc {

/// Thread safety: Collect() and text() may run concurrently with the
/// client's calls. Lifetime: `client` must outlive this object.
class client_metrics final : public prometheus::Collectable {
 public:
  explicit client_metrics(const resilient_client& client) : client_(client) {}

  /// Families, each with one series per endpoint (label `endpoint` = its id):
  /// daemoneye_client_tasks_total{result=sent|completed|failed},
  /// daemoneye_client_bytes_total{direction}, daemoneye_client_connection_attempts_total,
  /// daemoneye_client_connection_failures_total, daemoneye_client_breaker_state
  /// (0 closed, 1 open, 2 half-open), daemoneye_client_breaker_transitions_total,
  /// daemoneye_client_breaker_rejected_total, daemoneye_client_health_score and
  /// daemoneye_client_task_duration_seconds.
  std::vector<prometheus::MetricFamily> Collect() const override;

  /// Collect() in the Prometheus text format.
  [[nodiscard]] std::string text() const;

 private:
  const resilient_client& client_;
};

}  // namespace daemoneye::ipc
