// server_metrics on prometheus-cpp: families, labels and the text exposition.
#include "daemoneye/ipc/metrics.hpp"

#include <sstream>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace daemoneye::ipc {
namespace {

std::string outcome_name(std::size_t index) {
  if (index == 0) return "success";
  return wire::ErrorCode_Name(static_cast<ErrorCode>(index - 1));
}

std::size_t outcome_index(std::string_view outcome) {
  if (outcome == "success") return 0;
  ErrorCode code{};
  if (wire::ErrorCode_Parse(std::string(outcome), &code)) return static_cast<std::size_t>(code) + 1;
  return 1;  // ERROR_UNSPECIFIED
}

}  // namespace

std::string render_prometheus_text(const prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

server_metrics::server_metrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(registry ? std::move(registry) : std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  active_ = &prometheus::BuildGauge()
                 .Name("daemoneye_ipc_connections_active")
                 .Help("Connections currently open")
                 .Register(r)
                 .Add({});
  accepted_ = &prometheus::BuildCounter()
                   .Name("daemoneye_ipc_connections_accepted_total")
                   .Help("Connections accepted and served")
                   .Register(r)
                   .Add({});
  closed_ = &prometheus::BuildCounter()
                 .Name("daemoneye_ipc_connections_closed_total")
                 .Help("Connections closed, by reason")
                 .Register(r);
  rejected_ = &prometheus::BuildCounter()
                   .Name("daemoneye_ipc_connections_rejected_total")
                   .Help("Connections refused, by reason (server_busy, uid_not_allowed)")
                   .Register(r);
  frames_rejected_ = &prometheus::BuildCounter()
                          .Name("daemoneye_ipc_frames_rejected_total")
                          .Help("Frames rejected, by reason")
                          .Register(r);
  auto& bytes = prometheus::BuildCounter().Name("daemoneye_ipc_bytes_total").Help("Bytes transferred").Register(r);
  bytes_in_ = &bytes.Add({{"direction", "in"}});
  bytes_out_ = &bytes.Add({{"direction", "out"}});
  latency_ = &prometheus::BuildHistogram()
                  .Name("daemoneye_ipc_task_duration_seconds")
                  .Help("Time from a task's arrival to its answer being queued")
                  .Register(r)
                  .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                                   0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  auto& tasks = prometheus::BuildCounter()
                    .Name("daemoneye_ipc_tasks_total")
                    .Help("Tasks answered, by task type and outcome (success or an ErrorCode)")
                    .Register(r);
  for (std::size_t t = 0; t < task_types; ++t) {
    const std::string type = t + 2 < task_types    ? wire::TaskType_Name(static_cast<TaskType>(t))
                             : t + 2 == task_types ? "BUILTIN"
                                                   : "UNKNOWN";
    for (std::size_t o = 0; o < outcomes; ++o)
      tasks_[t][o] = &tasks.Add({{"type", type}, {"outcome", outcome_name(o)}});
  }
}

server_metrics::~server_metrics() = default;

void server_metrics::connection_opened() {
  active_->Increment();
  accepted_->Increment();
}

void server_metrics::connection_closed(std::string_view reason) {
  active_->Decrement();
  // "protocol_error:crc_mismatch" counts under protocol_error; the detail is in frames_rejected.
  const auto base = reason.substr(0, reason.find(':'));
  closed_->Add({{"reason", std::string(base)}}).Increment();
}

void server_metrics::connection_rejected(std::string_view reason) {
  rejected_->Add({{"reason", std::string(reason)}}).Increment();
}

void server_metrics::frame_rejected(std::string_view reason) {
  frames_rejected_->Add({{"reason", std::string(reason)}}).Increment();
}

void server_metrics::task_answered(int task_type, std::string_view outcome, std::chrono::nanoseconds latency) {
  const std::size_t t = task_type == server_observer::builtin_task_type ? task_types - 2
                        : task_type >= 0 && static_cast<std::size_t>(task_type) + 2 < task_types
                            ? static_cast<std::size_t>(task_type)
                            : task_types - 1;
  tasks_[t][outcome_index(outcome)]->Increment();
  latency_->Observe(std::chrono::duration<double>(latency).count());
}

void server_metrics::bytes_transferred(std::uint64_t in, std::uint64_t out) {
  if (in != 0) bytes_in_->Increment(static_cast<double>(in));
  if (out != 0) bytes_out_->Increment(static_cast<double>(out));
}

std::string server_metrics::text() const { return render_prometheus_text(*registry_); }

}  // namespace daemoneye::ipc
