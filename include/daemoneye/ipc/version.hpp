// The library's version, for --version output and the health_check answer.
#pragma once

#include <string_view>

namespace daemoneye::ipc {

/// The version string of this build, e.g. "0.1.0".
std::string_view library_version() noexcept;

}  // namespace daemoneye::ipc
