// protobuf's JSON printer with the options every daemoneye-cli command uses.
#include "cli/json_output.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

namespace daemoneye::cli {

std::string to_json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  if (auto status = google::protobuf::util::MessageToJsonString(message, &out, options); !status.ok()) {
    // Only a message with invalid UTF-8 in a string field gets here: a bug of the sender or of ours.
    throw std::runtime_error(fmt::format("cannot print {} as JSON: {}", message.GetTypeName(), status.ToString()));
  }
  return out;
}

std::string records_to_json(const std::vector<ipc::ProcessRecord>& records) {
  if (records.empty()) return "[]";
  std::string out = "[\n";
  for (std::size_t i = 0; i < records.size(); ++i) {
    out += "  ";
    out += to_json(records[i]);
    out += i + 1 < records.size() ? ",\n" : "\n";
  }
  out += ']';
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string append_json_fields(std::string object, const std::vector<std::pair<std::string, std::string>>& fields) {
  if (fields.empty()) return object;
  while (!object.empty() && object.back() != '}') object.pop_back();
  if (object.empty()) object = "{}";
  object.pop_back();  // the closing brace
  bool first = object.find_last_not_of(" \n\t") == object.find('{');
  for (const auto& [name, value] : fields) {
    if (!first) object += ',';
    first = false;
    object += json_quote(name);
    object += ':';
    object += value;
  }
  object += '}';
  return object;
}

}  // namespace daemoneye::cli
