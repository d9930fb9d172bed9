// Endpoint security of the Unix transport (PROTOCOL.md section 1): modes of
// the directory and socket, refusal of unsafe directories, live servers and
// non-socket files, takeover of stale sockets, path validation, removal of the
// socket file, allowed_uids and peer credentials. Real sockets in a fresh
// temporary directory per test.
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemoneye/ipc/blocking_client.hpp"
#include "daemoneye/ipc/client.hpp"
#include "daemoneye/ipc/server.hpp"
#include "daemoneye/ipc/transport.hpp"

#include "support/served_endpoint.hpp"
#include "support/temp_dir.hpp"

namespace daemoneye::ipc {
namespace {

using namespace std::chrono_literals;

using test::config_at;
using test::expect_served;
using test::expect_start_refused;
using test::round_trip;
using test::start_echo;

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0xFFFFFFFFU;
  return st.st_mode & 07777U;
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

/// Leaves a socket file at `path` that nobody listens on, as a crashed server
/// would: bound, optionally listened on, then closed without unlinking.
void leave_stale_socket(const std::string& path, bool listen_first) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0)  // NOLINT
      << std::strerror(errno);
  if (listen_first) {
    ASSERT_EQ(::listen(fd, 1), 0);
  }
  ::close(fd);
  ASSERT_TRUE(is_socket(path));
}

std::string contents_of(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(EndpointSecurity, MissingDirectoriesAreCreatedWithMode0700) {
  test::temp_dir dir;
  const auto outer = dir.file("a");
  const auto middle = dir.file("a/b");
  const auto inner = dir.file("a/b/c");
  auto cfg = config_at(inner + "/procmond.sock");
  interprocess_server server(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(server));
  EXPECT_EQ(mode_of(outer), 0700U);
  EXPECT_EQ(mode_of(middle), 0700U);
  EXPECT_EQ(mode_of(inner), 0700U);
  expect_served(cfg);
}

TEST(EndpointSecurity, SocketFileHasMode0600FromTheStart) {
  test::temp_dir dir;
  auto cfg = config_at(dir.file("procmond.sock"));
  interprocess_server server(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(server));
  ASSERT_TRUE(is_socket(cfg.endpoint_path));
  EXPECT_EQ(mode_of(cfg.endpoint_path), 0600U);
}

TEST(EndpointSecurity, DirectoryWritableByGroupOrOthersWithoutStickyBitIsRefused) {
  for (const unsigned mode : {0770U, 0707U, 0777U}) {
    SCOPED_TRACE(::testing::Message() << "mode " << std::oct << mode);
    test::temp_dir dir;
    const auto parent = dir.file("shared");
    ASSERT_TRUE(std::filesystem::create_directory(parent));
    ASSERT_EQ(::chmod(parent.c_str(), mode), 0);
    auto cfg = config_at(parent + "/procmond.sock");
    ASSERT_NO_FATAL_FAILURE(expect_start_refused(cfg, errc::unsafe_endpoint, {parent, "sticky"}));
    EXPECT_FALSE(std::filesystem::exists(cfg.endpoint_path));
  }
}

TEST(EndpointSecurity, DirectoryOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another user";
  test::temp_dir dir;
  const auto parent = dir.file("theirs");
  ASSERT_TRUE(std::filesystem::create_directory(parent));
  ASSERT_EQ(::chmod(parent.c_str(), 0700), 0);
  ASSERT_EQ(::chown(parent.c_str(), 65534, 65534), 0) << std::strerror(errno);
  expect_start_refused(config_at(parent + "/procmond.sock"), errc::unsafe_endpoint, {"owned by uid 65534"});
}

TEST(EndpointSecurity, WorldWritableDirectoryWithStickyBitIsAccepted) {
  test::temp_dir dir;
  const auto parent = dir.file("sticky");
  ASSERT_TRUE(std::filesystem::create_directory(parent));
  ASSERT_EQ(::chmod(parent.c_str(), 01777), 0);
  auto cfg = config_at(parent + "/procmond.sock");
  interprocess_server server(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(server));
  EXPECT_EQ(mode_of(parent), 01777U);
  expect_served(cfg);
}

TEST(EndpointSecurity, SecondServerOnALiveEndpointIsRefusedAndTheFirstKeepsServing) {
  test::temp_dir dir;
  auto cfg = config_at(dir.file("procmond.sock"));
  interprocess_server first(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(first));
  struct stat before {};
  ASSERT_EQ(::lstat(cfg.endpoint_path.c_str(), &before), 0);

  ASSERT_NO_FATAL_FAILURE(
      expect_start_refused(cfg, errc::endpoint_in_use, {"another server is listening on " + cfg.endpoint_path}));

  struct stat after {};
  ASSERT_EQ(::lstat(cfg.endpoint_path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_dev, before.st_dev);
  EXPECT_EQ(after.st_mode, before.st_mode);
  expect_served(cfg);
}

TEST(EndpointSecurity, StaleSocketIsTakenOver) {
  for (const bool listened : {false, true}) {
    SCOPED_TRACE(listened ? "listened, then closed" : "bound, then closed");
    test::temp_dir dir;
    auto cfg = config_at(dir.file("procmond.sock"));
    leave_stale_socket(cfg.endpoint_path, listened);
    interprocess_server server(cfg);
    ASSERT_NO_FATAL_FAILURE(start_echo(server));
    EXPECT_EQ(mode_of(cfg.endpoint_path), 0600U);
    expect_served(cfg);
  }
}

TEST(EndpointSecurity, RegularFileAtTheEndpointIsRefusedAndLeftUntouched) {
  test::temp_dir dir;
  auto cfg = config_at(dir.file("procmond.sock"));
  const std::string precious = "not a socket - important data\n";
  {
    std::ofstream out(cfg.endpoint_path);
    out << precious;
  }
  ASSERT_EQ(::chmod(cfg.endpoint_path.c_str(), 0640), 0);
  ASSERT_NO_FATAL_FAILURE(expect_start_refused(cfg, errc::unsafe_endpoint, {"not a socket"}));
  EXPECT_EQ(contents_of(cfg.endpoint_path), precious);
  EXPECT_EQ(mode_of(cfg.endpoint_path), 0640U);
}

TEST(EndpointSecurity, PathLongerThanTheSocketAddressLimitIsInvalidConfigNamingTheLimit) {
  test::temp_dir dir;
  const auto base = dir.path().string() + "/";
  ASSERT_LT(base.size(), 100U);
  const auto too_long = base + std::string(108 - base.size(), 'x');
  ASSERT_EQ(too_long.size(), 108U);
  ASSERT_NO_FATAL_FAILURE(expect_start_refused(config_at(too_long), errc::invalid_config, {"107"}));
  EXPECT_FALSE(std::filesystem::exists(too_long));
}

TEST(EndpointSecurity, PathOfExactly107CharactersIsAccepted) {
  test::temp_dir dir;
  const auto base = dir.path().string() + "/";
  const auto longest = base + std::string(107 - base.size(), 'y');
  ASSERT_EQ(longest.size(), 107U);
  auto cfg = config_at(longest);
  interprocess_server server(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(server));
  expect_served(cfg);
}

TEST(EndpointSecurity, EmptyPathIsInvalidConfig) {
  expect_start_refused(config_at(""), errc::invalid_config);
  EXPECT_TRUE(validate_endpoint_path("").error().is(errc::invalid_config));
}

TEST(EndpointSecurity, PathWithAnEmbeddedNulIsInvalidConfig) {
  test::temp_dir dir;
  const auto path = dir.file("proc") + std::string(1, '\0') + "mond.sock";
  ASSERT_NO_FATAL_FAILURE(expect_start_refused(config_at(path), errc::invalid_config, {"NUL"}));
  EXPECT_FALSE(std::filesystem::exists(dir.file("proc")));
}

TEST(EndpointSecurity, SocketFileIsRemovedByStop) {
  test::temp_dir dir;
  auto cfg = config_at(dir.file("procmond.sock"));
  interprocess_server server(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(server));
  expect_served(cfg);
  ASSERT_TRUE(is_socket(cfg.endpoint_path));
  server.stop();
  EXPECT_FALSE(std::filesystem::exists(cfg.endpoint_path));
}

TEST(EndpointSecurity, SocketFileIsRemovedByGracefulShutdown) {
  test::temp_dir dir;
  auto cfg = config_at(dir.file("procmond.sock"));
  interprocess_server server(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(server));
  expect_served(cfg);
  ASSERT_TRUE(is_socket(cfg.endpoint_path));
  server.graceful_shutdown(2s);
  EXPECT_FALSE(std::filesystem::exists(cfg.endpoint_path));
}

TEST(EndpointSecurity, PeerNotInAllowedUidsIsClosedWithoutAnAnswer) {
  test::temp_dir dir;
  auto cfg = config_at(dir.file("procmond.sock"));
  cfg.allowed_uids = {::geteuid() + 1};
  interprocess_server server(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(server));
  auto r = round_trip(cfg);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::peer_closed)) << r.error().message();

  asio::io_context io;
  interprocess_client client(io.get_executor(), cfg);
  auto answer = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<result<DetectionResult>> {
        co_return co_await client.async_send_task(tasks::new_test_task("async-probe", wire::ENUMERATE_PROCESSES), 10s);
      },
      asio::use_future);
  io.run_for(15s);
  ASSERT_EQ(answer.wait_for(0s), std::future_status::ready);
  auto r2 = answer.get();
  ASSERT_FALSE(r2);
  EXPECT_TRUE(r2.error().is(errc::peer_closed)) << r2.error().message();

  EXPECT_EQ(server.stats().connections_rejected_uid, 2U);
  EXPECT_EQ(server.stats().tasks_received, 0U);
}

TEST(EndpointSecurity, PeerInAllowedUidsIsServed) {
  test::temp_dir dir;
  auto cfg = config_at(dir.file("procmond.sock"));
  cfg.allowed_uids = {::geteuid() + 1, ::geteuid()};
  interprocess_server server(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(server));
  expect_served(cfg);
  EXPECT_EQ(server.stats().connections_rejected_uid, 0U);
}

/// One end of a connection made with a raw socket and accepted by a
/// local_listener; the raw socket is closed with it.
struct accepted_connection {
  asio::io_context io;
  std::optional<local_stream> stream;
  int fd = -1;
  accepted_connection() = default;
  accepted_connection(const accepted_connection&) = delete;
  accepted_connection& operator=(const accepted_connection&) = delete;
  ~accepted_connection() {
    if (fd >= 0) ::close(fd);
  }
};

/// Listens on `path`, connects to it with a raw socket and accepts.
void accept_raw_connection(const std::string& path, accepted_connection& c) {
  auto listener = local_listener::open(c.io.get_executor(), {.path = path, .allowed_uids = {}});
  ASSERT_TRUE(listener) << listener.error().message();
  auto accepted = asio::co_spawn(
      c.io,
      [&]() -> asio::awaitable<std::optional<local_stream>> {
        auto [ec, stream] = co_await listener->async_accept();
        if (ec || !stream) co_return std::nullopt;
        co_return std::move(*stream);
      },
      asio::use_future);
  // connect() completes through the listen backlog before the accept runs.
  c.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(c.fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0)  // NOLINT
      << std::strerror(errno);
  c.io.run_for(10s);
  ASSERT_EQ(accepted.wait_for(0s), std::future_status::ready) << "the accept did not complete";
  c.stream = accepted.get();
  ASSERT_TRUE(c.stream.has_value());
}

TEST(LocalStream, PeerReportsTheConnectingProcessPidAndUid) {
  test::temp_dir dir;
  accepted_connection c;
  ASSERT_NO_FATAL_FAILURE(accept_raw_connection(dir.file("listener.sock"), c));
  const auto creds = c.stream->peer();
  ASSERT_TRUE(creds.pid.has_value());
  ASSERT_TRUE(creds.uid.has_value());
  EXPECT_EQ(*creds.pid, static_cast<std::int64_t>(::getpid()));
  EXPECT_EQ(*creds.uid, static_cast<std::uint32_t>(::geteuid()));
  ASSERT_TRUE(creds.gid.has_value());
  EXPECT_EQ(*creds.gid, static_cast<std::uint32_t>(::getegid()));
}

/// What the stream's socket takes, its peer not reading, before a write would block.
constexpr std::size_t fill_chunk_bytes = 1U << 20U;
constexpr int max_fill_chunks = 64;

std::size_t taken_until_full(local_stream& stream) {
  const std::vector<std::byte> chunk(fill_chunk_bytes, std::byte{'x'});
  std::size_t taken = 0;
  for (int i = 0; i < max_fill_chunks; ++i) {
    const auto n = stream.try_write_some(chunk);
    if (n == 0) break;
    taken += n;
  }
  return taken;
}

TEST(LocalStream, TryWriteSomeTakesWhatFitsWithoutBlockingAndZeroOnceThePeerIsGone) {
  test::temp_dir dir;
  accepted_connection c;
  ASSERT_NO_FATAL_FAILURE(accept_raw_connection(dir.file("listener.sock"), c));
  auto& stream = c.stream;
  const int fd = c.fd;

  // A small write is taken whole and arrives as written.
  const std::string hello = "hello, peer";
  EXPECT_EQ(stream->try_write_some(std::as_bytes(std::span(hello))), hello.size());
  std::string got(hello.size(), '\0');
  ASSERT_EQ(::recv(fd, got.data(), got.size(), MSG_WAITALL), static_cast<ssize_t>(got.size()));
  EXPECT_EQ(got, hello);

  // With the peer not reading, the socket fills up: the writes shrink to 0
  // instead of blocking, after taking less than was offered.
  const auto taken = taken_until_full(*stream);
  EXPECT_GT(taken, 0U);
  EXPECT_LT(taken, max_fill_chunks * fill_chunk_bytes);
  EXPECT_EQ(stream->try_write_some(std::vector<std::byte>(fill_chunk_bytes, std::byte{'x'})), 0U);

  // A closed peer: 0 again, and no SIGPIPE ends the test process.
  ::close(std::exchange(c.fd, -1));
  EXPECT_EQ(stream->try_write_some(std::as_bytes(std::span(hello))), 0U);
}

TEST(LocalStream, ReserveSendBufferLetsMoreWaitForThePeerAndNeverLessThanBefore) {
  test::temp_dir dir;
  accepted_connection plain;
  accepted_connection raised;
  accepted_connection asked_less;
  ASSERT_NO_FATAL_FAILURE(accept_raw_connection(dir.file("plain.sock"), plain));
  ASSERT_NO_FATAL_FAILURE(accept_raw_connection(dir.file("raised.sock"), raised));
  ASSERT_NO_FATAL_FAILURE(accept_raw_connection(dir.file("asked-less.sock"), asked_less));

  const auto by_default = taken_until_full(*plain.stream);
  ASSERT_GT(by_default, 0U);
  // More, even where net.core.wmem_max is the default size: the kernel
  // doubles the size asked (room for its bookkeeping), which the default
  // already includes.
  raised.stream->reserve_send_buffer(4U << 20U);
  EXPECT_GT(taken_until_full(*raised.stream), by_default);
  // A request below the current size changes nothing.
  asked_less.stream->reserve_send_buffer(1);
  EXPECT_EQ(taken_until_full(*asked_less.stream), by_default);
}

}  // namespace
}  // namespace daemoneye::ipc
