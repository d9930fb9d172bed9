// client_metrics: a resilient_client's counters and breaker state rendered as
// Prometheus text, against a real server that is then stopped.
#include "daemoneye/ipc/client_metrics.hpp"

#include <gtest/gtest.h>

#include "daemoneye/ipc/server.hpp"

#include "support/prometheus_text.hpp"
#include "support/temp_dir.hpp"

namespace daemoneye::ipc {
namespace {

using test::sample;

TEST(ClientMetrics, CountersAndBreakerStateFollowTheClient) {
  test::temp_dir dir;
  ipc_config cfg;
  cfg.endpoint_path = dir.endpoint("procmond.sock");
  cfg.threads = 1;
  cfg.client.max_attempts = 1;
  cfg.client.breaker_failure_threshold = 1;
  cfg.client.breaker_recovery_ms = 60000;
  auto server = std::make_unique<interprocess_server>(cfg);
  CollectionCapabilities caps;
  caps.add_supported_domains(wire::PROCESS);
  server->set_capabilities(caps);
  server->set_handler([](const DetectionTask& t) { return results::success(t.task_id()); });
  ASSERT_TRUE(server->start());

  auto client = resilient_client::create(cfg);
  ASSERT_TRUE(client) << client.error().message();
  client_metrics metrics(*client);
  for (int i = 0; i < 3; ++i) {
    auto r = client->send_task(tasks::new_test_task("t" + std::to_string(i), wire::ENUMERATE_PROCESSES));
    ASSERT_TRUE(r) << r.error().message();
  }
  auto text = metrics.text();
  EXPECT_EQ(sample(text, R"(daemoneye_client_tasks_total{endpoint="default",result="completed"})"), 3) << text;
  EXPECT_EQ(sample(text, R"(daemoneye_client_breaker_state{endpoint="default"})"), 0) << text;
  EXPECT_EQ(sample(text, R"(daemoneye_client_task_duration_seconds_count{endpoint="default"})"), 3) << text;
  EXPECT_GT(sample(text, R"(daemoneye_client_bytes_total{endpoint="default",direction="in"})"), 0) << text;

  server.reset();  // stopped: the next call fails and opens the breaker
  auto failed = client->send_task(tasks::new_test_task("after", wire::ENUMERATE_PROCESSES));
  ASSERT_FALSE(failed);
  text = metrics.text();
  EXPECT_EQ(sample(text, R"(daemoneye_client_breaker_state{endpoint="default"})"), 1) << text;
  EXPECT_GE(sample(text, R"(daemoneye_client_breaker_transitions_total{endpoint="default"})"), 1) << text;
  EXPECT_GE(sample(text, R"(daemoneye_client_connection_failures_total{endpoint="default"})"), 1) << text;
}

}  // namespace
}  // namespace daemoneye::ipc
