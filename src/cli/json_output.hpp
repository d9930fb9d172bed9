// JSON output of daemoneye-cli: protobuf messages as proto3 JSON with the
// .proto field names (so scripts see the names of PROTOCOL.md), arrays of
// them, and the few hand-built fields some commands add.
//
//   out << records_to_json(records) << '\n';   // [{"pid":1,"ppid":0,...},...]
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>

#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::cli {

/// One message as compact JSON: .proto field names, primitive fields printed
/// even when zero (optional fields only when set).
std::string to_json(const google::protobuf::Message& message);

/// Process records as a JSON array, one record per line.
std::string records_to_json(const std::vector<ipc::ProcessRecord>& records);

/// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

/// `object` (a JSON object's text) with `fields` appended; each field's value
/// must already be JSON text (e.g. from json_quote).
std::string append_json_fields(std::string object, const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace daemoneye::cli
