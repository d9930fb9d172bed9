// The platform factory: picks the collector this build has.
#include "procmond/process_collector.hpp"

#if defined(__linux__)
#include "procmond/proc_collector_linux.hpp"
#endif

namespace daemoneye::procmond {

result<std::unique_ptr<process_collector>> make_platform_collector() {
#if defined(__linux__)
  return std::unique_ptr<process_collector>(std::make_unique<proc_collector_linux>());
#else
  // TODO(portability): macOS (libproc) and Windows (Toolhelp32) collectors.
  return ipc::fail(ipc::errc::unsupported_task, "no process collector for this platform");
#endif
}

}  // namespace daemoneye::procmond
