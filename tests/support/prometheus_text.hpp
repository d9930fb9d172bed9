// Reading one sample out of a Prometheus text exposition, for tests that check
// that a counter moved.
//
//   EXPECT_EQ(test::sample(text, R"(daemoneye_ipc_tasks_total{outcome="success",type="ENUMERATE_PROCESSES"})"), 1);
#pragma once

#include <string>

namespace daemoneye::test {

/// The value of the sample `name{labels}` (labels exactly as rendered), or -1 when absent.
inline double sample(const std::string& text, const std::string& name_and_labels) {
  const auto at = text.find("\n" + name_and_labels + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name_and_labels.size() + 2));
}

}  // namespace daemoneye::test
