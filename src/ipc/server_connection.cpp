// The per-connection state machine of interprocess_server. See
// server_connection.hpp; PROTOCOL.md section 5 lists what a peer observes.
#include "server_connection.hpp"

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemoneye/ipc/detail/use_awaitable.hpp"

namespace daemoneye::ipc::detail {
namespace {

/// Logs what escaped a connection coroutine; never lets it pass silently.
struct log_exception {
  std::uint64_t id;
  const char* what;
  void operator()(const std::exception_ptr& ep) const {
    if (!ep) return;
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      spdlog::error("connection {}: {} failed: {}", id, what, e.what());
    } catch (...) {
      spdlog::error("connection {}: {} failed with an unknown exception", id, what);
    }
  }
};

std::string describe_peer(const peer_credentials& creds) {
  return fmt::format("pid {}, uid {}", creds.pid ? std::to_string(*creds.pid) : "?",
                     creds.uid ? std::to_string(*creds.uid) : "?");
}

}  // namespace

server_connection::server_connection(std::shared_ptr<server_context> ctx, executor_type executor, local_stream stream,
                                     std::shared_ptr<const ipc_config> config, std::uint64_t id)
    : ctx_(std::move(ctx)),
      executor_(std::move(executor)),
      stream_(std::move(stream)),
      config_(std::move(config)),
      codec_(config_->codec_opts()),
      id_(id),
      peer_(describe_peer(stream_.peer())),
      decoder_(codec_),
      lane_(std::max(1U, ctx_->blocking_threads)),
      watchdog_timer_(executor_),
      slot_signal_(executor_),
      last_activity_(clock::now()),
      batch_time_(last_activity_) {
  in_flight_.reserve(config_->flow_control.max_in_flight);
  if (config_->rate_limit.enabled()) {
    bucket_.emplace(config_->rate_limit.requests_per_second, config_->rate_limit.burst, last_activity_);
  }
}

void server_connection::start() {
  spdlog::info("connection {} opened ({})", id_, peer_);
  auto self = shared_from_this();
  asio::post(executor_, [self] { self->serve(); });
  asio::co_spawn(
      executor_, [self] { return self->watchdog(); }, log_exception{id_, "watchdog"});
}

void server_connection::begin_shutdown() {
  asio::post(executor_, [self = shared_from_this()] {
    self->shutting_down_ = true;
    self->maybe_finish();
  });
}

void server_connection::close_now() {
  asio::post(executor_, [self = shared_from_this()] { self->close("server_stopped"); });
}

void server_connection::serve() {
  // Plain completion handlers rather than a coroutine: this runs once per
  // read, and a resumption costs more than a callback. Nothing may escape
  // into the I/O thread's run(); what does ends this connection only.
  try {
    if (!decode_batch()) return;
    // Memory grown for a large frame goes back once a small frame follows it;
    // a stream of large frames keeps it, up to max_retained_buffer. Only
    // here: while a read is pending, the kernel writes into that buffer.
    if (decoder_.buffered() == 0 && (!last_frame_large_ || decoder_.capacity() > max_retained_buffer)) {
      decoder_.release_memory();
    }
    auto room = decoder_.prepare();
    stream_.async_read_some(asio::buffer(room.data(), room.size()),
                            [self = shared_from_this()](std::error_code ec, std::size_t n) { self->on_read(ec, n); });
  } catch (const std::exception& e) {
    spdlog::error("connection {}: serving failed: {}", id_, e.what());
    close("internal_error");
  } catch (...) {
    spdlog::error("connection {}: serving failed with an unknown exception", id_);
    close("internal_error");
  }
}

bool server_connection::decode_batch() {
  const std::size_t max_in_flight = std::max<std::uint32_t>(1, config_->flow_control.max_in_flight);
  while (!closed_ && !reading_stopped_) {
    // Decode every complete frame already received. When the connection has
    // max_in_flight tasks unanswered, stop: the client's further bytes wait
    // in the socket (backpressure) instead of in our memory. The answers of
    // one batch go out together, in one write, once it is decoded.
    bool slots_full = false;
    in_batch_ = true;
    while (!closed_ && !reading_stopped_) {
      if (must_wait_for_slot(max_in_flight)) {
        slots_full = true;
        break;
      }
      auto frame = decoder_.next();
      if (!frame) {
        protocol_error(frame.error());
        break;
      }
      if (!*frame) break;
      last_frame_large_ = (*frame)->size() > frame_decoder::read_chunk;
      on_frame(**frame);
    }
    in_batch_ = false;
    start_write(batch_time_);
    spent_results_.clear();
    if (closed_ || reading_stopped_) return false;
    if (!slots_full) return true;
    // A finished write or handler frees slots and cancels the wait; check
    // again first, as nothing may be left to signal.
    if (must_wait_for_slot(max_in_flight)) {
      slot_signal_.expires_at(clock::time_point::max());
      slot_signal_.async_wait([self = shared_from_this()](std::error_code) {
        self->batch_time_ = clock::now();
        self->serve();
      });
      return false;
    }
  }
  return false;
}

void server_connection::on_read(std::error_code ec, std::size_t n) {
  if (closed_) return;
  if (ec) {
    if (ec == asio::error::eof) {
      if (decoder_.buffered() > 0) {
        spdlog::warn("connection {}: peer closed in the middle of a frame ({} bytes buffered)", id_,
                     decoder_.buffered());
      }
      // The peer may have only shut down its sending side: answer what is in flight first.
      reading_stopped_ = true;
      close_reason_ = "peer_closed";
      maybe_finish();
    } else {
      close("io_error");
    }
    return;
  }
  decoder_.commit(n);
  ctx_->count.bytes_in.fetch_add(n, std::memory_order_relaxed);
  if (ctx_->observer) ctx_->observer->bytes_transferred(n, 0);
  last_activity_ = batch_time_ = clock::now();
  serve();
}

void server_connection::on_frame(std::span<const std::byte> payload) {
  // The frames of one batch share its time: one clock read per read.
  const auto received = batch_time_;
  ctx_->count.received.fetch_add(1, std::memory_order_relaxed);
  auto& task = task_;
  if (auto ok = decode_into(payload, task); !ok) {
    ctx_->count.frames_rejected.fetch_add(1, std::memory_order_relaxed);
    if (ctx_->observer) ctx_->observer->frame_rejected(to_string(errc::decode));
    spdlog::warn("connection {}: rejected frame: {}", id_, ok.error().message());
    answer_error({}, wire::DECODE_FAILED, ok.error().message(), -1, received);
    return;
  }
  // Every answer below echoes the task's id and sequence number.
  auto reject = [&](ErrorCode code, std::string message) {
    auto result = results::failure(task.task_id(), code, std::move(message));
    if (task.has_sequence()) result.set_sequence(task.sequence());
    answer(result, task.task_type(), received);
  };
  if (auto ok = validate_task(task); !ok) {
    reject(wire::INVALID_TASK, ok.error().message());
    return;
  }
  if (config_->enable_sequence_numbers && task.has_sequence()) {
    if (auto why = check_sequence(task.sequence())) {
      reject(wire::INVALID_TASK, std::move(*why));
      return;
    }
  }
  if (shutting_down_ || ctx_->shutting_down.load(std::memory_order_relaxed)) {
    reject(wire::SHUTTING_DOWN, "the server is shutting down; retry against its successor");
    return;
  }
  if ((bucket_ && !bucket_->try_take(received)) || !ctx_->take_global_token(received)) {
    ctx_->count.rate_limited.fetch_add(1, std::memory_order_relaxed);
    reject(wire::RATE_LIMITED, fmt::format("rate limit of {} tasks/s (burst {}) exceeded; slow down",
                                           config_->rate_limit.requests_per_second, config_->rate_limit.burst));
    return;
  }
  if (task.has_metadata()) {
    const auto& meta = task.metadata();
    if (meta == health_check_metadata || meta == capability_negotiation_metadata || meta == metrics_metadata) {
      auto result = results::success(task.task_id());
      if (meta == health_check_metadata) {
        fill_health(result);
      } else if (meta == capability_negotiation_metadata) {
        *result.mutable_capabilities() = ctx_->capabilities;
      } else {
        result.set_metrics_text(ctx_->metrics_provider ? ctx_->metrics_provider() : std::string());
      }
      if (task.has_sequence()) result.set_sequence(task.sequence());
      answer(result, server_observer::builtin_task_type, received);
      return;
    }
  }
  if (ctx_->pending.load(std::memory_order_relaxed) >= config_->flow_control.max_pending) {
    ctx_->count.overloaded.fetch_add(1, std::memory_order_relaxed);
    reject(wire::OVERLOADED, fmt::format("server has {} tasks pending (flow_control.max_pending); retry later",
                                         config_->flow_control.max_pending));
    return;
  }
  if (!ctx_->has_coroutine_handler() && !ctx_->has_plain_handler()) {
    reject(wire::UNSUPPORTED_TASK, "no handler is registered on this server");
    return;
  }
  dispatch(task, received);
}

std::optional<std::string> server_connection::check_sequence(std::uint64_t sequence) {
  // Tasks are numbered per connection from 1. A gap resynchronises after the
  // report; a duplicate or a regression leaves the expectation where it was.
  const auto expected = expected_sequence_;
  if (sequence == expected) {
    ++expected_sequence_;
    return std::nullopt;
  }
  const char* kind = sequence > expected ? "gap" : (sequence + 1 == expected ? "duplicate" : "regression");
  ctx_->sequence_errors.fetch_add(1, std::memory_order_relaxed);
  if (ctx_->observer) ctx_->observer->frame_rejected("sequence_error");
  spdlog::warn("connection {}: sequence {}: expected {}, got {}", id_, kind, expected, sequence);
  if (sequence > expected) expected_sequence_ = sequence + 1;
  return fmt::format("sequence {}: expected {}, got {}", kind, expected, sequence);
}

void server_connection::dispatch(DetectionTask& task, clock::time_point received) {
  if (!ctx_->has_coroutine_handler() && ctx_->sync_execution == handler_execution::inline_on_io_thread) {
    // Run here and now: no thread hand-off, nothing to track, and the task
    // message stays with the connection for the next frame. An in-place
    // handler fills the connection's reused result; a result returned by
    // value is destroyed once the batch's answers are on their way.
    ctx_->pending.fetch_add(1, std::memory_order_relaxed);
    DetectionResult& result = ctx_->in_place_handler ? result_ : spent_results_.emplace_back();
    result.Clear();
    std::exception_ptr ep;
    try {
      ctx_->run_plain_handler(task, result);
    } catch (...) {
      ep = std::current_exception();
    }
    ctx_->pending.fetch_sub(1, std::memory_order_relaxed);
    const in_flight f{0,
                      std::move(*task.mutable_task_id()),
                      task.has_sequence() ? std::optional<std::uint64_t>(task.sequence()) : std::nullopt,
                      task.task_type(),
                      received,
                      received};
    complete(f, ep, result);
    return;
  }

  const auto slot = next_slot_++;
  const auto deadline = received + std::chrono::milliseconds(config_->handler_timeout_ms);
  in_flight_.push_back({slot, task.task_id(),
                        task.has_sequence() ? std::optional<std::uint64_t>(task.sequence()) : std::nullopt,
                        task.task_type(), received, deadline});
  ctx_->pending.fetch_add(1, std::memory_order_relaxed);
  arm_watchdog_before(deadline);

  if (ctx_->async_handler) {
    // Coroutine handlers run on this connection's thread: a short handler
    // costs no thread hop, a long one interleaves at its co_await points.
    // The coroutine answers the task itself, so one that never suspends is
    // answered before the next frame is decoded.
    asio::co_spawn(executor_, run_async_handler(shared_from_this(), slot, std::move(task)),
                   log_exception{id_, "handler"});
  } else if (ctx_->async_in_place_handler) {
    // The same, on a task and result recycled from earlier answers: the
    // decoded task is swapped in, so both sides keep their allocations.
    auto job = spare_jobs_.take([](coroutine_job& j) { j.result.Clear(); });
    job->task.Swap(&task);
    asio::co_spawn(executor_, run_async_in_place_handler(shared_from_this(), slot, std::move(job)),
                   log_exception{id_, "handler"});
  } else {
    // Plain functions may block; they run on the handler pool and come back
    // in batches (pool_lane). An in-place handler gets a message recycled
    // from earlier answers.
    pool_lane::job job{slot, std::move(task), nullptr, nullptr};
    job.result = ctx_->in_place_handler ? spare_results_.take([](DetectionResult& r) { r.Clear(); })
                                        : std::make_unique<DetectionResult>();
    if (lane_.push(std::move(job))) {
      asio::post(*ctx_->blocking_pool, [self = shared_from_this()] { self->run_pool_lane(); });
    }
  }
}

void server_connection::run_pool_lane() {
  std::optional<pool_lane::job> job;
  for (unsigned done = 0;; ++done) {
    switch (lane_.next(done, job)) {
      case pool_lane::step::retire: return;
      case pool_lane::step::yield:
        asio::post(*ctx_->blocking_pool, [self = shared_from_this()] { self->run_pool_lane(); });
        return;
      case pool_lane::step::run: break;
    }
    try {
      ctx_->run_plain_handler(job->task, *job->result);
    } catch (...) {
      // Handed over with the job, not copied: the connection's thread must
      // hold the last reference to the exception, or this thread destroys
      // it while that one reads it.
      job->error = std::current_exception();
    }
    if (lane_.finish(std::move(*job))) {
      asio::post(executor_, [self = shared_from_this()] { self->take_pool_answers(); });
    }
    job.reset();
  }
}

void server_connection::take_pool_answers() {
  for (auto& job : lane_.take_finished()) {
    handler_done(job.slot, job.error, *job.result);
    if (ctx_->in_place_handler) spare_results_.keep(std::move(job.result));
  }
}

asio::awaitable<void> server_connection::run_async_handler(std::shared_ptr<server_connection> self, std::uint64_t slot,
                                                           DetectionTask task) {
  DetectionResult result;
  std::exception_ptr ep;
  try {
    result = co_await self->ctx_->async_handler(std::move(task));
  } catch (...) {
    ep = std::current_exception();
  }
  self->handler_done(slot, ep, result);
}

asio::awaitable<void> server_connection::run_async_in_place_handler(std::shared_ptr<server_connection> self,
                                                                    std::uint64_t slot,
                                                                    std::unique_ptr<coroutine_job> job) {
  std::exception_ptr ep;
  try {
    co_await self->ctx_->async_in_place_handler(job->task, job->result);
  } catch (...) {
    ep = std::current_exception();
  }
  // The answer is framed (copied into out_) before handler_done returns.
  self->handler_done(slot, ep, job->result);
  if (!self->closed_) self->spare_jobs_.keep(std::move(job));
}

void server_connection::handler_done(std::uint64_t slot, const std::exception_ptr& error, DetectionResult& result) {
  auto it = std::find_if(in_flight_.begin(), in_flight_.end(), [slot](const in_flight& f) { return f.slot == slot; });
  if (it == in_flight_.end()) return;  // already answered HANDLER_TIMEOUT, or the connection closed
  const in_flight f = std::move(*it);
  in_flight_.erase(it);
  ctx_->pending.fetch_sub(1, std::memory_order_relaxed);
  last_activity_ = clock::now();
  complete(f, error, result);
  slot_signal_.cancel();
  maybe_finish();
}

void server_connection::complete(const in_flight& f, const std::exception_ptr& error, DetectionResult& result) {
  if (closed_) return;
  if (error) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("connection {}: handler failed for task {}: {}", id_, f.task_id, what);
    answer_error(f.task_id, wire::HANDLER_FAILED, fmt::format("handler failed: {}", what), f.task_type, f.received);
  } else {
    // The answer always echoes the task's id and sequence, whatever the handler set.
    if (result.task_id() != f.task_id) result.set_task_id(f.task_id);
    if (f.sequence) result.set_sequence(*f.sequence);
    answer(result, f.task_type, f.received);
  }
}

void server_connection::answer_error(std::string task_id, ErrorCode code, std::string message, int task_type,
                                     clock::time_point received) {
  auto result = results::failure(std::move(task_id), code, std::move(message));
  answer(result, task_type, received);
}

void server_connection::answer(DetectionResult& result, int task_type, clock::time_point received) {
  if (closed_) return;
  if (auto ok = append_frame(codec_, result, out_); !ok) {
    // The result cannot be framed (usually: larger than max_frame_bytes). The
    // client still gets a definite answer for its task.
    spdlog::error("connection {}: cannot send the result of task {}: {}", id_, result.task_id(), ok.error().message());
    auto failure = results::failure(result.task_id(), wire::HANDLER_FAILED,
                                    fmt::format("the result could not be sent: {}", ok.error().message()));
    if (result.has_sequence()) failure.set_sequence(result.sequence());
    if (!append_frame(codec_, failure, out_)) return;
    result = std::move(failure);
  }
  ++unwritten_answers_;
  ctx_->count.answered.fetch_add(1, std::memory_order_relaxed);
  if (!result.success()) ctx_->count.failed.fetch_add(1, std::memory_order_relaxed);
  if (ctx_->observer) {
    const std::string_view outcome =
        result.success() ? std::string_view("success") : wire::ErrorCode_Name(result.error_code());
    ctx_->observer->task_answered(task_type, outcome, clock::now() - received);
  }
  if (in_batch_) return;  // the batch's end writes it
  if (in_flight_.empty()) {
    start_write(clock::now());
  } else if (!flush_posted_) {
    // More answers are coming (handlers on the pool, coroutines): those that
    // reach this thread before the flush runs share its system call.
    flush_posted_ = true;
    asio::post(executor_, [self = shared_from_this()] {
      self->flush_posted_ = false;
      self->start_write(clock::now());
    });
  }
}

void server_connection::fill_health(DetectionResult& result) const {
  auto* health = result.mutable_health();
  health->set_version(std::string(library_version()));
  health->set_uptime_ms(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - ctx_->started).count()));
  health->set_active_connections(ctx_->active.load(std::memory_order_relaxed));
  health->set_max_connections(config_->max_connections);
  health->set_tasks_served(ctx_->count.answered.load(std::memory_order_relaxed));
  health->set_codec(std::string(to_string(codec_.kind)));
  health->set_crc32_variant(std::string(to_string(codec_.effective_crc())));
  health->set_endpoint(ctx_->endpoint);
}

void server_connection::protocol_error(const ipc_error& error) {
  const auto code = to_error_code(static_cast<errc>(error.code().value()));
  const auto reason = to_string(static_cast<errc>(error.code().value()));
  ctx_->count.frames_rejected.fetch_add(1, std::memory_order_relaxed);
  if (ctx_->observer) ctx_->observer->frame_rejected(reason);
  spdlog::warn("connection {}: rejected frame ({}): {}; closing - the stream is no longer in sync", id_, reason,
               error.message());
  answer_error({}, code, error.message(), -1, clock::now());
  reading_stopped_ = true;
  close_reason_ = fmt::format("protocol_error:{}", reason);
  maybe_finish();
}

void server_connection::start_write(clock::time_point now) {
  if (writing_now_ || closed_ || out_.empty()) return;
  // Everything answered since the last write goes out in one system call.
  out_.swap(writing_);
  answers_in_write_ = unwritten_answers_;
  // Usually the socket takes the whole batch at once. The write is then over
  // here: no asynchronous operation, no pass through the event loop.
  const std::size_t sent = stream_.try_write_some(writing_.span());
  if (sent == writing_.size()) {
    write_finished(sent, now);
    if (reading_stopped_ || shutting_down_) {
      // Closing here could pull state from under our caller (the watchdog's
      // loop over in_flight_, say): check once it has returned.
      asio::post(executor_, [self = shared_from_this()] { self->maybe_finish(); });
    }
    return;
  }
  writing_now_ = true;
  write_started_ = now;
  arm_watchdog_before(now + std::chrono::milliseconds(config_->write_timeout_ms));
  asio::async_write(
      stream_, asio::buffer(writing_.data() + sent, writing_.size() - sent),
      [self = shared_from_this(), sent](std::error_code ec, std::size_t n) { self->write_done(ec, sent + n); });
}

void server_connection::write_done(std::error_code ec, std::size_t n) {
  writing_now_ = false;
  if (closed_ || ec) {
    writing_.clear();
    if (!closed_) close("io_error");
    return;
  }
  write_finished(n, clock::now());
  start_write(last_activity_);  // what was answered during this write
  maybe_finish();
}

void server_connection::write_finished(std::size_t n, clock::time_point now) {
  const std::size_t written = writing_.size();
  writing_.clear();
  ctx_->count.bytes_out.fetch_add(n, std::memory_order_relaxed);
  if (ctx_->observer) ctx_->observer->bytes_transferred(0, n);
  unwritten_answers_ -= answers_in_write_;
  answers_in_write_ = 0;
  last_activity_ = now;
  // Memory grown for large answers is kept while they keep coming (up to
  // max_retained_buffer) and goes back once a small batch follows; the
  // watchdog frees it when the connection is idle.
  if (writing_.capacity() > 4 * frame_decoder::read_chunk &&
      (written <= frame_decoder::read_chunk || writing_.capacity() > max_retained_buffer)) {
    writing_.shrink_to(frame_decoder::read_chunk);
  }
  slot_signal_.cancel();  // a reader waiting for a free slot may go on
}

void server_connection::arm_watchdog_before(clock::time_point deadline) {
  if (deadline < watchdog_expiry_) watchdog_timer_.cancel();
}

asio::awaitable<void> server_connection::watchdog() {
  const auto read_timeout = std::chrono::milliseconds(config_->read_timeout_ms);
  const auto write_timeout = std::chrono::milliseconds(config_->write_timeout_ms);
  const auto handler_timeout = std::chrono::milliseconds(config_->handler_timeout_ms);
  while (!closed_) {
    const auto now = clock::now();
    // Wake at least once per the shorter of the write and handler timeouts
    // (but not more often than min_watchdog_period): a write or a task that
    // starts after `now` has its deadline after that, so the next pass sees
    // it in time and nobody has to wake the watchdog for it, which would cost
    // a timer update per message. Only shorter timeouts need the wake-up
    // (arm_watchdog_before).
    auto next = now + std::max(min_watchdog_period, std::min(write_timeout, handler_timeout));

    // Handler deadlines: answer HANDLER_TIMEOUT; the handler's late result is dropped.
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      if (it->deadline <= now) {
        ctx_->count.handler_timeouts.fetch_add(1, std::memory_order_relaxed);
        ctx_->pending.fetch_sub(1, std::memory_order_relaxed);
        spdlog::warn("connection {}: task {} exceeded the handler deadline of {} ms", id_, it->task_id,
                     config_->handler_timeout_ms);
        auto result = results::failure(
            it->task_id, wire::HANDLER_TIMEOUT,
            fmt::format("the handler did not answer within handler_timeout_ms ({} ms)", config_->handler_timeout_ms));
        if (it->sequence) result.set_sequence(*it->sequence);
        const int type = it->task_type;
        const auto received = it->received;
        it = in_flight_.erase(it);
        answer(result, type, received);
        slot_signal_.cancel();
      } else {
        next = std::min(next, it->deadline);
        ++it;
      }
    }
    if (writing_now_) {
      if (now - write_started_ >= write_timeout) {
        spdlog::warn("connection {}: write did not complete within write_timeout_ms ({} ms)", id_,
                     config_->write_timeout_ms);
        close("write_timeout");
        break;
      }
      next = std::min(next, write_started_ + write_timeout);
    }
    // The read deadline counts only while the connection waits for the client:
    // nothing in flight, nothing to write. A slow handler never closes it.
    const bool idle = in_flight_.empty() && out_.empty() && !writing_now_ && !reading_stopped_;
    if (idle) {
      if (now - last_activity_ >= read_timeout) {
        const bool mid_frame = decoder_.buffered() > 0;
        spdlog::info("connection {}: no data for {} ms{}", id_, config_->read_timeout_ms,
                     mid_frame ? " in the middle of a frame" : "");
        close(mid_frame ? "read_timeout_mid_frame" : "idle_timeout");
        break;
      }
      next = std::min(next, last_activity_ + read_timeout);
      // Nothing is being written: give back what large answers grew.
      if (writing_.capacity() > frame_decoder::read_chunk) writing_ = byte_buffer{};
      if (out_.capacity() > frame_decoder::read_chunk) out_ = byte_buffer{};
      result_ = DetectionResult{};
      spare_results_.clear();
      spare_jobs_.clear();
    }
    watchdog_expiry_ = next;
    watchdog_timer_.expires_at(next);
    co_await watchdog_timer_.async_wait(use_nothrow_awaitable);
  }
}

void server_connection::maybe_finish() {
  if (closed_) return;
  if (!(reading_stopped_ || shutting_down_)) return;
  if (!in_flight_.empty() || !out_.empty() || writing_now_) return;
  close(shutting_down_ && !reading_stopped_ ? "shutdown" : close_reason_);
}

void server_connection::close(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  if (!in_flight_.empty()) {
    ctx_->pending.fetch_sub(static_cast<std::uint32_t>(in_flight_.size()), std::memory_order_relaxed);
    in_flight_.clear();
  }
  stream_.shutdown_send();
  stream_.close();
  watchdog_timer_.cancel();
  slot_signal_.cancel();
  spdlog::info("connection {} closed: {}", id_, reason);
  if (ctx_->observer) ctx_->observer->connection_closed(reason);
  if (ctx_->on_closed) ctx_->on_closed(shared_from_this());
}

}  // namespace daemoneye::ipc::detail
