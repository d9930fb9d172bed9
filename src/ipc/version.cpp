// The version string, fixed at build time from the CMake project version.
#include "daemoneye/ipc/version.hpp"

namespace daemoneye::ipc {

std::string_view library_version() noexcept { return DAEMONEYE_IPC_VERSION; }

}  // namespace daemoneye::ipc
