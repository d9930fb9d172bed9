// interprocess_client: connect on demand, pipelined writes, one reader per
// connection matching answers to waiting calls by task_id. All state lives on
// one strand.
#include "daemoneye/ipc/client.hpp"

#include <atomic>
#include <deque>
#include <unordered_map>

#include <asio/co_spawn.hpp>
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
      : strand(asio::make_strand(executor)),
        config(std::move(cfg)),
        codec(config.codec_opts()),
        connect_signal(strand),
        decoder(codec) {}

  /// One call waiting for its answer; lives in the calling coroutine's frame.
  struct waiter {
    explicit waiter(const asio::strand<asio::any_io_executor>& s) : timer(s) {}
    asio::steady_timer timer;
    std::optional<result<DetectionResult>> outcome;
    std::optional<std::uint64_t> sequence;  // the number the task was sent with
  };

  asio::awaitable<result<void>> ensure_connected();
  asio::awaitable<void> read_loop(std::uint64_t generation);
  asio::awaitable<result<void>> flush();
  asio::awaitable<result<DetectionResult>> send(DetectionTask task, std::chrono::milliseconds timeout);
  void deliver(DetectionResult result);
  void fail_all(const ipc_error& error);
  void remove_waiter(const std::string& task_id, waiter* w);

  asio::strand<asio::any_io_executor> strand;
  ipc_config config;
  codec_options codec;
  std::optional<local_stream> stream;
  std::uint64_t generation = 0;
  bool connecting = false;
  asio::steady_timer connect_signal;
  std::unordered_map<std::string, std::deque<waiter*>> pending;
  frame_decoder decoder;
  byte_buffer out;
  byte_buffer writing;
  bool write_in_progress = false;
  std::atomic<bool> connected{false};
  std::uint64_t next_sequence = 1;  // per connection, when enable_sequence_numbers

  struct counters {
    std::atomic<std::uint64_t> connects{0}, sent{0}, completed{0}, failed{0}, bytes_out{0}, bytes_in{0},
        sequence_errors{0};
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
  decoder = frame_decoder(codec);
  next_sequence = 1;
  connected.store(true);
  count.connects.fetch_add(1, std::memory_order_relaxed);
  const auto gen = ++generation;
  asio::co_spawn(
      strand, [self = shared_from_this(), gen] { return self->read_loop(gen); },
      [](const std::exception_ptr& ep) {
        if (ep) spdlog::error("client reader failed with an exception");
      });
  co_return result<void>{};
}

void interprocess_client::state::deliver(DetectionResult result) {
  if (result.task_id().empty()) {
    // A connection-level answer: SERVER_BUSY, a frame the server rejected.
    auto err = transport_error_of(result);
    fail_all(err ? *err : ipc_error(errc::remote_error, "server answered: " + result.error_message()));
    return;
  }
  auto it = pending.find(result.task_id());
  if (it == pending.end() || it->second.empty()) {
    spdlog::debug("client: dropping the late answer to task {}", result.task_id());
    return;
  }
  waiter* w = it->second.front();
  it->second.pop_front();
  if (it->second.empty()) pending.erase(it);
  if (auto err = transport_error_of(result)) {
    w->outcome.emplace(fail(std::move(*err)));
  } else if (w->sequence && (!result.has_sequence() || result.sequence() != *w->sequence)) {
    count.sequence_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("client: answer to task {} carries sequence {} instead of {}", result.task_id(),
                 result.has_sequence() ? std::to_string(result.sequence()) : "none", *w->sequence);
    w->outcome.emplace(
        fail(errc::sequence_error,
             fmt::format("answer to task {} carries sequence {} instead of {}", result.task_id(),
                         result.has_sequence() ? std::to_string(result.sequence()) : "none", *w->sequence)));
  } else {
    w->outcome.emplace(std::move(result));
  }
  w->timer.cancel();
}

void interprocess_client::state::fail_all(const ipc_error& error) {
  for (auto& [id, waiters] : pending) {
    for (waiter* w : waiters) {
      w->outcome.emplace(fail(error));
      w->timer.cancel();
    }
  }
  pending.clear();
  if (stream) {
    stream->close();
    stream.reset();
  }
  connected.store(false);
  ++generation;  // the old reader, if any, exits
}

void interprocess_client::state::remove_waiter(const std::string& task_id, waiter* w) {
  auto it = pending.find(task_id);
  if (it == pending.end()) return;
  std::erase(it->second, w);
  if (it->second.empty()) pending.erase(it);
}

asio::awaitable<void> interprocess_client::state::read_loop(std::uint64_t gen) {
  while (gen == generation && stream) {
    auto frame = decoder.next();
    if (!frame) {
      fail_all(std::move(frame).error());
      co_return;
    }
    if (*frame) {
      DetectionResult result;
      if (auto ok = decode_into(**frame, result); !ok) {
        fail_all(std::move(ok).error());
        co_return;
      }
      deliver(std::move(result));
      continue;
    }
    auto room = decoder.prepare();
    auto [ec, n] = co_await stream->async_read_some(asio::buffer(room.data(), room.size()), use_nothrow_awaitable);
    if (gen != generation) co_return;
    if (ec) {
      // connection_reset: the server closed with our tasks still unread on its side.
      fail_all(ec == asio::error::eof || ec == asio::error::connection_reset
                   ? ipc_error(errc::peer_closed, fmt::format("{} closed the connection", config.endpoint_path))
                   : ipc_error(errc::io, fmt::format("read from {}: {}", config.endpoint_path, ec.message())));
      co_return;
    }
    decoder.commit(n);
    count.bytes_in.fetch_add(n, std::memory_order_relaxed);
  }
}

asio::awaitable<result<void>> interprocess_client::state::flush() {
  // Calls arriving while a write is in progress append to `out`; the writer
  // sends them in its next batch.
  if (write_in_progress) co_return result<void>{};
  write_in_progress = true;
  while (!out.empty() && stream) {
    out.swap(writing);
    auto [ec, n] =
        co_await asio::async_write(*stream, asio::buffer(writing.data(), writing.size()), use_nothrow_awaitable);
    writing.clear();
    if (ec) {
      write_in_progress = false;
      out.clear();
      ipc_error err(
          ec == asio::error::broken_pipe || ec == asio::error::connection_reset ? errc::peer_closed : errc::io,
          fmt::format("write to {}: {}", config.endpoint_path, ec.message()));
      fail_all(err);
      co_return fail(std::move(err));
    }
    count.bytes_out.fetch_add(n, std::memory_order_relaxed);
  }
  write_in_progress = false;
  co_return result<void>{};
}

asio::awaitable<result<DetectionResult>> interprocess_client::state::send(DetectionTask task,
                                                                          std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  if (auto ok = co_await ensure_connected(); !ok) {
    count.failed.fetch_add(1, std::memory_order_relaxed);
    co_return fail(std::move(ok).error());
  }
  waiter w(strand);
  if (config.enable_sequence_numbers) {
    w.sequence = next_sequence++;
    task.set_sequence(*w.sequence);
  }
  const std::size_t before = out.size();
  if (auto ok = append_frame(codec, task, out); !ok) {
    out.resize_within_capacity(before);
    if (w.sequence) --next_sequence;  // nothing was sent: the number is free again
    count.failed.fetch_add(1, std::memory_order_relaxed);
    co_return fail(std::move(ok).error());
  }
  pending[task.task_id()].push_back(&w);
  count.sent.fetch_add(1, std::memory_order_relaxed);
  (void)co_await flush();  // a failure reaches `w` through fail_all
  if (!w.outcome) {
    w.timer.expires_at(deadline);
    co_await w.timer.async_wait(use_nothrow_awaitable);
  }
  if (!w.outcome) {
    remove_waiter(task.task_id(), &w);
    count.failed.fetch_add(1, std::memory_order_relaxed);
    co_return fail(errc::timeout, fmt::format("no answer to task {} from {} within {} ms", task.task_id(),
                                              config.endpoint_path, timeout.count()));
  }
  (*w.outcome ? count.completed : count.failed).fetch_add(1, std::memory_order_relaxed);
  co_return std::move(*w.outcome);
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

asio::awaitable<result<DetectionResult>> interprocess_client::async_send_task(
    DetectionTask task, std::optional<std::chrono::milliseconds> timeout) {
  auto self = state_;
  const auto limit = timeout.value_or(std::chrono::milliseconds(self->config.read_timeout_ms));
  co_return co_await asio::co_spawn(self->strand, self->send(std::move(task), limit), asio::use_awaitable);
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
  return {c.connects.load(),  c.sent.load(),     c.completed.load(),      c.failed.load(),
          c.bytes_out.load(), c.bytes_in.load(), c.sequence_errors.load()};
}

}  // namespace daemoneye::ipc
