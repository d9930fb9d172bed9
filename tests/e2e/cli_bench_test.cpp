// `daemoneye-cli ipc bench`: the CLI finds daemoneye-bench (here at its place
// in the build tree, or where DAEMONEYE_BENCH says), hands it every argument
// after `bench`, and exits with its status.
#include <string>

#include <gtest/gtest.h>

#include "support/child_process.hpp"

#ifndef CLI_PATH
#error "CLI_PATH must name the daemoneye-cli binary (tests/CMakeLists.txt)"
#endif
#ifndef BENCH_PATH
#error "BENCH_PATH must name the daemoneye-bench binary (tests/CMakeLists.txt)"
#endif

namespace daemoneye {
namespace {

using namespace std::chrono_literals;
using test::run_to_completion;

TEST(CliBench, RunsTheBenchmarkFoundInTheBuildTreeWithTheGivenArguments) {
  // env -u: the lookup must not depend on the caller's environment.
  auto r =
      run_to_completion({"/usr/bin/env", "-u", "DAEMONEYE_BENCH", CLI_PATH, "ipc", "bench", "--quick", "--json"}, 120s);
  ASSERT_EQ(r.exit_code(), 0) << r.output;
  // The benchmark's own JSON report, with the floor and our rows.
  EXPECT_NE(r.output.find("\"floor: small -> empty\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"blocking_client: small -> empty\""), std::string::npos) << r.output;
}

TEST(CliBench, PassesHelpAndBadArgumentsThroughAndReturnsTheBenchmarksStatus) {
  auto help = run_to_completion({CLI_PATH, "ipc", "bench", "--help"});
  EXPECT_EQ(help.exit_code(), 0) << help.output;
  EXPECT_NE(help.output.find("usage: daemoneye-bench"), std::string::npos) << help.output;

  auto bad = run_to_completion({CLI_PATH, "ipc", "bench", "--rounds", "0"});
  EXPECT_NE(bad.exit_code(), 0) << bad.output;
  EXPECT_NE(bad.output.find("daemoneye-bench: --rounds needs a positive integer"), std::string::npos) << bad.output;
}

TEST(CliBench, DaemoneyeBenchVariableChoosesTheProgramAndAMissingOneIsAUsageError) {
  auto chosen = run_to_completion(
      {"/usr/bin/env", std::string("DAEMONEYE_BENCH=") + BENCH_PATH, CLI_PATH, "ipc", "bench", "--help"});
  EXPECT_EQ(chosen.exit_code(), 0) << chosen.output;
  EXPECT_NE(chosen.output.find("usage: daemoneye-bench"), std::string::npos) << chosen.output;

  auto missing =
      run_to_completion({"/usr/bin/env", "DAEMONEYE_BENCH=/nonexistent/daemoneye-bench", CLI_PATH, "ipc", "bench"});
  EXPECT_EQ(missing.exit_code(), 2) << missing.output;
  EXPECT_NE(missing.output.find("cannot run /nonexistent/daemoneye-bench"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace daemoneye
