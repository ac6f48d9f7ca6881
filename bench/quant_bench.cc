// Quantized matmul benchmarks (kernels/quant_dot.h through kernels::matmul), on the global pool.
//   build/r1_bench --benchmark_filter='QGem|ReadBandwidth'
// Decode: BM_QGemv/<type>/<O>/<I> streams weights from DRAM (it cycles through copies filling 640 MiB, more
// than the last-level cache) and reports weight bytes/s, to set against BM_ReadBandwidth. Prefill:
// BM_QGemm/<type>/<O>/ <I>/<T> reports FLOP/s (2 * T * O * I per call; activation quantization included).
// BM_QGemmPath/<type>/<path> runs the 512-token 1536 -> 8960 GEMM on each x86 code path this CPU has (0 avx2,
// 1 avxvnni, 2 avx512vnni).
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "kernels/quant_dot.h"

namespace r1 {
namespace {

// `copies` back-to-back [O, I] weights of `type` (the same random matrix in each), viewed one at a time.
struct QuantWeights {
  std::vector<uint8_t> bytes;
  size_t matrix_bytes;
  int64_t copies, O, I;
  DType type;
  QuantWeights(DType t, int64_t o, int64_t i, size_t min_total) : O(o), I(i), type(t) {
    matrix_bytes = dtype_row_bytes(t, I) * size_t(O);
    copies = std::max<int64_t>(1, int64_t((min_total + matrix_bytes - 1) / matrix_bytes));
    bytes.resize(matrix_bytes * size_t(copies));
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    std::vector<float> row(static_cast<size_t>(I));
    const size_t rb = dtype_row_bytes(t, I);
    for (int64_t r = 0; r < O; ++r) {
      for (float& v : row) v = u(rng);
      kernels::quantize_row(t, row.data(), bytes.data() + size_t(r) * rb, I);
    }
    for (int64_t c = 1; c < copies; ++c)
      std::memcpy(bytes.data() + size_t(c) * matrix_bytes, bytes.data(), matrix_bytes);
  }
  Tensor view(int64_t c) const {
    Tensor t;
    t.dtype = type, t.rank = 2, t.shape[0] = O, t.shape[1] = I;
    t.data = bytes.data() + size_t(c % copies) * matrix_bytes;
    return t;
  }
};

std::string label(DType t) {
  return std::string(dtype_name(t)) + " " + kernels::quant_dot_path();
}

void BM_QGemv(benchmark::State& state) {
  const DType type = DType(state.range(0));
  const int64_t O = state.range(1), I = state.range(2);
  const QuantWeights w(type, O, I, size_t(640) << 20);
  std::vector<float> x(static_cast<size_t>(I)), y(static_cast<size_t>(O));
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& v : x) v = u(rng);
  int64_t i = 0;
  for (auto _ : state) {
    kernels::matmul(x.data(), 1, w.view(i++), y.data(), ThreadPool::global());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(w.matrix_bytes));
  state.SetLabel(label(type));
}

void QGemmArgs(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::kQ8_0, DType::kQ4_0})
    for (auto [O, I] : {std::pair<int64_t, int64_t>{8960, 1536}, {1536, 8960}}) b->Args({int64_t(t), O, I, 512});
  b->Args({int64_t(DType::kQ8_0), 8960, 1536, 16});
  b->Args({int64_t(DType::kQ8_0), 8960, 1536, 64});
}

void run_gemm(benchmark::State& state, DType type, int64_t O, int64_t I, int64_t T) {
  const QuantWeights w(type, O, I, 0);
  std::vector<float> x(size_t(T * I)), y(size_t(T * O));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& v : x) v = u(rng);
  for (auto _ : state) {
    kernels::matmul(x.data(), T, w.view(0), y.data(), ThreadPool::global());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(double(state.iterations()) * 2.0 * double(T) * double(O) * double(I),
                                                benchmark::Counter::kIsRate);
}

void BM_QGemm(benchmark::State& state) {
  const DType type = DType(state.range(0));
  run_gemm(state, type, state.range(1), state.range(2), state.range(3));
  state.SetLabel(label(type));
}

void BM_QGemmPath(benchmark::State& state) {
  const DType type = DType(state.range(0));
  const char* const names[] = {"avx2", "avxvnni", "avx512vnni"};
  const char* name = names[state.range(1)];
  if (!kernels::set_quant_dot_path_for_testing(name)) {
    state.SkipWithError((std::string(name) + " not supported on this CPU").c_str());
    return;
  }
  run_gemm(state, type, 8960, 1536, 512);
  kernels::set_quant_dot_path_for_testing(nullptr);
  state.SetLabel(std::string(dtype_name(type)) + " " + name);
}

constexpr int64_t kQ8 = int64_t(DType::kQ8_0), kQ4 = int64_t(DType::kQ4_0);

// R1-Distill-Qwen-1.5B's shapes: MLP down, MLP gate / up, the LM head, then q / o and k / v projections.
BENCHMARK(BM_QGemv)
    ->Args({kQ8, 1536, 8960})
    ->Args({kQ8, 8960, 1536})
    ->Args({kQ8, 151936, 1536})
    ->Args({kQ8, 1536, 1536})
    ->Args({kQ8, 256, 1536})
    ->Args({kQ4, 1536, 8960})
    ->Args({kQ4, 8960, 1536})
    ->Args({kQ4, 151936, 1536})
    ->UseRealTime();
BENCHMARK(BM_QGemm)->Apply(QGemmArgs)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QGemmPath)->ArgsProduct({{kQ8, kQ4}, {0, 1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace r1
