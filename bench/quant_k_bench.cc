// Q4_K / Q6_K integer dot kernels (kernels/quant_dot_k.cc) on R1-Distill-Qwen-1.5B's MLP shapes:
//   [8960, 1536] (up/gate, 1536 -> 8960) and [1536, 8960] (down, 8960 -> 1536).
// GEMV (decode, T = 1) is memory-bound: compare its bytes/s with BM_ReadBandwidth. GEMM (prefill, T = 512) reports
// GFLOP/s counted as 2 * T * O * I.
//   build/r1_bench --benchmark_filter='QGemvK|QGemmK|ReadBandwidth'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/quant.h"
#include "kernels/quant_dot.h"
#include "kernels/quant_dot_k.h"

namespace r1 {
namespace {

using kernels::BlockQ8Act;

// A [O, I] weight quantized from uniform random values.
std::vector<uint8_t> quantized_weight(DType t, int64_t O, int64_t I, uint32_t seed) {
  const size_t row_bytes = size_t(I / kernels::kQKK) * (t == DType::kQ4_K ? 144 : 210);
  std::vector<uint8_t> w(row_bytes * size_t(O));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.1f, 0.1f);
  std::vector<float> row(static_cast<size_t>(I));
  for (int64_t r = 0; r < O; ++r) {
    for (float& v : row) v = u(rng);
    kernels::quantize_row(t, row.data(), w.data() + row_bytes * size_t(r), I);
  }
  return w;
}

std::vector<BlockQ8Act> random_acts(int64_t T, int64_t I) {
  std::vector<BlockQ8Act> a(size_t(T * I / kernels::kQK));
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> q(-127, 127);
  for (BlockQ8Act& b : a) {
    b.d = 0.01f, b.sum = 0;
    for (int8_t& v : b.qs) v = int8_t(q(rng)), b.sum += v;
  }
  return a;
}

// y = W x over the pool, rows split in chunks of `align` (the kernels' row tile).
void qgemm(DType t, const std::vector<uint8_t>& w, int64_t O, int64_t I, const std::vector<BlockQ8Act>& a, int64_t T,
           float* y, int64_t align) {
  ThreadPool& pool = ThreadPool::global();
  const int64_t chunk = (O / pool.size() + align - 1) / align * align;
  pool.parallel_for((O + chunk - 1) / chunk, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const int64_t r0 = c * chunk, r1 = std::min(O, r0 + chunk);
      if (t == DType::kQ4_K) kernels::qgemm_rows_q4_k(w.data(), I, a.data(), T, y, O, r0, r1);
      else kernels::qgemm_rows_q6_k(w.data(), I, a.data(), T, y, O, r0, r1);
    }
  });
}

// Args: dtype, O, I. Cycles through copies of the weight filling 512 MiB (BM_ReadBandwidth's buffer, beyond the
// last-level cache), so each call streams from DRAM the way a decode step does.
void BM_QGemvK(benchmark::State& state) {
  const DType t = DType(state.range(0));
  const int64_t O = state.range(1), I = state.range(2);
  const std::vector<uint8_t> w = quantized_weight(t, O, I, 1);
  const size_t copies = ((size_t(512) << 20) + w.size() - 1) / w.size();
  std::vector<std::vector<uint8_t>> ws(copies, w);
  const std::vector<BlockQ8Act> a = random_acts(1, I);
  std::vector<float> y(static_cast<size_t>(O));
  size_t i = 0;
  for (auto _ : state) {
    qgemm(t, ws[i++ % ws.size()], O, I, a, 1, y.data(), 4);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(w.size()));
  state.SetLabel(std::string(dtype_name(t)) + " " + kernels::quant_dot_k_path());
}
BENCHMARK(BM_QGemvK)
    ->Args({int(DType::kQ4_K), 8960, 1536})
    ->Args({int(DType::kQ4_K), 1536, 8960})
    ->Args({int(DType::kQ6_K), 8960, 1536})
    ->Args({int(DType::kQ6_K), 1536, 8960})
    ->UseRealTime();

// Args: dtype, O, I, T.
void BM_QGemmK(benchmark::State& state) {
  const DType t = DType(state.range(0));
  const int64_t O = state.range(1), I = state.range(2), T = state.range(3);
  const std::vector<uint8_t> w = quantized_weight(t, O, I, 1);
  const std::vector<BlockQ8Act> a = random_acts(T, I);
  std::vector<float> y(size_t(T * O));
  for (auto _ : state) {
    qgemm(t, w, O, I, a, T, y.data(), 32);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(double(state.iterations()) * 2.0 * double(T * O) * double(I), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(dtype_name(t)) + " " + kernels::quant_dot_k_path());
}
BENCHMARK(BM_QGemmK)
    ->Args({int(DType::kQ4_K), 8960, 1536, 512})
    ->Args({int(DType::kQ4_K), 1536, 8960, 512})
    ->Args({int(DType::kQ6_K), 8960, 1536, 512})
    ->Args({int(DType::kQ6_K), 1536, 8960, 512})
    ->Args({int(DType::kQ4_K), 8960, 1536, 4})
    ->Args({int(DType::kQ4_K), 8960, 1536, 16})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace r1
