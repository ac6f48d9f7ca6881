// Training ops composed into the model's blocks (MLA, DeepSeekMoE) and the losses: backward against central finite
// differences (grad_check.h), forward against model/blocks' inference forward on the same weights.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "model/blocks/batch.h"
#include "runtime/kv_cache.h"
#include "train/grad_check.h"
#include "train/ops.h"

namespace r1::train {
namespace {

// ---------------------------------------------------------------------------------------------------- MLA

TEST_F(TrainOps, MlaMatchesNaiveInferenceAndGradients) {
  for (const bool lora : {true, false}) {
    SCOPED_TRACE(lora ? "q_lora_rank, yarn" : "q_proj, default rope");
    const int64_t T = 5, C = 8, H = 2, Lq = lora ? 6 : 0, R = 4, Dn = 4, Dr = 4, Dv = 6, Dq = Dn + Dr;
    const RopeConfig rope = lora ? yarn_config() : RopeConfig{};
    const MlaDims d{.hidden_size = C, .n_heads = H, .q_lora_rank = Lq, .kv_lora_rank = R, .qk_nope_head_dim = Dn,
                    .qk_rope_head_dim = Dr, .v_head_dim = Dv, .rms_norm_eps = 1e-6f,
                    .softmax_scale = float(1.0 / std::sqrt(double(Dq))) * yarn_softmax_factor(rope)};
    const RopeTables tab(rope, Dr, T);
    auto q_proj = random_floats(size_t(H * Dq * C), 30, 0.5f), q_a_proj = random_floats(size_t(Lq * C), 31, 0.5f);
    auto q_a_layernorm = random_floats(size_t(Lq), 32, 0.2f), q_b_proj = random_floats(size_t(H * Dq * Lq), 33, 0.5f);
    auto kv_a = random_floats(size_t((R + Dr) * C), 34, 0.5f), kv_a_layernorm = random_floats(size_t(R), 35, 0.2f);
    auto kv_b = random_floats(size_t(H * (Dn + Dv) * R), 36, 0.5f), o_proj = random_floats(size_t(C * H * Dv), 37, 0.5f);
    for (float& v : q_a_layernorm) v += 1.0f;
    for (float& v : kv_a_layernorm) v += 1.0f;
    auto x = random_floats(size_t(T * C), 38), r = random_floats(size_t(T * C), 39);
    const MlaParams p{.q_proj = lora ? nullptr : q_proj.data(), .q_a_proj = lora ? q_a_proj.data() : nullptr,
                      .q_a_layernorm = lora ? q_a_layernorm.data() : nullptr,
                      .q_b_proj = lora ? q_b_proj.data() : nullptr, .kv_a_proj_with_mqa = kv_a.data(),
                      .kv_a_layernorm = kv_a_layernorm.data(), .kv_b_proj = kv_b.data(), .o_proj = o_proj.data()};
    MlaActs a;
    std::vector<float> out(size_t(T * C)), want(out.size());
    auto loss = [&] {
      EXPECT_TRUE(mla_forward(out.data(), a, x.data(), p, d, T, tab.cos.data(), tab.sin.data(), pool_).is_ok());
      return weighted_sum(out, r);
    };
    loss();

    // The inference block on the same weights, through a one-sequence MLA cache, in its decompressed form.
    MlaWeights w;
    w.kv_a_proj_with_mqa = view(kv_a.data(), R + Dr, C), w.kv_a_layernorm = kv_a_layernorm;
    w.kv_b_proj = view(kv_b.data(), H * (Dn + Dv), R), w.o_proj = view(o_proj.data(), C, H * Dv);
    if (lora) {
      w.q_a_proj = view(q_a_proj.data(), Lq, C), w.q_a_layernorm = q_a_layernorm;
      w.q_b_proj = view(q_b_proj.data(), H * Dq, Lq);
    } else {
      w.q_proj = view(q_proj.data(), H * Dq, C);
    }
    KvCache cache(std::make_unique<MlaKvStore>(1, 1, 16, R, Dr), 16);
    Batch batch;
    batch.add(cache, 0, T);
    MlaScratch scratch;
    r1::mla_forward(w, d, MlaMode::kNaive, x.data(), batch, 0, tab.cos.data(), tab.sin.data(), scratch, want.data(),
                    pool_);
    expect_close(out, want, 1e-5f, "mla vs model/blocks mla_forward");

    auto dx = grad_buffer(x.size()), dq_proj = grad_buffer(q_proj.size()), dq_a = grad_buffer(q_a_proj.size());
    auto dq_a_ln = grad_buffer(q_a_layernorm.size()), dq_b = grad_buffer(q_b_proj.size());
    auto dkv_a = grad_buffer(kv_a.size()), dkv_a_ln = grad_buffer(kv_a_layernorm.size());
    auto dkv_b = grad_buffer(kv_b.size()), do_proj = grad_buffer(o_proj.size());
    const MlaGrads g{.q_proj = dq_proj.data(), .q_a_proj = dq_a.data(), .q_a_layernorm = dq_a_ln.data(),
                     .q_b_proj = dq_b.data(), .kv_a_proj_with_mqa = dkv_a.data(), .kv_a_layernorm = dkv_a_ln.data(),
                     .kv_b_proj = dkv_b.data(), .o_proj = do_proj.data()};
    mla_backward(dx.data(), g, r.data(), a, x.data(), p, d, T, tab.cos.data(), tab.sin.data(), pool_);
    check_grad("dx", x, dx, loss);
    if (lora) {
      check_grad("dq_a_proj", q_a_proj, dq_a, loss);
      check_grad("dq_a_layernorm", q_a_layernorm, dq_a_ln, loss);
      check_grad("dq_b_proj", q_b_proj, dq_b, loss);
    } else {
      check_grad("dq_proj", q_proj, dq_proj, loss);
    }
    check_grad("dkv_a_proj_with_mqa", kv_a, dkv_a, loss);
    check_grad("dkv_a_layernorm", kv_a_layernorm, dkv_a_ln, loss);
    check_grad("dkv_b_proj", kv_b, dkv_b, loss);
    check_grad("do_proj", o_proj, do_proj, loss);
  }
}

TEST_F(TrainOps, MlaRejectsMissingWeightsAndOddRopeDims) {
  MlaDims d{.hidden_size = 8, .n_heads = 2, .q_lora_rank = 6, .kv_lora_rank = 4, .qk_nope_head_dim = 4,
            .qk_rope_head_dim = 4, .v_head_dim = 4, .rms_norm_eps = 1e-6f, .softmax_scale = 0.35f};
  const float dummy = 0.0f;
  MlaParams p{.q_proj = &dummy, .kv_a_proj_with_mqa = &dummy, .kv_a_layernorm = &dummy, .kv_b_proj = &dummy,
              .o_proj = &dummy};
  const Status missing = mla_check(d, p);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.message().find("q_a_proj"), std::string::npos) << missing.message();
  d.q_lora_rank = 0;
  EXPECT_TRUE(mla_check(d, p).is_ok());
  d.qk_rope_head_dim = 3;
  EXPECT_FALSE(mla_check(d, p).is_ok());
}

// ---------------------------------------------------------------------------------------------------- MoE

struct MoeCase {
  const char* name;
  MoeRouting routing;
  int64_t shared;  // shared_intermediate_size
  bool bias;       // pass an e_score_correction_bias
};

TEST_F(TrainOps, MoeMatchesInferenceAndGradients) {
  const MoeCase cases[] = {
      {"deepseek_v3: sigmoid, noaux_tc groups, normalised, scaled, shared experts",
       {.n_routed_experts = 8, .num_experts_per_tok = 2, .n_group = 4, .topk_group = 2,
        .topk_method = MoeTopkMethod::kNoauxTc, .scoring_func = MoeScoring::kSigmoid, .norm_topk_prob = true,
        .routed_scaling_factor = 2.5f},
       6, true},
      {"deepseek_v2: softmax, greedy, scaled, no shared experts",
       {.n_routed_experts = 8, .num_experts_per_tok = 2, .routed_scaling_factor = 1.5f, .scale_after_norm = false},
       0, false}};
  for (const MoeCase& c : cases) {
    SCOPED_TRACE(c.name);
    const MoeRouting& rt = c.routing;
    const int64_t T = 5, C = 8, F = 4, Fs = c.shared, E = rt.n_routed_experts, K = rt.num_experts_per_tok;
    const MoeDims d{.hidden_size = C, .moe_intermediate_size = F, .shared_intermediate_size = Fs};
    auto gate = random_floats(size_t(E * C), 40), gate_proj = random_floats(size_t(E * F * C), 41, 0.5f);
    auto up_proj = random_floats(size_t(E * F * C), 42, 0.5f), down_proj = random_floats(size_t(E * C * F), 43, 0.5f);
    auto s_gate = random_floats(size_t(Fs * C), 44, 0.5f), s_up = random_floats(size_t(Fs * C), 45, 0.5f);
    auto s_down = random_floats(size_t(C * Fs), 46, 0.5f), bias = random_floats(size_t(E), 47, 0.3f);
    auto x = random_floats(size_t(T * C), 48), r = random_floats(size_t(T * C), 49);
    const float* b = c.bias ? bias.data() : nullptr;
    const MoeParams p{.gate = gate.data(), .gate_proj = gate_proj.data(), .up_proj = up_proj.data(),
                      .down_proj = down_proj.data(), .shared_gate_proj = Fs ? s_gate.data() : nullptr,
                      .shared_up_proj = Fs ? s_up.data() : nullptr, .shared_down_proj = Fs ? s_down.data() : nullptr};
    MoeActs a;
    std::vector<float> out(size_t(T * C)), want(out.size());
    ASSERT_TRUE(moe_forward(out.data(), a, x.data(), p, b, rt, d, T, pool_).is_ok());
    const std::vector<int32_t> ids = a.ids;
    // Selection is piecewise constant: a perturbation that changes it has no derivative to compare with.
    auto loss = [&] {
      EXPECT_TRUE(moe_forward(out.data(), a, x.data(), p, b, rt, d, T, pool_).is_ok());
      return a.ids == ids ? weighted_sum(out, r) : std::nan("");
    };
    loss();
    int64_t routed = 0;
    for (int64_t e = 0; e < E; ++e) routed += a.load(e);
    EXPECT_EQ(routed, T * K);

    MoeWeights w;
    w.gate = view(gate.data(), E, C), w.has_shared_experts = Fs > 0;
    w.shared_experts = {view(s_gate.data(), Fs, C), view(s_up.data(), Fs, C), view(s_down.data(), C, Fs)};
    if (c.bias) w.e_score_correction_bias = bias;
    for (int64_t e = 0; e < E; ++e)
      w.experts.push_back({view(gate_proj.data() + e * F * C, F, C), view(up_proj.data() + e * F * C, F, C),
                           view(down_proj.data() + e * C * F, C, F)});
    MoeScratch scratch;
    r1::moe_forward(w, rt, x.data(), T, scratch, want.data(), pool_);
    expect_close(out, want, 1e-5f, "moe vs model/blocks moe_forward");
    EXPECT_EQ(scratch.ids, ids);

    auto dx = grad_buffer(x.size()), dgate = grad_buffer(gate.size()), dgate_proj = grad_buffer(gate_proj.size());
    auto dup_proj = grad_buffer(up_proj.size()), ddown_proj = grad_buffer(down_proj.size());
    auto ds_gate = grad_buffer(s_gate.size()), ds_up = grad_buffer(s_up.size()), ds_down = grad_buffer(s_down.size());
    const MoeGrads g{.gate = dgate.data(), .gate_proj = dgate_proj.data(), .up_proj = dup_proj.data(),
                     .down_proj = ddown_proj.data(), .shared_gate_proj = ds_gate.data(),
                     .shared_up_proj = ds_up.data(), .shared_down_proj = ds_down.data()};
    moe_backward(dx.data(), g, r.data(), a, x.data(), p, rt, d, T, pool_);
    const int max_skipped = 2;
    check_grad("dx", x, dx, loss, max_skipped);
    check_grad("dgate (router)", gate, dgate, loss, max_skipped);
    check_grad("dgate_proj", gate_proj, dgate_proj, loss);
    check_grad("dup_proj", up_proj, dup_proj, loss);
    check_grad("ddown_proj", down_proj, ddown_proj, loss);
    if (Fs > 0) {
      check_grad("dshared_gate_proj", s_gate, ds_gate, loss);
      check_grad("dshared_up_proj", s_up, ds_up, loss);
      check_grad("dshared_down_proj", s_down, ds_down, loss);
    }
  }
}

TEST_F(TrainOps, MoeBiasSteersSelectionAndBalancingMovesItTowardsEqualLoad) {
  const MoeRouting rt{.n_routed_experts = 4, .num_experts_per_tok = 1, .topk_method = MoeTopkMethod::kNoauxTc,
                      .scoring_func = MoeScoring::kSigmoid, .routed_scaling_factor = 1.0f};
  const int64_t T = 6, C = 4, F = 2, E = 4;
  const MoeDims d{.hidden_size = C, .moe_intermediate_size = F, .shared_intermediate_size = 0};
  auto gate = random_floats(size_t(E * C), 50), ffn = random_floats(size_t(E * F * C), 51), x = random_floats(24, 52);
  const MoeParams p{.gate = gate.data(), .gate_proj = ffn.data(), .up_proj = ffn.data(), .down_proj = ffn.data()};
  std::vector<float> bias = {0.0f, 0.0f, 5.0f, 0.0f}, out(size_t(T * C));  // sigmoid scores < 1: expert 2 wins
  MoeActs a;
  ASSERT_TRUE(moe_forward(out.data(), a, x.data(), p, bias.data(), rt, d, T, pool_).is_ok());
  std::vector<int64_t> load(static_cast<size_t>(E));
  for (int64_t e = 0; e < E; ++e) load[size_t(e)] = a.load(e);
  EXPECT_EQ(load, (std::vector<int64_t>{0, 0, 6, 0}));
  // Mean load 1.5: the overloaded expert's bias drops by gamma, the idle ones' rise by gamma.
  moe_update_bias(bias.data(), load.data(), E, 0.25f);
  EXPECT_EQ(bias, (std::vector<float>{0.25f, 0.25f, 4.75f, 0.25f}));
  const int64_t even[] = {2, 2, 1, 3};  // mean 2: an expert exactly at the mean keeps its bias
  moe_update_bias(bias.data(), even, E, 0.25f);
  EXPECT_EQ(bias, (std::vector<float>{0.25f, 0.25f, 5.0f, 0.0f}));
  EXPECT_FALSE(moe_forward(out.data(), a, x.data(), p, nullptr, rt, d, T, pool_).is_ok());  // noaux_tc needs a bias
}

// ---------------------------------------------------------------------------- log-probs and cross-entropy

TEST_F(TrainOps, CrossEntropyMasksPromptTokensAndGradients) {
  const int64_t T = 5, V = 7;
  auto logits = random_floats(size_t(T * V), 60, 3.0f);
  const std::vector<int32_t> targets = {1, -100, 3, 6, 0};  // position 1 is masked; its target is never read
  const std::vector<float> weights = {1.0f, 0.0f, 1.0f, 0.5f, 1.0f};
  auto loss = [&] {
    auto l = cross_entropy_forward(logits.data(), targets.data(), weights.data(), T, V);
    EXPECT_TRUE(l.is_ok()) << l.message();
    return l.is_ok() ? double(*l) : std::nan("");
  };
  // Reference: -Σ w log(exp(l_target) / Σ exp(l)) / Σ w in double, straight from the definition.
  double want = 0.0, total = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    if (weights[size_t(t)] == 0.0f) continue;
    double z = 0.0;
    for (int64_t v = 0; v < V; ++v) z += std::exp(double(logits[size_t(t * V + v)]));
    want -= weights[size_t(t)] * std::log(std::exp(double(logits[size_t(t * V + targets[size_t(t)])])) / z);
    total += weights[size_t(t)];
  }
  EXPECT_NEAR(loss(), want / total, 1e-5);
  auto dlogits = grad_buffer(logits.size());
  cross_entropy_backward(dlogits.data(), 1.0f, logits.data(), targets.data(), weights.data(), T, V);
  for (int64_t v = 0; v < V; ++v) EXPECT_EQ(dlogits[size_t(V + v)], kPrefill);  // the masked row gets nothing
  check_grad("dlogits", logits, dlogits, loss);

  // Stable for large logits: a shift of a row changes nothing.
  auto shifted = logits;
  for (int64_t v = 0; v < V; ++v) shifted[size_t(2 * V + v)] += 1000.0f;
  auto l = cross_entropy_forward(shifted.data(), targets.data(), weights.data(), T, V);
  ASSERT_TRUE(l.is_ok());
  EXPECT_NEAR(*l, want / total, 1e-3);
  // Bad data is an error, no weight at all a zero loss.
  const std::vector<int32_t> bad_target = {1, 1, 7, 1, 1};
  EXPECT_FALSE(cross_entropy_forward(logits.data(), bad_target.data(), weights.data(), T, V).is_ok());
  const std::vector<float> negative = {1.0f, -1.0f, 1.0f, 1.0f, 1.0f};
  EXPECT_FALSE(cross_entropy_forward(logits.data(), targets.data(), negative.data(), T, V).is_ok());
  const std::vector<float> none(size_t(T), 0.0f);
  auto zero = cross_entropy_forward(logits.data(), targets.data(), none.data(), T, V);
  ASSERT_TRUE(zero.is_ok());
  EXPECT_EQ(*zero, 0.0f);
}

TEST_F(TrainOps, TokenLogprobsNormaliseAndGradients) {
  const int64_t T = 4, V = 6;
  auto logits = random_floats(size_t(T * V), 61, 3.0f), r = random_floats(size_t(T), 62);
  const std::vector<int32_t> targets = {0, 5, 2, 2};
  std::vector<float> logp(static_cast<size_t>(T));
  auto loss = [&] {
    EXPECT_TRUE(token_logprobs_forward(logp.data(), logits.data(), targets.data(), T, V).is_ok());
    return weighted_sum(logp, r);
  };
  loss();
  // Over every possible target of row 0 the probabilities sum to 1.
  double total = 0.0;
  for (int32_t v = 0; v < V; ++v) {
    float lp;
    ASSERT_TRUE(token_logprobs_forward(&lp, logits.data(), &v, 1, V).is_ok());
    total += std::exp(double(lp));
  }
  EXPECT_NEAR(total, 1.0, 1e-6);
  auto dlogits = grad_buffer(logits.size());
  token_logprobs_backward(dlogits.data(), r.data(), logits.data(), targets.data(), T, V);
  check_grad("dlogits", logits, dlogits, loss);
  const int32_t bad = -1;
  EXPECT_FALSE(token_logprobs_forward(logp.data(), logits.data(), &bad, 1, V).is_ok());
}

// At a sampling temperature the log-probs are those of logits / temperature (TRL's GRPO), and the gradient flows
// through the division.
TEST_F(TrainOps, TokenLogprobsAtTemperature) {
  const int64_t T = 3, V = 7;
  const float temperature = 0.6f;
  auto logits = random_floats(size_t(T * V), 63, 3.0f), r = random_floats(size_t(T), 64);
  const std::vector<int32_t> targets = {6, 0, 3};
  std::vector<float> logp(static_cast<size_t>(T)), scaled_logp(static_cast<size_t>(T));
  std::vector<float> scaled(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) scaled[i] = logits[i] / temperature;
  ASSERT_TRUE(token_logprobs_forward(logp.data(), logits.data(), targets.data(), T, V, temperature).is_ok());
  ASSERT_TRUE(token_logprobs_forward(scaled_logp.data(), scaled.data(), targets.data(), T, V).is_ok());
  for (int64_t t = 0; t < T; ++t) EXPECT_NEAR(logp[size_t(t)], scaled_logp[size_t(t)], 1e-5) << t;
  auto loss = [&] {
    EXPECT_TRUE(token_logprobs_forward(logp.data(), logits.data(), targets.data(), T, V, temperature).is_ok());
    return weighted_sum(logp, r);
  };
  auto dlogits = grad_buffer(logits.size());
  token_logprobs_backward(dlogits.data(), r.data(), logits.data(), targets.data(), T, V, temperature);
  check_grad("dlogits", logits, dlogits, loss);
  EXPECT_FALSE(token_logprobs_forward(logp.data(), logits.data(), targets.data(), T, V, 0.0f).is_ok());
}

}  // namespace
}  // namespace r1::train
