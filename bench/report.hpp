// The rows of daemoneye-bench, their per-round results, and the report: a
// table for people or JSON for tools. Every figure is the median across
// rounds; a ratio is computed within each round (floor and ours measured
// back to back) and then its median taken.
//
//   print_table(std::cout, header, rows, memory);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "forked_process.hpp"
#include "round_stats.hpp"

namespace daemoneye::bench {

/// What "vs floor" means for a row.
enum class ratio_kind {
  none,        ///< a floor row, or nothing comparable
  latency,     ///< ours p50 / the floor row's p50 (lower is better)
  throughput,  ///< ours msgs/s / the floor row's msgs/s (higher is better)
};

/// A goal the team compares the row with.
struct row_target {
  enum class kind { none, ratio_at_most, ratio_at_least, p50_us_at_most } what = kind::none;
  double value = 0;
};

/// One row and everything measured for it. Value type.
struct row_result {
  std::string name;
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
  ratio_kind ratio = ratio_kind::none;
  std::size_t baseline = 0;  ///< index of the floor row the ratio divides by
  row_target target;
  std::vector<round_summary> rounds;
  std::vector<double> ratios;  ///< one per round, when ratio != none

  /// Median over the rounds that completed at least one operation; nullopt when none did.
  [[nodiscard]] std::optional<double> median_of(double round_summary::*field) const;
  [[nodiscard]] std::optional<double> median_ratio() const;
  [[nodiscard]] std::uint64_t total_errors() const;
  /// Whether the median meets the target; nullopt when there is none.
  [[nodiscard]] std::optional<bool> meets_target() const;
};

/// One memory measurement of the server process.
struct memory_row {
  std::string name;
  memory_usage usage;
  std::optional<double> target_mib;  ///< VmRSS goal, if any
};

/// How the run was made, for the report's header.
struct run_description {
  std::size_t rounds = 0;
  std::string per_row;  ///< "0.25 s" or "1000 iterations"
  std::string handler;  ///< "sync (as procmond)" or "async (coroutine)"
  unsigned cpus = 0;
  std::string placement;  ///< where the processes run: "as the OS places them", "all on CPU 1", ...
  std::uint64_t server_threads = 0;
  unsigned client_threads = 0;
  std::string kernel;
  /// GLIBC_TUNABLES as the processes saw it ("" when unset): it can change
  /// which memcpy glibc picks, and with it every row but the floor's.
  std::string glibc_tunables;
  std::vector<std::string> notes;  ///< printed after the table
};

void print_table(std::ostream& out, const run_description& run, const std::vector<row_result>& rows,
                 const std::vector<memory_row>& memory);
void print_json(std::ostream& out, const run_description& run, const std::vector<row_result>& rows,
                const std::vector<memory_row>& memory);

}  // namespace daemoneye::bench
