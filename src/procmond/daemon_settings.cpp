// Reading the `procmond:` section of the configuration file and merging it
// with flags; the `ipc:` section is the library's.
#include "procmond/daemon_settings.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

namespace daemoneye::procmond {
namespace {

using ipc::errc;
using ipc::fail;

constexpr std::string_view section = "procmond";

bool parse_bool(const std::string& text, bool& out) {
  if (text == "true" || text == "1" || text == "yes") {
    out = true;
  } else if (text == "false" || text == "0" || text == "no") {
    out = false;
  } else {
    return false;
  }
  return true;
}

/// Applies one `procmond.<key>` value given as text.
ipc::result<void> apply_key(daemon_settings& s, const std::string& key, const std::string& value,
                            const std::string& where) {
  if (key == "hash_executables") {
    if (!parse_bool(value, s.hash_executables)) {
      return fail(errc::invalid_config,
                  fmt::format("{}: procmond.hash_executables: \"{}\" is not true or false", where, value));
    }
  } else if (key == "log_format") {
    s.log_format = value;
  } else if (key == "log_level") {
    s.log_level = value;
  } else if (key == "metrics_listen") {
    s.metrics_listen = value;
  } else if (key == "drain_timeout_ms") {
    try {
      s.drain_timeout_ms = static_cast<std::uint32_t>(std::stoul(value));
    } catch (const std::exception&) {
      return fail(errc::invalid_config,
                  fmt::format("{}: procmond.drain_timeout_ms: \"{}\" is not a whole number", where, value));
    }
  } else {
    return fail(errc::invalid_config,
                fmt::format("{}: unknown key \"{}\" under procmond (known: hash_executables, log_format, log_level, "
                            "metrics_listen, drain_timeout_ms)",
                            where, key));
  }
  return {};
}

ipc::result<void> read_section(daemon_settings& s, const std::filesystem::path& file) {
  const auto ext = file.extension().string();
  try {
    if (ext == ".toml") {
      const auto table = toml::parse_file(file.string());
      const auto* sec = table[section].as_table();
      if (sec == nullptr) return {};
      for (const auto& [k, v] : *sec) {
        std::string text;
        if (const auto* str = v.as_string()) {
          text = str->get();
        } else if (const auto* b = v.as_boolean()) {
          text = b->get() ? "true" : "false";
        } else if (const auto* i = v.as_integer()) {
          text = std::to_string(i->get());
        }
        const auto where = fmt::format("{}:{}", file.string(), v.source().begin.line);
        if (auto ok = apply_key(s, std::string(k.str()), text, where); !ok) return ok;
      }
      return {};
    }
    const auto root = YAML::LoadFile(file.string());
    const auto sec = root[std::string(section)];
    if (!sec || !sec.IsMap()) return {};
    for (const auto& kv : sec) {
      const auto where = fmt::format("{}:{}", file.string(), kv.first.Mark().line + 1);
      if (auto ok = apply_key(s, kv.first.as<std::string>(), kv.second.as<std::string>(""), where); !ok) return ok;
    }
  } catch (const std::exception& e) {
    // ipc::load_config has already reported parse errors of the same file; this is a safety net.
    return fail(errc::invalid_config, fmt::format("cannot read {}: {}", file.string(), e.what()));
  }
  return {};
}

}  // namespace

ipc::result<void> validate_metrics_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return fail(errc::invalid_config,
                fmt::format("metrics_listen \"{}\" must be HOST:PORT, e.g. 127.0.0.1:9464", listen));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  bool loopback = host == "localhost";
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) loopback = (ntohl(v4.s_addr) >> 24U) == 127U;
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) loopback = IN6_IS_ADDR_LOOPBACK(&v6);
  if (!loopback) {
    return fail(errc::invalid_config,
                fmt::format("metrics_listen \"{}\" is not a loopback address; metrics are only served on 127.0.0.1, "
                            "::1 or localhost",
                            listen));
  }
  const auto port = listen.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoul(port) > 65535) {
    return fail(errc::invalid_config, fmt::format("metrics_listen \"{}\": \"{}\" is not a port number", listen, port));
  }
  return {};
}

ipc::result<daemon_settings> load_daemon_settings(const daemon_sources& sources) {
  daemon_settings s;
  auto cfg = ipc::load_config(sources.ipc);
  if (!cfg) return fail(std::move(cfg).error());
  s.ipc = std::move(*cfg);
  if (sources.ipc.file) {
    if (auto ok = read_section(s, *sources.ipc.file); !ok) return fail(std::move(ok).error());
  }
  if (sources.hash_executables) s.hash_executables = *sources.hash_executables;
  if (sources.log_format) s.log_format = *sources.log_format;
  if (sources.log_level) s.log_level = *sources.log_level;
  if (sources.metrics_listen) s.metrics_listen = *sources.metrics_listen;
  if (s.log_format != "text" && s.log_format != "json") {
    return fail(errc::invalid_config, fmt::format("log_format \"{}\" is not one of text, json", s.log_format));
  }
  if (!s.metrics_listen.empty()) {
    if (auto ok = validate_metrics_listen(s.metrics_listen); !ok) return fail(std::move(ok).error());
  }
  return s;
}

}  // namespace daemoneye::procmond
