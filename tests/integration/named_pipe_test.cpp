// Endpoint rules of the Windows named-pipe transport, the counterpart of
// endpoint_security_test.cpp: one server per pipe name, names outside
// \\.\pipe\ refused as configuration errors, the name free again after stop,
// and the peer's process id on both ends. Real pipes, one name per test.
#ifdef _WIN32

#include <chrono>
#include <future>
#include <string>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <gtest/gtest.h>
#include <windows.h>

#include "daemoneye/ipc/blocking_client.hpp"
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
using test::start_echo;

TEST(NamedPipe, DefaultEndpointIsThePipeOfTheSpecification) {
  EXPECT_EQ(ipc_config::default_endpoint_path(), R"(\\.\pipe\daemoneye\procmond)");
  EXPECT_TRUE(validate_endpoint_path(ipc_config::default_endpoint_path()));
}

TEST(NamedPipe, SecondServerOnALiveEndpointIsRefusedAndTheFirstKeepsServing) {
  test::temp_dir dir;
  auto cfg = config_at(dir.endpoint("procmond"));
  interprocess_server first(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(first));
  ASSERT_NO_FATAL_FAILURE(
      expect_start_refused(cfg, errc::endpoint_in_use, {"another server is listening on " + cfg.endpoint_path}));
  expect_served(cfg);
}

TEST(NamedPipe, PathOutsideThePipeNamespaceIsInvalidConfigSayingWhatItMustBe) {
  for (const std::string path : {R"(C:\daemoneye\procmond.sock)", "/run/daemoneye/procmond.sock", R"(\\.\pipe\)"}) {
    SCOPED_TRACE(path);
    ASSERT_NO_FATAL_FAILURE(expect_start_refused(config_at(path), errc::invalid_config, {R"(\\.\pipe\)"}));
    EXPECT_FALSE(validate(config_at(path))) << path;
  }
}

TEST(NamedPipe, PipeNameLongerThan256CharactersIsInvalidConfig) {
  const std::string path = R"(\\.\pipe\)" + std::string(256, 'p');
  auto ok = validate_endpoint_path(path);
  ASSERT_FALSE(ok);
  EXPECT_TRUE(ok.error().is(errc::invalid_config));
  EXPECT_NE(ok.error().message().find("256"), std::string::npos) << ok.error().message();
}

TEST(NamedPipe, NameIsFreeForTheNextServerAfterStopAndAfterGracefulShutdown) {
  test::temp_dir dir;
  auto cfg = config_at(dir.endpoint("procmond"));
  {
    interprocess_server server(cfg);
    ASSERT_NO_FATAL_FAILURE(start_echo(server));
    expect_served(cfg);
    server.stop();
  }
  {
    interprocess_server server(cfg);
    ASSERT_NO_FATAL_FAILURE(start_echo(server));
    expect_served(cfg);
    server.graceful_shutdown(2s);
  }
  interprocess_server last(cfg);
  ASSERT_NO_FATAL_FAILURE(start_echo(last));
  expect_served(cfg);
}

TEST(NamedPipe, AllowedUidsIsRefusedBecauseWindowsHasNoUids) {
  test::temp_dir dir;
  auto cfg = config_at(dir.endpoint("procmond"));
  cfg.allowed_uids = {1000};
  expect_start_refused(cfg, errc::invalid_config, {"allowed_uids"});
}

TEST(NamedPipe, BothEndsReportThePeerProcessId) {
  test::temp_dir dir;
  const auto path = dir.endpoint("listener");
  asio::io_context io;
  auto listener = local_listener::open(io.get_executor(), {.path = path, .allowed_uids = {}});
  ASSERT_TRUE(listener) << listener.error().message();

  auto accepted = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<peer_credentials> {
        auto [ec, stream] = co_await listener->async_accept();
        if (ec || !stream) co_return peer_credentials{};
        co_return stream->peer();
      },
      asio::use_future);
  auto connected = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<peer_credentials> {
        auto stream = co_await async_connect(io.get_executor(), path, 5s);
        if (!stream) co_return peer_credentials{};
        co_return stream->peer();
      },
      asio::use_future);
  io.run_for(10s);
  // The futures are set by completion handlers that may still be on their way.
  ASSERT_EQ(accepted.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(connected.wait_for(10s), std::future_status::ready);
  const auto server_side = accepted.get();
  const auto client_side = connected.get();
  ASSERT_TRUE(server_side.pid.has_value());
  ASSERT_TRUE(client_side.pid.has_value());
  EXPECT_EQ(*server_side.pid, static_cast<std::int64_t>(::GetCurrentProcessId()));
  EXPECT_EQ(*client_side.pid, static_cast<std::int64_t>(::GetCurrentProcessId()));
  EXPECT_FALSE(server_side.uid.has_value());
}

TEST(NamedPipe, ConnectingToAMissingPipeIsServerNotFoundNamingIt) {
  test::temp_dir dir;
  const auto path = dir.endpoint("nobody");
  auto stream = detail::blocking_stream::connect(path, 5s);
  ASSERT_FALSE(stream);
  EXPECT_TRUE(stream.error().is(errc::server_not_found)) << stream.error().message();
  EXPECT_NE(stream.error().message().find(path), std::string::npos) << stream.error().message();
}

}  // namespace
}  // namespace daemoneye::ipc

#endif  // _WIN32
