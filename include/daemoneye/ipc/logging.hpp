// Logging set-up shared by procmond and daemoneye-cli: spdlog to stderr, as
// text for people or as JSON lines for machines. Called once, from main().
//
//   if (auto ok = configure_logging("json", "info"); !ok) ...
#pragma once

#include <string_view>

#include "daemoneye/ipc/error.hpp"

namespace daemoneye::ipc {

/// `format`: "text" or "json"; `level`: trace, debug, info, warn, error.
/// Replaces spdlog's default logger (the only global logger of the project).
result<void> configure_logging(std::string_view format, std::string_view level);

}  // namespace daemoneye::ipc
