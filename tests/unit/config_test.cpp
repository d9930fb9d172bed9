// Unit tests of ipc_config: defaults, each source alone (YAML, TOML, environment,
// flags), their precedence, every validation message, to_yaml's round trip and
// the platform default endpoint.
#include "daemoneye/ipc/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "support/temp_dir.hpp"

namespace daemoneye::ipc {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

/// A fresh directory (test::temp_dir) that files can be written into.
class temp_dir {
 public:
  /// Writes `text` to `name` inside the directory and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    auto file = dir_.path() / name;
    std::ofstream(file) << text;
    return file;
  }
  [[nodiscard]] const std::filesystem::path& path() const { return dir_.path(); }

 private:
  test::temp_dir dir_;
};

/// Sets (or unsets, given nullopt) one environment variable and restores it on scope exit.
class scoped_env {
 public:
  scoped_env(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    // The tests that use it run on the main thread only.
    if (const char* old = std::getenv(name_.c_str())) old_ = old;  // NOLINT(concurrency-mt-unsafe)
    set(value);
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;
  ~scoped_env() { set(old_); }

 private:
  void set(const std::optional<std::string>& value) const {
#ifdef _WIN32
    // An empty value removes the variable on Windows.
    ::_putenv_s(name_.c_str(), value ? value->c_str() : "");
#else
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    } else {
      ::unsetenv(name_.c_str());  // NOLINT(concurrency-mt-unsafe)
    }
#endif
  }
  std::string name_;
  std::optional<std::string> old_;
};

std::string error_of(const result<void>& r) { return r ? std::string("<no error>") : r.error().message(); }
template <typename T>
std::string error_of(const result<T>& r) {
  return r ? std::string("<no error>") : r.error().message();
}

/// A config that passes validation but differs from the defaults in every key.
ipc_config non_default_config() {
  ipc_config c;
  c.endpoint_path = "/run/test dir/odd \"name\".sock";
  c.max_frame_bytes = std::size_t{2} * 1024U * 1024U;
  c.accept_timeout_ms = 1;
  c.read_timeout_ms = 2;
  c.write_timeout_ms = 3;
  c.handler_timeout_ms = 4;
  c.max_connections = 5;
  c.crc_variant = crc32_variant::ieee;
  c.codec = codec_kind::legacy;
  c.rate_limit.requests_per_second = 0.1;
  c.rate_limit.burst = 7;
  c.flow_control.max_in_flight = 8;
  c.flow_control.max_pending = 9;
  c.enable_sequence_numbers = true;
  c.allowed_uids = {0, 1000, 4294967295U};
  c.threads = 3;
  c.client.max_attempts = 11;
  c.client.backoff_base_ms = 12;
  c.client.backoff_max_ms = 13;
  c.client.breaker_failure_threshold = 14;
  c.client.breaker_recovery_ms = 15;
  return c;
}

// ---- defaults ----

TEST(Config, DefaultsMatchTheDocumentedValues) {
  const ipc_config c;
  EXPECT_EQ(c.endpoint_path, ipc_config::default_endpoint_path());
  EXPECT_EQ(c.max_frame_bytes, 1024U * 1024U);
  EXPECT_EQ(c.accept_timeout_ms, 5000U);
  EXPECT_EQ(c.read_timeout_ms, 30000U);
  EXPECT_EQ(c.write_timeout_ms, 10000U);
  EXPECT_EQ(c.handler_timeout_ms, 30000U);
  EXPECT_EQ(c.max_connections, 16U);
  EXPECT_EQ(c.crc_variant, crc32_variant::castagnoli);
  EXPECT_EQ(c.codec, codec_kind::framed);
  EXPECT_EQ(c.rate_limit.requests_per_second, 0.0);
  EXPECT_EQ(c.rate_limit.burst, 0U);
  EXPECT_FALSE(c.rate_limit.enabled());
  EXPECT_EQ(c.flow_control.max_in_flight, 32U);
  EXPECT_EQ(c.flow_control.max_pending, 1024U);
  EXPECT_FALSE(c.enable_sequence_numbers);
  EXPECT_TRUE(c.allowed_uids.empty());
  EXPECT_EQ(c.threads, 0U);
  EXPECT_EQ(c.client.max_attempts, 10U);
  EXPECT_EQ(c.client.backoff_base_ms, 100U);
  EXPECT_EQ(c.client.backoff_max_ms, 30000U);
  EXPECT_EQ(c.client.breaker_failure_threshold, 5U);
  EXPECT_EQ(c.client.breaker_recovery_ms, 30000U);
}

TEST(Config, DefaultsPassValidation) { EXPECT_TRUE(validate(ipc_config{})) << error_of(validate(ipc_config{})); }

TEST(Config, LoadConfigWithNoSourcesGivesTheDefaults) {
  const auto loaded = load_config({});
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(*loaded, ipc_config{});
}

// ---- default endpoint ----

#ifndef _WIN32  // the Windows default is a fixed pipe name (named_pipe_test.cpp)
/// default_endpoint_path() as seen by a non-root user: computed in a child
/// that drops to uid 65534 when the tests run as root. Returns the path and the uid used.
std::optional<std::pair<std::string, unsigned>> endpoint_as_non_root() {
  if (::geteuid() != 0) return std::pair{ipc_config::default_endpoint_path(), static_cast<unsigned>(::geteuid())};
  constexpr unsigned nobody = 65534;
  int fds[2];
  if (::pipe(fds) != 0) return std::nullopt;
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    if (::setuid(nobody) != 0) ::_exit(1);
    const std::string path = ipc_config::default_endpoint_path();
    const bool written = ::write(fds[1], path.data(), path.size()) == static_cast<ssize_t>(path.size());
    ::_exit(written ? 0 : 1);
  }
  ::close(fds[1]);
  std::string path;
  char buffer[512];
  for (ssize_t n = 0; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) {
    path.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return std::nullopt;
  }
  return std::pair{path, nobody};
}

TEST(Config, DefaultEndpointForNonRootIsUnderXdgRuntimeDirWhenSet) {
  const scoped_env xdg("XDG_RUNTIME_DIR", "/run/user/4242");
  const auto seen = endpoint_as_non_root();
  if (!seen) GTEST_SKIP() << "cannot run as a non-root user here";
  EXPECT_EQ(seen->first, "/run/user/4242/daemoneye/procmond.sock");
}

TEST(Config, DefaultEndpointForNonRootIsUnderTmpWhenXdgRuntimeDirUnset) {
  const scoped_env xdg("XDG_RUNTIME_DIR", std::nullopt);
  const auto seen = endpoint_as_non_root();
  if (!seen) GTEST_SKIP() << "cannot run as a non-root user here";
  EXPECT_EQ(seen->first, "/tmp/daemoneye-" + std::to_string(seen->second) + "/procmond.sock");
}

TEST(Config, DefaultEndpointForNonRootIgnoresAnEmptyXdgRuntimeDir) {
  const scoped_env xdg("XDG_RUNTIME_DIR", "");
  const auto seen = endpoint_as_non_root();
  if (!seen) GTEST_SKIP() << "cannot run as a non-root user here";
  EXPECT_EQ(seen->first, "/tmp/daemoneye-" + std::to_string(seen->second) + "/procmond.sock");
}

TEST(Config, DefaultEndpointForRootIsUnderVarRunWhateverXdgSays) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const scoped_env xdg("XDG_RUNTIME_DIR", "/run/user/0");
  EXPECT_EQ(ipc_config::default_endpoint_path(), "/var/run/daemoneye/procmond.sock");
}

#endif  // _WIN32

// ---- YAML file ----

TEST(Config, YamlFileSetsEveryKindOfValueIncludingNestedSections) {
  const temp_dir dir;
  const auto file = dir.write("procmond.yaml", R"(
ipc:
  endpoint_path: /run/x.sock
  max_frame_bytes: 2097152
  accept_timeout_ms: 100
  max_connections: 4
  crc32_variant: ieee
  codec: legacy
  enable_sequence_numbers: yes
  allowed_uids: [1000, 1001]
  threads: 2
  rate_limit:
    requests_per_second: 2.5
    burst: 10
  flow_control:
    max_in_flight: 4
  client:
    max_attempts: 3
    backoff_max_ms: 5000
)");
  ipc_config c;
  ASSERT_TRUE(apply_file(c, file)) << error_of(apply_file(c, file));
  EXPECT_EQ(c.endpoint_path, "/run/x.sock");
  EXPECT_EQ(c.max_frame_bytes, 2097152U);
  EXPECT_EQ(c.accept_timeout_ms, 100U);
  EXPECT_EQ(c.max_connections, 4U);
  EXPECT_EQ(c.crc_variant, crc32_variant::ieee);
  EXPECT_EQ(c.codec, codec_kind::legacy);
  EXPECT_TRUE(c.enable_sequence_numbers);
  EXPECT_EQ(c.allowed_uids, (std::vector<std::uint32_t>{1000, 1001}));
  EXPECT_EQ(c.threads, 2U);
  EXPECT_EQ(c.rate_limit.requests_per_second, 2.5);
  EXPECT_EQ(c.rate_limit.burst, 10U);
  EXPECT_EQ(c.flow_control.max_in_flight, 4U);
  EXPECT_EQ(c.flow_control.max_pending, 1024U);  // untouched keys keep their value
  EXPECT_EQ(c.client.max_attempts, 3U);
  EXPECT_EQ(c.client.backoff_max_ms, 5000U);
  EXPECT_EQ(c.read_timeout_ms, 30000U);
}

TEST(Config, YmlExtensionIsReadAsYaml) {
  const temp_dir dir;
  const auto file = dir.write("procmond.yml", "ipc:\n  max_connections: 3\n");
  ipc_config c;
  ASSERT_TRUE(apply_file(c, file)) << error_of(apply_file(c, file));
  EXPECT_EQ(c.max_connections, 3U);
}

TEST(Config, YamlOtherTopLevelSectionsAreIgnored) {
  const temp_dir dir;
  const auto file = dir.write("app.yaml", R"(
logging:
  level: debug
  whatever: [1, 2]
ipc:
  threads: 6
procmond:
  scan_interval: 5
)");
  ipc_config c;
  ASSERT_TRUE(apply_file(c, file)) << error_of(apply_file(c, file));
  EXPECT_EQ(c.threads, 6U);
}

TEST(Config, YamlFileWithoutIpcSectionChangesNothing) {
  const temp_dir dir;
  const auto file = dir.write("app.yaml", "logging:\n  level: info\n");
  ipc_config c;
  ASSERT_TRUE(apply_file(c, file)) << error_of(apply_file(c, file));
  EXPECT_EQ(c, ipc_config{});
}

TEST(Config, UnknownKeyInYamlNamesKeyFileAndLine) {
  const temp_dir dir;
  const auto file = dir.write("procmond.yaml", "ipc:\n  threads: 2\n  max_conections: 4\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_config));
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr("max_conections"), HasSubstr(file.string() + ":3"),
                                         HasSubstr("did you mean \"max_connections\"")));
}

TEST(Config, UnknownNestedKeyInYamlNamesTheDottedKeyAndLine) {
  const temp_dir dir;
  const auto file = dir.write("procmond.yaml", "ipc:\n  client:\n    max_attempts: 2\n    retries: 4\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr("\"client.retries\""), HasSubstr(file.string() + ":4")));
}

TEST(Config, FailedFileLeavesTheConfigUnchanged) {
  const temp_dir dir;
  const auto file = dir.write("procmond.yaml", "ipc:\n  threads: 2\n  codec: tcp\n");
  ipc_config c;
  ASSERT_FALSE(apply_file(c, file));
  EXPECT_EQ(c, ipc_config{});
}

TEST(Config, UnknownEnumValueInYamlNamesTheAllowedValues) {
  const temp_dir dir;
  const auto file = dir.write("procmond.yaml", "ipc:\n  codec: tcp\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(),
              AllOf(HasSubstr(file.string() + ":2"), HasSubstr("codec: \"tcp\" is not one of framed, legacy")));
}

TEST(Config, UnknownCrcVariantNamesTheAllowedValues) {
  ipc_config c;
  const auto r = apply_setting(c, "crc32_variant", "crc64", "--crc32-variant");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("--crc32-variant=crc64 is not one of castagnoli, ieee"));
}

TEST(Config, MalformedYamlNamesFileAndLine) {
  const temp_dir dir;
  const auto file = dir.write("broken.yaml", "ipc:\n  threads: 2\n  codec: [framed\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_config));
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr(file.string()), HasSubstr("line ")));
}

TEST(Config, YamlScalarWhereSectionExpectedSaysItIsASection) {
  const temp_dir dir;
  const auto file = dir.write("procmond.yaml", "ipc:\n  client: 3\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(),
              AllOf(HasSubstr(file.string() + ":2"), HasSubstr("client is a section"), HasSubstr("max_attempts")));
}

TEST(Config, YamlMapWhereValueExpectedIsAnError) {
  const temp_dir dir;
  const auto file = dir.write("procmond.yaml", "ipc:\n  threads:\n    count: 3\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr(file.string() + ":2"), HasSubstr("threads takes a single value")));
}

TEST(Config, YamlKeyWithoutValueIsAnError) {
  const temp_dir dir;
  const auto file = dir.write("procmond.yaml", "ipc:\n  threads:\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr(file.string() + ":2"), HasSubstr("threads has no value")));
}

TEST(Config, YamlListForSingleValueKeyIsAnError) {
  const temp_dir dir;
  const auto file = dir.write("procmond.yaml", "ipc:\n  threads: [1, 2]\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("threads takes a single value"));
}

// ---- TOML file ----

TEST(Config, TomlFileSetsValuesFromIpcTableAndNestedTables) {
  const temp_dir dir;
  const auto file = dir.write("procmond.toml", R"(
[logging]
level = "debug"

[ipc]
endpoint_path = "/run/t.sock"
max_connections = 7
codec = "framed"
crc32_variant = "ieee"
enable_sequence_numbers = true
allowed_uids = [0, 1000]
flow_control.max_pending = 9

[ipc.rate_limit]
requests_per_second = 100
burst = 3

[ipc.client]
max_attempts = 2
breaker_recovery_ms = 1500
)");
  ipc_config c;
  ASSERT_TRUE(apply_file(c, file)) << error_of(apply_file(c, file));
  EXPECT_EQ(c.endpoint_path, "/run/t.sock");
  EXPECT_EQ(c.max_connections, 7U);
  EXPECT_EQ(c.codec, codec_kind::framed);
  EXPECT_EQ(c.crc_variant, crc32_variant::ieee);
  EXPECT_TRUE(c.enable_sequence_numbers);
  EXPECT_EQ(c.allowed_uids, (std::vector<std::uint32_t>{0, 1000}));
  EXPECT_EQ(c.flow_control.max_pending, 9U);
  EXPECT_EQ(c.rate_limit.burst, 3U);
  EXPECT_EQ(c.rate_limit.requests_per_second, 100.0);
  EXPECT_EQ(c.client.max_attempts, 2U);
  EXPECT_EQ(c.client.breaker_recovery_ms, 1500U);
}

TEST(Config, UnknownKeyInTomlNamesKeyFileAndLine) {
  const temp_dir dir;
  const auto file = dir.write("procmond.toml", "[ipc]\nthreads = 1\n\n[ipc.client]\nmax_attempt = 3\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr("\"client.max_attempt\""), HasSubstr(file.string() + ":5"),
                                         HasSubstr("did you mean \"client.max_attempts\"")));
}

TEST(Config, NegativeNumberInTomlForUnsignedKeyIsAnError) {
  const temp_dir dir;
  const auto file = dir.write("procmond.toml", "[ipc]\nmax_connections = -3\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(),
              AllOf(HasSubstr(file.string() + ":2"), HasSubstr("max_connections: \"-3\" is negative")));
}

TEST(Config, MalformedTomlNamesFileLineAndParserMessage) {
  const temp_dir dir;
  const auto file = dir.write("broken.toml", "[ipc]\nthreads = 1\nmax_connections = = 3\n");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_config));
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr(file.string()), HasSubstr("line 3")));
}

// ---- file errors ----

TEST(Config, MissingFileIsAnErrorNamingIt) {
  const temp_dir dir;
  const auto file = dir.path() / "absent.yaml";
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr(file.string()), HasSubstr("does not exist")));
}

TEST(Config, UnsupportedExtensionNamesTheAllowedOnes) {
  const temp_dir dir;
  const auto file = dir.write("procmond.json", "{}");
  ipc_config c;
  const auto r = apply_file(c, file);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(),
              AllOf(HasSubstr(file.string()), HasSubstr(".json"), HasSubstr(".yaml, .yml or .toml")));
}

// ---- environment ----

TEST(Config, EnvironmentVariablesSetTopLevelAndNestedKeys) {
  ipc_config c;
  const std::map<std::string, std::string> env{
      {"DAEMONEYE_IPC_MAX_CONNECTIONS", "3"},
      {"DAEMONEYE_IPC_CLIENT_MAX_ATTEMPTS", "4"},
      {"DAEMONEYE_IPC_RATE_LIMIT_BURST", "5"},
      {"DAEMONEYE_IPC_RATE_LIMIT_REQUESTS_PER_SECOND", "12.5"},
      {"DAEMONEYE_IPC_ALLOWED_UIDS", "1000, 1001,1002"},
      {"DAEMONEYE_IPC_ENABLE_SEQUENCE_NUMBERS", "1"},
      {"DAEMONEYE_IPC_CODEC", "legacy"},
      {"DAEMONEYE_LOG_LEVEL", "debug"},  // not ours: ignored
      {"HOME", "/root"},
  };
  ASSERT_TRUE(apply_environment(c, env)) << error_of(apply_environment(c, env));
  EXPECT_EQ(c.max_connections, 3U);
  EXPECT_EQ(c.client.max_attempts, 4U);
  EXPECT_EQ(c.rate_limit.burst, 5U);
  EXPECT_EQ(c.rate_limit.requests_per_second, 12.5);
  EXPECT_EQ(c.allowed_uids, (std::vector<std::uint32_t>{1000, 1001, 1002}));
  EXPECT_TRUE(c.enable_sequence_numbers);
  EXPECT_EQ(c.codec, codec_kind::legacy);
}

TEST(Config, UnknownEnvironmentVariableIsAnErrorNamingIt) {
  ipc_config c;
  const auto r = apply_environment(c, {{"DAEMONEYE_IPC_MAX_CONECTIONS", "3"}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_config));
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr("DAEMONEYE_IPC_MAX_CONECTIONS"),
                                         HasSubstr("did you mean DAEMONEYE_IPC_MAX_CONNECTIONS")));
}

TEST(Config, MalformedNumberInEnvironmentNamesTheVariable) {
  ipc_config c;
  const auto r = apply_environment(c, {{"DAEMONEYE_IPC_MAX_CONNECTIONS", "abc"}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("DAEMONEYE_IPC_MAX_CONNECTIONS=abc is not a whole number"));
}

TEST(Config, NumbersMustMatchTheWholeText) {
  for (const char* text : {"12abc", "1.5", " 3", "3 ", "", "+3", "0x10"}) {
    ipc_config c;
    const auto r = apply_environment(c, {{"DAEMONEYE_IPC_THREADS", text}});
    ASSERT_FALSE(r) << "accepted \"" << text << "\"";
    EXPECT_THAT(r.error().message(), HasSubstr("is not a whole number")) << text;
  }
}

TEST(Config, NegativeNumberForUnsignedKeyIsAnError) {
  ipc_config c;
  const auto r = apply_environment(c, {{"DAEMONEYE_IPC_THREADS", "-1"}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("DAEMONEYE_IPC_THREADS=-1 is negative; threads must be 0 or more"));
}

TEST(Config, NumberTooLargeForItsFieldIsAnError) {
  ipc_config c;
  const auto r = apply_environment(c, {{"DAEMONEYE_IPC_THREADS", "4294967296"}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("is too large; threads must be at most 4294967295"));
  const auto huge = apply_environment(c, {{"DAEMONEYE_IPC_MAX_FRAME_BYTES", "99999999999999999999999"}});
  ASSERT_FALSE(huge);
  EXPECT_THAT(huge.error().message(), HasSubstr("is too large"));
}

TEST(Config, NegativeOrNonFiniteRateIsAnError) {
  ipc_config c;
  const auto negative = apply_setting(c, "rate_limit.requests_per_second", "-2", "flag");
  ASSERT_FALSE(negative);
  EXPECT_THAT(negative.error().message(), HasSubstr("is negative"));
  const auto infinite = apply_setting(c, "rate_limit.requests_per_second", "inf", "flag");
  ASSERT_FALSE(infinite);
  EXPECT_THAT(infinite.error().message(), HasSubstr("is not a finite number"));
  const auto garbage = apply_setting(c, "rate_limit.requests_per_second", "fast", "flag");
  ASSERT_FALSE(garbage);
  EXPECT_THAT(garbage.error().message(), HasSubstr("flag=fast is not a number"));
}

TEST(Config, MalformedUidListNamesTheBadElement) {
  ipc_config c;
  const auto r = apply_environment(c, {{"DAEMONEYE_IPC_ALLOWED_UIDS", "1000,bob"}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr("DAEMONEYE_IPC_ALLOWED_UIDS=1000,bob"), HasSubstr("\"bob\"")));
}

TEST(Config, EmptyUidListInEnvironmentClearsTheList) {
  ipc_config c;
  c.allowed_uids = {1};
  ASSERT_TRUE(apply_environment(c, {{"DAEMONEYE_IPC_ALLOWED_UIDS", ""}}));
  EXPECT_TRUE(c.allowed_uids.empty());
}

TEST(Config, FailedEnvironmentLeavesTheConfigUnchanged) {
  ipc_config c;
  ASSERT_FALSE(apply_environment(c, {{"DAEMONEYE_IPC_MAX_CONNECTIONS", "3"}, {"DAEMONEYE_IPC_THREADS", "x"}}));
  EXPECT_EQ(c, ipc_config{});
}

TEST(Config, BooleansAcceptTrueFalseOneZeroYesNo) {
  for (const auto& [text, expected] : std::vector<std::pair<std::string, bool>>{
           {"true", true}, {"1", true}, {"yes", true}, {"True", true}, {"false", false}, {"0", false}, {"no", false}}) {
    ipc_config c;
    c.enable_sequence_numbers = !expected;
    ASSERT_TRUE(apply_setting(c, "enable_sequence_numbers", text, "flag")) << text;
    EXPECT_EQ(c.enable_sequence_numbers, expected) << text;
  }
  ipc_config c;
  const auto r = apply_setting(c, "enable_sequence_numbers", "maybe", "--seq");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("--seq=maybe is not one of true, false, 1, 0, yes, no"));
}

TEST(Config, ProcessEnvironmentReadsEnviron) {
  const scoped_env var("DAEMONEYE_CONFIG_TEST_VAR", "a=b");
  const auto env = process_environment();
  ASSERT_TRUE(env.count("DAEMONEYE_CONFIG_TEST_VAR"));
  EXPECT_EQ(env.at("DAEMONEYE_CONFIG_TEST_VAR"), "a=b");
}

// ---- flags ----

TEST(Config, FlagsSetKeysInFileSyntax) {
  config_sources sources;
  sources.flags = {{"max_connections", "2"}, {"client.backoff_base_ms", "50"}, {"crc32_variant", "ieee"}};
  const auto loaded = load_config(sources);
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->max_connections, 2U);
  EXPECT_EQ(loaded->client.backoff_base_ms, 50U);
  EXPECT_EQ(loaded->crc_variant, crc32_variant::ieee);
}

TEST(Config, UnknownFlagKeyNamesTheKey) {
  config_sources sources;
  sources.flags = {{"max_conn", "2"}};
  const auto loaded = load_config(sources);
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message(), HasSubstr("unknown key \"max_conn\""));
}

TEST(Config, MalformedFlagValueNamesTheFlag) {
  config_sources sources;
  sources.flags = {{"threads", "many"}};
  const auto loaded = load_config(sources);
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message(), HasSubstr("threads=many is not a whole number"));
}

// ---- precedence ----

TEST(Config, EnvironmentOverridesFileAndFlagsOverrideBoth) {
  const temp_dir dir;
  config_sources sources;
  sources.file = dir.write("procmond.yaml", "ipc:\n  max_connections: 2\n  threads: 2\n  read_timeout_ms: 2\n");
  sources.environment = {{"DAEMONEYE_IPC_THREADS", "3"}, {"DAEMONEYE_IPC_READ_TIMEOUT_MS", "3"}};
  sources.flags = {{"read_timeout_ms", "4"}};
  const auto loaded = load_config(sources);
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->max_connections, 2U);  // file only
  EXPECT_EQ(loaded->threads, 3U);          // file < env
  EXPECT_EQ(loaded->read_timeout_ms, 4U);  // file < env < flag
}

TEST(Config, LaterFlagWinsOverEarlierFlag) {
  config_sources sources;
  sources.flags = {{"threads", "1"}, {"threads", "5"}};
  const auto loaded = load_config(sources);
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->threads, 5U);
}

TEST(Config, LoadConfigValidatesOnlyTheMergedResult) {
  // The file's backoff pair is invalid alone; the flag repairs it before validation.
  const temp_dir dir;
  config_sources sources;
  sources.file = dir.write("procmond.toml", "[ipc.client]\nbackoff_base_ms = 500\nbackoff_max_ms = 100\n");
  sources.flags = {{"client.backoff_max_ms", "1000"}};
  const auto loaded = load_config(sources);
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->client.backoff_max_ms, 1000U);
}

TEST(Config, LoadConfigReportsValidationErrors) {
  const temp_dir dir;
  config_sources sources;
  sources.file = dir.write("procmond.yaml", "ipc:\n  max_connections: 0\n");
  const auto loaded = load_config(sources);
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(loaded.error().is(errc::invalid_config));
  EXPECT_THAT(loaded.error().message(), HasSubstr("max_connections is 0"));
}

TEST(Config, LoadConfigReportsFileErrors) {
  config_sources sources;
  sources.file = "/nonexistent/daemoneye/procmond.yaml";
  const auto loaded = load_config(sources);
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message(), HasSubstr("/nonexistent/daemoneye/procmond.yaml"));
}

// ---- validation ----

std::string validation_error(void (*change)(ipc_config&)) {
  ipc_config c;
  change(c);
  const auto r = validate(c);
  if (r) return "<valid>";
  EXPECT_TRUE(r.error().is(errc::invalid_config));
  return r.error().message();
}

TEST(Config, ZeroMaxFrameBytesIsInvalid) {
  EXPECT_THAT(validation_error([](ipc_config& c) { c.max_frame_bytes = 0; }),
              AllOf(HasSubstr("max_frame_bytes is 0"), HasSubstr("between 1 and 67108864")));
}

TEST(Config, MaxFrameBytesAboveLimitIsInvalid) {
  EXPECT_THAT(validation_error([](ipc_config& c) { c.max_frame_bytes = max_frame_bytes_limit + 1; }),
              AllOf(HasSubstr("max_frame_bytes is 67108865"), HasSubstr("between 1 and 67108864")));
  EXPECT_EQ(validation_error([](ipc_config& c) { c.max_frame_bytes = max_frame_bytes_limit; }), "<valid>");
}

TEST(Config, ZeroMaxConnectionsIsInvalid) {
  EXPECT_THAT(validation_error([](ipc_config& c) { c.max_connections = 0; }), HasSubstr("max_connections is 0"));
}

TEST(Config, EachZeroTimeoutIsInvalidAndNamed) {
  EXPECT_THAT(validation_error([](ipc_config& c) { c.accept_timeout_ms = 0; }), HasSubstr("accept_timeout_ms is 0"));
  EXPECT_THAT(validation_error([](ipc_config& c) { c.read_timeout_ms = 0; }), HasSubstr("read_timeout_ms is 0"));
  EXPECT_THAT(validation_error([](ipc_config& c) { c.write_timeout_ms = 0; }), HasSubstr("write_timeout_ms is 0"));
  EXPECT_THAT(validation_error([](ipc_config& c) { c.handler_timeout_ms = 0; }), HasSubstr("handler_timeout_ms is 0"));
}

TEST(Config, ZeroMaxInFlightIsInvalid) {
  EXPECT_THAT(validation_error([](ipc_config& c) { c.flow_control.max_in_flight = 0; }),
              HasSubstr("flow_control.max_in_flight is 0"));
}

TEST(Config, ZeroClientMaxAttemptsIsInvalid) {
  EXPECT_THAT(validation_error([](ipc_config& c) { c.client.max_attempts = 0; }),
              HasSubstr("client.max_attempts is 0"));
}

TEST(Config, BackoffBaseAboveBackoffMaxIsInvalid) {
  EXPECT_THAT(validation_error([](ipc_config& c) {
                c.client.backoff_base_ms = 500;
                c.client.backoff_max_ms = 100;
              }),
              HasSubstr("client.backoff_base_ms (500) is greater than client.backoff_max_ms (100)"));
  EXPECT_EQ(validation_error([](ipc_config& c) {
              c.client.backoff_base_ms = 100;
              c.client.backoff_max_ms = 100;
            }),
            "<valid>");
}

TEST(Config, EmptyEndpointPathIsInvalid) {
  EXPECT_THAT(validation_error([](ipc_config& c) { c.endpoint_path.clear(); }), HasSubstr("endpoint_path is empty"));
}

TEST(Config, UnknownKeyInApplySettingNamesKeyAndOrigin) {
  ipc_config c;
  const auto r = apply_setting(c, "bogus", "1", "--bogus");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), AllOf(HasSubstr("--bogus"), HasSubstr("unknown key \"bogus\"")));
}

// ---- to_yaml ----

TEST(Config, ToYamlPutsSettingsUnderIpcWithNestedSections) {
  const std::string yaml = to_yaml(ipc_config{});
  EXPECT_THAT(yaml, AllOf(HasSubstr("ipc:"), HasSubstr("max_connections: 16"), HasSubstr("codec: framed"),
                          HasSubstr("client:"), HasSubstr("max_attempts: 10")));
}

TEST(Config, ToYamlAppliedAsFileGivesBackAnEqualConfig) {
  const temp_dir dir;
  for (const ipc_config& original : {ipc_config{}, non_default_config()}) {
    const auto file = dir.write("effective.yaml", to_yaml(original));
    ipc_config reread;
    reread.endpoint_path = "/somewhere/else";
    reread.allowed_uids = {42};
    const auto r = apply_file(reread, file);
    ASSERT_TRUE(r) << error_of(r) << "\n" << to_yaml(original);
    EXPECT_EQ(reread, original) << to_yaml(original);
  }
}

TEST(Config, ToYamlRoundTripKeepsAnAwkwardRate) {
  ipc_config original;
  original.rate_limit.requests_per_second = 1.0 / 3.0;
  const temp_dir dir;
  const auto file = dir.write("effective.yml", to_yaml(original));
  ipc_config reread;
  ASSERT_TRUE(apply_file(reread, file));
  EXPECT_EQ(reread.rate_limit.requests_per_second, original.rate_limit.requests_per_second);
}

}  // namespace
}  // namespace daemoneye::ipc
