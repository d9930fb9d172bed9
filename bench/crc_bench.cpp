// CRC-32C and CRC-32/IEEE throughput (crc.hpp) from one cache line to 1 MiB.
// Every frame is checksummed once on each side, so this bounds the codec.
//
//   build/release/bench/crc_bench --benchmark_filter=Castagnoli
#include <cstddef>
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include "daemoneye/ipc/crc.hpp"

namespace {

using daemoneye::ipc::crc32;
using daemoneye::ipc::crc32_variant;

std::vector<std::byte> pseudo_random_bytes(std::size_t n) {
  std::vector<std::byte> bytes(n);
  std::uint32_t x = 2463534242U;
  for (auto& b : bytes) {
    x ^= x << 13U;
    x ^= x >> 17U;
    x ^= x << 5U;
    b = static_cast<std::byte>(x);
  }
  return bytes;
}

void run(benchmark::State& state, crc32_variant variant) {
  const auto bytes = pseudo_random_bytes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(crc32(variant, bytes));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void BM_Crc32_Castagnoli(benchmark::State& state) { run(state, crc32_variant::castagnoli); }
void BM_Crc32_Ieee(benchmark::State& state) { run(state, crc32_variant::ieee); }

BENCHMARK(BM_Crc32_Castagnoli)->RangeMultiplier(4)->Range(64, 1 << 20);
BENCHMARK(BM_Crc32_Ieee)->RangeMultiplier(4)->Range(64, 1 << 20);

}  // namespace
