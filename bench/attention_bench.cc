// Attention kernel benchmarks. Decode attention is memory-bound on the KV cache: its bytes/s (K and V, or the
// MLA latent + rope key, read once per step) compare with BM_ReadBandwidth in kernels_bench.cc. Every decode
// benchmark cycles through at least 512 MiB of caches (one per layer, more than any last-level cache), so
// each call streams from DRAM as a real decode step does instead of re-reading the cache of the previous
// iteration. Prefill reports FLOP/s.
//   build/r1_bench --benchmark_filter='Attention|ReadBandwidth'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"

namespace r1 {
namespace {

// Enough copies of a `bytes`-sized layer cache to cycle through 512 MiB (and at least `layers`).
size_t n_copies(size_t bytes, int64_t layers) {
  return std::max(size_t(layers), ((size_t(512) << 20) + bytes - 1) / bytes);
}

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// R1-Distill-Qwen-1.5B: 28 layers, 12 query heads, 2 KV heads, head dim 128.
constexpr int64_t kLayers = 28, kH = 12, kHkv = 2, kDh = 128;

// One decode step (T = 1) over S cached positions, a different layer's cache each call.
void BM_AttentionDecodeGqa(benchmark::State& state) {
  const int64_t S = state.range(0);
  const size_t kv = size_t(S * kHkv * kDh);
  const size_t copies = n_copies(2 * kv * sizeof(float), kLayers);
  const std::vector<std::vector<float>> k(copies, random_vec(kv, 1)), v(copies, random_vec(kv, 2));
  const auto q = random_vec(size_t(kH * kDh), 99);
  std::vector<float> out(q.size());
  size_t layer = 0;
  for (auto _ : state) {
    const size_t i = layer++ % copies;
    kernels::gqa_attention(q.data(), k[i].data(), v[i].data(), out.data(), 1, S - 1, {kH, kHkv, kDh}, 0.088f,
                           ThreadPool::global());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(2 * kv * sizeof(float)));
}
BENCHMARK(BM_AttentionDecodeGqa)->Arg(512)->Arg(4096)->UseRealTime();

// The same step over an f16 cache: half the bytes.
void BM_AttentionDecodeGqaF16(benchmark::State& state) {
  const int64_t S = state.range(0);
  const size_t kv = size_t(S * kHkv * kDh);
  const auto to_f16 = [](const std::vector<float>& x) {
    std::vector<uint16_t> h(x.size());
    for (size_t i = 0; i < x.size(); ++i) h[i] = f32_to_f16(x[i]);
    return h;
  };
  const size_t copies = n_copies(2 * kv * sizeof(uint16_t), kLayers);
  const std::vector<std::vector<uint16_t>> k(copies, to_f16(random_vec(kv, 1))),
      v(copies, to_f16(random_vec(kv, 2)));
  const auto q = random_vec(size_t(kH * kDh), 99);
  std::vector<float> out(q.size());
  size_t layer = 0;
  for (auto _ : state) {
    const size_t i = layer++ % copies;
    kernels::gqa_attention_f16(q.data(), k[i].data(), v[i].data(), out.data(), 1, S - 1, {kH, kHkv, kDh},
                               0.088f, ThreadPool::global());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(2 * kv * sizeof(uint16_t)));
}
BENCHMARK(BM_AttentionDecodeGqaF16)->Arg(4096)->UseRealTime();

// DeepSeek-V2-Lite-like MLA decode: 16 heads over a latent cache of rank 512 plus a 64-dim rope key.
void BM_AttentionDecodeMla(benchmark::State& state) {
  const int64_t S = state.range(0), H = 16, R = 512, Dr = 64;
  const size_t copies = n_copies(size_t(S * (R + Dr)) * sizeof(float), 27);
  const std::vector<std::vector<float>> c_kv(copies, random_vec(size_t(S * R), 1)),
      k_pe(copies, random_vec(size_t(S * Dr), 2));
  const auto q_lat = random_vec(size_t(H * R), 98), q_pe = random_vec(size_t(H * Dr), 99);
  std::vector<float> out(q_lat.size());
  size_t layer = 0;
  for (auto _ : state) {
    const size_t i = layer++ % copies;
    kernels::mla_attention(q_lat.data(), q_pe.data(), c_kv[i].data(), k_pe[i].data(), out.data(), 1, S - 1,
                           {.n_heads = H, .kv_lora_rank = R, .rope_head_dim = Dr}, 0.07f,
                           ThreadPool::global());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(S * (R + Dr)) * int64_t(sizeof(float)));
}
BENCHMARK(BM_AttentionDecodeMla)->Arg(4096)->UseRealTime();

// A 256-token prefill chunk after `past` cached tokens. FLOP/s counts the causal q·k and p·v work only.
double causal_pairs(int64_t T, int64_t past) {
  return double(T) * double(past) + double(T) * double(T + 1) / 2.0;
}

void BM_AttentionPrefillGqa(benchmark::State& state) {
  const int64_t T = 256, past = state.range(0), S = past + T;
  const auto q = random_vec(size_t(T * kH * kDh), 1), k = random_vec(size_t(S * kHkv * kDh), 2),
             v = random_vec(size_t(S * kHkv * kDh), 3);
  std::vector<float> out(q.size());
  for (auto _ : state) {
    kernels::gqa_attention(q.data(), k.data(), v.data(), out.data(), T, past, {kH, kHkv, kDh}, 0.088f,
                           ThreadPool::global());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(double(state.iterations()) * 4.0 * causal_pairs(T, past) * double(kH * kDh),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionPrefillGqa)->Arg(0)->Arg(1792)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_AttentionPrefillMla(benchmark::State& state) {
  const int64_t T = 256, past = state.range(0), S = past + T, H = 16, R = 512, Dr = 64;
  const auto q_lat = random_vec(size_t(T * H * R), 1), q_pe = random_vec(size_t(T * H * Dr), 2),
             c_kv = random_vec(size_t(S * R), 3), k_pe = random_vec(size_t(S * Dr), 4);
  std::vector<float> out(q_lat.size());
  for (auto _ : state) {
    kernels::mla_attention(q_lat.data(), q_pe.data(), c_kv.data(), k_pe.data(), out.data(), T, past,
                           {.n_heads = H, .kv_lora_rank = R, .rope_head_dim = Dr}, 0.07f,
                           ThreadPool::global());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(double(state.iterations()) * 2.0 * causal_pairs(T, past) * double(H * (2 * R + Dr)),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionPrefillMla)->Arg(0)->Arg(1792)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace r1
