// hostile_cases: the misbehaving clients of the soak. Each case is one
// iteration of a loop (connect, misbehave, observe, close) that records its
// outcome, checked against PROTOCOL.md section 5, in the outcome table.
// Worker threads run each case's iteration until the soak ends.
//
//   case_context ctx{opts, table, soak_end};
//   for (const auto& c : hostile_cases()) ... c.run_once(ctx, rng);
#pragma once

#include <random>
#include <span>

#include "outcome_table.hpp"
#include "raw_connection.hpp"
#include "soak_options.hpp"

namespace daemoneye::soak {

/// Shared by all workers; every member is thread-safe or read-only.
struct case_context {
  const soak_options& opts;
  outcome_table& table;
  clock::time_point soak_end;
};

/// One case: a name for the table and one bounded iteration.
struct hostile_case {
  const char* name;
  const char* summary;
  void (*run_once)(const case_context& ctx, std::mt19937_64& rng);
};

/// Every case, in table order.
std::span<const hostile_case> hostile_cases();

}  // namespace daemoneye::soak
