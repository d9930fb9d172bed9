// ProcessFilter matching over the repeated fields, without copies.
#include "procmond/process_filter.hpp"

#include <algorithm>

#include <fnmatch.h>

namespace daemoneye::procmond {

bool selects_everything(const ipc::ProcessFilter& filter) noexcept {
  return filter.process_names_size() == 0 && filter.pids_size() == 0 && !filter.has_executable_pattern();
}

bool matches(const ipc::ProcessFilter& filter, const ipc::ProcessRecord& record) {
  if (filter.process_names_size() > 0 && std::none_of(filter.process_names().begin(), filter.process_names().end(),
                                                      [&](const std::string& name) { return name == record.name(); })) {
    return false;
  }
  if (filter.pids_size() > 0 &&
      std::find(filter.pids().begin(), filter.pids().end(), record.pid()) == filter.pids().end()) {
    return false;
  }
  if (filter.has_executable_pattern()) {
    if (!record.has_executable_path()) return false;
    if (::fnmatch(filter.executable_pattern().c_str(), record.executable_path().c_str(), 0) != 0) return false;
  }
  return true;
}

}  // namespace daemoneye::procmond
