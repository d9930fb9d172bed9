// interprocess_server: the listener, the accept loop, the worker threads, the
// registry of connections and the two ways of stopping.
#include "daemoneye/ipc/server.hpp"

#include <algorithm>
#include <condition_variable>
#include <future>
#include <thread>
#include <unordered_set>

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemoneye/ipc/detail/use_awaitable.hpp"
#include "daemoneye/ipc/transport.hpp"

#include "server_connection.hpp"

namespace daemoneye::ipc {

using detail::server_connection;
using detail::use_nothrow_awaitable;

struct interprocess_server::impl {
  explicit impl(ipc_config cfg)
      : threads(cfg.threads != 0 ? cfg.threads : std::max(1U, std::thread::hardware_concurrency())),
        ctx(std::make_shared<detail::server_context>(threads)),
        accept_executor(ctx->ios.front()->get_executor()),
        config(std::make_shared<const ipc_config>(std::move(cfg))) {}

  std::shared_ptr<const ipc_config> current_config() const {
    const std::lock_guard lock(mutex);
    return config;
  }

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> reject_busy(local_stream stream, std::shared_ptr<const ipc_config> cfg);
  void close_listener();

  unsigned threads;
  std::shared_ptr<detail::server_context> ctx;
  // The listener lives on the first io_context; accepted connections are
  // spread over all of them.
  asio::io_context::executor_type accept_executor;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> workers;
  std::optional<local_listener> listener;
  // Accept-loop state (one coroutine, one thread): throttles the SERVER_BUSY log line.
  std::chrono::steady_clock::time_point last_busy_log{};
  std::uint64_t busy_since_log = 0;

  mutable std::mutex mutex;  // config, connections, state flags below
  std::condition_variable changed;
  std::shared_ptr<const ipc_config> config;
  std::unordered_set<std::shared_ptr<server_connection>> connections;
  std::uint64_t next_connection_id = 1;
  bool started = false;
  bool stopped = false;
};

asio::awaitable<void> interprocess_server::impl::accept_loop() {
  asio::steady_timer backoff(accept_executor);
  while (true) {
    auto& target = ctx->pick_io();
    auto [ec, stream] = co_await listener->async_accept(target.get_executor());
    if (ec == asio::error::operation_aborted || !listener) co_return;
    if (ec) {
      if (ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system) {
        // Out of descriptors: keep serving the open connections and try again shortly.
        spdlog::error("accept failed: {} - backing off; raise the descriptor limit (ulimit -n)", ec.message());
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(use_nothrow_awaitable);
      } else {
        spdlog::warn("accept failed: {}", ec.message());
      }
      continue;
    }
    // Usually `target`; on Windows possibly the context of an earlier call.
    auto& io = ctx->io_of(stream->get_executor());
    auto cfg = current_config();
    const auto creds = stream->peer();
    if (!cfg->allowed_uids.empty() && (!creds.uid || std::find(cfg->allowed_uids.begin(), cfg->allowed_uids.end(),
                                                               *creds.uid) == cfg->allowed_uids.end())) {
      ctx->count.rejected_uid.fetch_add(1, std::memory_order_relaxed);
      if (ctx->observer) ctx->observer->connection_rejected("uid_not_allowed");
      spdlog::warn("rejected connection from uid {} (pid {}): not in allowed_uids",
                   creds.uid ? std::to_string(*creds.uid) : "unknown", creds.pid ? std::to_string(*creds.pid) : "?");
      stream->close();
      continue;
    }
    if (ctx->active.load() >= cfg->max_connections) {
      ctx->count.rejected_busy.fetch_add(1, std::memory_order_relaxed);
      if (ctx->observer) ctx->observer->connection_rejected("server_busy");
      // A client can open connections far faster than anyone reads logs: one
      // line per second at most, with the count of what it stands for.
      const auto now = std::chrono::steady_clock::now();
      ++busy_since_log;
      if (now - last_busy_log >= std::chrono::seconds(1)) {
        spdlog::warn("rejected {} connection(s): max_connections ({}) reached", busy_since_log, cfg->max_connections);
        busy_since_log = 0;
        last_busy_log = now;
      }
      asio::co_spawn(io, reject_busy(std::move(*stream), cfg), [](const std::exception_ptr& ep) {
        if (ep) spdlog::error("answering SERVER_BUSY failed with an exception");
      });
      continue;
    }
    // An answer of any allowed size leaves in one write, rather than in
    // pieces that each wait for the client to read the one before.
    stream->reserve_send_buffer(cfg->codec_opts().max_wire_bytes());
    ctx->active.fetch_add(1);
    ctx->count.accepted.fetch_add(1, std::memory_order_relaxed);
    if (ctx->observer) ctx->observer->connection_opened();
    std::shared_ptr<server_connection> conn;
    {
      const std::lock_guard lock(mutex);
      conn = std::make_shared<server_connection>(ctx, io.get_executor(), std::move(*stream), cfg, next_connection_id++);
      connections.insert(conn);
    }
    conn->start();
  }
}

asio::awaitable<void> interprocess_server::impl::reject_busy(local_stream stream,
                                                             std::shared_ptr<const ipc_config> cfg) {
  auto result =
      results::failure("", wire::SERVER_BUSY,
                       fmt::format("server busy: max_connections ({}) reached; retry later", cfg->max_connections));
  byte_buffer out;
  if (append_frame(cfg->codec_opts(), result, out)) {
    // A fresh socket's buffer takes one small frame at once; the timer only
    // guards against a peer that has already filled it.
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer guard(co_await asio::this_coro::executor);
    guard.expires_after(std::chrono::milliseconds(cfg->write_timeout_ms));
    co_await (asio::async_write(stream, asio::buffer(out.data(), out.size()), use_nothrow_awaitable) ||
              guard.async_wait(use_nothrow_awaitable));
  }
  stream.shutdown_send();
  stream.close();
}

void interprocess_server::impl::close_listener() {
  if (workers.empty()) {
    // Never started (or start failed): no thread owns the acceptor. Posting
    // here would leave a handler holding a reference to `done` below.
    if (listener) listener->close();
    return;
  }
  // The acceptor belongs to the accept thread; close it there.
  std::promise<void> done;
  auto fut = done.get_future();
  asio::post(accept_executor, [this, &done] {
    if (listener) listener->close();
    done.set_value();
  });
  fut.wait();
}

interprocess_server::interprocess_server(ipc_config config) : impl_(std::make_shared<impl>(std::move(config))) {
  impl_->ctx->endpoint = impl_->config->endpoint_path;
}

interprocess_server::~interprocess_server() {
  stop();
  // Handlers still queued after stop() (a coroutine handler that never
  // finished, the late completion of a sync handler) hold their connection,
  // and through it the server_context that owns the io_contexts: a cycle that
  // would never be freed, io_contexts and descriptors included. Nothing runs
  // on them any more; destroy them, with what they hold. The acceptor goes
  // first: it belongs to one of them.
  impl_->listener.reset();
  auto ios = std::move(impl_->ctx->ios);
  ios.clear();
}

void interprocess_server::set_handler(async_handler handler) {
  impl_->ctx->clear_handlers();
  impl_->ctx->async_handler = std::move(handler);
}

void interprocess_server::set_handler(async_in_place_handler handler) {
  impl_->ctx->clear_handlers();
  impl_->ctx->async_in_place_handler = std::move(handler);
}

void interprocess_server::set_handler(sync_handler handler, handler_execution execution) {
  impl_->ctx->clear_handlers();
  impl_->ctx->sync_handler = std::move(handler);
  impl_->ctx->sync_execution = execution;
}

void interprocess_server::set_handler(in_place_handler handler, handler_execution execution) {
  impl_->ctx->clear_handlers();
  impl_->ctx->in_place_handler = std::move(handler);
  impl_->ctx->sync_execution = execution;
}

void interprocess_server::set_capabilities(CollectionCapabilities capabilities) {
  impl_->ctx->capabilities = std::move(capabilities);
}

void interprocess_server::set_metrics_provider(std::function<std::string()> provider) {
  impl_->ctx->metrics_provider = std::move(provider);
}

void interprocess_server::set_observer(server_observer* observer) { impl_->ctx->observer = observer; }

result<void> interprocess_server::start() {
  auto& s = *impl_;
  {
    const std::lock_guard lock(s.mutex);
    if (s.started) return fail(errc::invalid_config, "the server was already started");
    s.started = true;
  }
  auto cfg = s.current_config();
  if (auto ok = validate(*cfg); !ok) return ok;
  auto listener = local_listener::open(s.accept_executor, {cfg->endpoint_path, cfg->allowed_uids});
  if (!listener) return fail(std::move(listener).error());
  s.listener.emplace(std::move(*listener));
  s.ctx->started = std::chrono::steady_clock::now();
  if (cfg->rate_limit.global_enabled()) {
    s.ctx->global_bucket.emplace(cfg->rate_limit.global_requests_per_second, cfg->rate_limit.global_burst,
                                 s.ctx->started);
    s.ctx->global_limit.store(true);
  }
  if (s.ctx->has_plain_handler() && s.ctx->sync_execution == handler_execution::blocking_pool) {
    s.ctx->blocking_pool = std::make_unique<asio::thread_pool>(s.threads);
    s.ctx->blocking_threads = s.threads;
  }

  std::weak_ptr<impl> weak = impl_;
  s.ctx->on_closed = [weak](const std::shared_ptr<server_connection>& conn) {
    if (auto self = weak.lock()) {
      self->ctx->active.fetch_sub(1);
      const std::lock_guard lock(self->mutex);
      self->connections.erase(conn);
      self->changed.notify_all();
    }
  };
  for (auto& io : s.ctx->ios) s.work.emplace_back(io->get_executor());
  asio::co_spawn(s.accept_executor, s.accept_loop(), [](const std::exception_ptr& ep) {
    if (ep) spdlog::critical("the accept loop failed; no new connections will be served");
  });
  for (unsigned i = 0; i < s.threads; ++i) {
    s.workers.emplace_back([ctx = s.ctx, i] {
      try {
        ctx->ios[i]->run();
      } catch (const std::exception& e) {
        spdlog::critical("server worker thread failed: {}", e.what());
      }
    });
  }
  spdlog::info("listening on {}", cfg->endpoint_path);
  return {};
}

void interprocess_server::graceful_shutdown(std::chrono::milliseconds drain_timeout) {
  auto& s = *impl_;
  {
    const std::lock_guard lock(s.mutex);
    if (!s.started || s.stopped) return;
  }
  spdlog::info("graceful shutdown: draining for up to {} ms", drain_timeout.count());
  s.ctx->shutting_down.store(true);
  s.close_listener();
  std::vector<std::shared_ptr<server_connection>> conns;
  {
    const std::lock_guard lock(s.mutex);
    conns.assign(s.connections.begin(), s.connections.end());
  }
  for (auto& c : conns) c->begin_shutdown();
  {
    std::unique_lock lock(s.mutex);
    s.changed.wait_for(lock, drain_timeout, [&s] { return s.connections.empty(); });
    if (!s.connections.empty()) {
      spdlog::warn("graceful shutdown: {} connection(s) still busy after {} ms; closing them", s.connections.size(),
                   drain_timeout.count());
    }
  }
  stop();
}

void interprocess_server::stop() {
  auto& s = *impl_;
  {
    const std::lock_guard lock(s.mutex);
    if (!s.started || s.stopped) return;
    s.stopped = true;
  }
  s.ctx->shutting_down.store(true);
  s.close_listener();
  std::vector<std::shared_ptr<server_connection>> conns;
  {
    const std::lock_guard lock(s.mutex);
    conns.assign(s.connections.begin(), s.connections.end());
  }
  for (auto& c : conns) c->close_now();
  s.work.clear();
  for (auto& io : s.ctx->ios) io->stop();
  for (auto& t : s.workers) {
    if (t.joinable()) t.join();
  }
  // The io_contexts may have stopped before running the close_now() posted
  // above, which would leave the sockets open and clients waiting until the
  // server is destroyed. No thread runs them now: run what is ready here.
  for (auto& io : s.ctx->ios) {
    io->restart();
    io->poll();
  }
  // Sync handlers still running finish here; what they post back runs now.
  if (s.ctx->blocking_pool) s.ctx->blocking_pool->join();
  for (auto& io : s.ctx->ios) {
    io->restart();
    io->poll();
  }
  {
    const std::lock_guard lock(s.mutex);
    s.connections.clear();
    s.changed.notify_all();
  }
  if (s.listener) s.listener->close();
  spdlog::info("server on {} stopped", s.ctx->endpoint);
}

void interprocess_server::wait() {
  auto& s = *impl_;
  std::unique_lock lock(s.mutex);
  s.changed.wait(lock, [&s] { return s.stopped; });
}

void interprocess_server::reload(const ipc_config& config) {
  auto& s = *impl_;
  auto fresh = std::make_shared<ipc_config>(config);
  const std::lock_guard lock(s.mutex);
  fresh->endpoint_path = s.config->endpoint_path;
  fresh->threads = s.config->threads;
  s.config = std::move(fresh);
}

const std::string& interprocess_server::endpoint() const noexcept { return impl_->ctx->endpoint; }

ipc_config interprocess_server::config() const { return *impl_->current_config(); }

server_stats interprocess_server::stats() const {
  const auto& c = impl_->ctx->count;
  server_stats st;
  st.connections_accepted = c.accepted.load();
  st.connections_rejected_busy = c.rejected_busy.load();
  st.connections_rejected_uid = c.rejected_uid.load();
  st.connections_active = impl_->ctx->active.load();
  st.tasks_received = c.received.load();
  st.tasks_answered = c.answered.load();
  st.tasks_failed = c.failed.load();
  st.frames_rejected = c.frames_rejected.load();
  st.handler_timeouts = c.handler_timeouts.load();
  st.overloaded = c.overloaded.load();
  st.rate_limited = c.rate_limited.load();
  st.bytes_in = c.bytes_in.load();
  st.bytes_out = c.bytes_out.load();
  return st;
}

}  // namespace daemoneye::ipc
