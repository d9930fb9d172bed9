// libFuzzer target: arbitrary bytes sent by a client to a real in-process
// interprocess_server (one server for the whole run, a fresh connection per
// input). The connection must end with answers and/or the end of the stream,
// never a hang, and the server must keep answering a well-behaved client.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/logging.hpp"
#include "daemoneye/ipc/server.hpp"

namespace {

using namespace daemoneye::ipc;

struct fixture {
  fixture() {
    // A rejected frame per input would drown the fuzzer's output.
    (void)configure_logging("text", "off");
    char pattern[] = "/tmp/daemoneye-fuzz-XXXXXX";
    dir = ::mkdtemp(pattern);
    config.endpoint_path = dir + "/s.sock";
    config.threads = 1;
    config.max_frame_bytes = 4096;
    config.read_timeout_ms = 200;
    config.handler_timeout_ms = 200;
    server = std::make_unique<interprocess_server>(config);
    server->set_handler([](const DetectionTask& t) { return results::success(t.task_id()); });
    if (!server->start()) std::abort();
  }
  ~fixture() {
    server.reset();
    std::filesystem::remove_all(dir);
  }
  std::string dir;
  ipc_config config;
  std::unique_ptr<interprocess_server> server;
  std::uint64_t inputs = 0;
};

fixture& the_fixture() {
  static fixture f;
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = the_fixture();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, f.config.endpoint_path.c_str(), f.config.endpoint_path.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) __builtin_trap();  // NOLINT
  // Send everything, then say so: the server answers what it got and closes.
  for (std::size_t sent = 0; sent < size;) {
    const auto n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close first on a broken frame
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  // Drain until the end of the stream; 5 s without it is a hang.
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) __builtin_trap();
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
  }
  ::close(fd);
  // Every so often, a well-behaved client must still be served.
  if (++f.inputs % 64 == 0) {
    // A fresh connection: a kept one would meet the server's 200 ms idle timeout.
    blocking_client probe(f.config);
    auto r = probe.send_task(tasks::new_builtin_task("probe", health_check_metadata));
    if (!r || !r->success()) __builtin_trap();
  }
  return 0;
}
