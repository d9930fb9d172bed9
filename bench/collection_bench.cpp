// procmond's collection path (procmond_core): a full /proc scan through
// make_platform_collector(), and collector_service::handle() of an
// ENUMERATE_PROCESSES task (scan, filter, build the DetectionResult). The
// argument adds that many idle child processes, so a sparse container can
// also be measured with a process table the size of a busy server's.
//
//   build/release/bench/collection_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <vector>

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemoneye/ipc/messages.hpp"

#include "procmond/collector_service.hpp"
#include "procmond/process_collector.hpp"

namespace {

namespace ipc = daemoneye::ipc;
namespace procmond = daemoneye::procmond;

/// `count` child processes blocked reading a pipe; they exit when it closes.
/// Resource type: neither copies nor moves.
class idle_processes {
 public:
  explicit idle_processes(int count) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    const pid_t parent = ::getpid();
    for (int i = 0; i < count; ++i) {
      const pid_t pid = ::fork();
      if (pid < 0) break;  // a process limit: measure with what we have
      if (pid == 0) {
        ::close(write_fd_);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(0);
        char c = 0;
        while (::read(read_fd_, &c, 1) < 0 && errno == EINTR) {
        }
        ::_exit(0);
      }
      children_.push_back(pid);
    }
  }
  idle_processes(const idle_processes&) = delete;
  idle_processes& operator=(const idle_processes&) = delete;
  ~idle_processes() {
    ::close(write_fd_);
    ::close(read_fd_);
    for (const pid_t pid : children_) {
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  std::vector<pid_t> children_;
};

std::unique_ptr<procmond::process_collector> platform_collector() {
  auto collector = procmond::make_platform_collector();
  if (!collector) throw std::runtime_error(collector.error().message());
  return std::move(*collector);
}

void BM_Collect_AllProcesses(benchmark::State& state) {
  const idle_processes extra(static_cast<int>(state.range(0)));
  auto collector = platform_collector();
  std::size_t processes = 0;
  for (auto _ : state) {
    auto records = collector->collect({});
    if (!records) throw std::runtime_error(records.error().message());
    processes = records->size();
    benchmark::DoNotOptimize(records);
  }
  state.counters["processes"] = static_cast<double>(processes);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * processes));
}

void BM_Service_EnumerateProcesses(benchmark::State& state) {
  const idle_processes extra(static_cast<int>(state.range(0)));
  procmond::collector_service service(platform_collector());
  const auto task = ipc::tasks::new_test_task("bench-enumerate", daemoneye::wire::ENUMERATE_PROCESSES);
  std::size_t processes = 0;
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto result = service.handle(task);
    if (!result.success()) throw std::runtime_error(result.error_message());
    processes = static_cast<std::size_t>(result.processes_size());
    benchmark::DoNotOptimize(result);
  }
  bytes = service.handle(task).ByteSizeLong();
  state.counters["processes"] = static_cast<double>(processes);
  state.counters["result_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * processes));
}

BENCHMARK(BM_Collect_AllProcesses)->ArgName("extra_processes")->Arg(0)->Arg(400)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Service_EnumerateProcesses)->ArgName("extra_processes")->Arg(0)->Arg(400)->Unit(benchmark::kMillisecond);

}  // namespace
