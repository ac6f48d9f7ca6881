// Training op benchmarks at the size of issue 9's tiny model (a few million parameters, 256-token sequences):
// the linear layer's forward (kernels::matmul) against its backward (dx + dW, twice the FLOPs), and causal
// attention forward + backward over one sequence. Items are FLOPs, so items/s reads as FLOP/s.
//   build/r1_bench --benchmark_filter='Train'
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "train/ops.h"

namespace r1::train {
namespace {

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

constexpr int64_t kT = 256;

// Args: in and out features.
void BM_TrainLinearForward(benchmark::State& state) {
  const int64_t I = state.range(0), O = state.range(1);
  const auto x = random_vec(size_t(kT * I), 1), w = random_vec(size_t(O * I), 2);
  std::vector<float> y(size_t(kT * O));
  for (auto _ : state) {
    linear_forward(y.data(), x.data(), w.data(), nullptr, kT, I, O, ThreadPool::global());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 2 * kT * I * O);
}
BENCHMARK(BM_TrainLinearForward)->Args({256, 256})->Args({256, 1024})->Args({1024, 256})->UseRealTime();

void BM_TrainLinearBackward(benchmark::State& state) {
  const int64_t I = state.range(0), O = state.range(1);
  const auto x = random_vec(size_t(kT * I), 1), w = random_vec(size_t(O * I), 2), dy = random_vec(size_t(kT * O), 3);
  std::vector<float> dx(x.size()), dw(w.size()), db(static_cast<size_t>(O));
  for (auto _ : state) {
    linear_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), kT, I, O, ThreadPool::global());
    benchmark::DoNotOptimize(dw.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 4 * kT * I * O);
}
BENCHMARK(BM_TrainLinearBackward)->Args({256, 256})->Args({256, 1024})->Args({1024, 256})->UseRealTime();

// Forward and backward of causal attention, 8 query heads over 2 KV heads of 32 dims.
void BM_TrainAttention(benchmark::State& state) {
  const AttentionShape s{.T = kT, .n_heads = 8, .n_kv_heads = 2, .head_dim = 32, .v_head_dim = 32};
  const auto q = random_vec(size_t(kT * 8 * 32), 1), k = random_vec(size_t(kT * 2 * 32), 2);
  const auto v = random_vec(k.size(), 3), dout = random_vec(q.size(), 4);
  std::vector<float> out(q.size()), att(size_t(8 * kT * kT)), dq(q.size()), dk(k.size()), dv(v.size());
  for (auto _ : state) {
    (void)attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), s, 0.177f, ThreadPool::global());
    attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), att.data(), q.data(), k.data(), v.data(), s,
                       0.177f, ThreadPool::global());
    benchmark::DoNotOptimize(dq.data());
  }
  // Causal: about T^2/2 score pairs per head, 2 FLOPs per dim for q·k and p·v forward, twice that backward.
  state.SetItemsProcessed(int64_t(state.iterations()) * 6 * 8 * kT * kT / 2 * 2 * 32);
}
BENCHMARK(BM_TrainAttention)->UseRealTime();

}  // namespace
}  // namespace r1::train
