// Tests of procmond/process_tree.hpp: subtree selection by ppid links.
#include "procmond/process_tree.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace daemoneye::procmond {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

ipc::ProcessRecord proc(std::uint32_t pid, std::uint32_t ppid) {
  ipc::ProcessRecord r;
  r.set_pid(pid);
  r.set_ppid(ppid);
  return r;
}

std::vector<std::uint32_t> pids(const std::vector<ipc::ProcessRecord>& records) {
  std::vector<std::uint32_t> out;
  for (const auto& r : records) out.push_back(r.pid());
  return out;
}

std::vector<ipc::ProcessRecord> sample() {
  // 1 -> {10 -> {11 -> {12}}, 20}, 2 -> {30}
  return {proc(1, 0), proc(2, 0), proc(10, 1), proc(11, 10), proc(12, 11), proc(20, 1), proc(30, 2)};
}

TEST(SelectSubtrees, RootsAndAllDescendantsInInputOrder) {
  EXPECT_THAT(pids(select_subtrees(sample(), [](const auto& r) { return r.pid() == 10; })), ElementsAre(10, 11, 12));
  EXPECT_THAT(pids(select_subtrees(sample(), [](const auto& r) { return r.pid() == 1 || r.pid() == 30; })),
              ElementsAre(1, 10, 11, 12, 20, 30));
}

TEST(SelectSubtrees, NoRootsSelectsNothing) {
  EXPECT_THAT(select_subtrees(sample(), [](const auto&) { return false; }), IsEmpty());
}

TEST(SelectSubtrees, SurvivesParentCycles) {
  // Pid reuse between reads can produce a cycle; the walk must still end.
  std::vector<ipc::ProcessRecord> cyclic = {proc(5, 6), proc(6, 5), proc(7, 6)};
  EXPECT_THAT(pids(select_subtrees(cyclic, [](const auto& r) { return r.pid() == 5; })), ElementsAre(5, 6, 7));
}

}  // namespace
}  // namespace daemoneye::procmond
