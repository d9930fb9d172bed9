// ProcessFilter semantics: which processes a task selects. Set fields combine
// with AND; the values inside one list combine with OR; an unset field (empty
// list, absent pattern) does not restrict.
//
//   records.erase(std::remove_if(..., [&](auto& r) { return !matches(filter, r); }), ...);
#pragma once

#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::procmond {

/// True when no field is set: the filter selects every process.
bool selects_everything(const ipc::ProcessFilter& filter) noexcept;

/// process_names: the name equals one of them exactly. pids: the pid is one of
/// them. executable_pattern: executable_path matches the glob (fnmatch(3)
/// without flags, so '*' also matches '/'); a process without a known
/// executable never matches a pattern.
bool matches(const ipc::ProcessFilter& filter, const ipc::ProcessRecord& record);

}  // namespace daemoneye::procmond
