// spdlog set-up: a stderr sink, a text pattern, or JSON lines whose message
// field is escaped by a custom pattern flag.
#include "daemoneye/ipc/logging.hpp"

#include <fmt/format.h>
#include <google/protobuf/stubs/logging.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace daemoneye::ipc {
namespace {

/// %j: the log message escaped for a JSON string.
class json_message_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*tm*/, spdlog::memory_buf_t& dest) override {
    for (const char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<unsigned>(c));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

/// protobuf's own complaints (e.g. "invalid UTF-8" for a hostile payload) go
/// through spdlog at debug level: the server already logs and counts the
/// rejected frame, and a client must not be able to write to stderr at will.
void protobuf_log(google::protobuf::LogLevel level, const char* /*file*/, int /*line*/, const std::string& message) {
  spdlog::log(level >= google::protobuf::LOGLEVEL_FATAL ? spdlog::level::critical : spdlog::level::debug,
              "protobuf: {}", message);
}

}  // namespace

result<void> configure_logging(std::string_view format, std::string_view level) {
  const auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return fail(errc::invalid_config,
                fmt::format("log level \"{}\" is not one of trace, debug, info, warn, error", level));
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (format == "json") {
    formatter->add_flag<json_message_flag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","pid":%P,"thread":%t,"msg":"%j"})");
  } else if (format == "text") {
    formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  } else {
    return fail(errc::invalid_config, fmt::format("log format \"{}\" is not one of text, json", format));
  }
  auto logger = std::make_shared<spdlog::logger>("daemoneye", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::move(formatter));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  google::protobuf::SetLogHandler(&protobuf_log);
  return {};
}

}  // namespace daemoneye::ipc
