// The collector interface: one platform-specific implementation per OS reads the
// live process table into wire ProcessRecords. The daemon owns one collector and
// hands it to collector_service; tests point the Linux one at fixture trees.
//
//   auto collector = make_platform_collector();
//   if (!collector) return fail(...);
//   auto records = (*collector)->collect({});
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemoneye/ipc/messages.hpp"
#include "daemoneye/ipc/result.hpp"

namespace daemoneye::procmond {

using ipc::ProcessRecord;
using ipc::result;

/// What one collection covers.
struct collect_options {
  /// Only these pids (those that exist); empty means every process.
  std::vector<std::uint32_t> pids;
};

/// Reads the process table. Resource type: neither copies nor moves.
///
/// Thread safety: collect() is NOT safe for concurrent use (an instance keeps
/// the previous CPU samples and a read buffer); callers serialise it, as
/// collector_service does. The const members may be called from any thread,
/// also while a collect() runs.
class process_collector {
 public:
  process_collector() = default;
  process_collector(const process_collector&) = delete;
  process_collector& operator=(const process_collector&) = delete;
  virtual ~process_collector() = default;

  /// One record per process, ordered by pid. A process that cannot be read
  /// fully is reported with accessible=false; one that exits during the scan
  /// is left out. Fails only when the process table itself cannot be read.
  virtual result<std::vector<ProcessRecord>> collect(const collect_options& options) = 0;

  /// A path that opens the process's running executable image (which may
  /// differ from, or outlive, the file at executable_path); on Linux the
  /// /proc/PID/exe link. Empty when the record has no executable.
  virtual std::string executable_image_path(const ProcessRecord& record) const = 0;

  /// A short name of the implementation for logs, e.g. "linux-procfs".
  virtual std::string_view name() const noexcept = 0;
};

/// The collector for the platform this binary was built for. Fails with
/// errc::unsupported_task on a platform without one.
result<std::unique_ptr<process_collector>> make_platform_collector();

}  // namespace daemoneye::procmond
