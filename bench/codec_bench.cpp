// Encoding (append_frame: size, serialise, CRC) and decoding (decode_frame:
// length and CRC check, then protobuf parse) of the two message shapes that
// dominate the IPC: a small DetectionTask and a DetectionResult of 500
// ProcessRecords (~100 KB).
//
//   build/release/bench/codec_bench --benchmark_filter=Records
#include <cstdint>
#include <stdexcept>

#include <benchmark/benchmark.h>

#include "daemoneye/ipc/byte_buffer.hpp"
#include "daemoneye/ipc/codec.hpp"
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
  ipc::byte_buffer frame;
  if (!ipc::append_frame(options, message, frame)) throw std::runtime_error("append_frame failed");
  Message back;
  for (auto _ : state) {
    auto payload = ipc::decode_frame(options, frame.span());
    if (!payload || !ipc::decode_into(*payload, back)) throw std::runtime_error("decode failed");
    benchmark::DoNotOptimize(back);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}

void BM_AppendFrame_SmallTask(benchmark::State& state) { encode(state, small_task()); }
void BM_Decode_SmallTask(benchmark::State& state) { decode(state, small_task()); }
void BM_AppendFrame_Result500Records(benchmark::State& state) { encode(state, large_result()); }
void BM_Decode_Result500Records(benchmark::State& state) { decode(state, large_result()); }

// As a client that does not reuse its message: every parse allocates every
// record and string anew (interprocess_client, blocking_client::send_task).
void BM_Decode_Result500RecordsFreshMessage(benchmark::State& state) {
  const auto message = large_result();
  ipc::byte_buffer frame;
  if (!ipc::append_frame(options, message, frame)) throw std::runtime_error("append_frame failed");
  for (auto _ : state) {
    ipc::DetectionResult back;
    auto payload = ipc::decode_frame(options, frame.span());
    if (!payload || !ipc::decode_into(*payload, back)) throw std::runtime_error("decode failed");
    benchmark::DoNotOptimize(back);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
}

// What the server does per records answer before encoding: the handler
// returns a DetectionResult by value, so a prebuilt answer is copied.
void BM_Copy_Result500Records(benchmark::State& state) {
  const auto prebuilt = large_result();
  for (auto _ : state) {
    ipc::DetectionResult copy = prebuilt;
    benchmark::DoNotOptimize(copy);
  }
}

BENCHMARK(BM_AppendFrame_SmallTask);
BENCHMARK(BM_Decode_SmallTask);
BENCHMARK(BM_AppendFrame_Result500Records);
BENCHMARK(BM_Decode_Result500Records);
BENCHMARK(BM_Decode_Result500RecordsFreshMessage);
BENCHMARK(BM_Copy_Result500Records);

}  // namespace
