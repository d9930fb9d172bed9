// Counting and printing of hostile-case outcomes.
#include "outcome_table.hpp"

#include <fmt/format.h>

namespace daemoneye::soak {

void outcome_table::record(const std::string& case_name, const outcome& o) {
  const std::lock_guard lock(mutex_);
  auto& [n, allowed] = counts_[{case_name, o.name}];
  if (n == 0) allowed = o.allowed;
  ++n;
  if (!o.allowed) {
    ++violations_;
    if (details_.size() < max_details) details_.push_back(fmt::format("[{}] {}: {}", case_name, o.name, o.detail));
  }
}

std::uint64_t outcome_table::violations() const {
  const std::lock_guard lock(mutex_);
  return violations_;
}

std::uint64_t outcome_table::count(const std::string& case_name, const std::string& outcome_name) const {
  const std::lock_guard lock(mutex_);
  const auto it = counts_.find({case_name, outcome_name});
  return it == counts_.end() ? 0 : it->second.first;
}

void outcome_table::print(std::ostream& out) const {
  const std::lock_guard lock(mutex_);
  std::size_t case_width = 4;
  std::size_t outcome_width = 7;
  for (const auto& [key, value] : counts_) {
    case_width = std::max(case_width, key.first.size());
    outcome_width = std::max(outcome_width, key.second.size());
  }
  out << fmt::format("{:<{}}  {:<{}}  {:>9}  {}\n", "case", case_width, "outcome", outcome_width, "count", "verdict");
  out << std::string(case_width + outcome_width + 9 + 6 + 9, '-') << '\n';
  std::string previous;
  for (const auto& [key, value] : counts_) {
    out << fmt::format("{:<{}}  {:<{}}  {:>9}  {}\n", key.first == previous ? "" : key.first, case_width, key.second,
                       outcome_width, value.first, value.second ? "ok" : "CONTRADICTS PROTOCOL 5");
    previous = key.first;
  }
  if (!details_.empty()) {
    out << fmt::format("\nfirst {} contradiction(s) of {}:\n", details_.size(), violations_);
    for (const auto& d : details_) out << "  " << d << '\n';
  }
}

}  // namespace daemoneye::soak
