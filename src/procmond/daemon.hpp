// The procmond process: collector, IPC server, metrics and signal handling
// wired together. main() parses the command line and hands over to run().
//
//   daemon d(sources, std::move(*settings));
//   return d.run();     // blocks until SIGTERM/SIGINT; SIGHUP reloads
#pragma once

#include "procmond/daemon_settings.hpp"

namespace daemoneye::ipc {
class interprocess_server;
}  // namespace daemoneye::ipc

namespace daemoneye::procmond {

/// Resource type. run() is called once, from the main thread.
class daemon {
 public:
  daemon(daemon_sources sources, daemon_settings settings);

  /// Serves until SIGTERM or SIGINT (then drains and returns 0); returns
  /// non-zero when it cannot start (endpoint in use, unsafe directory, ...).
  int run();

 private:
  void reload();

  daemon_sources sources_;
  daemon_settings settings_;
  ipc::interprocess_server* server_ = nullptr;  // non-owning; set while run() serves
};

}  // namespace daemoneye::procmond
