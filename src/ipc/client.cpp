// interprocess_client: connect on demand, pipelined writes, one reader per
// connection matching answers to waiting calls by task_id. All state lives on
// one strand.
#include "daemoneye/ipc/client.hpp"

#include <atomic>
#include <memory_resource>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemoneye/ipc/detail/use_awaitable.hpp"
#include "daemoneye/ipc/frame_decoder.hpp"
#include "daemoneye/ipc/transport.hpp"

namespace daemoneye::ipc {

using detail::use_nothrow_awaitable;
using clock = std::chrono::steady_clock;

struct interprocess_client::state : std::enable_shared_from_this<state> {
  state(const asio::any_io_executor& executor, ipc_config cfg)
      // Work the strand hands to the executor continues the current work:
      // on a thread that runs the executor it stays on that thread instead
      // of waking another one for every call.
      : strand(asio::make_strand(asio::prefer(executor, asio::execution::relationship.continuation))),
        config(std::move(cfg)),
        codec(config.codec_opts()),
        connect_signal(strand),
        deadline_timer(strand),
        decoder(codec) {}
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  ~state() {
    // Calls never completed (the executor stopped first): release them.
    for (auto& [id, head] : pending) {
      for (waiter* w = head; w != nullptr;) delete std::exchange(w, w->next);
    }
  }

  /// One call waiting for its answer: owns the caller's completion handler.
  struct waiter {
    waiter() = default;
    waiter(const waiter&) = delete;
    waiter& operator=(const waiter&) = delete;
    virtual ~waiter() = default;
    /// Resumes the caller with `outcome`, and deletes this: `now`, from
    /// within this call where the caller's executor allows it, or queued.
    virtual void complete(bool now) = 0;

    DetectionTask task;  // until it is framed
    std::optional<result<DetectionResult>> outcome;
    DetectionResult* into = nullptr;  // async_round_trip: the caller's message, swapped with the answer
    std::string task_id;
    std::optional<std::uint64_t> sequence;  // the number the task was sent with
    std::chrono::milliseconds timeout{};
    clock::time_point deadline;
    waiter* next = nullptr;  // the next call waiting on the same task_id
  };

  /// `Value`: what the caller receives, result<DetectionResult> or (async_round_trip) result<void>.
  template <typename Handler, typename Value>
  struct waiter_op final : waiter {
    // No work guard: the caller is a coroutine (the API returns awaitables),
    // and co_spawn keeps work on its executor for as long as it runs. A
    // guard on a type-erased executor would cost heap allocations per call.
    explicit waiter_op(Handler&& h) : handler(std::move(h)) {}
    void complete(bool now) override {
      // Only the pointer travels: the answer is moved once more, into the caller.
      auto executor = asio::prefer(asio::get_associated_executor(handler), asio::execution::relationship.continuation);
      auto resume = [self = std::unique_ptr<waiter_op>(this)]() mutable {
        auto& answer = *self->outcome;
        if constexpr (std::is_same_v<Value, result<void>>) {
          std::move(self->handler)(answer ? result<void>{} : result<void>(fail(std::move(answer).error())));
        } else {
          std::move(self->handler)(std::move(answer));
        }
      };
      if (now) {
        asio::dispatch(executor, std::move(resume));
      } else {
        asio::post(executor, std::move(resume));
      }
    }
    Handler handler;
  };

  asio::awaitable<result<void>> ensure_connected();
  /// Reads the next bytes of connection `gen`; on_read() delivers what they complete.
  void start_read(std::uint64_t gen);
  void on_read(std::uint64_t gen, std::error_code ec, std::size_t n);
  /// On the strand: sends the task of `w` (connecting first if needed).
  void start_send(std::unique_ptr<waiter> w);
  static asio::awaitable<void> connect_then_send(std::shared_ptr<state> self, std::unique_ptr<waiter> w);
  void enqueue(std::unique_ptr<waiter> w);
  void start_write();
  void write_done(std::error_code ec, std::size_t n, std::uint64_t gen);
  void add_pending(waiter* w);
  /// Completes the call of `w` (which it deletes) with `outcome`. While a
  /// read is handled, the last call it completes is held back for
  /// resume_held_call(); the others are queued to their callers at once.
  template <typename Outcome>
  void finish(waiter* w, Outcome&& outcome) {
    w->outcome.emplace(std::forward<Outcome>(outcome));
    (*w->outcome ? count.completed : count.failed).fetch_add(1, std::memory_order_relaxed);
    if (!holding_calls) {
      w->complete(false);
      return;
    }
    if (held_call != nullptr) {
      held_call->complete(false);
      held_call_alone = false;
    }
    held_call = w;
  }
  /// Ends holding calls back. The one held resumes from within this call
  /// when `now`, it was the only one the read completed, and no other call is
  /// in flight: a lone round trip then costs no trip through the executor's
  /// queue. With other calls in flight it is queued like them: a caller busy
  /// after its answer must not hold up the answers to theirs.
  void resume_held_call(bool now);
  /// Holds back calls completed while one read is handled.
  struct call_hold {
    explicit call_hold(state& s) noexcept : owner(s) {
      owner.holding_calls = true;
      owner.held_call_alone = true;
    }
    call_hold(const call_hold&) = delete;
    call_hold& operator=(const call_hold&) = delete;
    ~call_hold() { owner.resume_held_call(false); }  // left early: queued, as before
    state& owner;
  };
  void arm_deadline(clock::time_point deadline);
  void on_deadline();
  void deliver(DetectionResult& result);
  void fail_all(const ipc_error& error);

  asio::strand<asio::any_io_executor> strand;
  ipc_config config;
  codec_options codec;
  std::optional<local_stream> stream;
  std::uint64_t generation = 0;
  bool connecting = false;
  asio::steady_timer connect_signal;
  /// Map nodes come back to this pool when a call completes, so a call
  /// costs no allocation for its entry once the pool has warmed up.
  std::pmr::unsynchronized_pool_resource pending_memory;
  /// Waiting calls by task_id (the key views the head waiter's task_id);
  /// calls sharing a task_id are answered first come, first served.
  std::pmr::unordered_map<std::string_view, waiter*> pending{&pending_memory};
  /// One timer for every call's deadline, armed for the earliest one.
  asio::steady_timer deadline_timer;
  clock::time_point deadline_armed = clock::time_point::max();
  frame_decoder decoder;
  DetectionResult scratch;  // the answer being parsed
  byte_buffer out;
  byte_buffer writing;
  bool write_in_progress = false;
  bool flush_posted = false;    // a start_write() is queued on the strand
  bool holding_calls = false;   // on_read() is delivering: see finish()
  waiter* held_call = nullptr;  // the last call it completed
  bool held_call_alone = true;  // and the only one so far
  std::atomic<bool> connected{false};
  std::uint64_t next_sequence = 1;  // per connection, when enable_sequence_numbers

  struct counters {
    std::atomic<std::uint64_t> connects{0}, sent{0}, completed{0}, failed{0}, bytes_out{0}, bytes_in{0},
        sequence_errors{0}, writes{0};
  } count;
};

asio::awaitable<result<void>> interprocess_client::state::ensure_connected() {
  while (connecting) {
    connect_signal.expires_at(clock::time_point::max());
    co_await connect_signal.async_wait(use_nothrow_awaitable);
  }
  if (stream) co_return result<void>{};
  connecting = true;
  auto connected_stream =
      co_await ipc::async_connect(strand, config.endpoint_path, std::chrono::milliseconds(config.accept_timeout_ms));
  connecting = false;
  connect_signal.cancel();
  if (!connected_stream) co_return fail(std::move(connected_stream).error());
  stream.emplace(std::move(*connected_stream));
  stream->reserve_send_buffer(codec.max_wire_bytes());  // a task of any allowed size in one write
  decoder = frame_decoder(codec);
  next_sequence = 1;
  connected.store(true);
  count.connects.fetch_add(1, std::memory_order_relaxed);
  start_read(++generation);
  co_return result<void>{};
}

void interprocess_client::state::add_pending(waiter* w) {
  auto [it, fresh] = pending.try_emplace(w->task_id, w);
  if (!fresh) {
    waiter* last = it->second;
    while (last->next != nullptr) last = last->next;
    last->next = w;
  }
  arm_deadline(w->deadline);
}

void interprocess_client::state::arm_deadline(clock::time_point deadline) {
  // Armed only when this deadline comes first: answered calls do not touch
  // the timer, and when it fires it looks at what is still waiting.
  if (deadline >= deadline_armed) return;
  deadline_armed = deadline;
  deadline_timer.expires_at(deadline);
  deadline_timer.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) self->on_deadline();
  });
}

void interprocess_client::state::on_deadline() {
  const auto now = clock::now();
  deadline_armed = clock::time_point::max();
  auto next = clock::time_point::max();
  std::vector<waiter*> expired;
  std::vector<waiter*> new_heads;  // re-keyed after the loop: inserting would invalidate `it`
  for (auto it = pending.begin(); it != pending.end();) {
    waiter* head = it->second;
    waiter* kept = nullptr;
    waiter* kept_tail = nullptr;
    for (waiter* w = head; w != nullptr;) {
      waiter* following = std::exchange(w->next, nullptr);
      if (w->deadline <= now) {
        expired.push_back(w);
      } else {
        next = std::min(next, w->deadline);
        (kept_tail != nullptr ? kept_tail->next : kept) = w;
        kept_tail = w;
      }
      w = following;
    }
    if (kept == head) {
      ++it;
    } else {
      it = pending.erase(it);
      if (kept != nullptr) new_heads.push_back(kept);
    }
  }
  for (waiter* w : new_heads) pending.emplace(w->task_id, w);
  for (waiter* w : expired) {
    finish(w, fail(errc::timeout, fmt::format("no answer to task {} from {} within {} ms", w->task_id,
                                              config.endpoint_path, w->timeout.count())));
  }
  if (next != clock::time_point::max()) arm_deadline(next);
}

void interprocess_client::state::deliver(DetectionResult& result) {
  if (result.task_id().empty()) {
    // A connection-level answer: SERVER_BUSY, a frame the server rejected.
    auto err = transport_error_of(result);
    fail_all(err ? *err : ipc_error(errc::remote_error, "server answered: " + result.error_message()));
    return;
  }
  auto it = pending.find(result.task_id());
  if (it == pending.end()) {
    spdlog::debug("client: dropping the late answer to task {}", result.task_id());
    return;
  }
  waiter* w = it->second;
  pending.erase(it);
  if (w->next != nullptr) pending.emplace(w->next->task_id, w->next);
  if (auto err = transport_error_of(result)) {
    finish(w, fail(std::move(*err)));
  } else if (w->sequence && (!result.has_sequence() || result.sequence() != *w->sequence)) {
    count.sequence_errors.fetch_add(1, std::memory_order_relaxed);
    const auto got = result.has_sequence() ? std::to_string(result.sequence()) : "none";
    spdlog::warn("client: answer to task {} carries sequence {} instead of {}", result.task_id(), got, *w->sequence);
    finish(w, fail(errc::sequence_error, fmt::format("answer to task {} carries sequence {} instead of {}",
                                                     result.task_id(), got, *w->sequence)));
  } else if (w->into != nullptr) {
    w->into->Swap(&result);
    finish(w, DetectionResult{});
  } else {
    finish(w, std::move(result));
  }
}

void interprocess_client::state::fail_all(const ipc_error& error) {
  decltype(pending) failed(&pending_memory);
  failed.swap(pending);
  for (auto& [id, head] : failed) {
    for (waiter* w = head; w != nullptr;) finish(std::exchange(w, w->next), fail(error));
  }
  deadline_timer.cancel();
  deadline_armed = clock::time_point::max();
  // Frames not yet written belong to the calls just failed.
  out.clear();
  if (stream) {
    stream->close();
    stream.reset();
  }
  connected.store(false);
  ++generation;  // the old reader, if any, exits
}

void interprocess_client::state::start_read(std::uint64_t gen) {
  auto room = decoder.prepare();
  stream->async_read_some(
      asio::buffer(room.data(), room.size()),
      asio::bind_executor(
          strand, [self = shared_from_this(), gen](std::error_code ec, std::size_t n) { self->on_read(gen, ec, n); }));
}

void interprocess_client::state::on_read(std::uint64_t gen, std::error_code ec, std::size_t n) {
  // A completion handler rather than a coroutine: this runs once per read,
  // and a resumption costs more than a callback.
  if (gen != generation || !stream) return;  // closed, or a newer connection reads now
  if (ec) {
    // connection_reset: the server closed with our tasks still unread on its side.
    fail_all(ec == asio::error::eof || ec == asio::error::connection_reset
                 ? ipc_error(errc::peer_closed, fmt::format("{} closed the connection", config.endpoint_path))
                 : ipc_error(errc::io, fmt::format("read from {}: {}", config.endpoint_path, ec.message())));
    return;
  }
  call_hold hold(*this);
  try {
    decoder.commit(n);
    count.bytes_in.fetch_add(n, std::memory_order_relaxed);
    while (gen == generation) {
      auto frame = decoder.next();
      if (!frame) {
        fail_all(std::move(frame).error());
        return;
      }
      if (!*frame) break;
      // Parsed into a message kept across answers: an async_round_trip
      // swaps it with the caller's, so both keep their memory for reuse.
      if (auto ok = decode_into(**frame, scratch); !ok) {
        fail_all(std::move(ok).error());
        return;
      }
      deliver(scratch);
    }
    if (gen == generation && stream) start_read(gen);
  } catch (const std::exception& e) {
    // Out of memory, most likely. The connection's state is unknown now:
    // end it, and every call waiting on it, rather than leave them hanging.
    spdlog::error("client: reading from {} failed: {}", config.endpoint_path, e.what());
    if (gen == generation) {
      fail_all(ipc_error(errc::io, fmt::format("read from {}: {}", config.endpoint_path, e.what())));
    }
  }
  // Last, with the next read started: the caller may send its next task from
  // within this call. Outside the try: what the caller throws is its own.
  resume_held_call(true);
}

void interprocess_client::state::resume_held_call(bool now) {
  holding_calls = false;
  waiter* w = std::exchange(held_call, nullptr);
  if (w != nullptr) w->complete(now && held_call_alone && pending.empty());
}

void interprocess_client::state::start_write() {
  // Calls arriving while a write is in progress append to `out`; the next
  // write sends them together.
  if (write_in_progress || out.empty() || !stream) return;
  // Usually the socket takes everything at once, and no asynchronous write is needed.
  const std::size_t sent = stream->try_write_some(out.span());
  count.bytes_out.fetch_add(sent, std::memory_order_relaxed);
  if (sent > 0) count.writes.fetch_add(1, std::memory_order_relaxed);  // else: nothing taken, or no such call (Windows)
  if (sent == out.size()) {
    out.clear();
    return;
  }
  write_in_progress = true;
  out.swap(writing);
  asio::async_write(
      *stream, asio::buffer(writing.data() + sent, writing.size() - sent),
      asio::bind_executor(strand, [self = shared_from_this(), gen = generation](std::error_code ec, std::size_t n) {
        self->write_done(ec, n, gen);
      }));
}

void interprocess_client::state::write_done(std::error_code ec, std::size_t n, std::uint64_t gen) {
  write_in_progress = false;
  writing.clear();
  if (ec) {
    if (gen == generation) {
      fail_all(ipc_error(
          ec == asio::error::broken_pipe || ec == asio::error::connection_reset ? errc::peer_closed : errc::io,
          fmt::format("write to {}: {}", config.endpoint_path, ec.message())));
    }
    return;
  }
  count.bytes_out.fetch_add(n, std::memory_order_relaxed);
  count.writes.fetch_add(1, std::memory_order_relaxed);
  start_write();
}

void interprocess_client::state::enqueue(std::unique_ptr<waiter> w) {
  auto& task = w->task;
  if (config.enable_sequence_numbers) {
    w->sequence = next_sequence++;
    task.set_sequence(*w->sequence);
  }
  const std::size_t before = out.size();
  if (auto ok = append_frame(codec, task, out); !ok) {
    out.resize_within_capacity(before);
    if (w->sequence) --next_sequence;  // nothing was sent: the number is free again
    finish(w.release(), fail(std::move(ok).error()));
    return;
  }
  w->task_id = std::move(*task.mutable_task_id());
  { const DetectionTask framed = std::move(task); }  // its memory goes now, not when the answer comes
  const bool alone = pending.empty();
  add_pending(w.release());
  count.sent.fetch_add(1, std::memory_order_relaxed);
  // A failure reaches the call through fail_all.
  if (alone) {
    start_write();  // nothing else in flight: the frame goes now, the round trip waits for nothing
  } else if (!flush_posted) {
    // Calls already in flight: the callers their answers resumed are sending
    // their next tasks right now. Written together after them, one system
    // call carries them all instead of one each.
    flush_posted = true;
    asio::post(strand, [self = shared_from_this()] {
      self->flush_posted = false;
      self->start_write();
    });
  }
}

void interprocess_client::state::start_send(std::unique_ptr<waiter> w) {
  if (stream && !connecting) {
    enqueue(std::move(w));
    return;
  }
  asio::co_spawn(strand, connect_then_send(shared_from_this(), std::move(w)), [](const std::exception_ptr& ep) {
    if (ep) spdlog::error("client: connecting failed with an exception");
  });
}

asio::awaitable<void> interprocess_client::state::connect_then_send(std::shared_ptr<state> self,
                                                                    std::unique_ptr<waiter> w) {
  if (auto ok = co_await self->ensure_connected(); !ok) {
    self->finish(w.release(), fail(std::move(ok).error()));
    co_return;
  }
  self->enqueue(std::move(w));
}

interprocess_client::interprocess_client(asio::any_io_executor executor, ipc_config config)
    : state_(std::make_shared<state>(executor, std::move(config))) {}

interprocess_client::~interprocess_client() { close(); }

// A plain function rather than a lambda coroutine: the frame owns `self`, so
// the state lives until the work on the strand is done.
asio::awaitable<result<void>> interprocess_client::connect_on_strand(std::shared_ptr<state> self) {
  co_return co_await self->ensure_connected();
}

asio::awaitable<result<void>> interprocess_client::async_connect() {
  auto self = state_;
  co_return co_await asio::co_spawn(self->strand, connect_on_strand(self), asio::use_awaitable);
}

template <typename Value>
asio::awaitable<Value> interprocess_client::start_call(std::shared_ptr<state> self, DetectionTask task,
                                                       DetectionResult* into,
                                                       std::optional<std::chrono::milliseconds> timeout) {
  const auto limit = timeout.value_or(std::chrono::milliseconds(self->config.read_timeout_ms));
  // No coroutine of our own per call: the caller's coroutine waits on a
  // plain asynchronous operation that runs on the strand.
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Value)>(
      [self, limit, into](auto handler, DetectionTask&& t) {
        using handler_type = std::decay_t<decltype(handler)>;
        std::unique_ptr<state::waiter> w = std::make_unique<state::waiter_op<handler_type, Value>>(std::move(handler));
        w->task = std::move(t);
        w->into = into;
        w->timeout = limit;
        w->deadline = clock::now() + limit;
        asio::dispatch(self->strand, [self, w = std::move(w)]() mutable { self->start_send(std::move(w)); });
      },
      asio::use_awaitable, std::move(task));
}

asio::awaitable<result<DetectionResult>> interprocess_client::async_send_task(
    DetectionTask task, std::optional<std::chrono::milliseconds> timeout) {
  return start_call<result<DetectionResult>>(state_, std::move(task), nullptr, timeout);
}

asio::awaitable<result<void>> interprocess_client::async_round_trip(DetectionTask task, DetectionResult& out,
                                                                    std::optional<std::chrono::milliseconds> timeout) {
  return start_call<result<void>>(state_, std::move(task), &out, timeout);
}

void interprocess_client::close() {
  asio::post(state_->strand, [self = state_] {
    if (self->stream || !self->pending.empty()) self->fail_all(ipc_error(errc::cancelled, "the client was closed"));
  });
}

bool interprocess_client::is_connected() const noexcept { return state_->connected.load(); }

const ipc_config& interprocess_client::config() const noexcept { return state_->config; }

client_stats interprocess_client::stats() const {
  const auto& c = state_->count;
  return {c.connects.load(),  c.sent.load(),     c.completed.load(),       c.failed.load(),
          c.bytes_out.load(), c.bytes_in.load(), c.sequence_errors.load(), c.writes.load()};
}

}  // namespace daemoneye::ipc
