// Tests of error.hpp: every errc value's name, message and condition grouping,
// and the messages of the errors that carry data.
#include "daemoneye/ipc/error.hpp"

#include <array>
#include <string>
#include <string_view>
#include <system_error>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace daemoneye::ipc {
namespace {

using ::testing::HasSubstr;

struct errc_expectation {
  errc value;
  std::string_view name;
  bool transient;
  bool timeout;
  bool protocol;
  bool remote;
};

// The whole enum, in declaration order, with the groups the category puts each value in.
constexpr std::array<errc_expectation, 27> every_errc{{
    {errc::timeout, "timeout", true, true, false, false},
    {errc::too_large, "too_large", false, false, true, false},
    {errc::crc_mismatch, "crc_mismatch", false, false, true, false},
    {errc::io, "io", false, false, false, false},
    {errc::decode, "decode", false, false, true, false},
    {errc::encode, "encode", false, false, false, false},
    {errc::peer_closed, "peer_closed", true, false, false, false},
    {errc::invalid_length, "invalid_length", false, false, true, false},
    {errc::server_not_found, "server_not_found", true, false, false, false},
    {errc::connection_refused, "connection_refused", true, false, false, false},
    {errc::permission_denied, "permission_denied", false, false, false, false},
    {errc::connection_timeout, "connection_timeout", true, true, false, false},
    {errc::circuit_breaker_open, "circuit_breaker_open", false, false, false, false},
    {errc::rate_limited, "rate_limited", true, false, false, true},
    {errc::server_busy, "server_busy", true, false, false, true},
    {errc::overloaded, "overloaded", true, false, false, true},
    {errc::invalid_task, "invalid_task", false, false, false, true},
    {errc::unsupported_task, "unsupported_task", false, false, false, true},
    {errc::handler_failed, "handler_failed", false, false, false, true},
    {errc::handler_timeout, "handler_timeout", false, true, false, true},
    {errc::shutting_down, "shutting_down", true, false, false, true},
    {errc::remote_error, "remote_error", false, false, false, true},
    {errc::invalid_config, "invalid_config", false, false, false, false},
    {errc::endpoint_in_use, "endpoint_in_use", false, false, false, false},
    {errc::unsafe_endpoint, "unsafe_endpoint", false, false, false, false},
    {errc::sequence_error, "sequence_error", false, false, true, false},
    {errc::cancelled, "cancelled", false, false, false, false},
}};

constexpr int first_errc = 1;
constexpr int last_errc = static_cast<int>(errc::cancelled);

TEST(Errc, TableCoversEveryValueInOrderStartingAtOne) {
  ASSERT_EQ(every_errc.size(), static_cast<std::size_t>(last_errc));
  for (std::size_t i = 0; i < every_errc.size(); ++i) {
    EXPECT_EQ(static_cast<int>(every_errc[i].value), first_errc + static_cast<int>(i)) << every_errc[i].name;
  }
  // A value added after `cancelled` must be added to the table (and to to_string).
  EXPECT_EQ(to_string(static_cast<errc>(last_errc + 1)), "unknown");
}

TEST(Errc, EveryValueHasItsNameAndAnActionableMessage) {
  const std::string generic = ipc_category().message(0);
  for (const auto& e : every_errc) {
    SCOPED_TRACE(std::string(e.name));
    EXPECT_EQ(to_string(e.value), e.name);
    const std::error_code code = e.value;  // implicit: errc is an error code enum
    EXPECT_EQ(code.value(), static_cast<int>(e.value));
    EXPECT_EQ(&code.category(), &ipc_category());
    EXPECT_STREQ(code.category().name(), "daemoneye.ipc");
    EXPECT_FALSE(code.message().empty());
    EXPECT_NE(code.message(), generic);
    EXPECT_TRUE(static_cast<bool>(code));
  }
}

TEST(Errc, EveryValueIsInExactlyTheConditionsTheCategoryDefines) {
  for (const auto& e : every_errc) {
    SCOPED_TRACE(std::string(e.name));
    const std::error_code code = make_error_code(e.value);
    EXPECT_EQ(code == condition::transient, e.transient);
    EXPECT_EQ(code == condition::timeout, e.timeout);
    EXPECT_EQ(code == condition::protocol, e.protocol);
    EXPECT_EQ(code == condition::remote, e.remote);
  }
}

TEST(Errc, DefaultConditionIsTimeoutThenProtocolThenTheCodeItself) {
  for (const auto& e : every_errc) {
    SCOPED_TRACE(std::string(e.name));
    const std::error_condition cond = ipc_category().default_error_condition(static_cast<int>(e.value));
    if (e.timeout) {
      EXPECT_EQ(cond, make_error_condition(condition::timeout));
    } else if (e.protocol) {
      EXPECT_EQ(cond, make_error_condition(condition::protocol));
    } else {
      EXPECT_EQ(&cond.category(), &ipc_category());
      EXPECT_EQ(cond.value(), static_cast<int>(e.value));
    }
  }
}

TEST(Errc, UnknownValueHasAFallbackMessage) {
  EXPECT_EQ(ipc_category().message(last_errc + 1), "unknown daemoneye.ipc error");
  EXPECT_EQ(to_string(static_cast<errc>(0)), "unknown");
}

TEST(Condition, EveryConditionHasANameAndMessage) {
  const std::array conditions{condition::transient, condition::timeout, condition::protocol, condition::remote};
  for (const auto c : conditions) {
    const std::error_condition cond = c;  // implicit: condition is an error condition enum
    EXPECT_EQ(&cond.category(), &ipc_condition_category());
    EXPECT_STREQ(cond.category().name(), "daemoneye.ipc.condition");
    EXPECT_FALSE(cond.message().empty());
    EXPECT_NE(cond.message(), ipc_condition_category().message(99));
  }
}

TEST(Condition, CodesOfOtherCategoriesAreInNoCondition) {
  const std::error_code timed_out = std::make_error_code(std::errc::timed_out);
  EXPECT_FALSE(timed_out == condition::timeout);
  EXPECT_FALSE(timed_out == condition::transient);
  EXPECT_FALSE(std::error_code() == condition::protocol);
}

TEST(IpcError, DefaultIsNoError) {
  const ipc_error e;
  EXPECT_FALSE(static_cast<bool>(e.code()));
}

TEST(IpcError, MessageFallsBackToTheCodesText) {
  const ipc_error e(errc::io);
  EXPECT_EQ(e.message(), make_error_code(errc::io).message());
  EXPECT_TRUE(e.is(errc::io));
  EXPECT_FALSE(e.is(errc::timeout));
}

TEST(IpcError, KeepsItsOwnMessage) {
  const ipc_error e(errc::decode, "payload is not a DetectionTask");
  EXPECT_EQ(e.message(), "payload is not a DetectionTask");
  EXPECT_EQ(e.code(), make_error_code(errc::decode));
}

TEST(IpcError, CarriesCodesOfOtherCategories) {
  const ipc_error e(std::make_error_code(std::errc::connection_reset), "read failed");
  EXPECT_EQ(e.code(), std::errc::connection_reset);
  EXPECT_EQ(e.message(), "read failed");
}

TEST(Fail, ProducesAFailedResultWithTheError) {
  const result<int> r = fail(errc::timeout, "no answer within 30000 ms");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::timeout));
  EXPECT_EQ(r.error().message(), "no answer within 30000 ms");

  const result<void> v = fail(ipc_error(errc::peer_closed));
  ASSERT_FALSE(v);
  EXPECT_TRUE(v.error().is(errc::peer_closed));
}

TEST(DataErrors, TooLargeNamesTheSizeAndTheMax) {
  const ipc_error e = too_large_error(2'000'000, 1'048'576);
  EXPECT_TRUE(e.is(errc::too_large));
  EXPECT_THAT(e.message(), HasSubstr("2000000"));
  EXPECT_THAT(e.message(), HasSubstr("1048576"));
  EXPECT_THAT(e.message(), HasSubstr("max_frame_bytes"));
}

TEST(DataErrors, CrcMismatchShowsExpectedAndActualInHex) {
  const ipc_error e = crc_mismatch_error(0xE3069283U, 0x0000BEEFU);
  EXPECT_TRUE(e.is(errc::crc_mismatch));
  EXPECT_THAT(e.message(), HasSubstr("expected 0xE3069283"));
  EXPECT_THAT(e.message(), HasSubstr("actual 0x0000BEEF"));
}

TEST(DataErrors, InvalidLengthNamesTheLengthAndTheReason) {
  const ipc_error e = invalid_length_error(4'294'967'296ULL, "length varint overflows 32 bits");
  EXPECT_TRUE(e.is(errc::invalid_length));
  EXPECT_THAT(e.message(), HasSubstr("4294967296"));
  EXPECT_THAT(e.message(), HasSubstr("overflows 32 bits"));
}

TEST(DataErrors, EndpointErrorsNameTheEndpointAndWhatToDo) {
  const std::string endpoint = "/run/daemoneye/x.sock";

  const ipc_error not_found = server_not_found_error(endpoint);
  EXPECT_TRUE(not_found.is(errc::server_not_found));
  EXPECT_EQ(not_found.message(), "server not found at /run/daemoneye/x.sock - is procmond running?");

  const ipc_error refused = connection_refused_error(endpoint);
  EXPECT_TRUE(refused.is(errc::connection_refused));
  EXPECT_THAT(refused.message(), HasSubstr(endpoint));

  const ipc_error denied = permission_denied_error(endpoint);
  EXPECT_TRUE(denied.is(errc::permission_denied));
  EXPECT_THAT(denied.message(), HasSubstr("ls -l " + endpoint));

  const ipc_error timed_out = connection_timeout_error(endpoint, 1500);
  EXPECT_TRUE(timed_out.is(errc::connection_timeout));
  EXPECT_THAT(timed_out.message(), HasSubstr(endpoint));
  EXPECT_THAT(timed_out.message(), HasSubstr("1500 ms"));
  EXPECT_TRUE(timed_out.code() == condition::transient);
}

}  // namespace
}  // namespace daemoneye::ipc
