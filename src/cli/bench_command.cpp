// `ipc bench`: runs daemoneye-bench, the floor-versus-library benchmark, with
// the arguments that follow. The benchmark is its own program (it forks its
// servers and measures whole processes); this subcommand finds and starts it
// and passes its exit status on.
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/platform.hpp"
#include "cli/subcommands.hpp"

namespace daemoneye::cli {
namespace {

#ifdef _WIN32
constexpr const char* bench_name = "daemoneye-bench.exe";
constexpr char path_separator = ';';
#else
constexpr const char* bench_name = "daemoneye-bench";
constexpr char path_separator = ':';
#endif

/// Where daemoneye-bench is: $DAEMONEYE_BENCH when set; else next to this
/// program (an installation puts both in one bin directory); else at its
/// place in a build tree (<build>/src/cli/ -> <build>/bench/); else on PATH.
std::optional<std::filesystem::path> find_bench() {
  // Read once, before anything could call setenv; the CLI has one thread.
  if (const char* chosen = std::getenv("DAEMONEYE_BENCH"); chosen != nullptr && *chosen != '\0') {  // NOLINT
    return std::filesystem::path(chosen);
  }
  if (auto self = platform::own_executable()) {
    const auto dir = self->parent_path();
    for (const auto& candidate : {dir / bench_name, dir.parent_path().parent_path() / "bench" / bench_name}) {
      if (platform::is_executable(candidate)) return candidate;
    }
  }
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe)
  std::istringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, path_separator);) {
    if (dir.empty()) continue;
    auto candidate = std::filesystem::path(dir) / bench_name;
    if (platform::is_executable(candidate)) return candidate;
  }
  return std::nullopt;
}

exit_code run_bench(cli_context& ctx, const std::vector<std::string>& args) {
  const auto bench = find_bench();
  if (!bench) {
    return ctx.report(exit_code::usage,
                      fmt::format("{} not found next to daemoneye-cli or on PATH - build it (cmake --build --preset "
                                  "release --target daemoneye-bench) or set DAEMONEYE_BENCH to its path",
                                  bench_name));
  }
  std::vector<std::string> argv{bench->string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto status = platform::run_program(*bench, argv);
  if (!status) {
    return ctx.report(exit_code::usage, status.error().message() +
                                            " - set DAEMONEYE_BENCH to the daemoneye-bench "
                                            "program");
  }
  return static_cast<exit_code>(*status);
}

}  // namespace

void add_bench_command(CLI::App& ipc_group, cli_context& ctx) {
  auto* bench = ipc_group.add_subcommand(
      "bench",
      "Run daemoneye-bench: this library against a raw-socket floor, server and client in separate processes. "
      "Every argument after 'bench' goes to it (try 'ipc bench --help')");
  // Everything after `bench` belongs to the benchmark, --help included: no
  // options of its own, none handed up to the global ones.
  bench->prefix_command();
  bench->allow_extras();
  bench->fallthrough(false);
  bench->set_help_flag();
  bench->callback(
      [&ctx, bench] { ctx.set_action([&ctx, args = bench->remaining()] { return run_bench(ctx, args); }); });
}

}  // namespace daemoneye::cli
