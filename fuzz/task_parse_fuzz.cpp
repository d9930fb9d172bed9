// libFuzzer target: a payload parsed as a DetectionTask, validated, and framed
// again, as the server does with every frame it accepts. Invariants: parsing
// never crashes; a valid task re-encodes and decodes to the same bytes; the
// error code for an invalid one is INVALID_TASK material (errc::invalid_task).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "daemoneye/ipc/config.hpp"
#include "daemoneye/ipc/logging.hpp"
#include "daemoneye/ipc/messages.hpp"

namespace {
/// The message's bytes with map entries in key order. Plain serialisation
/// leaves their order unspecified: two equal messages may differ in bytes.
std::string canonical_bytes(const google::protobuf::MessageLite& message) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  if (!message.SerializeToCodedStream(&coded)) __builtin_trap();
  coded.Trim();
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace daemoneye::ipc;
  // protobuf reports invalid UTF-8 through its logger; route it to a silent spdlog.
  static const bool quiet = configure_logging("text", "off").has_value();
  (void)quiet;
  const auto payload = std::as_bytes(std::span(data, size));
  DetectionTask task;
  if (!decode_into(payload, task)) return 0;
  if (auto ok = validate_task(task); !ok) {
    if (!ok.error().is(errc::invalid_task)) __builtin_trap();
    return 0;
  }
  (void)task_type_name(task.task_type());
  // A valid task survives a round trip through a frame unchanged.
  codec_options opts;
  opts.max_frame_bytes = max_frame_bytes_limit;
  byte_buffer out;
  if (!append_frame(opts, task, out)) return 0;  // only too large, which a fuzzer input cannot be
  auto back = decode_frame(opts, out.span());
  if (!back) __builtin_trap();
  DetectionTask again;
  if (!decode_into(*back, again)) __builtin_trap();
  if (canonical_bytes(again) != canonical_bytes(task)) __builtin_trap();
  return 0;
}
