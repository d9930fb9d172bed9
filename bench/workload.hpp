// The benchmark workloads: realistic ProcessRecords, the tasks a benchmark
// client sends, and the echo-like answer a benchmark server gives. Shared by
// the Google Benchmark programs and daemoneye-bench so they measure the same
// messages.
//
//   auto result = workload::records_result("t-1", 500);   // ~100 KB encoded
//   auto task = workload::task_for(workload::kind::records, "t-1");
//   DetectionResult answer = workload::answer(task, prebuilt_records);
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::bench::workload {

using ipc::DetectionResult;
using ipc::DetectionTask;
using ipc::ProcessRecord;

/// Records per "large result", as a busy host's process table.
inline constexpr std::size_t records_per_result = 500;
/// Payload of the "1 MiB" workload: the task's metadata padding and the echoed text.
inline constexpr std::size_t large_payload_bytes = std::size_t{1024} * 1024 - 64;
/// max_frame_bytes both sides use so the large workload fits.
inline constexpr std::size_t max_frame_bytes = std::size_t{2} * 1024 * 1024;

/// What a task asks the benchmark server for (selected by the task's metadata).
enum class kind {
  empty,      ///< small task -> success with only the task_id
  records,    ///< small task -> success with records_per_result ProcessRecords
  echo,       ///< task padded to ~1 MiB -> result carrying the same ~1 MiB back
  enumerate,  ///< ENUMERATE_PROCESSES answered by procmond's collector_service
};

std::string_view to_string(kind k) noexcept;

/// `count` ProcessRecords shaped like a /proc scan of a server: name, executable
/// path, 3-5 argv strings, uid, times, memory, sha256. Deterministic.
std::vector<ProcessRecord> records(std::size_t count);

/// A successful result holding records(count).
DetectionResult records_result(std::string task_id, std::size_t count);

/// The task for workload `k` with the given id.
DetectionTask task_for(kind k, std::string task_id);

/// Which workload `task` selects.
kind kind_of(const DetectionTask& task) noexcept;

/// The benchmark server's answer to `task` for the empty, records and echo
/// workloads: `prebuilt` is copied for records (a handler must return a
/// value), the padding is copied back for echo. Not for kind::enumerate.
DetectionResult answer(const DetectionTask& task, const DetectionResult& prebuilt);
/// As above, but moves the echo padding out of `task` instead of copying it.
DetectionResult answer(DetectionTask&& task, const DetectionResult& prebuilt);
/// The same answer written into `out` (cleared by the caller), reusing what
/// `out` already holds: the form of an in-place handler.
void answer_into(const DetectionTask& task, const DetectionResult& prebuilt, DetectionResult& out);

/// Encoded frame size (header + payload) of `message` under the default framed codec.
std::size_t frame_bytes(const google::protobuf::MessageLite& message);

}  // namespace daemoneye::bench::workload
