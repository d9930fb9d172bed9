// One accepted connection of interprocess_server: reads frames continuously,
// runs up to max_in_flight tasks at once, answers in completion order, and
// enforces the read, write and handler deadlines. Everything it does runs on
// the one thread of its io_context, so its state needs no locks; only the
// tasks handed to the blocking pool (pool_lane) are shared, under the lane's.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <asio/steady_timer.hpp>

#include "daemoneye/ipc/frame_decoder.hpp"
#include "daemoneye/ipc/token_bucket.hpp"
#include "daemoneye/ipc/transport.hpp"

#include "pool_lane.hpp"
#include "server_context.hpp"
#include "spares.hpp"

namespace daemoneye::ipc::detail {

class server_connection : public std::enable_shared_from_this<server_connection> {
 public:
  using clock = std::chrono::steady_clock;
  using executor_type = asio::io_context::executor_type;

  server_connection(std::shared_ptr<server_context> ctx, executor_type executor, local_stream stream,
                    std::shared_ptr<const ipc_config> config, std::uint64_t id);

  /// Starts reading and the watchdog coroutine.
  void start();
  /// Graceful shutdown: answer what is in flight, then close (thread-safe).
  void begin_shutdown();
  /// Immediate close (thread-safe).
  void close_now();
  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }

 private:
  struct in_flight {
    std::uint64_t slot;
    std::string task_id;
    std::optional<std::uint64_t> sequence;
    int task_type;
    clock::time_point received;
    clock::time_point deadline;
  };

  /// Answers the frames received so far, then reads more, or waits for a
  /// free slot first. Exactly one read or wait is pending at any time.
  void serve();
  /// Decodes and answers what is buffered. True: read more now; false: a
  /// slot wait was started, or the connection stops reading.
  bool decode_batch();
  void on_read(std::error_code ec, std::size_t n);
  asio::awaitable<void> watchdog();
  /// Runs the coroutine handler for the task in `slot` and answers it.
  static asio::awaitable<void> run_async_handler(std::shared_ptr<server_connection> self, std::uint64_t slot,
                                                 DetectionTask task);
  /// A task and its answer for an in-place coroutine handler, recycled.
  struct coroutine_job {
    DetectionTask task;
    DetectionResult result;
  };
  /// Runs the in-place coroutine handler on `job`, answers, recycles the job.
  static asio::awaitable<void> run_async_in_place_handler(std::shared_ptr<server_connection> self, std::uint64_t slot,
                                                          std::unique_ptr<coroutine_job> job);

  void on_frame(std::span<const std::byte> payload);
  void dispatch(DetectionTask& task, clock::time_point received);
  /// A pool thread: runs the lane's tasks for one turn.
  void run_pool_lane();
  /// This connection's thread: answers what the pool has finished.
  void take_pool_answers();
  /// A handler finished the task in `slot` (coroutine or pool).
  void handler_done(std::uint64_t slot, const std::exception_ptr& error, DetectionResult& result);
  /// Answers a task its handler finished.
  void complete(const in_flight& task, const std::exception_ptr& error, DetectionResult& result);
  void answer(DetectionResult& result, int task_type, clock::time_point received);
  void answer_error(std::string task_id, ErrorCode code, std::string message, int task_type,
                    clock::time_point received);
  void protocol_error(const ipc_error& error);
  /// The error (logged and counted) when `sequence` is not the next one expected.
  std::optional<std::string> check_sequence(std::uint64_t sequence);
  /// Writes the answers waiting in out_, unless a write is already running.
  /// `now`: the current time, or a moment ago when the caller has just read it.
  void start_write(clock::time_point now);
  /// The asynchronous part of a write ended.
  void write_done(std::error_code ec, std::size_t n);
  /// The batch in writing_ is written (`n` bytes in all): count it, free its slots.
  void write_finished(std::size_t n, clock::time_point now);
  void maybe_finish();
  void close(std::string_view reason);
  /// Wakes the watchdog now when `deadline` comes before its next pass.
  void arm_watchdog_before(clock::time_point deadline);
  [[nodiscard]] std::size_t occupied_slots() const noexcept { return in_flight_.size() + unwritten_answers_; }
  [[nodiscard]] bool must_wait_for_slot(std::size_t max_in_flight) const noexcept {
    // Answers the client has not read yet count too: a client that never
    // reads stalls its own connection, not the server's memory.
    return occupied_slots() >= max_in_flight || out_.size() + writing_.size() > 2 * codec_.max_frame_bytes;
  }
  void fill_health(DetectionResult& result) const;

  std::shared_ptr<server_context> ctx_;
  executor_type executor_;
  local_stream stream_;
  std::shared_ptr<const ipc_config> config_;
  codec_options codec_;
  std::uint64_t id_;
  std::string peer_;

  frame_decoder decoder_;
  DetectionTask task_;                                 // the task being decoded; reused while handlers run inline
  DetectionResult result_;                             // an inline in-place handler's answer, reused
  std::vector<DetectionResult> spent_results_;         // inline answers returned by value, freed after the write
  static constexpr std::size_t max_spares = 4;         // of each of the two kinds
  spares<DetectionResult, max_spares> spare_results_;  // for in-place handlers on the pool
  spares<coroutine_job, max_spares> spare_jobs_;       // for in-place coroutine handlers
  pool_lane lane_;       // tasks on the blocking pool; the one state shared with other threads
  byte_buffer out_;      // answers waiting for the writer
  byte_buffer writing_;  // the batch being written
  std::size_t unwritten_answers_ = 0;
  std::size_t answers_in_write_ = 0;
  std::vector<in_flight> in_flight_;
  std::uint64_t next_slot_ = 1;
  std::uint64_t expected_sequence_ = 1;
  std::optional<token_bucket> bucket_;  // set when rate limiting is enabled

  asio::steady_timer watchdog_timer_;
  asio::steady_timer slot_signal_;
  clock::time_point watchdog_expiry_ = clock::time_point::max();
  static constexpr std::chrono::milliseconds min_watchdog_period{1000};
  clock::time_point last_activity_;
  clock::time_point batch_time_;  // when the frames being decoded arrived (or their wait for a slot ended)
  clock::time_point write_started_;
  bool writing_now_ = false;
  bool in_batch_ = false;          // decoding the frames of one read: answers wait for its end
  bool flush_posted_ = false;      // a start_write() is queued behind answers still to come
  bool last_frame_large_ = false;  // keeps the read buffer while large frames keep coming
  /// Largest buffer kept between frames: one frame of the default
  /// max_frame_bytes and a read. Larger frames get their memory per frame.
  static constexpr std::size_t max_retained_buffer = std::size_t{1024} * 1024 + frame_decoder::read_chunk;
  bool reading_stopped_ = false;  // protocol error or peer EOF: no more tasks will come
  bool shutting_down_ = false;
  bool closed_ = false;
  std::string close_reason_ = "peer_closed";
};

}  // namespace daemoneye::ipc::detail
