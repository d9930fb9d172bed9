// collector_service: procmond's answer to a DetectionTask. It owns the platform
// collector and implements ENUMERATE_PROCESSES, MONITOR_PROCESS_TREE,
// CHECK_PROCESS_HASH and VERIFY_EXECUTABLE; other task types are answered with
// UNSUPPORTED_TASK. The IPC server calls handle() from its worker threads.
//
//   collector_service service(std::move(*make_platform_collector()), {.hash_executables = true});
//   DetectionResult r = service.handle(task);   // task_id always echoed
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemoneye/ipc/messages.hpp"

#include "procmond/hash_cache.hpp"
#include "procmond/process_collector.hpp"

namespace daemoneye::procmond {

using ipc::CollectionCapabilities;
using ipc::DetectionResult;
using ipc::DetectionTask;

struct collector_service_options {
  /// Fill executable_hash and hash_algorithm ("sha256") of every enumerated
  /// process, hashing the running image; cached by file identity.
  bool hash_executables = false;
  /// Bound of that cache (distinct executables).
  std::size_t hash_cache_entries = 4096;
};

/// Resource type (neither copies nor moves).
///
/// Thread safety: every member function is safe to call concurrently.
/// Collections are serialised (the collector's CPU samples are shared state);
/// hashing runs outside that lock.
class collector_service {
 public:
  /// `collector` must not be null.
  explicit collector_service(std::unique_ptr<process_collector> collector, collector_service_options options = {});
  collector_service(const collector_service&) = delete;
  collector_service& operator=(const collector_service&) = delete;

  /// The answer to `task`; never throws for a bad task or an unreadable file
  /// (those are results with success=false). ENUMERATE_PROCESSES and
  /// MONITOR_PROCESS_TREE honour task.process_filter; the hash tasks need
  /// task.hash_check (INVALID_TASK without it).
  DetectionResult handle(const DetectionTask& task);

  /// True when every process of the last full scan was accessible (scans once
  /// if there was none yet). For capability negotiation: without it procmond
  /// is not "system wide".
  bool can_read_all_processes();

  /// The capabilities this collector offers (domain PROCESS; system_wide from
  /// can_read_all_processes()).
  CollectionCapabilities capabilities();

  /// How many executables were actually hashed (not served from the cache).
  [[nodiscard]] std::uint64_t hash_computations() const noexcept { return hash_computations_.load(); }

  /// The collector's name ("linux-procfs").
  [[nodiscard]] std::string_view collector_name() const noexcept { return collector_->name(); }

 private:
  DetectionResult enumerate(const DetectionTask& task);
  DetectionResult process_tree(const DetectionTask& task);
  DetectionResult check_hash(const DetectionTask& task);
  result<std::vector<ProcessRecord>> collect(const collect_options& options);
  void add_executable_hashes(std::vector<ProcessRecord>& records);
  std::optional<std::string> executable_hash(const ProcessRecord& record);

  std::unique_ptr<process_collector> collector_;
  collector_service_options options_;
  std::mutex collect_mutex_;  // guards collector_->collect() and the scan flags below
  bool scanned_ = false;
  bool all_accessible_ = false;
  hash_cache cache_;  // thread-safe on its own
  std::atomic<std::uint64_t> hash_computations_{0};
};

}  // namespace daemoneye::procmond
