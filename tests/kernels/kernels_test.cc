// Every fast kernel against its scalar reference, on random shapes including sizes that are not multiples of any
// SIMD width.
#include <gtest/gtest.h>

#include <cmath>

#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/reference/reference.h"
#include "kernels/simd.h"
#include "test_util.h"

namespace r1 {
namespace {

// Weights of `dtype` holding `values` rounded to that dtype; the tensor points into `storage`.
Tensor make_weight(DType dtype, int64_t O, int64_t I, const std::vector<float>& values, std::vector<uint16_t>& half,
                   const std::vector<float>& full) {
  Tensor t;
  t.dtype = dtype;
  t.rank = 2;
  t.shape[0] = O, t.shape[1] = I;
  if (dtype == DType::kF32) {
    t.data = full.data();
    return t;
  }
  half.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    half[i] = dtype == DType::kBF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
  t.data = half.data();
  return t;
}

class MatmulTest : public ::testing::TestWithParam<DType> {};

TEST_P(MatmulTest, MatchesReferenceOnOddShapes) {
  ThreadPool pool(2);
  const DType dtype = GetParam();
  const int64_t shapes[][3] = {{1, 1, 1}, {1, 7, 3}, {1, 33, 65}, {3, 17, 129}, {5, 64, 64}, {1, 300, 257},
                               {9, 31, 100}, {2, 128, 1000},
                               // The register-blocked GEMM: tiles of 6 weight rows x 2 vectors of tokens, 256-wide passes.
                               {17, 70, 300}, {40, 129, 64}, {70, 33, 520}, {33, 50, 257},
                               // ... with the weights as the transposed panel (many tokens: T·(I + O) >= O·I).
                               {300, 40, 24}, {130, 100, 70}, {64, 64, 64}};
  uint32_t seed = 1;
  for (const auto& s : shapes) {
    const int64_t T = s[0], O = s[1], I = s[2];
    const auto w = test::random_floats(size_t(O * I), seed++);
    const auto x = test::random_floats(size_t(T * I), seed++);
    const auto bias = test::random_floats(size_t(O), seed++);
    std::vector<uint16_t> half;
    const Tensor t = make_weight(dtype, O, I, w, half, w);
    std::vector<float> got(size_t(T * O)), want(size_t(T * O));
    kernels::matmul(x.data(), T, t, got.data(), pool, bias.data());
    kernels::reference::matmul(x.data(), T, t, want.data());
    for (int64_t i = 0; i < T * O; ++i) {
      want[i] += bias[i % O];
      ASSERT_NEAR(got[i], want[i], 1e-5f * float(I)) << "T=" << T << " O=" << O << " I=" << I << " i=" << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, MatmulTest, ::testing::Values(DType::kF32, DType::kF16, DType::kBF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Simd, ToF32AndAxpy) {
  const auto v = test::random_floats(37, 5);
  std::vector<uint16_t> bf(v.size());
  for (size_t i = 0; i < v.size(); ++i) bf[i] = f32_to_bf16(v[i]);
  std::vector<float> out(v.size());
  kernels::to_f32(DType::kBF16, bf.data(), out.data(), out.size());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(out[i], bf16_to_f32(bf[i]));
  std::vector<float> y(v.size(), 1.0f);
  kernels::axpy(2.0f, v.data(), y.data(), y.size());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_FLOAT_EQ(y[i], 1.0f + 2.0f * v[i]);
  EXPECT_FALSE(kernels::simd_target_name().empty());
}

TEST(Attention, MatchesReference) {
  ThreadPool pool(2);
  struct Case {
    int64_t T, start, H, Hkv, Dh;
  };
  const Case cases[] = {{1, 0, 1, 1, 4}, {1, 9, 8, 2, 16}, {5, 0, 4, 4, 8}, {3, 6, 6, 1, 10}, {7, 2, 12, 2, 33}};
  uint32_t seed = 100;
  for (const Case& c : cases) {
    const int64_t S = c.start + c.T;
    const auto q = test::random_floats(size_t(c.T * c.H * c.Dh), seed++);
    const auto k = test::random_floats(size_t(S * c.Hkv * c.Dh), seed++);
    const auto v = test::random_floats(size_t(S * c.Hkv * c.Dh), seed++);
    std::vector<float> got(q.size()), want(q.size());
    const float scale = 1.0f / std::sqrt(float(c.Dh));
    kernels::gqa_attention(q.data(), k.data(), v.data(), got.data(), c.T, c.start,
                           {.n_heads = c.H, .n_kv_heads = c.Hkv, .head_dim = c.Dh}, scale, pool);
    kernels::reference::gqa_attention(q.data(), k.data(), v.data(), want.data(), c.T, c.start, c.H, c.Hkv, c.Dh,
                                      scale);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f) << i;
  }
}

TEST(Ops, RmsnormSiluSoftmaxRope) {
  const std::vector<float> x = {1, -2, 3, 4}, w = {1, 1, 2, 0.5f};
  std::vector<float> out(4);
  kernels::rmsnorm(x.data(), w.data(), out.data(), 1, 4, 0.0f);
  const float r = std::sqrt((1 + 4 + 9 + 16) / 4.0f);
  EXPECT_FLOAT_EQ(out[2], 3 / r * 2);
  std::vector<float> g = {0.0f, 1.0f}, u = {2.0f, 3.0f}, s(2);
  kernels::silu_mul(g.data(), u.data(), s.data(), 2);
  EXPECT_FLOAT_EQ(s[0], 0.0f);
  EXPECT_FLOAT_EQ(s[1], 3.0f / (1.0f + std::exp(-1.0f)));
  std::vector<float> p = {1.0f, -INFINITY, 1.0f};
  kernels::softmax(p.data(), 3);
  EXPECT_FLOAT_EQ(p[0], 0.5f);
  EXPECT_EQ(p[1], 0.0f);
  // RoPE by 90 degrees on pair (0, 2) in half-split layout, (0, 1) interleaved.
  const float c[2] = {0.0f, 1.0f}, sn[2] = {1.0f, 0.0f};
  std::vector<float> h = {1, 5, 2, 7};
  kernels::rope(h.data(), 1, 4, c, sn, true);
  EXPECT_EQ(h, (std::vector<float>{-2, 5, 1, 7}));
  std::vector<float> il = {1, 2, 5, 7};
  kernels::rope(il.data(), 1, 4, c, sn, false);
  EXPECT_EQ(il, (std::vector<float>{-2, 1, 5, 7}));
}

TEST(ThreadPool, CoversRangeExactlyOnce) {
  ThreadPool pool(3);
  for (int64_t n : {1, 2, 7, 100, 1001}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    for (int rep = 0; rep < 20; ++rep)
      pool.parallel_for(n, 0, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
      });
    for (auto& h : hits) ASSERT_EQ(h.load(), 20);
  }
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

TEST(Attention, MlaMatchesReference) {
  ThreadPool pool(2);
  struct Case {
    int64_t T, start, H, R, Dr;
  };
  const Case cases[] = {{1, 0, 1, 8, 2}, {1, 7, 4, 32, 8}, {6, 0, 3, 17, 4}, {3, 5, 16, 64, 8}};
  uint32_t seed = 500;
  for (const Case& c : cases) {
    const int64_t S = c.start + c.T;
    const auto q_lat = test::random_floats(size_t(c.T * c.H * c.R), seed++);
    const auto q_pe = test::random_floats(size_t(c.T * c.H * c.Dr), seed++);
    const auto c_kv = test::random_floats(size_t(S * c.R), seed++);
    const auto k_pe = test::random_floats(size_t(S * c.Dr), seed++);
    std::vector<float> got(q_lat.size()), want(q_lat.size());
    kernels::mla_attention(q_lat.data(), q_pe.data(), c_kv.data(), k_pe.data(), got.data(), c.T, c.start,
                           {.n_heads = c.H, .kv_lora_rank = c.R, .rope_head_dim = c.Dr}, 0.2f, pool);
    kernels::reference::mla_attention(q_lat.data(), q_pe.data(), c_kv.data(), k_pe.data(), want.data(), c.T,
                                      c.start, c.H, c.R, c.Dr, 0.2f);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f) << i;
  }
}

}  // namespace
}  // namespace r1
