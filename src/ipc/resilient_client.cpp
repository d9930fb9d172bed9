// resilient_client: endpoint selection, the retry loop, pooled connections,
// capability negotiation and per-endpoint statistics.
#include "daemoneye/ipc/resilient_client.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <numeric>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "daemoneye/ipc/backoff.hpp"
#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/codec.hpp"
#include "daemoneye/ipc/transport.hpp"

namespace daemoneye::ipc {

bool is_idempotent(TaskType type) noexcept {
  switch (type) {
    case wire::ENUMERATE_PROCESSES:
    case wire::CHECK_PROCESS_HASH:
    case wire::MONITOR_PROCESS_TREE:
    case wire::VERIFY_EXECUTABLE:
    case wire::MONITOR_NETWORK_CONNECTIONS:
    case wire::TRACK_FILE_OPERATIONS:
    case wire::COLLECT_PERFORMANCE_METRICS: return true;
    default: return false;
  }
}

std::optional<MonitoringDomain> required_domain(TaskType type) noexcept {
  switch (type) {
    case wire::ENUMERATE_PROCESSES:
    case wire::CHECK_PROCESS_HASH:
    case wire::MONITOR_PROCESS_TREE:
    case wire::VERIFY_EXECUTABLE: return wire::PROCESS;
    case wire::MONITOR_NETWORK_CONNECTIONS: return wire::NETWORK;
    case wire::TRACK_FILE_OPERATIONS: return wire::FILESYSTEM;
    case wire::COLLECT_PERFORMANCE_METRICS: return wire::PERFORMANCE;
    default: return std::nullopt;
  }
}

bool supports(const CollectionCapabilities& capabilities, TaskType type) noexcept {
  const auto domain = required_domain(type);
  if (!domain) return false;
  const auto& domains = capabilities.supported_domains();
  return std::find(domains.begin(), domains.end(), *domain) != domains.end();
}

std::string_view to_string(balancing_strategy s) noexcept {
  switch (s) {
    case balancing_strategy::round_robin: return "round_robin";
    case balancing_strategy::weighted: return "weighted";
    case balancing_strategy::priority: return "priority";
  }
  return "unknown";
}

void latency_histogram::record(std::chrono::nanoseconds latency) noexcept {
  std::size_t i = 0;
  while (i < upper_bounds.size() && latency > upper_bounds[i]) ++i;
  ++counts[i];
  sum_seconds += std::chrono::duration<double>(latency).count();
}

std::uint64_t latency_histogram::total() const noexcept {
  return std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
}

namespace {

using time_point = clock_source::time_point;
using std::chrono::milliseconds;

/// Errors worth another attempt (on this or another endpoint).
bool is_transient(const ipc_error& e) {
  for (const errc c : {errc::server_not_found, errc::connection_refused, errc::connection_timeout, errc::peer_closed,
                       errc::server_busy, errc::rate_limited, errc::overloaded, errc::shutting_down, errc::timeout}) {
    if (e.is(c)) return true;
  }
  return false;
}

/// Errors that say the endpoint is unwell: transport failures, broken
/// streams and overload answers. A rate limit is the server working as
/// configured, and an application failure arrives as a value, not here.
bool counts_against_breaker(const ipc_error& e) {
  for (const errc c :
       {errc::server_not_found, errc::connection_refused, errc::connection_timeout, errc::permission_denied,
        errc::peer_closed, errc::timeout, errc::io, errc::too_large, errc::crc_mismatch, errc::invalid_length,
        errc::decode, errc::server_busy, errc::overloaded, errc::handler_timeout, errc::shutting_down}) {
    if (e.is(c)) return true;
  }
  return false;
}

/// Answers by which the server says it did not run the task.
bool certainly_not_run(const ipc_error& e) {
  return e.is(errc::server_busy) || e.is(errc::rate_limited) || e.is(errc::overloaded) || e.is(errc::shutting_down);
}

bool is_builtin(const DetectionTask& task) {
  if (!task.has_metadata()) return false;
  const auto& m = task.metadata();
  return m == health_check_metadata || m == capability_negotiation_metadata || m == metrics_metadata;
}

std::string domains_text(const CollectionCapabilities& caps) {
  std::vector<std::string> names;
  for (const int d : caps.supported_domains()) {
    names.push_back(wire::MonitoringDomain_IsValid(d) ? wire::MonitoringDomain_Name(static_cast<MonitoringDomain>(d))
                                                      : fmt::format("UNKNOWN({})", d));
  }
  return fmt::format("[{}]", fmt::join(names, ", "));
}

struct pooled_connection {
  blocking_client client;
  time_point last_used;
};

/// One endpoint. The spec, config and breaker are fixed at creation; the
/// rest is guarded by the client's mutex.
struct endpoint_state {
  endpoint_state(endpoint_spec s, ipc_config c, const circuit_breaker_options& breaker_options, clock_source& clock)
      : spec(std::move(s)), config(std::move(c)), breaker(spec.id, breaker_options, clock) {}

  endpoint_spec spec;
  ipc_config config;  // the client's, with this endpoint's path
  circuit_breaker breaker;

  std::vector<pooled_connection> idle;
  std::optional<CollectionCapabilities> capabilities;
  time_point capabilities_at{};
  double health = 1.0;
  std::int64_t swrr_current = 0;
  endpoint_stats counters;  // id, path, breaker and pool fields are filled in by snapshot()
};

/// A connection taken out of an endpoint's pool for one attempt.
struct lease {
  blocking_client client;
  bool reused = false;  // came from the pool already connected
};

/// How one attempt on one endpoint ended.
struct attempt_outcome {
  result<DetectionResult> answer;
  bool maybe_run = false;  // the task may have reached the handler
  bool incapable = false;  // negotiation showed the endpoint cannot run the task
};

}  // namespace

struct resilient_client::impl {
  impl(ipc_config cfg, resilient_client_options opts, clock_source& clk)
      : config(std::move(cfg)),
        options(opts),
        clock(&clk),
        codec(config.codec_opts()),
        backoff(options.backoff_seed
                    ? std::make_unique<exponential_backoff>(backoff_options::from(config.client), *options.backoff_seed)
                    : std::make_unique<exponential_backoff>(backoff_options::from(config.client))) {}

  [[nodiscard]] milliseconds idle_limit() const {
    const milliseconds read_timeout(config.read_timeout_ms);
    return options.idle_margin < read_timeout / 2 ? read_timeout - options.idle_margin : read_timeout / 2;
  }

  std::vector<std::size_t> initial_order(const DetectionTask& task, bool builtin);
  bool eligible(const endpoint_state& e, TaskType type, bool builtin, time_point now) const;
  [[nodiscard]] bool capabilities_fresh(const endpoint_state& e, time_point now) const {
    return e.capabilities && now - e.capabilities_at < options.capabilities_max_age;
  }

  lease take(endpoint_state& e);
  void give_back(endpoint_state& e, lease l);
  result<void> connect(endpoint_state& e, blocking_client& c);
  result<DetectionResult> exchange(endpoint_state& e, lease& l, const DetectionTask& task, bool may_resend,
                                   bool caller_task, bool& maybe_run);
  result<CollectionCapabilities> negotiate(endpoint_state& e, lease& l);
  attempt_outcome attempt(endpoint_state& e, const DetectionTask& task, bool idempotent, bool builtin);
  void record_outcome(endpoint_state& e, const attempt_outcome& o);
  ipc_error unsupported_error(const DetectionTask& task) const;
  endpoint_stats snapshot(const endpoint_state& e) const;

  ipc_config config;
  resilient_client_options options;
  clock_source* clock;
  codec_options codec;
  std::unique_ptr<exponential_backoff> backoff;  // thread-safe itself
  std::vector<std::unique_ptr<endpoint_state>> endpoints;
  std::atomic<std::uint64_t> control_ids{0};

  mutable std::mutex mutex;  // the endpoints' mutable fields, rr_next
  std::uint64_t rr_next = 0;
};

bool resilient_client::impl::eligible(const endpoint_state& e, TaskType type, bool builtin, time_point now) const {
  if (builtin || !options.require_capabilities) return true;
  // Unknown or stale capabilities are negotiated by the attempt itself.
  if (!capabilities_fresh(e, now)) return true;
  return supports(*e.capabilities, type);
}

std::vector<std::size_t> resilient_client::impl::initial_order(const DetectionTask& task, bool builtin) {
  const std::lock_guard lock(mutex);
  const auto now = clock->now();
  const auto n = endpoints.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  switch (options.strategy) {
    case balancing_strategy::round_robin: {
      std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(rr_next % n), order.end());
      ++rr_next;
      break;
    }
    case balancing_strategy::weighted: {
      // Smooth weighted round robin (as nginx) over the endpoints able to take
      // the task: each gains its weight, the richest is chosen and pays the total.
      std::int64_t total = 0;
      std::optional<std::size_t> best;
      for (std::size_t i = 0; i < n; ++i) {
        auto& e = *endpoints[i];
        if (!eligible(e, task.task_type(), builtin, now)) continue;
        e.swrr_current += e.spec.weight;
        total += e.spec.weight;
        if (!best || e.swrr_current > endpoints[*best]->swrr_current) best = i;
      }
      if (best) endpoints[*best]->swrr_current -= total;
      // Failover order after the chosen one: by weight, then as configured.
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (best && (a == *best || b == *best)) return a == *best && b != *best;
        return endpoints[a]->spec.weight > endpoints[b]->spec.weight;
      });
      break;
    }
    case balancing_strategy::priority: {
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto& ea = *endpoints[a];
        const auto& eb = *endpoints[b];
        if (ea.spec.priority != eb.spec.priority) return ea.spec.priority < eb.spec.priority;
        return ea.health > eb.health;  // among equals, the healthier first
      });
      break;
    }
  }
  return order;
}

lease resilient_client::impl::take(endpoint_state& e) {
  {
    const std::lock_guard lock(mutex);
    const auto now = clock->now();
    const auto limit = idle_limit();
    // Most recently used first: the fewest connections stay warm.
    while (!e.idle.empty()) {
      pooled_connection pc = std::move(e.idle.back());
      e.idle.pop_back();
      if (now - pc.last_used > limit) {
        // Close it before the server's idle timeout (read_timeout_ms) can close it under a call.
        ++e.counters.idle_connections_closed;
        continue;
      }
      return {std::move(pc.client), true};
    }
  }
  return {blocking_client(e.config), false};
}

void resilient_client::impl::give_back(endpoint_state& e, lease l) {
  if (!l.client.is_connected()) return;
  const std::lock_guard lock(mutex);
  if (e.idle.size() < options.max_idle_connections) e.idle.push_back({std::move(l.client), clock->now()});
}

result<void> resilient_client::impl::connect(endpoint_state& e, blocking_client& c) {
  {
    const std::lock_guard lock(mutex);
    ++e.counters.connection_attempts;
  }
  auto ok = c.connect();
  if (!ok) {
    const std::lock_guard lock(mutex);
    ++e.counters.connection_failures;
  }
  return ok;
}

result<DetectionResult> resilient_client::impl::exchange(endpoint_state& e, lease& l, const DetectionTask& task,
                                                         bool may_resend, bool caller_task, bool& maybe_run) {
  const auto payload = task.ByteSizeLong();
  const auto frame_out = header_size(codec, payload) + payload;
  const auto count_send = [&] {
    const std::lock_guard lock(mutex);
    ++(caller_task ? e.counters.tasks_sent : e.counters.control_tasks_sent);
    e.counters.bytes_out += frame_out;
  };
  const auto started = std::chrono::steady_clock::now();
  count_send();
  auto r = l.client.send_task(task);
  if (!r && r.error().is(errc::peer_closed) && l.reused && may_resend) {
    // The server closed the pooled connection while it sat idle (or
    // restarted): replace it and send again; the caller never sees this.
    {
      const std::lock_guard lock(mutex);
      ++e.counters.stale_connections_replaced;
    }
    l.reused = false;
    l.client.close();
    if (auto ok = connect(e, l.client); !ok) {
      return fail(std::move(ok).error());
    }
    count_send();
    r = l.client.send_task(task);
  }
  maybe_run = !r && !certainly_not_run(r.error());
  const std::lock_guard lock(mutex);
  if (r) {
    e.counters.bytes_in += header_size(codec, r->ByteSizeLong()) + r->ByteSizeLong();
    if (caller_task) {
      ++e.counters.tasks_completed;
      e.counters.latency.record(std::chrono::steady_clock::now() - started);
    }
  } else if (caller_task) {
    ++e.counters.tasks_failed;
  }
  return r;
}

result<CollectionCapabilities> resilient_client::impl::negotiate(endpoint_state& e, lease& l) {
  const auto id = fmt::format("capability-negotiation-{}", control_ids.fetch_add(1) + 1);
  bool maybe_run = false;
  auto r = exchange(e, l, tasks::new_builtin_task(id, capability_negotiation_metadata), true, false, maybe_run);
  if (!r) return fail(std::move(r).error());
  // A server that runs no capability negotiation announces nothing.
  CollectionCapabilities caps = r->success() ? r->capabilities() : CollectionCapabilities();
  const std::lock_guard lock(mutex);
  e.capabilities = caps;
  e.capabilities_at = clock->now();
  return caps;
}

attempt_outcome resilient_client::impl::attempt(endpoint_state& e, const DetectionTask& task, bool idempotent,
                                                bool builtin) {
  attempt_outcome out;
  lease l = take(e);
  if (!l.client.is_connected()) {
    if (auto ok = connect(e, l.client); !ok) {
      out.answer = fail(std::move(ok).error());
      return out;
    }
  }
  bool needs_caps = false;
  bool proven_alive = false;  // the connection has just carried a round trip
  if (options.require_capabilities && !builtin) {
    const std::lock_guard lock(mutex);
    needs_caps = !capabilities_fresh(e, clock->now());
  }
  if (needs_caps) {
    auto caps = negotiate(e, l);
    if (!caps) {
      give_back(e, std::move(l));
      out.answer = fail(std::move(caps).error());
      return out;
    }
    proven_alive = true;
    if (!supports(*caps, task.task_type())) {
      give_back(e, std::move(l));
      out.incapable = true;
      out.answer = fail(errc::unsupported_task, "");
      return out;
    }
  }
  if (!idempotent && l.reused && !proven_alive) {
    // A task that must not run twice never goes out on a connection the
    // server may have closed meanwhile: a health check proves it alive first
    // (and resets the server's idle timer).
    const auto id = fmt::format("connection-check-{}", control_ids.fetch_add(1) + 1);
    bool ignored = false;
    auto check = exchange(e, l, tasks::new_builtin_task(id, health_check_metadata), true, false, ignored);
    if (!check) {
      give_back(e, std::move(l));
      out.answer = fail(std::move(check).error());
      return out;
    }
  }
  out.answer = exchange(e, l, task, idempotent, true, out.maybe_run);
  give_back(e, std::move(l));
  return out;
}

void resilient_client::impl::record_outcome(endpoint_state& e, const attempt_outcome& o) {
  bool healthy = true;
  if (o.answer || o.incapable) {
    e.breaker.record_success();
  } else if (counts_against_breaker(o.answer.error())) {
    e.breaker.record_failure();
    healthy = false;
  } else {
    e.breaker.release();
    return;
  }
  const std::lock_guard lock(mutex);
  const double alpha = std::clamp(options.health_smoothing, 0.0, 1.0);
  e.health = (1.0 - alpha) * e.health + alpha * (healthy ? 1.0 : 0.0);
}

ipc_error resilient_client::impl::unsupported_error(const DetectionTask& task) const {
  const auto domain = required_domain(task.task_type());
  std::vector<std::string> parts;
  {
    const std::lock_guard lock(mutex);
    for (const auto& e : endpoints) {
      parts.push_back(fmt::format("{} supports {}", e->spec.id,
                                  e->capabilities ? domains_text(*e->capabilities) : std::string("(unknown)")));
    }
  }
  return {errc::unsupported_task,
          fmt::format("no endpoint can run task {} of type {} (it needs monitoring domain {}): {}", task.task_id(),
                      task_type_name(task.task_type()),
                      domain ? wire::MonitoringDomain_Name(*domain) : std::string("(none)"), fmt::join(parts, "; "))};
}

endpoint_stats resilient_client::impl::snapshot(const endpoint_state& e) const {
  endpoint_stats s = e.counters;
  s.id = e.spec.id;
  s.endpoint_path = e.spec.endpoint_path;
  s.priority = e.spec.priority;
  s.weight = e.spec.weight;
  s.idle_connections = e.idle.size();
  s.health_score = e.health;
  s.capabilities = e.capabilities;
  s.breaker = e.breaker.stats();
  return s;
}

// ---- resilient_client --------------------------------------------------------

resilient_client::resilient_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
resilient_client::resilient_client(resilient_client&&) noexcept = default;
resilient_client& resilient_client::operator=(resilient_client&&) noexcept = default;
resilient_client::~resilient_client() = default;

result<resilient_client> resilient_client::create(ipc_config config, std::vector<endpoint_spec> endpoints,
                                                  resilient_client_options options, clock_source& clock) {
  const auto invalid = [](std::string message) { return fail(errc::invalid_config, std::move(message)); };
  if (endpoints.empty()) return invalid("resilient_client needs at least one endpoint");
  std::set<std::string, std::less<>> ids;
  for (const auto& ep : endpoints) {
    if (ep.id.empty()) return invalid(fmt::format("the endpoint at {} has an empty id", ep.endpoint_path));
    if (!ids.insert(ep.id).second) return invalid(fmt::format("endpoint id \"{}\" is used twice", ep.id));
    if (ep.weight == 0) return invalid(fmt::format("endpoint {} has weight 0; weights must be at least 1", ep.id));
    if (auto ok = validate_endpoint_path(ep.endpoint_path); !ok) {
      return invalid(fmt::format("endpoint {}: {}", ep.id, ok.error().message()));
    }
  }
  if (options.call_deadline <= milliseconds(0)) return invalid("call_deadline must be positive");
  circuit_breaker_options breaker_options = circuit_breaker_options::from(config.client);
  breaker_options.half_open_max_probes = options.half_open_max_probes;
  breaker_options.success_threshold = options.breaker_success_threshold;

  auto p = std::make_unique<impl>(std::move(config), options, clock);
  for (auto& ep : endpoints) {
    ipc_config c = p->config;
    c.endpoint_path = ep.endpoint_path;
    if (auto ok = validate(c); !ok) return invalid(fmt::format("endpoint {}: {}", ep.id, ok.error().message()));
    p->endpoints.push_back(std::make_unique<endpoint_state>(std::move(ep), std::move(c), breaker_options, clock));
  }
  return resilient_client(std::move(p));
}

result<resilient_client> resilient_client::create(ipc_config config, resilient_client_options options,
                                                  clock_source& clock) {
  std::vector<endpoint_spec> one{{"default", config.endpoint_path, 0, 1}};
  return create(std::move(config), std::move(one), options, clock);
}

result<DetectionResult> resilient_client::send_task(const DetectionTask& task, const call_options& call) {
  auto& s = *impl_;
  if (auto ok = validate_task(task); !ok) return fail(std::move(ok).error());
  if (auto ok = check_payload_size(s.codec, task.ByteSizeLong()); !ok) return fail(std::move(ok).error());

  const auto budget = call.deadline.value_or(s.options.call_deadline);
  const auto deadline = s.clock->now() + budget;
  const bool idempotent = call.idempotent.value_or(is_idempotent(task.task_type()));
  const bool builtin = is_builtin(task);
  const auto n = s.endpoints.size();
  const auto order = s.initial_order(task, builtin);

  std::vector<bool> tried(n, false);      // in this round
  std::vector<bool> incapable(n, false);  // found unable during this call
  std::uint32_t attempts = 0;
  std::uint32_t round = 0;
  std::optional<ipc_error> last;

  const auto timed_out = [&] {
    return fail(errc::timeout, fmt::format("task {} got no result within its deadline of {} ms after {} attempt(s){}{}",
                                           task.task_id(), budget.count(), attempts, last ? "; last error: " : "",
                                           last ? last->message() : std::string()));
  };

  while (true) {
    if (s.clock->now() >= deadline) return timed_out();

    // Candidates in the strategy's order: able to take the task as far as we know.
    std::vector<std::size_t> candidates;
    {
      const std::lock_guard lock(s.mutex);
      const auto now = s.clock->now();
      for (const auto i : order) {
        if (!incapable[i] && s.eligible(*s.endpoints[i], task.task_type(), builtin, now)) candidates.push_back(i);
      }
    }
    if (candidates.empty()) return fail(s.unsupported_error(task));

    std::optional<std::size_t> chosen;
    bool tried_any = false;
    for (const auto i : candidates) {
      if (tried[i]) {
        tried_any = true;
        continue;
      }
      if (s.endpoints[i]->breaker.try_acquire()) {
        chosen = i;
        break;
      }
    }
    if (!chosen) {
      if (!tried_any) {
        // Nothing was even tried in this round: every candidate's breaker is open.
        std::vector<std::string> why;
        for (const auto i : candidates) why.push_back(s.endpoints[i]->breaker.rejection_error().message());
        return fail(errc::circuit_breaker_open,
                    fmt::format("task {} not sent: {}", task.task_id(), fmt::join(why, "; ")));
      }
      // Every candidate failed or is open: wait, then start a new round.
      const auto now = s.clock->now();
      if (now >= deadline) return timed_out();
      const auto wait = std::min<clock_source::duration>(s.backoff->delay(round), deadline - now);
      s.clock->sleep_until(now + wait);
      ++round;
      std::fill(tried.begin(), tried.end(), false);
      continue;
    }

    auto& e = *s.endpoints[*chosen];
    tried[*chosen] = true;
    auto outcome = s.attempt(e, task, idempotent, builtin);
    s.record_outcome(e, outcome);
    if (outcome.incapable) {
      // Not a failure and not an attempt: the endpoint answered; route elsewhere.
      incapable[*chosen] = true;
      continue;
    }
    ++attempts;
    if (outcome.answer) return std::move(outcome.answer).value();

    const auto& err = outcome.answer.error();
    ipc_error annotated(err.code(), fmt::format("endpoint {}: {}", e.spec.id, err.message()));
    if (!is_transient(err)) return fail(std::move(annotated));
    if (outcome.maybe_run && !idempotent) {
      return fail(
          ipc_error(err.code(), fmt::format("task {} may have reached endpoint {} before the failure and is not "
                                            "idempotent, so it was not sent again: {}",
                                            task.task_id(), e.spec.id, err.message())));
    }
    if (attempts >= s.config.client.max_attempts) {
      return fail(ipc_error(err.code(),
                            fmt::format("task {} failed after {} attempt(s) (client.max_attempts = {}); last "
                                        "error: {}",
                                        task.task_id(), attempts, s.config.client.max_attempts, annotated.message())));
    }
    last = std::move(annotated);
  }
}

result<CollectionCapabilities> resilient_client::negotiate_capabilities(std::string_view id) {
  auto& s = *impl_;
  const auto it =
      std::find_if(s.endpoints.begin(), s.endpoints.end(), [id](const auto& e) { return e->spec.id == id; });
  if (it == s.endpoints.end()) return fail(errc::invalid_config, fmt::format("no endpoint with id \"{}\"", id));
  auto& e = **it;
  if (auto ok = e.breaker.acquire(); !ok) return fail(std::move(ok).error());
  lease l = s.take(e);
  auto caps = [&]() -> result<CollectionCapabilities> {
    if (!l.client.is_connected()) {
      if (auto ok = s.connect(e, l.client); !ok) return fail(std::move(ok).error());
    }
    return s.negotiate(e, l);
  }();
  s.give_back(e, std::move(l));
  attempt_outcome outcome;
  if (!caps) outcome.answer = fail(caps.error());
  s.record_outcome(e, outcome);
  return caps;
}

std::vector<endpoint_stats> resilient_client::stats() const {
  const std::lock_guard lock(impl_->mutex);
  std::vector<endpoint_stats> out;
  out.reserve(impl_->endpoints.size());
  for (const auto& e : impl_->endpoints) out.push_back(impl_->snapshot(*e));
  return out;
}

std::optional<endpoint_stats> resilient_client::stats(std::string_view id) const {
  const std::lock_guard lock(impl_->mutex);
  for (const auto& e : impl_->endpoints) {
    if (e->spec.id == id) return impl_->snapshot(*e);
  }
  return std::nullopt;
}

void resilient_client::close_idle_connections() {
  std::vector<pooled_connection> closing;
  const std::lock_guard lock(impl_->mutex);
  for (auto& e : impl_->endpoints) {
    for (auto& pc : e->idle) closing.push_back(std::move(pc));
    e->idle.clear();
  }
}

const ipc_config& resilient_client::config() const noexcept { return impl_->config; }
const resilient_client_options& resilient_client::options() const noexcept { return impl_->options; }

}  // namespace daemoneye::ipc
