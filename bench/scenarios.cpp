// Client-side measurement loops; see scenarios.hpp. Timestamps are taken
// around the call only: building the request (copying a prebuilt task) stays
// outside, as the floor's request bytes are prebuilt too.
#include "scenarios.hpp"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/client.hpp"

#include "floor.hpp"

namespace daemoneye::bench {
namespace {

using std::chrono::nanoseconds;

/// Runs `op` (returns true on success) warmup + timed times, one after another.
template <typename Op>
round_sample sequential(const run_limits& limits, Op&& op) {
  round_sample s;
  for (std::uint64_t i = 0; i < limits.warmup; ++i) (void)op();
  const cpu_meter cpu(limits.server);
  const auto start = bench_clock::now();
  const auto deadline = start + limits.duration;
  auto t1 = start;
  for (std::uint64_t i = 0; limits.iterations > 0 ? i < limits.iterations : t1 < deadline; ++i) {
    const auto t0 = bench_clock::now();
    const bool ok = op();
    t1 = bench_clock::now();
    if (ok) {
      s.latencies.push_back(t1 - t0);
    } else {
      ++s.errors;
    }
  }
  s.elapsed = t1 - start;
  cpu.stop(s);
  return s;
}

bool answered(const ipc::result<ipc::DetectionResult>& r) { return r && r->success(); }

/// Decides, for every worker of a concurrent row, whether to send one more task.
class work_budget {
 public:
  work_budget(const run_limits& limits, bench_clock::time_point start)
      : by_count_(limits.iterations > 0),
        tickets_(static_cast<std::int64_t>(limits.iterations)),
        deadline_(start + limits.duration) {}
  bool take() {
    return by_count_ ? tickets_.fetch_sub(1, std::memory_order_relaxed) > 0 : bench_clock::now() < deadline_;
  }

 private:
  bool by_count_;
  std::atomic<std::int64_t> tickets_;
  bench_clock::time_point deadline_;
};

/// Counts finished coroutines; the last one records the end and wakes the waiter.
/// The waiter may destroy the latch as soon as wait() returns: done() touches
/// nothing after releasing the mutex.
class completion_latch {
 public:
  explicit completion_latch(std::size_t count) : remaining_(count) {}
  void done(const std::exception_ptr& ep) {
    const std::lock_guard lock(mutex_);
    if (ep && !error_) error_ = ep;
    if (--remaining_ == 0) {
      end_ = bench_clock::now();
      finished_.notify_all();
    }
  }
  /// Blocks until every coroutine finished; rethrows the first exception.
  bench_clock::time_point wait() {
    std::unique_lock lock(mutex_);
    finished_.wait(lock, [this] { return remaining_ == 0; });
    if (error_) std::rethrow_exception(error_);
    return end_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable finished_;
  std::size_t remaining_;
  std::exception_ptr error_;
  bench_clock::time_point end_;
};

asio::awaitable<void> sequential_sends(ipc::interprocess_client& client, const ipc::DetectionTask& task,
                                       const run_limits& limits, round_sample& s, bool reuse_result) {
  ipc::DetectionResult reused;
  // One call, either way: the task copy is made outside the timed part.
  const auto call = [&](ipc::DetectionTask t) -> asio::awaitable<bool> {
    if (reuse_result) {
      const auto r = co_await client.async_round_trip(std::move(t), reused);
      co_return r&& reused.success();
    }
    co_return answered(co_await client.async_send_task(std::move(t)));
  };
  for (std::uint64_t i = 0; i < limits.warmup; ++i) (void)co_await call(task);
  const cpu_meter cpu(limits.server);
  const auto start = bench_clock::now();
  const auto deadline = start + limits.duration;
  auto t1 = start;
  for (std::uint64_t i = 0; limits.iterations > 0 ? i < limits.iterations : t1 < deadline; ++i) {
    ipc::DetectionTask copy = task;
    const auto t0 = bench_clock::now();
    const bool ok = co_await call(std::move(copy));
    t1 = bench_clock::now();
    if (ok) {
      s.latencies.push_back(t1 - t0);
    } else {
      ++s.errors;
    }
  }
  s.elapsed = t1 - start;
  cpu.stop(s);
  client.close();  // ends the client's reader, so io_context::run() returns
}

asio::awaitable<void> warm_up(ipc::interprocess_client& client, ipc::DetectionTask task, std::uint64_t count) {
  if (auto ok = co_await client.async_connect(); !ok) {
    throw std::runtime_error("connect failed: " + ok.error().message());
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    if (auto r = co_await client.async_send_task(task); !r) {
      throw std::runtime_error("warm-up send failed: " + r.error().message());
    }
  }
}

asio::awaitable<void> pipeline_worker(ipc::interprocess_client& client, ipc::DetectionTask task, work_budget& budget,
                                      round_sample& s) {
  while (budget.take()) {
    ipc::DetectionTask copy = task;
    const auto t0 = bench_clock::now();
    const auto r = co_await client.async_send_task(std::move(copy));
    const auto t1 = bench_clock::now();
    if (answered(r)) {
      s.latencies.push_back(t1 - t0);
    } else {
      ++s.errors;
    }
  }
}

}  // namespace

round_sample floor_round_trips(const std::string& path, std::span<const std::byte> request, std::size_t response_bytes,
                               const run_limits& limits) {
  raw_echo_client client;
  if (!client.connect(path)) throw std::runtime_error("cannot connect to the floor server at " + path);
  return sequential(limits, [&] { return client.round_trip(request, response_bytes); });
}

round_sample floor_cold_connects(const std::string& path, std::span<const std::byte> request,
                                 std::size_t response_bytes, const run_limits& limits) {
  return sequential(limits, [&] {
    raw_echo_client client;
    return client.connect(path) && client.round_trip(request, response_bytes);
  });
}

round_sample blocking_round_trips(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                  const run_limits& limits) {
  ipc::blocking_client client(config);
  if (auto ok = client.connect(); !ok) throw std::runtime_error(ok.error().message());
  ipc::DetectionResult out;
  return sequential(limits, [&] { return client.round_trip(task, out) && out.success(); });
}

round_sample blocking_send_tasks(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                 const run_limits& limits) {
  ipc::blocking_client client(config);
  if (auto ok = client.connect(); !ok) throw std::runtime_error(ok.error().message());
  return sequential(limits, [&] {
    const auto r = client.send_task(task);
    return r && r->success();
  });
}

namespace {
round_sample coroutine_sequential(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                  const run_limits& limits, bool reuse_result) {
  asio::io_context io(1);
  ipc::interprocess_client client(io.get_executor(), config);
  round_sample s;
  asio::co_spawn(io, sequential_sends(client, task, limits, s, reuse_result), [](const std::exception_ptr& ep) {
    if (ep) std::rethrow_exception(ep);
  });
  io.run();
  return s;
}
}  // namespace

round_sample coroutine_round_trips(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                   const run_limits& limits) {
  return coroutine_sequential(config, task, limits, false);
}

round_sample coroutine_reused_round_trips(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                          const run_limits& limits) {
  return coroutine_sequential(config, task, limits, true);
}

round_sample pipelined_round_trips(const ipc::ipc_config& config, const ipc::DetectionTask& task, unsigned connections,
                                   unsigned in_flight, unsigned threads, const run_limits& limits) {
  asio::io_context io(static_cast<int>(threads));
  auto work = asio::make_work_guard(io);
  std::vector<std::unique_ptr<ipc::interprocess_client>> clients;
  for (unsigned c = 0; c < connections; ++c) {
    clients.push_back(std::make_unique<ipc::interprocess_client>(io.get_executor(), config));
  }
  std::vector<std::thread> runners;
  for (unsigned t = 0; t < threads; ++t) runners.emplace_back([&io] { io.run(); });
  const auto finish = [&] {
    for (auto& c : clients) c->close();
    work.reset();
    for (auto& t : runners) t.join();
  };

  round_sample s;
  try {
    // Connect and warm every connection before the clock starts.
    completion_latch warmed(connections);
    for (auto& c : clients) {
      asio::co_spawn(io, warm_up(*c, task, limits.warmup),
                     [&warmed](const std::exception_ptr& ep) { warmed.done(ep); });
    }
    warmed.wait();

    std::vector<round_sample> per_worker(static_cast<std::size_t>(connections) * in_flight);
    completion_latch finished(per_worker.size());
    const cpu_meter cpu(limits.server);
    const auto start = bench_clock::now();
    work_budget budget(limits, start);
    for (std::size_t w = 0; w < per_worker.size(); ++w) {
      auto& client = *clients[w % connections];
      ipc::DetectionTask own = task;
      own.set_task_id(task.task_id() + "-w" + std::to_string(w));  // unique among tasks in flight
      per_worker[w].latencies.reserve(1024);
      asio::co_spawn(io, pipeline_worker(client, std::move(own), budget, per_worker[w]),
                     [&finished](const std::exception_ptr& ep) { finished.done(ep); });
    }
    const auto end = finished.wait();
    cpu.stop(s);
    for (const auto& w : per_worker) s.merge(w);
    s.elapsed = end - start;
  } catch (...) {
    finish();
    throw;
  }
  finish();
  return s;
}

round_sample blocking_thread_round_trips(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                         unsigned threads, const run_limits& limits) {
  std::vector<ipc::blocking_client> clients;
  clients.reserve(threads);
  ipc::DetectionResult out;
  for (unsigned t = 0; t < threads; ++t) {
    clients.emplace_back(config);
    for (std::uint64_t i = 0; i < std::max<std::uint64_t>(1, limits.warmup); ++i) {
      if (auto ok = clients.back().round_trip(task, out); !ok) {
        throw std::runtime_error("warm-up round trip failed: " + ok.error().message());
      }
    }
  }
  std::vector<round_sample> per_thread(threads);
  const cpu_meter cpu(limits.server);
  const auto start = bench_clock::now();
  work_budget budget(limits, start);
  {
    std::vector<std::jthread> workers;
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        ipc::DetectionTask own = task;
        own.set_task_id(task.task_id() + "-t" + std::to_string(t));
        ipc::DetectionResult answer;
        auto& mine = per_thread[t];
        while (budget.take()) {
          const auto t0 = bench_clock::now();
          const bool ok = clients[t].round_trip(own, answer) && answer.success();
          const auto t1 = bench_clock::now();
          if (ok) {
            mine.latencies.push_back(t1 - t0);
          } else {
            ++mine.errors;
          }
        }
      });
    }
  }
  round_sample s;
  s.elapsed = bench_clock::now() - start;
  cpu.stop(s);
  for (const auto& p : per_thread) s.merge(p);
  return s;
}

round_sample cold_connects(const ipc::ipc_config& config, const ipc::DetectionTask& task, const run_limits& limits) {
  ipc::DetectionResult out;
  return sequential(limits, [&] {
    ipc::blocking_client client(config);
    return client.round_trip(task, out) && out.success();
  });
}

std::optional<memory_usage> memory_with_idle_connections(const ipc::ipc_config& config, const ipc::DetectionTask& task,
                                                         pid_t server, unsigned connections) {
  std::vector<ipc::blocking_client> clients;
  clients.reserve(connections);
  ipc::DetectionResult out;
  for (unsigned c = 0; c < connections; ++c) {
    clients.emplace_back(config);
    if (auto ok = clients.back().round_trip(task, out); !ok) {
      throw std::runtime_error("idle-connection round trip failed: " + ok.error().message());
    }
  }
  return read_memory_usage(server);
}

}  // namespace daemoneye::bench
