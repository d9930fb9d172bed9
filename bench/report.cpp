// Medians, target checks and the two output formats; see report.hpp.
#include "report.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

namespace daemoneye::bench {
namespace {

std::string ratio_text(const row_result& row) {
  const auto r = row.median_ratio();
  return r ? fmt::format("{:.2f}x", *r) : "-";
}

std::string target_text(const row_target& t) {
  switch (t.what) {
    case row_target::kind::ratio_at_most: return fmt::format("<= {:.2f}x", t.value);
    case row_target::kind::ratio_at_least: return fmt::format(">= {:.1f}x", t.value);
    case row_target::kind::p50_us_at_most: return fmt::format("p50 < {:.0f} ms", t.value / 1000);
    case row_target::kind::none: break;
  }
  return "";
}

std::string verdict(std::optional<bool> ok) {
  if (!ok) return "";
  return *ok ? "ok" : "MISS";
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string json_number(double v) { return fmt::format("{:.3f}", v); }
std::string json_number(std::optional<double> v) { return v ? json_number(*v) : "null"; }

/// A median for the table: `-` when no round completed an operation.
std::string cell(std::optional<double> v, int precision) { return v ? fmt::format("{:.{}f}", *v, precision) : "-"; }

}  // namespace

std::optional<double> row_result::median_of(double round_summary::*field) const {
  std::vector<double> values;
  values.reserve(rounds.size());
  for (const auto& r : rounds) {
    if (r.ops > 0) values.push_back(r.*field);
  }
  if (values.empty()) return std::nullopt;
  return median(std::move(values));
}

std::optional<double> row_result::median_ratio() const {
  if (ratio == ratio_kind::none || ratios.empty()) return std::nullopt;
  return median(ratios);
}

std::uint64_t row_result::total_errors() const {
  std::uint64_t n = 0;
  for (const auto& r : rounds) n += r.errors;
  return n;
}

std::optional<bool> row_result::meets_target() const {
  switch (target.what) {
    case row_target::kind::ratio_at_most: {
      const auto r = median_ratio();
      return r ? std::optional<bool>(*r <= target.value) : std::nullopt;
    }
    case row_target::kind::ratio_at_least: {
      const auto r = median_ratio();
      return r ? std::optional<bool>(*r >= target.value) : std::nullopt;
    }
    case row_target::kind::p50_us_at_most: {
      const auto p50 = median_of(&round_summary::p50_us);
      return p50 ? std::optional<bool>(*p50 < target.value) : std::nullopt;
    }
    case row_target::kind::none: break;
  }
  return std::nullopt;
}

void print_table(std::ostream& out, const run_description& run, const std::vector<row_result>& rows,
                 const std::vector<memory_row>& memory) {
  fmt::print(out,
             "daemoneye-bench: {} round(s) x {} per row, medians across rounds; handler {}; {} CPU(s), {}; "
             "server threads {}; pipelined client threads {}; {}{}\n",
             run.rounds, run.per_row, run.handler, run.cpus, run.placement, run.server_threads, run.client_threads,
             run.kernel, run.glibc_tunables.empty() ? "" : "; GLIBC_TUNABLES=" + run.glibc_tunables);
  fmt::print(out, "{:<44} {:>8} {:>8} {:>9} {:>9} {:>10} {:>8} {:>8}  {:<14} {:>8} {:>8} {:>7} {}\n", "row", "req B",
             "resp B", "p50 us", "p99 us", "msgs/s", "MB/s", "vs floor", "target", "srv CPU", "cli CPU", "srv cs",
             "errors");
  for (const auto& row : rows) {
    const auto errors = row.total_errors();
    const auto t = target_text(row.target);
    fmt::print(out, "{:<44} {:>8} {:>8} {:>9} {:>9} {:>10} {:>8} {:>8}  {:<14} {:>8} {:>8} {:>7} {}\n", row.name,
               row.request_bytes, row.response_bytes, cell(row.median_of(&round_summary::p50_us), 1),
               cell(row.median_of(&round_summary::p99_us), 1), cell(row.median_of(&round_summary::msgs_per_s), 0),
               cell(row.median_of(&round_summary::mb_per_s), 1), ratio_text(row),
               t.empty() ? "" : fmt::format("{} {}", t, verdict(row.meets_target())),
               cell(row.median_of(&round_summary::server_cpu_us), 1),
               cell(row.median_of(&round_summary::client_cpu_us), 1),
               cell(row.median_of(&round_summary::server_switches), 1), errors > 0 ? std::to_string(errors) : "");
  }
  fmt::print(out,
             "vs floor: round trips, p50 / the floor's p50 of the same sizes; throughput rows, msgs/s / the floor's "
             "sequential small msgs/s. Floor = raw Unix-socket ping-pong, no codec. srv/cli CPU: CPU microseconds "
             "per message, every thread of the server / client process; srv cs: the server's context switches per "
             "message (both noise-resistant).\n");
  for (const auto& note : run.notes) fmt::print(out, "note: {}\n", note);
  if (!memory.empty()) {
    fmt::print(out, "\n{:<44} {:>10} {:>10} {:>8}  {}\n", "server memory", "VmRSS MiB", "anon MiB", "threads",
               "target");
    for (const auto& m : memory) {
      const double rss = static_cast<double>(m.usage.vm_rss_kib) / 1024.0;
      fmt::print(
          out, "{:<44} {:>10.1f} {:>10.1f} {:>8}  {}\n", m.name, rss,
          static_cast<double>(m.usage.rss_anon_kib) / 1024.0, m.usage.threads,
          m.target_mib ? fmt::format("< {:.0f} MiB {}", *m.target_mib, rss < *m.target_mib ? "ok" : "MISS") : "");
    }
  }
}

void print_json(std::ostream& out, const run_description& run, const std::vector<row_result>& rows,
                const std::vector<memory_row>& memory) {
  fmt::print(out,
             "{{\n  \"run\": {{\"rounds\": {}, \"per_row\": {}, \"handler\": {}, \"cpus\": {}, \"placement\": {}, "
             "\"server_threads\": {}, "
             "\"client_threads\": {}, \"kernel\": {}, \"glibc_tunables\": {}}},\n  \"rows\": [",
             run.rounds, json_string(run.per_row), json_string(run.handler), run.cpus, json_string(run.placement),
             run.server_threads, run.client_threads, json_string(run.kernel),
             run.glibc_tunables.empty() ? std::string("null") : json_string(run.glibc_tunables));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const auto ratio = row.median_ratio();
    const auto ok = row.meets_target();
    fmt::print(out,
               "{}\n    {{\"name\": {}, \"request_bytes\": {}, \"response_bytes\": {}, \"p50_us\": {}, \"p99_us\": {}, "
               "\"msgs_per_s\": {}, \"mb_per_s\": {}, \"ratio_to_floor\": {}, \"ratio_kind\": {}, \"target\": {}, "
               "\"meets_target\": {}, \"server_cpu_us\": {}, \"client_cpu_us\": {}, "
               "\"server_context_switches\": {}, \"errors\": {}, \"rounds\": [",
               i == 0 ? "" : ",", json_string(row.name), row.request_bytes, row.response_bytes,
               json_number(row.median_of(&round_summary::p50_us)), json_number(row.median_of(&round_summary::p99_us)),
               json_number(row.median_of(&round_summary::msgs_per_s)),
               json_number(row.median_of(&round_summary::mb_per_s)), json_number(ratio),
               json_string(row.ratio == ratio_kind::latency      ? "p50_latency"
                           : row.ratio == ratio_kind::throughput ? "msgs_per_s_vs_floor_sequential"
                                                                 : "none"),
               json_string(target_text(row.target)), ok ? (*ok ? "true" : "false") : "null",
               json_number(row.median_of(&round_summary::server_cpu_us)),
               json_number(row.median_of(&round_summary::client_cpu_us)),
               json_number(row.median_of(&round_summary::server_switches)), row.total_errors());
    for (std::size_t r = 0; r < row.rounds.size(); ++r) {
      const auto& s = row.rounds[r];
      fmt::print(out, "{}{{\"p50_us\": {}, \"p99_us\": {}, \"msgs_per_s\": {}, \"ops\": {}, \"ratio\": {}}}",
                 r == 0 ? "" : ", ", json_number(s.p50_us), json_number(s.p99_us), json_number(s.msgs_per_s), s.ops,
                 r < row.ratios.size() ? json_number(row.ratios[r]) : "null");
    }
    fmt::print(out, "]}}");
  }
  fmt::print(out, "\n  ],\n  \"server_memory\": [");
  for (std::size_t i = 0; i < memory.size(); ++i) {
    const auto& m = memory[i];
    fmt::print(
        out, "{}\n    {{\"name\": {}, \"vm_rss_kib\": {}, \"rss_anon_kib\": {}, \"threads\": {}, \"target_mib\": {}}}",
        i == 0 ? "" : ",", json_string(m.name), m.usage.vm_rss_kib, m.usage.rss_anon_kib, m.usage.threads,
        m.target_mib ? json_number(*m.target_mib) : "null");
  }
  fmt::print(out, "\n  ],\n  \"notes\": [");
  for (std::size_t i = 0; i < run.notes.size(); ++i) {
    fmt::print(out, "{}{}", i == 0 ? "" : ", ", json_string(run.notes[i]));
  }
  fmt::print(out, "]\n}}\n");
}

}  // namespace daemoneye::bench
