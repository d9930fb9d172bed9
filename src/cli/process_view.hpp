// process_view: how `ps` and `tree` show ProcessRecords to a person - a table
// with human units, and an indented tree. Pure functions of the records (and
// the password database for user names), so their output is deterministic.
//
//   auto records = records_by_pid(std::move(answer));
//   out << render_process_table(records, users, {.with_hash = true});
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemoneye/ipc/messages.hpp"

#include "cli/user_names.hpp"

namespace daemoneye::cli {

/// The answer's processes, sorted by pid.
std::vector<ipc::ProcessRecord> records_by_pid(ipc::DetectionResult answer);

/// Bytes in binary units, one decimal below 10: "512B", "1.5K", "12M", "3.2G".
std::string format_bytes(std::uint64_t bytes);

struct table_options {
  /// Add a HASH column (executable_hash, "-" when the collector sent none).
  bool with_hash = false;
};

/// Columns PID PPID USER CPU% RSS NAME [HASH] EXE, a header line first, each
/// line ending in '\n'. Absent values are "-". Column widths fit the data.
std::string render_process_table(const std::vector<ipc::ProcessRecord>& records, user_names& users,
                                 table_options options = {});

/// "<pid> <name>" per line, children below their parent indented by two
/// spaces, siblings by pid. Roots are records whose ppid is absent or not in
/// `records`; records only reachable through a ppid cycle are shown as roots.
std::string render_process_tree(const std::vector<ipc::ProcessRecord>& records);

}  // namespace daemoneye::cli
