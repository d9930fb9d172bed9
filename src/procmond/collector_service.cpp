// Task dispatch, filtering, hashing. One collection per task, under the lock.
#include "procmond/collector_service.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include "procmond/file_hash.hpp"
#include "procmond/process_filter.hpp"
#include "procmond/process_tree.hpp"
#include "procmond/unique_fd.hpp"

namespace daemoneye::procmond {
namespace {

namespace wire = daemoneye::wire;
using ipc::results::failure;
using ipc::results::success;

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_hex(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

ipc::HashResult hash_result(std::string path, std::string value, bool ok, std::optional<std::string> error = {}) {
  ipc::HashResult r;
  r.set_hash_value(std::move(value));
  r.set_algorithm(std::string(sha256_algorithm));
  r.set_file_path(std::move(path));
  r.set_success(ok);
  if (error) r.set_error_message(std::move(*error));
  return r;
}

}  // namespace

collector_service::collector_service(std::unique_ptr<process_collector> collector, collector_service_options options)
    : collector_(std::move(collector)), options_(options), cache_(options.hash_cache_entries) {
  assert(collector_ != nullptr);
}

DetectionResult collector_service::handle(const DetectionTask& task) {
  if (auto valid = ipc::validate_task(task); !valid) {
    return failure(task.task_id(), wire::INVALID_TASK, valid.error().message());
  }
  switch (task.task_type()) {
    case wire::ENUMERATE_PROCESSES: return enumerate(task);
    case wire::MONITOR_PROCESS_TREE: return process_tree(task);
    case wire::CHECK_PROCESS_HASH:
    case wire::VERIFY_EXECUTABLE: return check_hash(task);
    default:
      return failure(task.task_id(), wire::UNSUPPORTED_TASK,
                     fmt::format("procmond does not implement {} (it answers ENUMERATE_PROCESSES, CHECK_PROCESS_HASH, "
                                 "MONITOR_PROCESS_TREE and VERIFY_EXECUTABLE)",
                                 ipc::task_type_name(task.task_type())));
  }
}

result<std::vector<ProcessRecord>> collector_service::collect(const collect_options& options) {
  std::lock_guard lock(collect_mutex_);
  auto records = collector_->collect(options);
  if (records && options.pids.empty()) {
    scanned_ = true;
    all_accessible_ = std::all_of(records->begin(), records->end(), [](const auto& r) { return r.accessible(); });
  }
  return records;
}

DetectionResult collector_service::enumerate(const DetectionTask& task) {
  const bool filtered = task.has_process_filter() && !selects_everything(task.process_filter());
  collect_options options;
  // AND across fields: with pids set, only those processes can match, so read only those.
  if (filtered) options.pids.assign(task.process_filter().pids().begin(), task.process_filter().pids().end());
  auto records = collect(options);
  if (!records) return failure(task.task_id(), wire::HANDLER_FAILED, records.error().message());
  if (filtered) std::erase_if(*records, [&](const auto& r) { return !matches(task.process_filter(), r); });
  if (options_.hash_executables) add_executable_hashes(*records);
  return success(task.task_id(), std::move(*records));
}

DetectionResult collector_service::process_tree(const DetectionTask& task) {
  auto records = collect({});
  if (!records) return failure(task.task_id(), wire::HANDLER_FAILED, records.error().message());
  std::vector<ProcessRecord> tree;
  if (task.has_process_filter() && !selects_everything(task.process_filter())) {
    tree = select_subtrees(std::move(*records), [&](const auto& r) { return matches(task.process_filter(), r); });
  } else {
    tree = std::move(*records);
  }
  if (options_.hash_executables) add_executable_hashes(tree);
  return success(task.task_id(), std::move(tree));
}

DetectionResult collector_service::check_hash(const DetectionTask& task) {
  const auto type = ipc::task_type_name(task.task_type());
  if (!task.has_hash_check()) {
    return failure(task.task_id(), wire::INVALID_TASK,
                   fmt::format("{} needs a hash_check (executable_path, hash_algorithm, expected_hash)", type));
  }
  const auto& check = task.hash_check();
  const std::string& path = check.executable_path();
  if (path.empty()) {
    return failure(task.task_id(), wire::INVALID_TASK, fmt::format("{}: hash_check.executable_path is empty", type));
  }
  const auto algorithm = to_lower(check.hash_algorithm());
  if (!algorithm.empty() && algorithm != sha256_algorithm && algorithm != "sha-256") {
    auto message = fmt::format("unsupported hash algorithm \"{}\" for {}; supported: {}", check.hash_algorithm(), path,
                               sha256_algorithm);
    auto r = failure(task.task_id(), wire::INVALID_TASK, message);
    auto* hr = r.mutable_hash_result();
    *hr = hash_result(path, {}, false, std::move(message));
    hr->set_algorithm(check.hash_algorithm());
    return r;
  }
  const auto expected = to_lower(check.expected_hash());
  if (!expected.empty() && (expected.size() != sha256_hex_size || !is_hex(expected))) {
    return failure(task.task_id(), wire::INVALID_TASK,
                   fmt::format("expected_hash \"{}\" is not a SHA-256 value ({} hex digits)", check.expected_hash(),
                               sha256_hex_size));
  }

  auto computed = sha256_file(path);
  if (!computed) {
    // A missing or unreadable file is an answer about that file, not a fault of the server.
    auto message = computed.error().message();
    auto r = failure(task.task_id(), wire::ERROR_UNSPECIFIED, message);
    *r.mutable_hash_result() = hash_result(path, {}, false, std::move(message));
    return r;
  }
  if (!expected.empty() && expected != *computed) {
    auto message = fmt::format("hash mismatch for {}: expected {}, computed {}", path, expected, *computed);
    auto r = failure(task.task_id(), wire::ERROR_UNSPECIFIED, message);
    *r.mutable_hash_result() = hash_result(path, std::move(*computed), false, std::move(message));
    return r;
  }
  auto r = success(task.task_id());
  *r.mutable_hash_result() = hash_result(path, std::move(*computed), true);
  return r;
}

void collector_service::add_executable_hashes(std::vector<ProcessRecord>& records) {
  for (auto& record : records) {
    if (auto hex = executable_hash(record)) {
      record.set_executable_hash(std::move(*hex));
      record.set_hash_algorithm(std::string(sha256_algorithm));
    }
  }
}

std::optional<std::string> collector_service::executable_hash(const ProcessRecord& record) {
  const auto image = collector_->executable_image_path(record);
  if (image.empty()) return std::nullopt;
  // TODO(security): the pid may have been reused since the collection; compare
  // the process start time after opening to be sure the image is the same process's.
  unique_fd fd(::open(image.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const auto id = identity_of(st);
  if (auto hit = cache_.find(id)) return hit;
  auto hex = sha256_fd(fd.get(), image);
  if (!hex) return std::nullopt;
  hash_computations_.fetch_add(1);
  cache_.insert(id, *hex);
  return std::move(*hex);
}

bool collector_service::can_read_all_processes() {
  {
    std::lock_guard lock(collect_mutex_);
    if (scanned_) return all_accessible_;
  }
  static_cast<void>(collect({}));
  std::lock_guard lock(collect_mutex_);
  return scanned_ && all_accessible_;
}

CollectionCapabilities collector_service::capabilities() {
  CollectionCapabilities caps;
  caps.add_supported_domains(wire::PROCESS);
  auto* advanced = caps.mutable_advanced();
  advanced->set_kernel_level(false);
  advanced->set_realtime(false);
  advanced->set_system_wide(can_read_all_processes());
  return caps;
}

}  // namespace daemoneye::procmond
