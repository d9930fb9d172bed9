// ipc_config from its sources (defaults, a YAML or TOML file, DAEMONEYE_IPC_*
// variables, flags), its validation, and its YAML rendering. One key table
// drives every source and to_yaml, so a key is added in exactly one place.
#include "daemoneye/ipc/config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <limits>
#include <system_error>
#include <utility>
#include <variant>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include "daemoneye/ipc/transport.hpp"

#ifdef _WIN32
#include <stdlib.h>
#else
#include <unistd.h>
// POSIX defines it but not every libc declares it in <unistd.h>.
extern "C" char** environ;  // NOLINT(readability-redundant-declaration)
#endif

namespace daemoneye::ipc {
namespace {

using uid_list = std::vector<std::uint32_t>;

/// Where one setting lives inside an ipc_config; the alternative says how its text is parsed.
using field_ref =
    std::variant<std::string*, std::size_t*, std::uint32_t*, double*, bool*, crc32_variant*, codec_kind*, uid_list*>;

struct key_entry {
  std::string_view key;  ///< as in the file, dotted for nested sections
  field_ref (*field)(ipc_config&);
};

// Every setting, in the order to_yaml writes them. The environment name is
// derived from the key (see env_name), so this line is all a new key needs.
constexpr std::array key_table{
    key_entry{"endpoint_path", [](ipc_config& c) -> field_ref { return &c.endpoint_path; }},
    key_entry{"max_frame_bytes", [](ipc_config& c) -> field_ref { return &c.max_frame_bytes; }},
    key_entry{"accept_timeout_ms", [](ipc_config& c) -> field_ref { return &c.accept_timeout_ms; }},
    key_entry{"read_timeout_ms", [](ipc_config& c) -> field_ref { return &c.read_timeout_ms; }},
    key_entry{"write_timeout_ms", [](ipc_config& c) -> field_ref { return &c.write_timeout_ms; }},
    key_entry{"handler_timeout_ms", [](ipc_config& c) -> field_ref { return &c.handler_timeout_ms; }},
    key_entry{"max_connections", [](ipc_config& c) -> field_ref { return &c.max_connections; }},
    key_entry{"crc32_variant", [](ipc_config& c) -> field_ref { return &c.crc_variant; }},
    key_entry{"codec", [](ipc_config& c) -> field_ref { return &c.codec; }},
    key_entry{"rate_limit.requests_per_second",
              [](ipc_config& c) -> field_ref { return &c.rate_limit.requests_per_second; }},
    key_entry{"rate_limit.burst", [](ipc_config& c) -> field_ref { return &c.rate_limit.burst; }},
    key_entry{"rate_limit.global_requests_per_second",
              [](ipc_config& c) -> field_ref { return &c.rate_limit.global_requests_per_second; }},
    key_entry{"rate_limit.global_burst", [](ipc_config& c) -> field_ref { return &c.rate_limit.global_burst; }},
    key_entry{"flow_control.max_in_flight", [](ipc_config& c) -> field_ref { return &c.flow_control.max_in_flight; }},
    key_entry{"flow_control.max_pending", [](ipc_config& c) -> field_ref { return &c.flow_control.max_pending; }},
    key_entry{"enable_sequence_numbers", [](ipc_config& c) -> field_ref { return &c.enable_sequence_numbers; }},
    key_entry{"allowed_uids", [](ipc_config& c) -> field_ref { return &c.allowed_uids; }},
    key_entry{"threads", [](ipc_config& c) -> field_ref { return &c.threads; }},
    key_entry{"client.max_attempts", [](ipc_config& c) -> field_ref { return &c.client.max_attempts; }},
    key_entry{"client.backoff_base_ms", [](ipc_config& c) -> field_ref { return &c.client.backoff_base_ms; }},
    key_entry{"client.backoff_max_ms", [](ipc_config& c) -> field_ref { return &c.client.backoff_max_ms; }},
    key_entry{"client.breaker_failure_threshold",
              [](ipc_config& c) -> field_ref { return &c.client.breaker_failure_threshold; }},
    key_entry{"client.breaker_recovery_ms", [](ipc_config& c) -> field_ref { return &c.client.breaker_recovery_ms; }},
};

constexpr std::string_view env_prefix = "DAEMONEYE_IPC_";
constexpr std::string_view file_section = "ipc";

// Spelled here rather than taken from to_string() so parsing and to_yaml can
// never disagree on a name.
constexpr std::array<std::pair<std::string_view, crc32_variant>, 2> crc_choices{
    {{"castagnoli", crc32_variant::castagnoli}, {"ieee", crc32_variant::ieee}}};
constexpr std::array<std::pair<std::string_view, codec_kind>, 2> codec_choices{
    {{"framed", codec_kind::framed}, {"legacy", codec_kind::legacy}}};

const auto& choices_of(const crc32_variant*) { return crc_choices; }
const auto& choices_of(const codec_kind*) { return codec_choices; }

template <typename... F>
struct overloaded : F... {
  using F::operator()...;
};
template <typename... F>
overloaded(F...) -> overloaded<F...>;

/// A value as a source hands it over: files may give lists, the environment and flags only text.
struct raw_value {
  std::vector<std::string> items;
  bool is_list = false;

  [[nodiscard]] std::string display() const {
    if (is_list) return fmt::format("[{}]", fmt::join(items, ", "));
    return items.empty() ? std::string() : items.front();
  }
};

raw_value scalar(std::string_view text) { return {{std::string(text)}, false}; }

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char ch) { return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch; };
    return lower(x) == lower(y);
  });
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Parsers return what is wrong with the text as a phrase that follows it
// ("is not a whole number"), or nothing when the value was stored.
using problem = std::optional<std::string>;

template <typename U>
problem parse_unsigned(std::string_view text, std::string_view key, U& out) {
  const char* const end = text.data() + text.size();
  if (!text.empty() && text.front() == '-') {
    // "-5" is a number, just not one this key can take; say so rather than "not a number".
    const std::string_view digits = text.substr(1);
    const bool all_digits =
        !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (all_digits && digits.find_first_not_of('0') != std::string_view::npos) {
      return fmt::format("is negative; {} must be 0 or more", key);
    }
    if (all_digits) {
      out = 0;
      return std::nullopt;
    }
    return "is not a whole number";
  }
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc{} && ptr == end && value > std::numeric_limits<U>::max())) {
    return fmt::format("is too large; {} must be at most {}", key, std::numeric_limits<U>::max());
  }
  if (text.empty() || ec != std::errc{} || ptr != end) return "is not a whole number";
  out = static_cast<U>(value);
  return std::nullopt;
}

problem parse_double(std::string_view text, std::string_view key, double& out) {
  const char* const end = text.data() + text.size();
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return "is not a number";
  if (!std::isfinite(value)) return "is not a finite number";
  if (value < 0) return fmt::format("is negative; {} must be 0 or more", key);
  out = value;
  return std::nullopt;
}

problem parse_bool(std::string_view text, bool& out) {
  for (std::string_view yes : {"true", "1", "yes"}) {
    if (iequals(text, yes)) {
      out = true;
      return std::nullopt;
    }
  }
  for (std::string_view no : {"false", "0", "no"}) {
    if (iequals(text, no)) {
      out = false;
      return std::nullopt;
    }
  }
  return "is not one of true, false, 1, 0, yes, no";
}

template <typename E>
problem parse_enum(std::string_view text, E& out) {
  const auto& choices = choices_of(&out);
  for (const auto& [name, value] : choices) {
    if (text == name) {
      out = value;
      return std::nullopt;
    }
  }
  std::string names;
  for (const auto& [name, value] : choices) names += names.empty() ? std::string(name) : fmt::format(", {}", name);
  return fmt::format("is not one of {}", names);
}

problem parse_uids(const raw_value& value, uid_list& out) {
  std::vector<std::string_view> texts;
  if (value.is_list) {
    texts.assign(value.items.begin(), value.items.end());
  } else if (!value.items.empty() && !trim_spaces(value.items.front()).empty()) {
    // The environment and flags carry a list as "1000,1001"; an empty text is the empty list.
    std::string_view rest = value.items.front();
    while (true) {
      const auto comma = rest.find(',');
      texts.push_back(trim_spaces(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  uid_list uids;
  uids.reserve(texts.size());
  for (const std::string_view text : texts) {
    std::uint32_t uid = 0;
    if (auto why = parse_unsigned(text, "a uid", uid)) return fmt::format("has element \"{}\" which {}", text, *why);
    uids.push_back(uid);
  }
  out = std::move(uids);
  return std::nullopt;
}

/// Parses `value` into `field`; on a problem the field is left as it was.
problem assign(field_ref field, std::string_view key, const raw_value& value) {
  const auto* uids = std::get_if<uid_list*>(&field);
  if (uids == nullptr && value.is_list) return fmt::format("is a list, but {} takes a single value", key);
  const std::string_view text = value.items.empty() ? std::string_view() : std::string_view(value.items.front());
  return std::visit(overloaded{
                        [&](std::string* f) -> problem {
                          *f = std::string(text);
                          return std::nullopt;
                        },
                        [&](std::size_t* f) { return parse_unsigned(text, key, *f); },
                        [&](std::uint32_t* f) { return parse_unsigned(text, key, *f); },
                        [&](double* f) { return parse_double(text, key, *f); },
                        [&](bool* f) { return parse_bool(text, *f); },
                        [&](crc32_variant* f) { return parse_enum(text, *f); },
                        [&](codec_kind* f) { return parse_enum(text, *f); },
                        [&](uid_list* f) { return parse_uids(value, *f); },
                    },
                    field);
}

const key_entry* find_entry(std::string_view key) {
  const auto it = std::find_if(key_table.begin(), key_table.end(), [&](const key_entry& e) { return e.key == key; });
  return it == key_table.end() ? nullptr : &*it;
}

/// Whether `name` is a nested section ("client"), i.e. some key starts with "name.".
bool is_section(std::string_view name) {
  return std::any_of(key_table.begin(), key_table.end(), [&](const key_entry& e) {
    return e.key.size() > name.size() && e.key.substr(0, name.size()) == name && e.key[name.size()] == '.';
  });
}

std::string section_keys(std::string_view section) {
  std::string keys;
  for (const key_entry& e : key_table) {
    if (e.key.size() > section.size() && e.key.substr(0, section.size()) == section && e.key[section.size()] == '.') {
      if (!keys.empty()) keys += ", ";
      keys += e.key.substr(section.size() + 1);
    }
  }
  return keys;
}

std::string env_name(std::string_view key) {
  std::string name(env_prefix);
  for (const char ch : key) {
    name += ch == '.' ? '_' : (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  return name;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0U : 1U)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// The spelling (by `spell`) of the key nearest to `wrong` if it is a near miss (a typo).
template <typename Spell>
std::optional<std::string> closest(std::string_view wrong, Spell spell) {
  constexpr std::size_t max_typo_distance = 2;
  std::optional<std::string> best;
  std::size_t best_distance = max_typo_distance + 1;
  for (const key_entry& e : key_table) {
    std::string candidate = spell(e.key);
    if (const std::size_t d = edit_distance(wrong, candidate); d < best_distance) {
      best_distance = d;
      best = std::move(candidate);
    }
  }
  return best;
}

std::string key_suggestion(std::string_view wrong) {
  const auto nearest = closest(wrong, [](std::string_view key) { return std::string(key); });
  return nearest ? fmt::format(" - did you mean \"{}\"?", *nearest) : std::string();
}

std::string env_suggestion(std::string_view wrong) {
  const auto nearest = closest(wrong, [](std::string_view key) { return env_name(key); });
  return nearest ? fmt::format(" - did you mean {}?", *nearest) : std::string();
}

result<void> apply_raw(ipc_config& config, const key_entry& entry, const raw_value& value, std::string_view where) {
  if (auto why = assign(entry.field(config), entry.key, value)) {
    return fail(errc::invalid_config, fmt::format("{} {}", where, *why));
  }
  return {};
}

// ---- files ----

/// Applies what one file gives for `key`, reporting problems at `file:line`.
class file_reader {
 public:
  file_reader(ipc_config& config, std::string file) : config_(config), file_(std::move(file)) {}

  [[nodiscard]] std::string at(long line) const { return line > 0 ? fmt::format("{}:{}", file_, line) : file_; }

  result<void> unknown(const std::string& key, long line) const {
    if (is_section(key)) {
      return fail(errc::invalid_config, fmt::format("{}: {} is a section; give its keys ({}) as a nested map", at(line),
                                                    key, section_keys(key)));
    }
    return fail(errc::invalid_config,
                fmt::format("{}: unknown key \"{}\" under {}{}", at(line), key, file_section, key_suggestion(key)));
  }

  result<void> apply(const std::string& key, const raw_value& value, long line) {
    const key_entry* entry = find_entry(key);
    if (entry == nullptr) return unknown(key, line);
    const std::string shown = value.is_list ? value.display() : fmt::format("\"{}\"", value.display());
    return apply_raw(config_, *entry, value, fmt::format("{}: {}: {}", at(line), key, shown));
  }

  /// A nested map under `key`: allowed only where the table has a section of that name.
  result<void> check_section(const std::string& key, long line) const {
    if (find_entry(key) != nullptr) {
      return fail(errc::invalid_config, fmt::format("{}: {} takes a single value, not a nested map", at(line), key));
    }
    if (!is_section(key)) return unknown(key, line);
    return {};
  }

  result<void> fault(long line, std::string_view what) const {
    return fail(errc::invalid_config, fmt::format("{}: {}", at(line), what));
  }

  [[nodiscard]] const std::string& file_name() const { return file_; }

 private:
  ipc_config& config_;
  std::string file_;
};

long yaml_line(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? static_cast<long>(mark.line) + 1 : 0;  // yaml-cpp counts from 0
}

result<void> read_yaml_map(file_reader& reader, const YAML::Node& map, const std::string& prefix) {
  for (const auto& pair : map) {
    const YAML::Node& key_node = pair.first;
    const YAML::Node& value = pair.second;
    const long line = yaml_line(key_node);
    if (!key_node.IsScalar()) return reader.fault(line, "keys must be plain names");
    const std::string key = prefix + key_node.Scalar();
    switch (value.Type()) {
      case YAML::NodeType::Map:
        if (auto r = reader.check_section(key, line); !r) return r;
        if (auto r = read_yaml_map(reader, value, key + "."); !r) return r;
        break;
      case YAML::NodeType::Sequence: {
        raw_value list{{}, true};
        for (const auto& item : value) {
          if (!item.IsScalar()) {
            return reader.fault(yaml_line(item), fmt::format("{}: list elements must be plain values", key));
          }
          list.items.push_back(item.Scalar());
        }
        if (auto r = reader.apply(key, list, line); !r) return r;
        break;
      }
      case YAML::NodeType::Scalar:
        if (auto r = reader.apply(key, scalar(value.Scalar()), line); !r) return r;
        break;
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        if (find_entry(key) == nullptr) return reader.unknown(key, line);
        return reader.fault(line, fmt::format("{} has no value", key));
    }
  }
  return {};
}

result<void> read_yaml(file_reader& reader, const std::filesystem::path& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return fail(errc::invalid_config, fmt::format("cannot parse config file {}: {}", reader.file_name(), e.msg));
    }
    return fail(errc::invalid_config, fmt::format("cannot parse config file {} at line {}, column {}: {}",
                                                  reader.file_name(), e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  // Looked up through a const node: the non-const operator[] would insert a missing key.
  const YAML::Node& top = root;
  if (top.IsNull()) return {};  // an empty file sets nothing
  if (!top.IsMap()) return reader.fault(yaml_line(top), "the top level must be a map of sections");
  const YAML::Node section = top[std::string(file_section)];
  if (!section || section.IsNull()) return {};
  if (!section.IsMap()) {
    return reader.fault(yaml_line(section), fmt::format("{} must be a map of settings", file_section));
  }
  return read_yaml_map(reader, section, "");
}

long toml_line(const toml::source_region& source) { return static_cast<long>(source.begin.line); }

/// A TOML value as the text the key table parses; nothing for dates and times.
std::optional<std::string> toml_text(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return fmt::format("{}", i->get());
  if (const auto* d = node.as_floating_point()) return fmt::format("{}", d->get());
  if (const auto* b = node.as_boolean()) return std::string(b->get() ? "true" : "false");
  return std::nullopt;
}

result<void> read_toml_table(file_reader& reader, const toml::table& table, const std::string& prefix) {
  for (auto&& [key_node, value] : table) {
    const long line = toml_line(key_node.source());
    const std::string key = prefix + std::string(key_node.str());
    if (const auto* nested = value.as_table()) {
      if (auto r = reader.check_section(key, line); !r) return r;
      if (auto r = read_toml_table(reader, *nested, key + "."); !r) return r;
    } else if (const auto* array = value.as_array()) {
      raw_value list{{}, true};
      for (const toml::node& item : *array) {
        auto text = toml_text(item);
        if (!text) return reader.fault(line, fmt::format("{}: list elements must be plain values", key));
        list.items.push_back(std::move(*text));
      }
      if (auto r = reader.apply(key, list, line); !r) return r;
    } else {
      auto text = toml_text(value);
      if (!text) {
        if (find_entry(key) == nullptr) return reader.unknown(key, line);
        return reader.fault(line, fmt::format("{}: dates and times are not valid here", key));
      }
      if (auto r = reader.apply(key, scalar(*text), line); !r) return r;
    }
  }
  return {};
}

result<void> read_toml(file_reader& reader, const std::filesystem::path& file) {
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    return fail(errc::invalid_config,
                fmt::format("cannot parse config file {} at line {}, column {}: {}", reader.file_name(),
                            e.source().begin.line, e.source().begin.column, e.description()));
  }
#else
  toml::parse_result parsed = toml::parse_file(file.string());
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    return fail(errc::invalid_config,
                fmt::format("cannot parse config file {} at line {}, column {}: {}", reader.file_name(),
                            e.source().begin.line, e.source().begin.column, e.description()));
  }
  root = std::move(parsed).table();
#endif
  const toml::node* section = root.get(file_section);
  if (section == nullptr) return {};
  const auto* table = section->as_table();
  if (table == nullptr) {
    return reader.fault(toml_line(section->source()), fmt::format("{} must be a table of settings", file_section));
  }
  return read_toml_table(reader, *table, "");
}

std::string lower_ascii(std::string text) {
  for (char& ch : text) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return text;
}

result<void> apply_file_unguarded(ipc_config& config, const std::filesystem::path& file) {
  const std::string shown = file.string();
  const std::string extension = lower_ascii(file.extension().string());
  const bool is_yaml = extension == ".yaml" || extension == ".yml";
  const bool is_toml = extension == ".toml";
  if (!is_yaml && !is_toml) {
    return fail(errc::invalid_config,
                fmt::format("config file {} has {}; the format is chosen by extension: .yaml, .yml or .toml", shown,
                            extension.empty() ? std::string("no extension")
                                              : fmt::format("extension \"{}\"", file.extension().string())));
  }
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (!std::filesystem::exists(status)) {
    return fail(errc::invalid_config, fmt::format("config file {} does not exist", shown));
  }
  if (std::filesystem::is_directory(status)) {
    return fail(errc::invalid_config, fmt::format("config file {} is a directory", shown));
  }
  // Work on a copy so a file that fails half-way leaves the caller's config untouched.
  ipc_config updated = config;
  file_reader reader(updated, shown);
  if (auto r = is_yaml ? read_yaml(reader, file) : read_toml(reader, file); !r) return r;
  config = std::move(updated);
  return {};
}

// ---- to_yaml ----

void emit_value(YAML::Emitter& out, field_ref field) {
  std::visit(overloaded{
                 [&](std::string* f) { out << YAML::DoubleQuoted << *f; },
                 [&](std::size_t* f) { out << *f; },
                 [&](std::uint32_t* f) { out << *f; },
                 // fmt writes the shortest text that parses back to the same double.
                 [&](double* f) { out << fmt::format("{}", *f); },
                 [&](bool* f) { out << YAML::TrueFalseBool << *f; },
                 [&](crc32_variant* f) {
                   for (const auto& [name, value] : crc_choices) {
                     if (value == *f) out << std::string(name);
                   }
                 },
                 [&](codec_kind* f) {
                   for (const auto& [name, value] : codec_choices) {
                     if (value == *f) out << std::string(name);
                   }
                 },
                 [&](uid_list* f) {
                   out << YAML::Flow << YAML::BeginSeq;
                   for (const std::uint32_t uid : *f) out << uid;
                   out << YAML::EndSeq;
                 },
             },
             field);
}

}  // namespace

std::string ipc_config::default_endpoint_path() {
#ifdef _WIN32
  return R"(\\.\pipe\daemoneye\procmond)";
#else
  const auto uid = ::geteuid();
  if (uid == 0) return "/var/run/daemoneye/procmond.sock";
  // Read at start-up, before threads exist; nothing in this library calls setenv.
  const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");  // NOLINT(concurrency-mt-unsafe)
  if (runtime_dir != nullptr && *runtime_dir != '\0') return fmt::format("{}/daemoneye/procmond.sock", runtime_dir);
  return fmt::format("/tmp/daemoneye-{}/procmond.sock", uid);
#endif
}

result<void> validate(const ipc_config& config) {
  const auto invalid = [](std::string message) { return fail(errc::invalid_config, std::move(message)); };
  if (config.endpoint_path.empty()) {
    return invalid("endpoint_path is empty; set a path or leave it out to use the default " +
                   ipc_config::default_endpoint_path());
  }
  // Too long for sun_path; on Windows, not a \\.\pipe\ name.
  if (auto ok = validate_endpoint_path(config.endpoint_path); !ok) return invalid(ok.error().message());
  if (config.max_frame_bytes == 0 || config.max_frame_bytes > max_frame_bytes_limit) {
    return invalid(fmt::format("max_frame_bytes is {}; it must be between 1 and {} (64 MiB)", config.max_frame_bytes,
                               max_frame_bytes_limit));
  }
  const std::array<std::pair<std::string_view, std::uint32_t>, 4> timeouts{{
      {"accept_timeout_ms", config.accept_timeout_ms},
      {"read_timeout_ms", config.read_timeout_ms},
      {"write_timeout_ms", config.write_timeout_ms},
      {"handler_timeout_ms", config.handler_timeout_ms},
  }};
  for (const auto& [key, value] : timeouts) {
    if (value == 0) return invalid(fmt::format("{} is 0; a timeout must be at least 1 ms", key));
  }
  if (config.max_connections == 0) {
    return invalid("max_connections is 0; it must be at least 1 or no client could connect");
  }
  const std::array<std::pair<std::string_view, double>, 2> rates{{
      {"rate_limit.requests_per_second", config.rate_limit.requests_per_second},
      {"rate_limit.global_requests_per_second", config.rate_limit.global_requests_per_second},
  }};
  for (const auto& [key, rate] : rates) {
    if (!std::isfinite(rate) || rate < 0) {
      return invalid(fmt::format("{} is {}; it must be a finite number, 0 or more (0 disables this limit)", key, rate));
    }
  }
  if (config.flow_control.max_in_flight == 0) {
    return invalid("flow_control.max_in_flight is 0; it must be at least 1 or no task would ever run");
  }
  if (config.client.max_attempts == 0) {
    return invalid("client.max_attempts is 0; it must be at least 1 (1 means no retries)");
  }
  if (config.client.backoff_base_ms > config.client.backoff_max_ms) {
    return invalid(fmt::format("client.backoff_base_ms ({}) is greater than client.backoff_max_ms ({})",
                               config.client.backoff_base_ms, config.client.backoff_max_ms));
  }
  if (config.codec == codec_kind::legacy && !legacy_codec_available()) {
    return invalid("codec is legacy but this build has no legacy codec (built with DAEMONEYE_IPC_LEGACY=OFF)");
  }
  return {};
}

result<void> apply_setting(ipc_config& config, std::string_view key, std::string_view value, std::string_view origin) {
  const key_entry* entry = find_entry(key);
  if (entry == nullptr) {
    return fail(errc::invalid_config,
                fmt::format("{}{}unknown key \"{}\"{}", origin, origin.empty() ? "" : ": ", key, key_suggestion(key)));
  }
  const std::string where =
      origin.empty() ? fmt::format("{}: \"{}\"", key, value) : fmt::format("{}={}", origin, value);
  return apply_raw(config, *entry, scalar(value), where);
}

result<void> apply_file(ipc_config& config, const std::filesystem::path& file) {
  // yaml-cpp and toml++ report by throwing; nothing may leave this function that way.
  try {
    return apply_file_unguarded(config, file);
  } catch (const std::exception& e) {
    return fail(errc::invalid_config, fmt::format("cannot read config file {}: {}", file.string(), e.what()));
  } catch (...) {
    return fail(errc::invalid_config, fmt::format("cannot read config file {}", file.string()));
  }
}

result<void> apply_environment(ipc_config& config, const std::map<std::string, std::string>& environment) {
  ipc_config updated = config;  // all variables or none
  for (const auto& variable : environment) {
    // Not a structured binding: clang 14 cannot capture one in the lambda below.
    const std::string& name = variable.first;
    const std::string& value = variable.second;
    if (name.size() < env_prefix.size() || std::string_view(name).substr(0, env_prefix.size()) != env_prefix) continue;
    const auto entry =
        std::find_if(key_table.begin(), key_table.end(), [&](const key_entry& e) { return env_name(e.key) == name; });
    if (entry == key_table.end()) {
      return fail(errc::invalid_config, fmt::format("unknown environment variable {}{}", name, env_suggestion(name)));
    }
    if (auto r = apply_setting(updated, entry->key, value, name); !r) return r;
  }
  config = std::move(updated);
  return {};
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> environment;
#ifdef _WIN32
  char** entries = _environ;
#else
  char** entries = environ;
#endif
  for (char** entry = entries; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    environment.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return environment;
}

result<ipc_config> load_config(const config_sources& sources) {
  ipc_config config;
  if (sources.file) {
    if (auto r = apply_file(config, *sources.file); !r) return fail(std::move(r).error());
  }
  if (auto r = apply_environment(config, sources.environment); !r) return fail(std::move(r).error());
  for (const auto& [key, value] : sources.flags) {
    if (auto r = apply_setting(config, key, value, fmt::format("flag {}", key)); !r) return fail(std::move(r).error());
  }
  if (auto r = validate(config); !r) return fail(std::move(r).error());
  return config;
}

std::string to_yaml(const ipc_config& config) {
  // The key table hands out mutable references; a copy keeps `config` untouched.
  ipc_config copy = config;
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << std::string(file_section) << YAML::Value << YAML::BeginMap;
  std::vector<std::string_view> sections_done;
  for (const key_entry& entry : key_table) {
    const auto dot = entry.key.find('.');
    if (dot == std::string_view::npos) {
      out << YAML::Key << std::string(entry.key) << YAML::Value;
      emit_value(out, entry.field(copy));
      continue;
    }
    // A section is written whole where its first key appears, so the table
    // need not keep a section's keys together.
    const std::string_view section = entry.key.substr(0, dot);
    if (std::find(sections_done.begin(), sections_done.end(), section) != sections_done.end()) continue;
    sections_done.push_back(section);
    out << YAML::Key << std::string(section) << YAML::Value << YAML::BeginMap;
    for (const key_entry& member : key_table) {
      if (member.key.size() <= dot + 1 || member.key.substr(0, dot + 1) != entry.key.substr(0, dot + 1)) continue;
      out << YAML::Key << std::string(member.key.substr(dot + 1)) << YAML::Value;
      emit_value(out, member.field(copy));
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace daemoneye::ipc
