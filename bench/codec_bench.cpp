// The codec work of one round trip, step by step, for the two message shapes
// that dominate the IPC: a small DetectionTask and a DetectionResult of 500
// ProcessRecords (~111 KB). Each step is measured the way a connection does
// it, so the steps of one side add up to that side's CPU per message minus
// the system calls:
//
//   answering side  CopyInto (an in-place handler filling the reused result)
//                   + AppendFrame (size, serialise, CRC-32C)
//   receiving side  Decode (the connection's frame_decoder: length and CRC
//                   check, then protobuf parse into the reused message)
//
// ByteSize and Serialize split AppendFrame; the Fresh and Copy rows show what
// giving up message reuse costs.
//
//   build/release/bench/codec_bench --benchmark_filter=Records
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include <benchmark/benchmark.h>

#include "daemoneye/ipc/byte_buffer.hpp"
#include "daemoneye/ipc/codec.hpp"
#include "daemoneye/ipc/frame_decoder.hpp"
#include "daemoneye/ipc/messages.hpp"

#include "workload.hpp"

namespace {

namespace ipc = daemoneye::ipc;
namespace workload = daemoneye::bench::workload;

const ipc::codec_options options{};

ipc::DetectionTask small_task() { return workload::task_for(workload::kind::empty, "bench-task-000001"); }
ipc::DetectionResult large_result() {
  return workload::records_result("bench-task-000001", workload::records_per_result);
}

ipc::byte_buffer frame_of(const google::protobuf::MessageLite& message) {
  ipc::byte_buffer frame;
  if (!ipc::append_frame(options, message, frame)) throw std::runtime_error("append_frame failed");
  return frame;
}

/// Hands `frame` to `decoder` as reads do (prepare, copy, commit) and parses
/// the payload into `into`: the receiving side of a connection, minus recv().
void receive(ipc::frame_decoder& decoder, std::span<const std::byte> frame, google::protobuf::MessageLite& into) {
  while (true) {
    auto next = decoder.next();
    if (!next) throw std::runtime_error("frame rejected: " + next.error().message());
    if (*next) {
      if (!ipc::decode_into(**next, into)) throw std::runtime_error("decode failed");
      return;
    }
    if (frame.empty()) throw std::runtime_error("frame incomplete");
    auto room = decoder.prepare();
    const std::size_t n = std::min(room.size(), frame.size());
    std::memcpy(room.data(), frame.data(), n);
    decoder.commit(n);
    frame = frame.subspan(n);
  }
}

void encode(benchmark::State& state, const google::protobuf::MessageLite& message) {
  ipc::byte_buffer out;
  for (auto _ : state) {
    out.clear();
    if (!ipc::append_frame(options, message, out)) throw std::runtime_error("append_frame failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
  state.counters["frame_bytes"] = static_cast<double>(out.size());
}

template <typename Message>
void decode(benchmark::State& state, const Message& message) {
  const auto frame = frame_of(message);
  ipc::frame_decoder decoder(options);
  Message back;
  for (auto _ : state) {
    receive(decoder, frame.span(), back);
    benchmark::DoNotOptimize(back);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}

void BM_AppendFrame_SmallTask(benchmark::State& state) { encode(state, small_task()); }
void BM_Decode_SmallTask(benchmark::State& state) { decode(state, small_task()); }
void BM_AppendFrame_Result500Records(benchmark::State& state) { encode(state, large_result()); }
void BM_Decode_Result500Records(benchmark::State& state) { decode(state, large_result()); }

// The two halves of AppendFrame: computing (and caching) every nested size,
// then writing the bytes. CRC-32C of the ~111 KB is crc_bench's.
void BM_ByteSize_Result500Records(benchmark::State& state) {
  const auto message = large_result();
  for (auto _ : state) benchmark::DoNotOptimize(message.ByteSizeLong());
}

void BM_Serialize_Result500Records(benchmark::State& state) {
  const auto message = large_result();
  ipc::byte_buffer out;
  auto room = out.append_uninitialized(message.ByteSizeLong());
  for (auto _ : state) {
    message.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(room.data()));  // NOLINT
    benchmark::DoNotOptimize(room.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * room.size()));
}

// An in-place handler writing a collector's 500 records into the result the
// server cleared and reuses: every record and string keeps its memory.
void BM_CopyInto_Result500Records(benchmark::State& state) {
  const auto prebuilt = large_result();
  ipc::DetectionResult out;
  for (auto _ : state) {
    out.Clear();
    out.CopyFrom(prebuilt);
    benchmark::DoNotOptimize(out);
  }
}

// A handler that returns its answer by value builds a new message each time.
void BM_Copy_Result500Records(benchmark::State& state) {
  const auto prebuilt = large_result();
  for (auto _ : state) {
    ipc::DetectionResult copy = prebuilt;
    benchmark::DoNotOptimize(copy);
  }
}

// As a caller that does not reuse its message (interprocess_client's
// async_send_task, blocking_client::send_task): every parse allocates every
// record and string anew, and the previous answer is freed.
void BM_Decode_Result500RecordsFreshMessage(benchmark::State& state) {
  const auto frame = frame_of(large_result());
  ipc::frame_decoder decoder(options);
  for (auto _ : state) {
    ipc::DetectionResult back;
    receive(decoder, frame.span(), back);
    benchmark::DoNotOptimize(back);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
}

BENCHMARK(BM_AppendFrame_SmallTask);
BENCHMARK(BM_Decode_SmallTask);
BENCHMARK(BM_CopyInto_Result500Records);
BENCHMARK(BM_AppendFrame_Result500Records);
BENCHMARK(BM_ByteSize_Result500Records);
BENCHMARK(BM_Serialize_Result500Records);
BENCHMARK(BM_Decode_Result500Records);
BENCHMARK(BM_Copy_Result500Records);
BENCHMARK(BM_Decode_Result500RecordsFreshMessage);

}  // namespace
