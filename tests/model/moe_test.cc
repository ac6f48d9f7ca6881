// DeepSeekMoE routing and grouped execution.
#include "model/blocks/moe.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/matmul.h"
#include "test_util.h"

namespace r1 {
namespace {

Tensor view(const std::vector<float>& v, int64_t rows, int64_t cols) {
  Tensor t;
  t.dtype = DType::kF32, t.rank = 2, t.shape[0] = rows, t.shape[1] = cols, t.data = v.data();
  return t;
}

TEST(MoeRoute, GreedySoftmaxWithoutNormalisation) {
  MoeRouting r{.n_routed_experts = 4, .num_experts_per_tok = 2, .routed_scaling_factor = 1.0f};
  const std::vector<float> logits = {0.0f, 2.0f, 1.0f, -1.0f};
  int32_t ids[2];
  float w[2];
  moe_route(r, logits.data(), nullptr, 1, ids, w);
  const double z = 1 + std::exp(2.0) + std::exp(1.0) + std::exp(-1.0);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 2);
  EXPECT_NEAR(w[0], std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(w[1], std::exp(1.0) / z, 1e-6);
}

TEST(MoeRoute, V2ScalesOnlyWithoutNormalisingAndV3Always) {
  const std::vector<float> logits = {0.0f, 2.0f, 1.0f, -1.0f};
  int32_t ids[2];
  float w[2];
  MoeRouting v2{.n_routed_experts = 4, .num_experts_per_tok = 2, .norm_topk_prob = true,
                .routed_scaling_factor = 16.0f, .scale_after_norm = false};
  moe_route(v2, logits.data(), nullptr, 1, ids, w);
  EXPECT_NEAR(w[0] + w[1], 1.0f, 1e-6);  // renormalised, not scaled
  MoeRouting v3 = v2;
  v3.scale_after_norm = true;
  moe_route(v3, logits.data(), nullptr, 1, ids, w);
  EXPECT_NEAR(w[0] + w[1], 16.0f, 1e-5);
  v2.norm_topk_prob = false;
  moe_route(v2, logits.data(), nullptr, 1, ids, w);
  const double z = 1 + std::exp(2.0) + std::exp(1.0) + std::exp(-1.0);
  EXPECT_NEAR(w[0], 16.0 * std::exp(2.0) / z, 1e-5);
}

TEST(MoeRoute, GroupLimitedGreedyKeepsTheBestGroups) {
  // 4 groups of 2. Group maxima: g0 0.9 (expert 1), g1 0.5, g2 0.8 (expert 4), g3 0.7; topk_group 2 keeps g0, g2.
  // Expert 7 (0.7) beats expert 5 (0.6) overall but sits in a dropped group.
  MoeRouting r{.n_routed_experts = 8, .num_experts_per_tok = 3, .n_group = 4, .topk_group = 2,
               .topk_method = MoeTopkMethod::kGroupLimitedGreedy, .scoring_func = MoeScoring::kSigmoid};
  const float s[8] = {0.1f, 0.9f, 0.5f, 0.4f, 0.8f, 0.6f, 0.2f, 0.7f};
  std::vector<float> logits;
  for (float p : s) logits.push_back(std::log(p / (1 - p)));  // sigmoid inverts back to s
  int32_t ids[3];
  float w[3];
  moe_route(r, logits.data(), nullptr, 1, ids, w);
  EXPECT_EQ(std::vector<int32_t>(ids, ids + 3), (std::vector<int32_t>{1, 4, 5}));
  EXPECT_NEAR(w[2], 0.6f, 1e-6);
}

TEST(MoeRoute, NoauxTcBiasSteersSelectionButNotWeights) {
  // Sigmoid scores s; bias lifts expert 3 above expert 0 for selection. Groups of 2: group score = sum of both.
  MoeRouting r{.n_routed_experts = 4, .num_experts_per_tok = 2, .n_group = 2, .topk_group = 1,
               .topk_method = MoeTopkMethod::kNoauxTc, .scoring_func = MoeScoring::kSigmoid, .norm_topk_prob = true,
               .routed_scaling_factor = 2.5f};
  const float s[4] = {0.6f, 0.5f, 0.4f, 0.3f};
  const float bias[4] = {0.0f, 0.0f, 0.0f, 0.5f};  // group 1 biased: 0.4 + 0.8 = 1.2 > group 0: 1.1
  std::vector<float> logits;
  for (float p : s) logits.push_back(std::log(p / (1 - p)));
  int32_t ids[2];
  float w[2];
  moe_route(r, logits.data(), bias, 1, ids, w);
  EXPECT_EQ(ids[0], 3);  // biased 0.8
  EXPECT_EQ(ids[1], 2);
  EXPECT_NEAR(w[0], 2.5f * 0.3f / 0.7f, 1e-5);  // unbiased scores, normalised, scaled
  EXPECT_NEAR(w[1], 2.5f * 0.4f / 0.7f, 1e-5);
}

TEST(Moe, AllExpertsActiveEqualsTheWeightedDenseSum) {
  ThreadPool pool(2);
  const int64_t E = 4, C = 24, F = 12, T = 5;
  MoeRouting r{.n_routed_experts = E, .num_experts_per_tok = E, .routed_scaling_factor = 1.0f};
  std::vector<std::vector<float>> storage;
  auto weight = [&](int64_t rows, int64_t cols, uint32_t seed) {
    storage.push_back(test::random_floats(size_t(rows * cols), seed, 0.3f));
    return view(storage.back(), rows, cols);
  };
  storage.reserve(64);
  MoeWeights w;
  w.gate = weight(E, C, 1);
  for (int64_t e = 0; e < E; ++e)
    w.experts.push_back({.gate_proj = weight(F, C, 10 + e), .up_proj = weight(F, C, 20 + e),
                         .down_proj = weight(C, F, 30 + e)});
  w.has_shared_experts = true;
  w.shared_experts = {.gate_proj = weight(2 * F, C, 40), .up_proj = weight(2 * F, C, 41),
                      .down_proj = weight(C, 2 * F, 42)};
  const auto x = test::random_floats(size_t(T * C), 99);
  std::vector<float> got(size_t(T * C));
  MoeScratch scratch;
  moe_forward(w, r, x.data(), T, scratch, got.data(), pool);

  // Dense: softmax(gate x) weighted sum over every expert, plus the shared expert, one token at a time.
  SwigluScratch ffn;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> logits(static_cast<size_t>(E)), y(static_cast<size_t>(C)), want(static_cast<size_t>(C));
    kernels::matmul(x.data() + t * C, 1, w.gate, logits.data(), pool);
    double z = 0;
    for (float l : logits) z += std::exp(double(l));
    swiglu_forward(w.shared_experts, x.data() + t * C, 1, ffn, want.data(), pool);
    for (int64_t e = 0; e < E; ++e) {
      swiglu_forward(w.experts[size_t(e)], x.data() + t * C, 1, ffn, y.data(), pool);
      for (int64_t c = 0; c < C; ++c) want[size_t(c)] += float(std::exp(double(logits[size_t(e)])) / z) * y[size_t(c)];
    }
    for (int64_t c = 0; c < C; ++c) ASSERT_NEAR(got[size_t(t * C + c)], want[size_t(c)], 1e-5f) << t << "," << c;
  }
}

}  // namespace
}  // namespace r1
