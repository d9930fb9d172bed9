// The incremental frame_decoder over a stream of many small frames arriving
// in 64 KiB reads, as the server's read loop sees a pipelining client: frames
// straddle read boundaries, the decoder compacts and checks length and CRC.
//
//   build/release/bench/frame_decoder_bench
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include <benchmark/benchmark.h>

#include "daemoneye/ipc/byte_buffer.hpp"
#include "daemoneye/ipc/frame_decoder.hpp"
#include "daemoneye/ipc/messages.hpp"

#include "workload.hpp"

namespace {

namespace ipc = daemoneye::ipc;
namespace workload = daemoneye::bench::workload;

constexpr std::size_t frames_in_stream = 10'000;
constexpr std::size_t chunk = 64U * 1024U;

/// frames_in_stream small task frames back to back, task ids of varying length.
ipc::byte_buffer small_frame_stream() {
  ipc::byte_buffer stream;
  for (std::size_t i = 0; i < frames_in_stream; ++i) {
    auto task = workload::task_for(workload::kind::empty, "bench-" + std::to_string(i));
    if (!ipc::append_frame({}, task, stream)) throw std::runtime_error("append_frame failed");
  }
  return stream;
}

/// Feeds `stream` in `chunk` reads through prepare/commit (the server's path)
/// and calls `on_frame` on every payload.
template <typename OnFrame>
std::size_t decode_stream(const ipc::byte_buffer& stream, OnFrame&& on_frame) {
  ipc::frame_decoder dec;
  std::size_t offset = 0;
  std::size_t frames = 0;
  while (true) {
    while (true) {
      auto f = dec.next();
      if (!f) throw std::runtime_error("decoder failed: " + f.error().message());
      if (!*f) break;
      on_frame(**f);
      ++frames;
    }
    if (offset == stream.size()) break;
    auto room = dec.prepare();
    // A read returns at most one chunk, and at most what the socket holds.
    const std::size_t n = std::min({room.size(), chunk, stream.size() - offset});
    std::memcpy(room.data(), stream.data() + offset, n);
    dec.commit(n);
    offset += n;
  }
  return frames;
}

void BM_FrameDecoder_SmallFrames64KiBReads(benchmark::State& state) {
  const auto stream = small_frame_stream();
  for (auto _ : state) {
    const auto frames = decode_stream(stream, [](std::span<const std::byte> p) { benchmark::DoNotOptimize(p); });
    if (frames != frames_in_stream) throw std::runtime_error("lost frames");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * frames_in_stream));
}

// The same, plus parsing each payload into a DetectionTask as on_frame does.
void BM_FrameDecoder_SmallFrames64KiBReadsAndParse(benchmark::State& state) {
  const auto stream = small_frame_stream();
  for (auto _ : state) {
    decode_stream(stream, [](std::span<const std::byte> p) {
      ipc::DetectionTask task;
      if (!ipc::decode_into(p, task)) throw std::runtime_error("decode failed");
      benchmark::DoNotOptimize(task);
    });
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * frames_in_stream));
}

BENCHMARK(BM_FrameDecoder_SmallFrames64KiBReads);
BENCHMARK(BM_FrameDecoder_SmallFrames64KiBReadsAndParse);

}  // namespace
