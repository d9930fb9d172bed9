// Process-tree selection for MONITOR_PROCESS_TREE: the chosen root processes
// and every descendant, following ppid links of one collection.
//
//   auto tree = select_subtrees(std::move(records), [&](auto& r) { return matches(filter, r); });
#pragma once

#include <functional>
#include <vector>

#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::procmond {

/// The records for which `is_root` holds, plus all their descendants, in the
/// input order. Tolerates ppid cycles (pid reuse between reads).
std::vector<ipc::ProcessRecord> select_subtrees(std::vector<ipc::ProcessRecord> records,
                                                const std::function<bool(const ipc::ProcessRecord&)>& is_root);

}  // namespace daemoneye::procmond
