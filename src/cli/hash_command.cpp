// `hash PATH [--expect HEX]`: CHECK_PROCESS_HASH of one file, read by the collector.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/json_output.hpp"
#include "cli/subcommands.hpp"

namespace daemoneye::cli {
namespace {

constexpr std::size_t sha256_hex_digits = 64;

struct hash_options {
  std::string path;
  std::string expect;
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

/// The path the collector reads: absolute (it has another working directory),
/// normalised, symbolic links left for the collector to resolve.
std::string absolute_path(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

exit_code run_hash(cli_context& ctx, const hash_options& options) {
  auto task = ipc::tasks::new_test_task(ctx.next_task_id(), wire::CHECK_PROCESS_HASH);
  auto* check = task.mutable_hash_check();
  check->set_expected_hash(lower(options.expect));
  check->set_hash_algorithm("sha256");
  check->set_executable_path(absolute_path(options.path));

  auto answer = ctx.request(task);
  if (!answer) return ctx.report(answer.error());
  const bool has_hash = answer->has_hash_result() && !answer->hash_result().hash_value().empty();
  if (ctx.json()) {
    if (answer->has_hash_result()) ctx.out() << to_json(answer->hash_result()) << '\n';
  } else if (has_hash) {
    ctx.out() << fmt::format("{}  {}\n", answer->hash_result().hash_value(), options.path);
  }
  if (!answer->success()) {
    if (has_hash && !options.expect.empty()) {
      return ctx.report(exit_code::failed, fmt::format("hash mismatch for {}: expected {}, computed {}", options.path,
                                                       lower(options.expect), answer->hash_result().hash_value()));
    }
    return ctx.report_failed(*answer);  // e.g. the collector could not read the file: its message
  }
  if (!has_hash) {
    return ctx.report(exit_code::failed,
                      fmt::format("the collector answered task {} without a hash value", answer->task_id()));
  }
  return exit_code::ok;
}

}  // namespace

void add_hash_command(CLI::App& parent, cli_context& ctx) {
  auto options = std::make_shared<hash_options>();
  auto* cmd = parent.add_subcommand(
      "hash", "SHA-256 of a file as the collector reads it (CHECK_PROCESS_HASH), printed as '<hex>  PATH'");
  cmd->add_option("PATH", options->path, "File to hash; sent as an absolute path")->required();
  cmd->add_option("--expect", options->expect, "Expected SHA-256 (64 hex digits); exit 1 on mismatch")
      ->type_name("HEX")
      ->check([](const std::string& hex) {
        const bool ok = hex.size() == sha256_hex_digits &&
                        std::all_of(hex.begin(), hex.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
        return ok ? std::string() : fmt::format("{} is not a SHA-256 value ({} hex digits)", hex, sha256_hex_digits);
      });
  cmd->callback([&ctx, options] { ctx.set_action([&ctx, options] { return run_hash(ctx, *options); }); });
}

}  // namespace daemoneye::cli
