// pool_lane: the tasks one connection has handed to the blocking pool.
//
// Pool threads drain the lane: a thread that finishes a task takes the
// connection's next one itself, rather than going back through the pool's
// queue (a lock, a condition variable and often a thread wake-up per task).
// Finished tasks go back to the connection's thread in batches: one post
// carries every answer that finished before that thread got to it.
//
// At most `max_workers` threads drain one lane, so a connection's tasks still
// run in parallel; a thread gives up its turn after `turn` tasks, so one busy
// connection cannot keep the pool from the others. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::ipc::detail {

class pool_lane {
 public:
  struct job {
    std::uint64_t slot = 0;
    DetectionTask task;
    std::unique_ptr<DetectionResult> result;
    std::exception_ptr error;  // set when the handler threw
  };

  /// What a worker does next.
  enum class step {
    run,     ///< run the job next() returned
    yield,   ///< turn used up with tasks left: post yourself to the pool again
    retire,  ///< nothing left: stop
  };

  explicit pool_lane(unsigned max_workers, unsigned turn = 16) : max_workers_(max_workers), turn_(turn) {}

  /// Queues `j`. True when the caller must start a worker for the lane.
  [[nodiscard]] bool push(job j) {
    const std::lock_guard lock(mutex_);
    queued_.push_back(std::move(j));
    if (workers_ >= max_workers_) return false;
    ++workers_;
    return true;
  }

  /// A worker, after `done` tasks in its turn: the next job to run, or why not.
  [[nodiscard]] step next(unsigned done, std::optional<job>& out) {
    const std::lock_guard lock(mutex_);
    if (queued_.empty()) {
      --workers_;
      return step::retire;
    }
    if (done >= turn_) return step::yield;
    out.emplace(std::move(queued_.front()));
    queued_.pop_front();
    return step::run;
  }

  /// A worker finished `j`. True when the caller must tell the connection's
  /// thread (no earlier notice is still on its way).
  [[nodiscard]] bool finish(job j) {
    const std::lock_guard lock(mutex_);
    finished_.push_back(std::move(j));
    return !std::exchange(notified_, true);
  }

  /// The connection's thread, on notice: every job finished since the last call.
  [[nodiscard]] std::vector<job> take_finished() {
    std::vector<job> out;
    const std::lock_guard lock(mutex_);
    out.swap(finished_);
    notified_ = false;
    return out;
  }

 private:
  std::mutex mutex_;
  std::deque<job> queued_;
  std::vector<job> finished_;
  unsigned workers_ = 0;
  bool notified_ = false;
  const unsigned max_workers_;
  const unsigned turn_;
};

}  // namespace daemoneye::ipc::detail
