// Laws of the wire layer (codec.hpp, frame_decoder.hpp, messages.hpp), checked
// with RapidCheck: round trip of arbitrary messages, any split of a stream,
// any single bit flip detected, and arbitrary bytes within the memory bound.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "daemoneye/ipc/codec.hpp"
#include "daemoneye/ipc/frame_decoder.hpp"
#include "daemoneye/ipc/messages.hpp"

namespace daemoneye::ipc {
namespace {

// ---- generators --------------------------------------------------------------

/// Valid UTF-8 (proto3 string fields must be): ASCII, 2-, 3- and 4-byte sequences.
rc::Gen<std::string> gen_text(int max_code_points = 12) {
  return rc::gen::exec([max_code_points] {
    const auto n = *rc::gen::inRange(0, max_code_points + 1);
    std::string out;
    for (int i = 0; i < n; ++i) {
      const auto cp = *rc::gen::weightedOneOf<std::uint32_t>({
          {6, rc::gen::inRange<std::uint32_t>(0x20, 0x7F)},
          {1, rc::gen::inRange<std::uint32_t>(0x00, 0x80)},
          {1, rc::gen::inRange<std::uint32_t>(0x80, 0x800)},
          {1, rc::gen::inRange<std::uint32_t>(0x800, 0xD800)},
          {1, rc::gen::inRange<std::uint32_t>(0x10000, 0x110000)},
      });
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0U | (cp >> 6U));
        out += static_cast<char>(0x80U | (cp & 0x3FU));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0U | (cp >> 12U));
        out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
        out += static_cast<char>(0x80U | (cp & 0x3FU));
      } else {
        out += static_cast<char>(0xF0U | (cp >> 18U));
        out += static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU));
        out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
        out += static_cast<char>(0x80U | (cp & 0x3FU));
      }
    }
    return out;
  });
}

/// How many elements a repeated field gets: small, so a case stays cheap.
int count(int max = 3) { return *rc::gen::inRange(0, max + 1); }

bool maybe() { return *rc::gen::arbitrary<bool>(); }

/// Values of an open proto3 enum: mostly known ones, sometimes any int (a newer peer's value).
int open_enum(int min, int max) {
  return *rc::gen::weightedOneOf<int>({{4, rc::gen::inRange(min, max + 1)}, {1, rc::gen::arbitrary<int>()}});
}

double any_double() {
  return *rc::gen::weightedOneOf<double>({
      {4, rc::gen::arbitrary<double>()},
      {1, rc::gen::element(0.0, -0.0, std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::max())},
  });
}

template <typename T>
T any() {
  return *rc::gen::arbitrary<T>();
}

void fill(ProcessRecord& p) {
  p.set_pid(any<std::uint32_t>());
  if (maybe()) p.set_ppid(any<std::uint32_t>());
  p.set_name(*gen_text());
  if (maybe()) p.set_executable_path(*gen_text(30));
  for (int i = count(); i > 0; --i) p.add_command_line(*gen_text());
  if (maybe()) p.set_start_time(any<std::int64_t>());
  if (maybe()) p.set_cpu_usage(any_double());
  if (maybe()) p.set_memory_usage(any<std::uint64_t>());
  if (maybe()) p.set_executable_hash(*gen_text());
  if (maybe()) p.set_hash_algorithm(*gen_text(6));
  if (maybe()) p.set_user_id(*gen_text(6));
  p.set_accessible(maybe());
  p.set_file_exists(maybe());
  p.set_collection_time(any<std::int64_t>());
  if (maybe()) p.set_ssdeep_hash(*gen_text());
  p.set_on_disk_mismatch(maybe());
  p.set_ssdeep_degraded(maybe());
}

void fill_thresholds(google::protobuf::Map<std::string, double>& map) {
  for (int i = count(); i > 0; --i) map[*gen_text(6)] = any_double();
}

rc::Gen<DetectionTask> gen_task() {
  return rc::gen::exec([] {
    DetectionTask t;
    t.set_task_id(*gen_text());
    t.set_task_type(static_cast<TaskType>(open_enum(wire::TaskType_MIN, wire::TaskType_MAX)));
    if (maybe()) {
      auto& f = *t.mutable_process_filter();
      for (int i = count(); i > 0; --i) f.add_process_names(*gen_text());
      for (int i = count(); i > 0; --i) f.add_pids(any<std::uint32_t>());
      if (maybe()) f.set_executable_pattern(*gen_text());
    }
    if (maybe()) {
      auto& h = *t.mutable_hash_check();
      h.set_expected_hash(*gen_text());
      h.set_hash_algorithm(*gen_text(6));
      h.set_executable_path(*gen_text());
    }
    if (maybe()) t.set_metadata(*gen_text());
    if (maybe()) {
      auto& n = *t.mutable_network_filter();
      for (int i = count(); i > 0; --i) n.add_protocols(*gen_text(4));
      for (int i = count(); i > 0; --i) n.add_source_addresses(*gen_text());
      for (int i = count(); i > 0; --i) n.add_destination_addresses(*gen_text());
      for (int i = count(); i > 0; --i) n.add_connection_states(*gen_text(6));
    }
    if (maybe()) {
      auto& f = *t.mutable_filesystem_filter();
      for (int i = count(); i > 0; --i) f.add_path_patterns(*gen_text());
      for (int i = count(); i > 0; --i) f.add_operation_types(*gen_text(6));
      for (int i = count(); i > 0; --i) f.add_file_extensions(*gen_text(4));
    }
    if (maybe()) {
      auto& p = *t.mutable_performance_filter();
      for (int i = count(); i > 0; --i) p.add_metric_names(*gen_text());
      for (int i = count(); i > 0; --i) p.add_components(*gen_text());
      fill_thresholds(*p.mutable_min_thresholds());
      fill_thresholds(*p.mutable_max_thresholds());
    }
    if (maybe()) t.set_sequence(any<std::uint64_t>());
    return t;
  });
}

rc::Gen<DetectionResult> gen_result() {
  return rc::gen::exec([] {
    DetectionResult r;
    r.set_task_id(*gen_text());
    r.set_success(maybe());
    if (maybe()) r.set_error_message(*gen_text(30));
    for (int i = count(); i > 0; --i) fill(*r.add_processes());
    if (maybe()) {
      auto& h = *r.mutable_hash_result();
      h.set_hash_value(*gen_text());
      h.set_algorithm(*gen_text(6));
      h.set_file_path(*gen_text());
      h.set_success(maybe());
      if (maybe()) h.set_error_message(*gen_text());
    }
    for (int i = count(2); i > 0; --i) {
      auto& n = *r.add_network_events();
      n.set_connection_id(*gen_text());
      n.set_source_address(*gen_text());
      n.set_destination_address(*gen_text());
      n.set_protocol(*gen_text(4));
      n.set_state(*gen_text(6));
      if (maybe()) n.set_pid(any<std::uint32_t>());
      n.set_bytes_sent(any<std::uint64_t>());
      n.set_bytes_received(any<std::uint64_t>());
      n.set_collection_time(any<std::int64_t>());
    }
    for (int i = count(2); i > 0; --i) {
      auto& f = *r.add_filesystem_events();
      f.set_operation_id(*gen_text());
      f.set_path(*gen_text(30));
      f.set_operation_type(*gen_text(6));
      if (maybe()) f.set_pid(any<std::uint32_t>());
      if (maybe()) f.set_file_size(any<std::uint64_t>());
      if (maybe()) f.set_permissions(*gen_text(4));
      if (maybe()) f.set_file_hash(*gen_text());
      f.set_collection_time(any<std::int64_t>());
    }
    for (int i = count(2); i > 0; --i) {
      auto& p = *r.add_performance_events();
      p.set_metric_id(*gen_text());
      p.set_metric_name(*gen_text());
      p.set_value(any_double());
      p.set_unit(*gen_text(4));
      if (maybe()) p.set_pid(any<std::uint32_t>());
      p.set_component(*gen_text());
      p.set_collection_time(any<std::int64_t>());
    }
    if (maybe()) r.set_sequence(any<std::uint64_t>());
    if (maybe()) {
      auto& c = *r.mutable_capabilities();
      for (int i = count(); i > 0; --i) {
        c.add_supported_domains(
            static_cast<MonitoringDomain>(open_enum(wire::MonitoringDomain_MIN, wire::MonitoringDomain_MAX)));
      }
      if (maybe()) {
        auto& a = *c.mutable_advanced();
        a.set_kernel_level(maybe());
        a.set_realtime(maybe());
        a.set_system_wide(maybe());
      }
    }
    if (maybe()) r.set_error_code(static_cast<ErrorCode>(open_enum(wire::ErrorCode_MIN, wire::ErrorCode_MAX)));
    if (maybe()) {
      auto& h = *r.mutable_health();
      h.set_version(*gen_text(6));
      h.set_uptime_ms(any<std::uint64_t>());
      h.set_active_connections(any<std::uint32_t>());
      h.set_max_connections(any<std::uint32_t>());
      h.set_tasks_served(any<std::uint64_t>());
      h.set_codec(*gen_text(6));
      h.set_crc32_variant(*gen_text(10));
      h.set_endpoint(*gen_text(30));
    }
    if (maybe()) r.set_metrics_text(*gen_text(40));
    return r;
  });
}

rc::Gen<codec_options> gen_codec(std::size_t max_frame_bytes = codec_options{}.max_frame_bytes) {
  return rc::gen::map(rc::gen::element(0, 1, 2), [max_frame_bytes](int which) {
    codec_options opts;
    opts.kind = which == 2 ? codec_kind::legacy : codec_kind::framed;
    opts.crc = which == 1 ? crc32_variant::ieee : crc32_variant::castagnoli;
    opts.max_frame_bytes = max_frame_bytes;
    return opts;
  });
}

rc::Gen<std::vector<std::byte>> gen_payload(std::size_t max_size) {
  return rc::gen::exec([max_size] {
    const auto n = *rc::gen::weightedOneOf<std::size_t>({
        {8, rc::gen::inRange<std::size_t>(1, std::min<std::size_t>(max_size, 200) + 1)},
        {1, rc::gen::inRange<std::size_t>(1, max_size + 1)},
    });
    const auto seed = *rc::gen::arbitrary<std::uint8_t>();
    std::vector<std::byte> bytes(n);
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::byte>(seed + i * 31U + (i >> 8U));
    return bytes;
  });
}

std::string describe(const codec_options& opts) {
  return std::string(to_string(opts.kind)) + "/" + std::string(to_string(opts.effective_crc()));
}

/// Deterministic serialisation: map order fixed, every bit of every double compared (NaN included).
template <typename Message>
std::string canonical(const Message& m) {
  (void)m.ByteSizeLong();  // SerializeWithCachedSizes needs the sizes cached
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeWithCachedSizes(&coded);
  return out;
}

template <typename Message>
void check_round_trip(const Message& original, const codec_options& opts) {
  RC_TAG(describe(opts));
  byte_buffer out;
  auto appended = append_frame(opts, original, out);
  if (original.ByteSizeLong() == 0) {
    // Every field at its default serialises to nothing, which no frame may carry.
    RC_ASSERT(!appended);
    RC_ASSERT(appended.error().is(errc::invalid_length));
    RC_ASSERT(out.empty());
    return;
  }
  RC_ASSERT(appended);
  RC_ASSERT(out.size() == header_size(opts, original.ByteSizeLong()) + original.ByteSizeLong());
  auto payload = decode_frame(opts, out.span());
  RC_ASSERT(payload);
  auto back = decode_message<Message>(*payload);
  RC_ASSERT(back);
  RC_ASSERT(back->ByteSizeLong() == original.ByteSizeLong());
  if (canonical(*back) != canonical(original)) {
    RC_FAIL("decoded message differs:\n" + original.DebugString() + "\nvs\n" + back->DebugString());
  }
}

// ---- laws --------------------------------------------------------------------

RC_GTEST_PROP(CodecProperties, DetectionTaskRoundTripsThroughEveryCodec, ()) {
  const auto task = *gen_task();
  check_round_trip(task, *gen_codec());
}

RC_GTEST_PROP(CodecProperties, DetectionResultRoundTripsThroughEveryCodec, ()) {
  const auto result = *gen_result();
  check_round_trip(result, *gen_codec());
}

/// Feeds `stream` cut at `cuts` (sorted offsets), alternating feed() and
/// prepare()/commit(), draining next() after each piece; returns the payloads.
std::vector<std::vector<std::byte>> decode_in_pieces(const codec_options& opts, std::span<const std::byte> stream,
                                                     const std::vector<std::size_t>& cuts) {
  frame_decoder dec(opts);
  std::vector<std::vector<std::byte>> frames;
  auto drain = [&] {
    while (true) {
      auto f = dec.next();
      RC_ASSERT(f);
      if (!*f) return;
      frames.emplace_back((*f)->begin(), (*f)->end());
    }
  };
  std::size_t at = 0;
  bool use_prepare = false;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : stream.size();
    while (at < end) {
      if (use_prepare) {
        auto room = dec.prepare();
        RC_ASSERT(!room.empty());
        const auto n = std::min(room.size(), end - at);
        std::memcpy(room.data(), stream.data() + at, n);
        dec.commit(n);
        at += n;
      } else {
        const auto n = dec.feed(stream.subspan(at, end - at));
        RC_ASSERT(n > 0U);
        at += n;
      }
      drain();
    }
    use_prepare = !use_prepare;
  }
  drain();
  RC_ASSERT(dec.buffered() == 0U);
  return frames;
}

RC_GTEST_PROP(CodecProperties, AnySplitOfAStreamDecodesToTheSamePayloads, ()) {
  const auto opts = *gen_codec();
  RC_TAG(describe(opts));
  const auto payloads = *rc::gen::container<std::vector<std::vector<std::byte>>>(
      static_cast<std::size_t>(*rc::gen::inRange(1, 6)), gen_payload(20'000));
  byte_buffer stream;
  for (const auto& p : payloads) RC_ASSERT(encode_frame(opts, p, stream));

  auto cuts = *rc::gen::container<std::vector<std::size_t>>(static_cast<std::size_t>(*rc::gen::inRange(0, 12)),
                                                            rc::gen::inRange<std::size_t>(0, stream.size() + 1));
  // Splits at every byte now and then: the hardest case for header parsing.
  if (*rc::gen::inRange(0, 10) == 0 && stream.size() <= 2000) {
    cuts.resize(stream.size());
    for (std::size_t i = 0; i < cuts.size(); ++i) cuts[i] = i;
  }
  std::sort(cuts.begin(), cuts.end());
  RC_ASSERT(decode_in_pieces(opts, stream.span(), cuts) == payloads);
}

RC_GTEST_PROP(CodecProperties, AnySingleBitFlipIsDetected, ()) {
  const auto payload = *gen_payload(20'000);
  const auto opts = *gen_codec(*rc::gen::inRange<std::size_t>(payload.size(), 2 * payload.size() + 100));
  RC_TAG(describe(opts));
  byte_buffer frame;
  RC_ASSERT(encode_frame(opts, payload, frame));
  const auto bit = *rc::gen::inRange<std::size_t>(0, frame.size() * 8);
  frame.data()[bit / 8] ^= static_cast<std::byte>(1U << (bit % 8));

  frame_decoder dec(opts);
  RC_ASSERT(dec.feed(frame.span()) == frame.size());
  auto f = dec.next();
  if (f) {
    // The only acceptable success: a length grown by the flip, waiting for bytes that never come.
    RC_ASSERT(!*f);
    RC_TAG("needs more bytes");
    return;
  }
  const auto& e = f.error();
  RC_TAG(std::string(to_string(static_cast<errc>(e.code().value()))));
  RC_ASSERT(e.is(errc::crc_mismatch) || e.is(errc::invalid_length) || e.is(errc::too_large));
}

RC_GTEST_PROP(CodecProperties, ArbitraryBytesStayWithinTheMemoryBound, ()) {
  const auto max_frame = *rc::gen::inRange<std::size_t>(1, 600);
  const auto opts = *gen_codec(max_frame);
  RC_TAG(describe(opts));
  const std::size_t bound = std::max(max_header_size + opts.max_frame_bytes, frame_decoder::read_chunk);

  // Garbage interleaved with valid frames (of this max or a larger one), so
  // that decoding gets past the first header now and then.
  std::vector<std::byte> stream;
  for (int i = *rc::gen::inRange(1, 8); i > 0; --i) {
    if (*rc::gen::weightedElement<bool>({{2, true}, {1, false}})) {
      auto wide = opts;
      wide.max_frame_bytes = *rc::gen::element(max_frame, 4 * max_frame);
      byte_buffer frame;
      RC_ASSERT(encode_frame(wide, *gen_payload(wide.max_frame_bytes), frame));
      stream.insert(stream.end(), frame.span().begin(), frame.span().end());
    } else {
      const auto garbage = *rc::gen::container<std::vector<std::uint8_t>>(rc::gen::arbitrary<std::uint8_t>());
      for (const auto b : garbage) stream.push_back(static_cast<std::byte>(b));
    }
  }

  frame_decoder dec(opts);
  std::span<const std::byte> rest(stream);
  while (!rest.empty()) {
    const auto chunk = std::min(rest.size(), *rc::gen::inRange<std::size_t>(1, 300));
    const auto taken = dec.feed(rest.first(chunk));
    RC_ASSERT(taken > 0U);
    rest = rest.subspan(taken);
    RC_ASSERT(dec.capacity() <= bound);
    std::optional<ipc_error> failure;
    while (true) {
      auto f = dec.next();
      if (!f) {
        failure = f.error();
        break;
      }
      if (!*f) break;
      RC_ASSERT(!(*f)->empty());
      RC_ASSERT((*f)->size() <= opts.max_frame_bytes);
    }
    if (failure) {
      RC_TAG(std::string(to_string(static_cast<errc>(failure->code().value()))));
      RC_ASSERT(failure->is(errc::crc_mismatch) || failure->is(errc::invalid_length) || failure->is(errc::too_large));
      // Sticky: the same error again, and no frame after it.
      RC_ASSERT(dec.failed());
      auto again = dec.next();
      RC_ASSERT(!again);
      RC_ASSERT(again.error().code() == failure->code());
      break;
    }
  }
  RC_ASSERT(dec.capacity() <= bound);
}

}  // namespace
}  // namespace daemoneye::ipc
