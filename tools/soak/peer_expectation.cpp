// observe(): PROTOCOL.md section 5 from the client's side of one connection.
#include "peer_expectation.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace daemoneye::soak {
namespace {

using kind = read_event::kind;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

long long ms_since(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t).count();
}

bool is_busy(const ipc::DetectionResult& r) { return r.task_id().empty() && r.error_code() == wire::SERVER_BUSY; }

/// The problem with `r` as the answer `want`, or "".
std::string mismatch(const expected_answer& want, const ipc::DetectionResult& r) {
  if (want.any_outcome) return {};
  if (!want.error) {
    if (!r.success()) return "expected success, got " + describe(r);
    return want.check ? want.check(r) : std::string();
  }
  if (r.success() || r.error_code() != *want.error) {
    return fmt::format("expected {}, got {}", wire::ErrorCode_Name(*want.error), describe(r));
  }
  const auto message = lower(r.error_message());
  for (const auto& part : want.message_contains) {
    if (message.find(lower(part)) == std::string::npos) {
      return fmt::format("{} message does not mention '{}': '{}'", wire::ErrorCode_Name(*want.error), part,
                         r.error_message());
    }
  }
  return {};
}

class observer {
 public:
  observer(raw_connection& c, const expectation& e, const observe_env& env)
      : c_(c), e_(e), env_(env), deadline_(env.answer_deadline.value_or(clock::now() + env.opts.answer_timeout)) {}

  outcome run() {
    std::vector<bool> matched(e_.answers.size(), false);
    for (std::size_t left = e_.answers.size(); left > 0;) {
      auto ev = next(deadline_);
      if (busy_) return *busy_;
      if (ev.what == kind::answer) {
        auto it = std::find_if(e_.answers.begin(), e_.answers.end(), [&](const expected_answer& a) {
          return !matched[static_cast<std::size_t>(&a - e_.answers.data())] && a.task_id == ev.result.task_id();
        });
        if (it == e_.answers.end()) return violation("unexpected answer", describe(ev.result));
        if (auto problem = mismatch(*it, ev.result); !problem.empty()) return violation("wrong answer", problem);
        matched[static_cast<std::size_t>(it - e_.answers.begin())] = true;
        --left;
        continue;
      }
      std::string pending;
      for (std::size_t i = 0; i < matched.size(); ++i) {
        if (!matched[i]) pending += fmt::format(" '{}'", e_.answers[i].task_id);
      }
      if (ev.what == kind::eof) return violation("closed without answering", "still owed answers for" + pending);
      if (ev.what == kind::timeout) {
        return violation("no answer in time",
                         fmt::format("no answer for{} within {} ms", pending, env_.opts.answer_timeout.count()));
      }
      return violation("bad answer stream", ev.detail);
    }
    switch (e_.then) {
      case then_expect::stay_open: return {e_.label, true, {}};
      case then_expect::close_now: return expect_close_now();
      case then_expect::close_after_silence: return expect_close_after_silence();
    }
    return {e_.label, true, {}};
  }

 private:
  /// The next event; the first answer being SERVER_BUSY ends the observation in busy_.
  read_event next(clock::time_point deadline) {
    auto ev = c_.next_event(deadline);
    if (ev.what == kind::answer && first_ && is_busy(ev.result)) busy_ = busy_outcome(ev.result);
    if (ev.what == kind::answer) first_ = false;
    return ev;
  }

  outcome busy_outcome(const ipc::DetectionResult& r) {
    const auto limit = std::to_string(env_.opts.max_connections);
    if (r.success() || r.error_message().find(limit) == std::string::npos) {
      return violation("SERVER_BUSY does not name the limit", describe(r));
    }
    // The server closes right after writing SERVER_BUSY; the EOF is due at once.
    auto after = c_.next_event(std::max(deadline_, clock::now() + std::chrono::seconds(1)));
    if (after.what == kind::eof) return {server_busy_outcome, true, {}};
    if (after.what == kind::answer) return violation("answer after SERVER_BUSY", describe(after.result));
    return violation("open after SERVER_BUSY", after.detail);
  }

  outcome expect_close_now() {
    auto ev = next(deadline_);
    if (busy_) return *busy_;
    if (ev.what == kind::eof) return {e_.label, true, {}};
    if (ev.what == kind::answer) return violation("answer after error", describe(ev.result));
    if (ev.what == kind::timeout) {
      return violation("still open when the close is due",
                       fmt::format("not closed within {} ms", env_.opts.answer_timeout.count()));
    }
    return violation("bad answer stream", ev.detail);
  }

  outcome expect_close_after_silence() {
    const auto earliest = e_.silent_since + env_.opts.read_timeout;
    const auto latest = std::max(e_.silent_since, e_.silent_after) + env_.opts.read_timeout + env_.opts.grace;
    // A read_timeout too long for this soak (above half its duration): check
    // only that nothing happens before the soak ends, so that the run stays bounded.
    const bool whole_wait = env_.opts.read_timeout <= env_.opts.duration / 2;
    auto ev = next(whole_wait ? latest : env_.soak_end);
    if (busy_) return *busy_;
    const auto after_ms = ms_since(e_.silent_since);
    if (ev.what == kind::eof) {
      if (clock::now() < earliest) {
        return violation("closed before read_timeout",
                         fmt::format("closed after {} ms of silence; read_timeout is {} ms", after_ms,
                                     env_.opts.read_timeout.count()));
      }
      return {e_.label, true, {}};
    }
    if (ev.what == kind::answer) return violation("answered a silent connection", describe(ev.result));
    if (ev.what == kind::timeout) {
      if (!whole_wait) return {"silent, still open at soak end (read_timeout outlasts the soak)", true, {}};
      return violation("not closed after read_timeout",
                       fmt::format("still open {} ms after going silent; read_timeout is {} ms", after_ms,
                                   env_.opts.read_timeout.count()));
    }
    return violation("bad answer stream", ev.detail);
  }

  outcome violation(const std::string& name, const std::string& what) const {
    return {name, false, fmt::format("expected {}; {} | sent: {}", e_.label, what, env_.sent)};
  }

  raw_connection& c_;
  const expectation& e_;
  const observe_env& env_;
  clock::time_point deadline_;
  bool first_ = true;
  std::optional<outcome> busy_;
};

}  // namespace

expected_answer expect_success(std::string task_id, std::function<std::string(const ipc::DetectionResult&)> check) {
  expected_answer a;
  a.task_id = std::move(task_id);
  a.check = std::move(check);
  return a;
}

expected_answer expect_error(std::string task_id, ipc::ErrorCode code, std::vector<std::string> message_contains) {
  expected_answer a;
  a.task_id = std::move(task_id);
  a.error = code;
  a.message_contains = std::move(message_contains);
  return a;
}

std::string describe(const ipc::DetectionResult& r) {
  if (r.success()) return fmt::format("task_id='{}' success ({} processes)", r.task_id(), r.processes_size());
  return fmt::format("task_id='{}' success=false code={} message='{}'", r.task_id(),
                     wire::ErrorCode_Name(r.error_code()), r.error_message());
}

outcome observe(raw_connection& c, const expectation& e, const observe_env& env) { return observer(c, e, env).run(); }

}  // namespace daemoneye::soak
