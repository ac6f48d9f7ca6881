// Kernel benchmarks. Decode is memory-bound: compare GEMV bytes/s with BM_ReadBandwidth (the machine's streaming
// read rate, measured in the same run). Prefill is compute-bound: GEMM reports FLOP/s.
//   build/r1_bench --benchmark_filter='Gemv|Bandwidth'
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "kernels/roofline.h"
#include "kernels/simd.h"

namespace r1 {
namespace {

// A [O, I] weight in `dtype` filled with small random values.
struct Weight {
  std::vector<uint8_t> bytes;
  Tensor t;
  Weight(DType dtype, int64_t O, int64_t I) : bytes(size_t(O * I) * dtype_size(dtype)) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    for (int64_t i = 0; i < O * I; ++i) {
      const float v = u(rng);
      if (dtype == DType::kF32) std::memcpy(&bytes[size_t(i) * 4], &v, 4);
      else {
        const uint16_t h = dtype == DType::kBF16 ? f32_to_bf16(v) : f32_to_f16(v);
        std::memcpy(&bytes[size_t(i) * 2], &h, 2);
      }
    }
    t.dtype = dtype, t.rank = 2, t.shape[0] = O, t.shape[1] = I, t.data = bytes.data();
  }
};

// R1-Distill-Qwen-1.5B's MLP up projection: [8960, 1536] (27.5 MB in bf16, far beyond cache).
constexpr int64_t kO = 8960, kI = 1536;

// Streaming read of 512 MiB (beyond any cache) with SIMD loads on every thread: the decode roofline.
void BM_ReadBandwidth(benchmark::State& state) {
  ThreadPool& pool = ThreadPool::global();
  const size_t n = size_t(128) << 20;  // floats
  std::vector<float> buf(n, 1.0f);
  std::vector<float> partial(size_t(pool.size()) * 16);
  for (auto _ : state) {
    std::atomic<int> slot{0};
    pool.parallel_for(int64_t(n), int64_t(n) / pool.size() + 1, [&](int64_t b, int64_t e) {
      partial[size_t(slot++) * 16] = kernels::dot_f32(buf.data() + b, buf.data() + b, size_t(e - b));
    });
    benchmark::DoNotOptimize(partial.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n * sizeof(float)));
}
BENCHMARK(BM_ReadBandwidth)->UseRealTime()->Unit(benchmark::kMillisecond);

// GEMV over 16 different [8960, 1536] weights in turn (440 MiB in bf16), so each call streams from DRAM the way a
// decode step does, instead of hitting a weight left in the last-level cache by the previous iteration.
void BM_Gemv(benchmark::State& state) {
  const DType dtype = DType(state.range(0));
  std::vector<std::unique_ptr<Weight>> ws;
  for (int i = 0; i < 16; ++i) ws.push_back(std::make_unique<Weight>(dtype, kO, kI));
  std::vector<float> x(static_cast<size_t>(kI), 0.5f), y(static_cast<size_t>(kO));
  size_t i = 0;
  for (auto _ : state) {
    kernels::matmul(x.data(), 1, ws[i++ % ws.size()]->t, y.data(), ThreadPool::global());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(ws[0]->bytes.size()));
  state.SetLabel(std::string(dtype_name(dtype)) + " " + kernels::simd_target_name());
}
BENCHMARK(BM_Gemv)->Arg(int(DType::kF32))->Arg(int(DType::kBF16))->Arg(int(DType::kF16))->UseRealTime();

void BM_Gemm(benchmark::State& state) {
  const int64_t T = state.range(0);
  Weight w(DType::kBF16, 1536, kI);
  std::vector<float> x(size_t(T * kI), 0.5f), y(size_t(T * 1536));
  for (auto _ : state) {
    kernels::matmul(x.data(), T, w.t, y.data(), ThreadPool::global());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(double(state.iterations()) * 2.0 * double(T) * 1536.0 * double(kI), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Gemm)->Arg(16)->Arg(128)->UseRealTime();

// The register-blocked f32 GEMM on both threads, as a fraction of the FP32 FMA peak measured in the same process:
// M x N x K = forward of a packed training batch (1300 tokens through a 128 -> 512 layer), the weight gradient
// of the same layer (K = tokens, A read transposed), and a square 512 product.
void BM_GemmF32(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const bool a_transposed = state.range(3) != 0;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> a(size_t(M * K)), b(size_t(K * N)), c(size_t(M * N));
  for (float& v : a) v = u(rng);
  for (float& v : b) v = u(rng);
  const kernels::GemmArgs g{.M = M, .N = N, .K = K, .a = a.data(), .a_rs = a_transposed ? 1 : K,
                            .a_cs = a_transposed ? M : 1, .b = b.data(), .ldb = N, .c = c.data(), .ldc = N};
  static const double peak = kernels::measure_fp32_peak(ThreadPool::global());
  for (auto _ : state) {
    kernels::gemm_f32(g, ThreadPool::global());
    benchmark::DoNotOptimize(c.data());
  }
  const double flops = 2.0 * double(M) * double(N) * double(K);
  state.counters["FLOP/s"] = benchmark::Counter(double(state.iterations()) * flops, benchmark::Counter::kIsRate);
  state.counters["fp32_peak_GFLOP/s"] = peak;
}
BENCHMARK(BM_GemmF32)
    ->Args({1300, 512, 128, 0})
    ->Args({512, 128, 1300, 1})
    ->Args({512, 512, 512, 0})
    ->UseRealTime();

void BM_DecodeAttention(benchmark::State& state) {
  // One decode step of Qwen-1.5B attention (12 heads, 2 KV heads, head dim 128) over S cached tokens.
  const int64_t S = state.range(0), H = 12, Hkv = 2, Dh = 128;
  std::vector<float> q(size_t(H * Dh), 0.1f), k(size_t(S * Hkv * Dh), 0.1f), v(k.size(), 0.1f), out(q.size());
  for (auto _ : state) {
    kernels::gqa_attention(q.data(), k.data(), v.data(), out.data(), 1, S - 1, {H, Hkv, Dh}, 0.088f,
                           ThreadPool::global());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(2 * k.size() * sizeof(float)));
}
BENCHMARK(BM_DecodeAttention)->Arg(512)->Arg(4096)->UseRealTime();

}  // namespace
}  // namespace r1
