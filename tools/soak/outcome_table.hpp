// outcome_table: how often each hostile case ended in each observed outcome,
// whether that outcome is one PROTOCOL.md section 5 allows, and the first
// few contradictions in detail (enough to reproduce them).
//
//   table.record("crc_flip", {"CRC_MISMATCH+EOF", true});
//   table.print(std::cout);
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace daemoneye::soak {

/// One observation. `allowed` is false when it contradicts section 5;
/// `detail` then says what was sent and what came back.
struct outcome {
  std::string name;
  bool allowed = true;
  std::string detail;
};

/// Thread-safe: record() from any thread.
class outcome_table {
 public:
  void record(const std::string& case_name, const outcome& o);

  [[nodiscard]] std::uint64_t violations() const;
  /// Times `case_name` ended in `outcome_name` so far.
  [[nodiscard]] std::uint64_t count(const std::string& case_name, const std::string& outcome_name) const;
  void print(std::ostream& out) const;

 private:
  static constexpr std::size_t max_details = 20;

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::pair<std::uint64_t, bool>> counts_;
  std::vector<std::string> details_;
  std::uint64_t violations_ = 0;
};

}  // namespace daemoneye::soak
