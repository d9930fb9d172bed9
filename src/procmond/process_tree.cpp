// Breadth-first walk over a pid -> children index.
#include "procmond/process_tree.hpp"

#include <cstdint>
#include <unordered_map>

namespace daemoneye::procmond {

std::vector<ipc::ProcessRecord> select_subtrees(std::vector<ipc::ProcessRecord> records,
                                                const std::function<bool(const ipc::ProcessRecord&)>& is_root) {
  std::unordered_multimap<std::uint32_t, std::size_t> children;  // ppid -> index
  children.reserve(records.size());
  std::vector<char> selected(records.size(), 0);
  std::vector<std::size_t> queue;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].has_ppid()) children.emplace(records[i].ppid(), i);
    if (is_root(records[i])) {
      selected[i] = 1;
      queue.push_back(i);
    }
  }
  // `selected` doubles as the visited set, so a cycle ends the walk.
  for (std::size_t next = 0; next < queue.size(); ++next) {
    auto [first, last] = children.equal_range(records[queue[next]].pid());
    for (auto it = first; it != last; ++it) {
      if (selected[it->second] == 0) {
        selected[it->second] = 1;
        queue.push_back(it->second);
      }
    }
  }
  std::vector<ipc::ProcessRecord> out;
  out.reserve(queue.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (selected[i] != 0) out.push_back(std::move(records[i]));
  }
  return out;
}

}  // namespace daemoneye::procmond
