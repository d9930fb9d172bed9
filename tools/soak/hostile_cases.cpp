// The hostile cases of the soak and, for each, what PROTOCOL.md section 5
// says the client must observe.
#include "hostile_cases.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "daemoneye/ipc/crc.hpp"
#include "daemoneye/ipc/messages.hpp"

#include "peer_expectation.hpp"

namespace daemoneye::soak {
namespace {

using bytes = std::vector<std::byte>;
using wire::CRC_MISMATCH;
using wire::DECODE_FAILED;
using wire::FRAME_TOO_LARGE;
using wire::INVALID_LENGTH;
using wire::INVALID_TASK;

// ---- bytes ------------------------------------------------------------------

ipc::codec_options codec(const case_context& ctx) {
  return {.kind = ipc::codec_kind::framed,
          .crc = ipc::crc32_variant::castagnoli,
          .max_frame_bytes = ctx.opts.max_frame_bytes};
}

void append_u32(bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xFFU));
}

std::uint32_t load_u32(const bytes& b, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(b[at + i]) << (8 * i);
  return v;
}

void store_u32(bytes& b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
}

void append_random(bytes& b, std::mt19937_64& rng, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::byte>(rng() & 0xFFU));
}

void append_frame(const case_context& ctx, const google::protobuf::MessageLite& m, bytes& out) {
  ipc::byte_buffer buf;
  if (!ipc::append_frame(codec(ctx), m, buf)) return;  // our own messages always fit
  out.insert(out.end(), buf.data(), buf.data() + buf.size());
}

std::size_t uniform(std::mt19937_64& rng, std::size_t lo, std::size_t hi) {
  return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
}

bool one_in(std::mt19937_64& rng, unsigned n) { return rng() % n == 0; }

std::string crc_hex(std::uint32_t v) { return fmt::format("{:08X}", v); }

/// "N bytes: 0a0b..." - enough of what was sent to reproduce a contradiction.
std::string preview(const bytes& b) {
  std::string hex;
  const std::size_t shown = std::min<std::size_t>(b.size(), 64);
  for (std::size_t i = 0; i < shown; ++i) hex += fmt::format("{:02x}", static_cast<unsigned>(b[i]));
  return fmt::format("{} bytes: {}{}", b.size(), hex, b.size() > shown ? "..." : "");
}

// ---- valid tasks ------------------------------------------------------------

std::string new_task_id(const char* case_name) {
  static std::atomic<std::uint64_t> next{1};
  return fmt::format("soak-{}-{}", case_name, next.fetch_add(1, std::memory_order_relaxed));
}

/// A pid above any pid_max (2^22): never a process.
constexpr std::uint32_t absent_pid = 0x7FFFFFF0U;

struct planned_task {
  ipc::DetectionTask task;
  expected_answer answer;
};

std::function<std::string(const ipc::DetectionResult&)> pid_check(std::vector<std::uint32_t> pids,
                                                                  std::uint32_t must_have) {
  return [pids = std::move(pids), must_have](const ipc::DetectionResult& r) -> std::string {
    bool found = false;
    for (const auto& p : r.processes()) {
      if (std::find(pids.begin(), pids.end(), p.pid()) == pids.end()) {
        return fmt::format("filter on pids returned pid {}", p.pid());
      }
      found = found || p.pid() == must_have;
    }
    if (!found) return fmt::format("enumeration filtered on live pid {} does not return it", must_have);
    return {};
  };
}

/// health_check or ENUMERATE_PROCESSES with a pid filter, and the answer it must get.
planned_task valid_task(const case_context& ctx, std::mt19937_64& rng, const char* case_name) {
  const auto id = new_task_id(case_name);
  const auto server = static_cast<std::uint32_t>(ctx.opts.server_pid);
  const auto self = static_cast<std::uint32_t>(::getpid());
  const auto max_connections = ctx.opts.max_connections;
  switch (rng() % 3) {
    case 0: {
      auto check = [max_connections](const ipc::DetectionResult& r) -> std::string {
        if (!r.has_health()) return "health_check answered without health";
        if (r.health().active_connections() > max_connections) {
          return fmt::format("health reports {} active connections above max_connections {}",
                             r.health().active_connections(), max_connections);
        }
        return {};
      };
      return {ipc::tasks::new_builtin_task(id, ipc::health_check_metadata), expect_success(id, check)};
    }
    case 1: {
      auto task = ipc::tasks::new_test_task(id, wire::ENUMERATE_PROCESSES);
      task.mutable_process_filter()->add_pids(server);
      return {std::move(task), expect_success(id, pid_check({server}, server))};
    }
    default: {
      auto task = ipc::tasks::new_test_task(id, wire::ENUMERATE_PROCESSES);
      task.mutable_process_filter()->add_pids(self);
      task.mutable_process_filter()->add_pids(absent_pid);
      return {std::move(task), expect_success(id, pid_check({self, absent_pid}, self))};
    }
  }
}

// ---- connecting, sending, observing -------------------------------------------

/// Connects, or records why not (a full backlog is the kernel's answer and allowed).
bool open_connection(const case_context& ctx, const char* case_name, raw_connection& c) {
  std::string error;
  switch (raw_connection::connect(ctx.opts.endpoint, ctx.opts.max_frame_bytes, c, &error)) {
    case connect_status::connected: return true;
    case connect_status::backlog_full:
      ctx.table.record(case_name, {"listen backlog full (EAGAIN)", true, {}});
      // The accept queue is full: back off a little instead of spinning on it.
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      break;
    case connect_status::failed: ctx.table.record(case_name, {"connect failed", false, error}); break;
  }
  return false;
}

/// Sends `data` and records what the server did against `e`.
/// With `then_shutdown`, shuts down our sending side after the data (the server sees EOF).
void send_and_observe(const case_context& ctx, const char* case_name, raw_connection& c, const bytes& data,
                      expectation e, bool then_shutdown = false) {
  // Taken before sending: no later than the server's last read from us.
  if (e.silent_since == clock::time_point{}) e.silent_since = clock::now();
  observe_env env{ctx.opts, ctx.soak_end, {}, preview(data)};
  const auto status = c.send_all(data, clock::now() + ctx.opts.answer_timeout);
  if (status == send_status::timeout) {
    ctx.table.record(
        case_name, {"send stalled", false,
                    fmt::format("the server did not take {} within {} ms", env.sent, ctx.opts.answer_timeout.count())});
    return;
  }
  if (status == send_status::error) {
    ctx.table.record(case_name, {"send failed", false, fmt::format("{}: {}", env.sent, errno_text(errno))});
    return;
  }
  e.silent_after = clock::now();
  if (then_shutdown && status == send_status::ok) c.shutdown_send();
  // peer_closed: the server closed while we sent; what it said is still ours to read.
  ctx.table.record(case_name, observe(c, e, env));
}

/// What the server must answer to `data`, frame by frame, read as it reads it:
/// the length is checked as soon as its four bytes are there, the CRC once the
/// payload is complete, then the payload is decoded.
expectation predict(const case_context& ctx, const bytes& data) {
  expectation e;
  std::vector<std::string> parts;
  const auto max = ctx.opts.max_frame_bytes;
  std::size_t pos = 0;
  while (true) {
    const std::size_t left = data.size() - pos;
    if (left == 0) {
      e.then = then_expect::stay_open;
      break;
    }
    if (left >= 4) {
      const std::uint32_t n = load_u32(data, pos);
      if (n == 0) {
        e.answers.push_back(expect_error("", INVALID_LENGTH));
        parts.emplace_back("INVALID_LENGTH+EOF");
        e.then = then_expect::close_now;
        break;
      }
      if (n > max) {
        e.answers.push_back(expect_error("", FRAME_TOO_LARGE, {std::to_string(n), std::to_string(max)}));
        parts.emplace_back("FRAME_TOO_LARGE+EOF");
        e.then = then_expect::close_now;
        break;
      }
      if (left >= 8 + std::size_t{n}) {
        const std::span<const std::byte> payload(data.data() + pos + 8, n);
        const std::uint32_t claimed = load_u32(data, pos + 4);
        const std::uint32_t actual = ipc::crc32(ipc::crc32_variant::castagnoli, payload).value();
        if (claimed != actual) {
          e.answers.push_back(expect_error("", CRC_MISMATCH, {crc_hex(claimed), crc_hex(actual)}));
          parts.emplace_back("CRC_MISMATCH+EOF");
          e.then = then_expect::close_now;
          break;
        }
        ipc::DetectionTask task;
        if (!ipc::decode_into(payload, task)) {
          e.answers.push_back(expect_error("", DECODE_FAILED));
          parts.emplace_back("DECODE_FAILED");
        } else if (!ipc::validate_task(task)) {
          e.answers.push_back(expect_error(task.task_id(), INVALID_TASK));
          parts.emplace_back("INVALID_TASK");
        } else {
          expected_answer any;
          any.task_id = task.task_id();
          any.any_outcome = true;
          e.answers.push_back(std::move(any));
          parts.emplace_back("served");
        }
        pos += 8 + std::size_t{n};
        continue;
      }
    }
    parts.emplace_back("partial frame, silence, EOF after read_timeout");
    e.then = then_expect::close_after_silence;
    break;
  }
  for (const auto& p : parts) e.label += (e.label.empty() ? "" : "+") + p;
  return e;
}

/// Prepends a valid task to `data` (and its answer to `e`) one time in `n`.
void maybe_prefix_valid(const case_context& ctx, std::mt19937_64& rng, const char* case_name, unsigned n, bytes& data,
                        expectation& e) {
  if (!one_in(rng, n)) return;
  auto planned = valid_task(ctx, rng, case_name);
  append_frame(ctx, planned.task, data);
  e.answers.push_back(std::move(planned.answer));
  e.label = "served+" + e.label;
}

// ---- the cases ----------------------------------------------------------------

void garbage(const case_context& ctx, std::mt19937_64& rng) {
  constexpr const char* name = "garbage";
  bytes data;
  switch (rng() % 4) {
    case 0:  // plain noise: the length is whatever the first four bytes say
      append_random(data, rng, uniform(rng, 8, 4096));
      break;
    case 1: {  // noise whose length fits in what is sent: reaches the CRC check
      append_random(data, rng, uniform(rng, 9, 4096));
      store_u32(data, 0, static_cast<std::uint32_t>(uniform(rng, 1, data.size() - 8)));
      break;
    }
    case 2: {  // noise announcing more than is sent: a partial frame
      append_random(data, rng, uniform(rng, 8, 2048));
      const std::size_t have = data.size() - 8;
      // (Above max_frame_bytes when it is tiny: then the prediction is FRAME_TOO_LARGE.)
      const std::size_t hi = std::max(have + 1, std::min(ctx.opts.max_frame_bytes, have + 65536));
      store_u32(data, 0, static_cast<std::uint32_t>(uniform(rng, have + 1, hi)));
      break;
    }
    default: {  // garbage that frames correctly (DECODE_FAILED / INVALID_TASK), then a valid task
      bytes payload;
      if (one_in(rng, 2)) {
        append_random(payload, rng, uniform(rng, 1, 512));
      } else {
        ipc::DetectionTask bad;
        bad.set_task_id(one_in(rng, 2) ? "" : new_task_id(name));
        bad.set_task_type(static_cast<ipc::TaskType>(one_in(rng, 2) ? 0 : 50 + rng() % 1000));
        if (bad.task_id().empty() && bad.task_type() == 0) bad.set_metadata("no id");
        std::string s = bad.SerializeAsString();
        payload.resize(s.size());
        std::memcpy(payload.data(), s.data(), s.size());
      }
      append_u32(data, static_cast<std::uint32_t>(payload.size()));
      append_u32(data, ipc::crc32(ipc::crc32_variant::castagnoli, payload).value());
      data.insert(data.end(), payload.begin(), payload.end());
      append_frame(ctx, ipc::tasks::new_builtin_task(new_task_id(name), ipc::health_check_metadata), data);
      break;
    }
  }
  raw_connection c;
  if (!open_connection(ctx, name, c)) return;
  send_and_observe(ctx, name, c, data, predict(ctx, data));
}

void huge_length(const case_context& ctx, std::mt19937_64& rng) {
  constexpr const char* name = "huge_length";
  const auto max = ctx.opts.max_frame_bytes;
  const std::uint32_t n = one_in(rng, 3) ? 0xFFFFFFFFU : static_cast<std::uint32_t>(uniform(rng, max + 1, 0xFFFFFFFFU));
  bytes data;
  expectation e{.label = "FRAME_TOO_LARGE+EOF", .answers = {}, .then = then_expect::close_now};
  maybe_prefix_valid(ctx, rng, name, 3, data, e);
  append_u32(data, n);
  append_u32(data, static_cast<std::uint32_t>(rng()));
  append_random(data, rng, uniform(rng, 0, 256));
  e.answers.push_back(expect_error("", FRAME_TOO_LARGE, {std::to_string(n), std::to_string(max)}));
  raw_connection c;
  if (!open_connection(ctx, name, c)) return;
  send_and_observe(ctx, name, c, data, std::move(e));
}

void zero_length(const case_context& ctx, std::mt19937_64& rng) {
  constexpr const char* name = "zero_length";
  bytes data;
  expectation e{.label = "INVALID_LENGTH+EOF", .answers = {}, .then = then_expect::close_now};
  maybe_prefix_valid(ctx, rng, name, 3, data, e);
  append_u32(data, 0);
  append_u32(data, one_in(rng, 2) ? 0U : static_cast<std::uint32_t>(rng()));
  append_random(data, rng, uniform(rng, 0, 64));
  e.answers.push_back(expect_error("", INVALID_LENGTH));
  raw_connection c;
  if (!open_connection(ctx, name, c)) return;
  send_and_observe(ctx, name, c, data, std::move(e));
}

void crc_flip(const case_context& ctx, std::mt19937_64& rng) {
  constexpr const char* name = "crc_flip";
  bytes data;
  expectation e{.label = "CRC_MISMATCH+EOF", .answers = {}, .then = then_expect::close_now};
  maybe_prefix_valid(ctx, rng, name, 2, data, e);
  const std::size_t start = data.size();
  append_frame(ctx, valid_task(ctx, rng, name).task, data);
  const std::size_t payload_size = data.size() - start - 8;
  data[start + 8 + uniform(rng, 0, payload_size - 1)] ^= static_cast<std::byte>(1U << (rng() % 8));
  const std::uint32_t claimed = load_u32(data, start + 4);
  const std::uint32_t actual =
      ipc::crc32(ipc::crc32_variant::castagnoli, std::span<const std::byte>(data.data() + start + 8, payload_size))
          .value();
  e.answers.push_back(expect_error("", CRC_MISMATCH, {crc_hex(claimed), crc_hex(actual)}));
  // A valid task after the corrupt frame must not be answered: the stream is out of sync.
  if (one_in(rng, 2)) append_frame(ctx, valid_task(ctx, rng, name).task, data);
  raw_connection c;
  if (!open_connection(ctx, name, c)) return;
  send_and_observe(ctx, name, c, data, std::move(e));
}

void truncated(const case_context& ctx, std::mt19937_64& rng) {
  constexpr const char* name = "truncated";
  bytes data;
  expectation e;
  maybe_prefix_valid(ctx, rng, name, 3, data, e);
  const std::size_t start = data.size();
  std::string what;
  switch (rng() % 3) {
    case 0:  // the header of a valid task only
      append_frame(ctx, valid_task(ctx, rng, name).task, data);
      data.resize(start + 8);
      what = "header only";
      break;
    case 1:  // a valid task cut in the middle of its payload
      append_frame(ctx, valid_task(ctx, rng, name).task, data);
      data.resize(start + 8 + (data.size() - start - 8) / 2);
      what = "half payload";
      break;
    default: {  // half of a large frame (the largest allowed, up to 16 MiB): buffered, then given back
      const std::size_t n = std::min<std::size_t>(ctx.opts.max_frame_bytes, std::size_t{16} * 1024 * 1024);
      append_u32(data, static_cast<std::uint32_t>(n));
      append_u32(data, static_cast<std::uint32_t>(rng()));
      append_random(data, rng, n / 2);
      what = "half of a large payload";
      break;
    }
  }
  raw_connection c;
  if (!open_connection(ctx, name, c)) return;
  switch (rng() % 3) {
    case 0: {  // close at once: nothing to observe but the server's survival
      const auto status = c.send_all(data, clock::now() + ctx.opts.answer_timeout);
      ctx.table.record(name, status == send_status::timeout
                                 ? outcome{"send stalled", false, preview(data)}
                                 : outcome{fmt::format("{}, client closed", what), true, {}});
      return;
    }
    case 1:  // our EOF in the middle of a frame: what is owed is answered, then the server closes
      e.label += fmt::format("{}, client EOF, no answer+EOF", what);
      e.then = then_expect::close_now;
      send_and_observe(ctx, name, c, data, std::move(e), true);
      return;
    default:  // silence in the middle of a frame: closed after read_timeout, nothing sent
      e.label += fmt::format("{}, silence, EOF after read_timeout", what);
      e.then = then_expect::close_after_silence;
      send_and_observe(ctx, name, c, data, std::move(e));
      return;
  }
}

void half_open(const case_context& ctx, std::mt19937_64& /*rng*/) {
  constexpr const char* name = "half_open";
  expectation e{.label = "silent, EOF after read_timeout", .answers = {}, .then = then_expect::close_after_silence};
  e.silent_since = clock::now();  // before connecting: no later than the server's accept
  raw_connection c;
  if (!open_connection(ctx, name, c)) return;
  send_and_observe(ctx, name, c, {}, std::move(e));
}

void pipeline_no_read(const case_context& ctx, std::mt19937_64& rng) {
  constexpr const char* name = "pipeline_no_read";
  bytes batch;
  for (int i = 0; i < 32; ++i) {
    // Mostly built-in health checks (answered on the I/O threads), some collector work.
    auto task = one_in(rng, 8) ? valid_task(ctx, rng, name).task
                               : ipc::tasks::new_builtin_task(new_task_id(name), ipc::health_check_metadata);
    append_frame(ctx, task, batch);
  }
  raw_connection c;
  if (!open_connection(ctx, name, c)) return;
  const auto t0 = clock::now();
  const auto wt = ctx.opts.write_timeout;
  // Long enough, often, for the server's write timeout to strike; never past the soak's end.
  auto end = t0 + std::chrono::milliseconds(uniform(rng, static_cast<std::size_t>(wt.count() / 2),
                                                    static_cast<std::size_t>(wt.count() * 3 + 1)));
  end = std::min(end, std::max(ctx.soak_end, t0 + std::chrono::milliseconds(100)));
  bool blocked = false;
  send_status status = send_status::ok;
  std::uint64_t sent = 0;
  while (clock::now() < end) {
    const auto before = clock::now();
    status = c.send_all(batch, end);
    if (clock::now() - before > std::chrono::milliseconds(50)) blocked = true;
    if (status != send_status::ok) break;
    sent += 32;
  }
  if (status == send_status::error) {
    ctx.table.record(name, {"send failed", false, errno_text(errno)});
    return;
  }
  if (status != send_status::peer_closed) {
    ctx.table.record(
        name, {blocked ? "unread answers, backpressure, client closed" : "unread answers, client closed", true, {}});
    return;
  }
  // The server closed on us. Read what it had sent to learn why.
  const auto elapsed = clock::now() - t0;
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  const auto deadline = clock::now() + ctx.opts.answer_timeout;
  bool first = true;
  while (true) {
    auto ev = c.next_event(deadline);
    if (ev.what == read_event::kind::eof) break;
    if (ev.what != read_event::kind::answer) {
      ctx.table.record(name, {"bad answer stream", false, ev.detail});
      return;
    }
    const auto& r = ev.result;
    if (first && r.task_id().empty() && r.error_code() == wire::SERVER_BUSY) {
      ctx.table.record(name, {server_busy_outcome, true, {}});
      return;
    }
    first = false;
    if (r.task_id().empty() || r.error_code() == DECODE_FAILED || r.error_code() == INVALID_TASK ||
        r.error_code() == CRC_MISMATCH || r.error_code() == FRAME_TOO_LARGE || r.error_code() == INVALID_LENGTH) {
      ctx.table.record(
          name, {"protocol error on valid tasks", false, fmt::format("after {} valid tasks: {}", sent, describe(r))});
      return;
    }
  }
  if (elapsed < wt) {
    ctx.table.record(name, {"closed before write_timeout", false,
                            fmt::format("server closed after {} ms with {} tasks sent; write_timeout is {} ms",
                                        elapsed_ms, sent, wt.count())});
    return;
  }
  ctx.table.record(name, {"unread answers, closed by server (write_timeout)", true, {}});
}

void rapid_connect(const case_context& ctx, std::mt19937_64& rng) {
  constexpr const char* name = "rapid_connect";
  for (int i = 0; i < 16; ++i) {
    raw_connection c;
    if (!open_connection(ctx, name, c)) continue;
    switch (rng() % 3) {
      case 0: ctx.table.record(name, {"connect, close", true, {}}); break;
      case 1: {
        bytes some;
        append_random(some, rng, uniform(rng, 1, 7));
        (void)c.send_all(some, clock::now() + ctx.opts.answer_timeout);
        ctx.table.record(name, {"connect, a few bytes, close", true, {}});
        break;
      }
      default:
        c.shutdown_send();
        ctx.table.record(name, {"connect, shutdown, close", true, {}});
        break;
    }
  }
  // A breath between storms, so that the other cases still reach the accept queue.
  std::this_thread::sleep_for(std::chrono::milliseconds(uniform(rng, 5, 20)));
}

void burst(const case_context& ctx, std::mt19937_64& /*rng*/) {
  constexpr const char* name = "burst_10x_limit";
  const std::size_t n = std::size_t{10} * ctx.opts.max_connections;
  std::vector<raw_connection> conns(n);
  std::vector<bool> connected(n, false);
  for (std::size_t i = 0; i < n; ++i) connected[i] = open_connection(ctx, name, conns[i]);
  // One health check on each; those over the limit get SERVER_BUSY instead.
  const auto deadline = clock::now() + ctx.opts.answer_timeout;
  std::vector<expectation> expected(n);
  std::vector<bytes> sent(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!connected[i]) continue;
    const auto id = new_task_id(name);
    append_frame(ctx, ipc::tasks::new_builtin_task(id, ipc::health_check_metadata), sent[i]);
    expected[i].label = "served";
    expected[i].answers.push_back(expect_success(id));
    if (conns[i].send_all(sent[i], deadline) == send_status::timeout) {
      ctx.table.record(name, {"send stalled", false, preview(sent[i])});
      connected[i] = false;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!connected[i]) continue;
    observe_env env{ctx.opts, ctx.soak_end, deadline, preview(sent[i])};
    ctx.table.record(name, observe(conns[i], expected[i], env));
  }
}

void valid(const case_context& ctx, std::mt19937_64& rng) {
  constexpr const char* name = "valid";
  bytes data;
  expectation e{.label = "served", .answers = {}, .then = then_expect::stay_open};
  const std::size_t k = uniform(rng, 1, 4);
  for (std::size_t i = 0; i < k; ++i) {
    auto planned = valid_task(ctx, rng, name);
    append_frame(ctx, planned.task, data);
    e.answers.push_back(std::move(planned.answer));
  }
  raw_connection c;
  if (!open_connection(ctx, name, c)) return;
  send_and_observe(ctx, name, c, data, std::move(e));
}

constexpr std::array cases{
    hostile_case{"garbage", "random bytes; noise that reaches the CRC; partial noise; correctly framed noise", garbage},
    hostile_case{"huge_length", "length prefix above max_frame_bytes (and 0xFFFFFFFF)", huge_length},
    hostile_case{"zero_length", "length prefix 0", zero_length},
    hostile_case{"crc_flip", "a valid frame with one payload bit flipped", crc_flip},
    hostile_case{"truncated", "header only / half payload, then close, EOF or silence", truncated},
    hostile_case{"half_open", "connect and never send", half_open},
    hostile_case{"pipeline_no_read", "pipeline valid tasks, never read the answers", pipeline_no_read},
    hostile_case{"rapid_connect", "connect and disconnect in a tight loop", rapid_connect},
    hostile_case{"burst_10x_limit", "10 x max_connections concurrent connects", burst},
    hostile_case{"valid", "valid tasks: health_check, ENUMERATE_PROCESSES with a pid filter", valid},
};

}  // namespace

std::span<const hostile_case> hostile_cases() { return cases; }

}  // namespace daemoneye::soak
