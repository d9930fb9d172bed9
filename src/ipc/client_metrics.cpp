// Turning resilient_client::stats() into Prometheus metric families.
#include "daemoneye/ipc/client_metrics.hpp"

#include <sstream>

#include <prometheus/text_serializer.h>

namespace daemoneye::ipc {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric series(const endpoint_stats& e, std::vector<ClientMetric::Label> extra = {}) {
  ClientMetric m;
  m.label.push_back({"endpoint", e.id});
  for (auto& l : extra) m.label.push_back(std::move(l));
  return m;
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  return {std::move(name), std::move(help), type, {}};
}

double breaker_state_value(breaker_state s) {
  switch (s) {
    case breaker_state::closed: return 0;
    case breaker_state::open: return 1;
    case breaker_state::half_open: return 2;
  }
  return 0;
}

}  // namespace

std::vector<MetricFamily> client_metrics::Collect() const {
  auto tasks =
      family("daemoneye_client_tasks_total", "Tasks per endpoint: sent, completed or failed", MetricType::Counter);
  auto bytes = family("daemoneye_client_bytes_total", "Bytes exchanged with each endpoint", MetricType::Counter);
  auto attempts = family("daemoneye_client_connection_attempts_total", "Connection attempts", MetricType::Counter);
  auto failures =
      family("daemoneye_client_connection_failures_total", "Failed connection attempts", MetricType::Counter);
  auto state =
      family("daemoneye_client_breaker_state", "Circuit breaker: 0 closed, 1 open, 2 half-open", MetricType::Gauge);
  auto transitions =
      family("daemoneye_client_breaker_transitions_total", "Circuit breaker state changes", MetricType::Counter);
  auto rejected =
      family("daemoneye_client_breaker_rejected_total", "Calls refused by an open breaker", MetricType::Counter);
  auto health =
      family("daemoneye_client_health_score", "Weighted success rate of recent calls, 0..1", MetricType::Gauge);
  auto latency =
      family("daemoneye_client_task_duration_seconds", "Round-trip time of answered tasks", MetricType::Histogram);

  for (const auto& e : client_.stats()) {
    for (const auto& [result, value] : {std::pair{"sent", e.tasks_sent}, std::pair{"completed", e.tasks_completed},
                                        std::pair{"failed", e.tasks_failed}}) {
      auto m = series(e, {{"result", result}});
      m.counter.value = static_cast<double>(value);
      tasks.metric.push_back(std::move(m));
    }
    for (const auto& [direction, value] : {std::pair{"in", e.bytes_in}, std::pair{"out", e.bytes_out}}) {
      auto m = series(e, {{"direction", direction}});
      m.counter.value = static_cast<double>(value);
      bytes.metric.push_back(std::move(m));
    }
    auto counter = [&e](MetricFamily& f, double value) {
      auto m = series(e);
      m.counter.value = value;
      f.metric.push_back(std::move(m));
    };
    counter(attempts, static_cast<double>(e.connection_attempts));
    counter(failures, static_cast<double>(e.connection_failures));
    counter(transitions, static_cast<double>(e.breaker.transitions));
    counter(rejected, static_cast<double>(e.breaker.rejected));
    auto s = series(e);
    s.gauge.value = breaker_state_value(e.breaker.state);
    state.metric.push_back(std::move(s));
    auto h = series(e);
    h.gauge.value = e.health_score;
    health.metric.push_back(std::move(h));

    auto l = series(e);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < latency_histogram::upper_bounds.size(); ++i) {
      cumulative += e.latency.counts[i];
      l.histogram.bucket.push_back(
          {cumulative, std::chrono::duration<double>(latency_histogram::upper_bounds[i]).count()});
    }
    cumulative += e.latency.counts.back();
    l.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    l.histogram.sample_count = cumulative;
    l.histogram.sample_sum = e.latency.sum_seconds;
    latency.metric.push_back(std::move(l));
  }
  return {std::move(tasks),       std::move(bytes),    std::move(attempts), std::move(failures), std::move(state),
          std::move(transitions), std::move(rejected), std::move(health),   std::move(latency)};
}

std::string client_metrics::text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, Collect());
  return out.str();
}

}  // namespace daemoneye::ipc
