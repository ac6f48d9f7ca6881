// Training ops (src/train/ops.h): every backward against central finite differences (grad_check.h), and the
// forwards against the inference path (kernels/) on the same inputs. MLA, MoE and the losses: ops_model_test.cc.
#include "train/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "kernels/attention.h"
#include "kernels/ops.h"
#include "train/grad_check.h"

namespace r1::train {
namespace {

// ---------------------------------------------------------------------------------------------- embedding

TEST_F(TrainOps, EmbeddingGradientScattersRepeatedIds) {
  const int64_t T = 5, V = 6, C = 4;
  const std::vector<int32_t> ids = {2, 0, 2, 5, 2};  // id 2 three times: its gradient row sums three rows
  auto wte = random_floats(size_t(V * C), 1), r = random_floats(size_t(T * C), 2);
  std::vector<float> out(size_t(T * C));
  auto loss = [&] {
    EXPECT_TRUE(embedding_forward(out.data(), ids.data(), wte.data(), T, V, C).is_ok());
    return weighted_sum(out, r);
  };
  loss();
  EXPECT_EQ(out[4], wte[0]);  // row 1 is id 0
  auto dwte = grad_buffer(wte.size());
  embedding_backward(dwte.data(), r.data(), ids.data(), T, C);
  check_grad("dwte", wte, dwte, loss);
  const int32_t bad[] = {0, 6};
  const Status s = embedding_forward(out.data(), bad, wte.data(), 2, V, C);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("outside the vocabulary"), std::string::npos) << s.message();
}

// ------------------------------------------------------------------------------------------------ rmsnorm

TEST_F(TrainOps, RmsnormMatchesKernelAndGradients) {
  const int64_t T = 5, C = 8;
  const float eps = 1e-6f;
  auto x = random_floats(size_t(T * C), 3), w = random_floats(size_t(C), 4), r = random_floats(size_t(T * C), 5);
  for (float& v : w) v += 1.0f;
  std::vector<float> out(size_t(T * C)), rstd(static_cast<size_t>(T)), want(out.size());
  auto loss = [&] {
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), T, C, eps);
    return weighted_sum(out, r);
  };
  loss();
  kernels::rmsnorm(x.data(), w.data(), want.data(), T, C, eps);
  expect_close(out, want, 1e-6f, "rmsnorm vs kernels::rmsnorm");
  auto dx = grad_buffer(x.size()), dw = grad_buffer(w.size());
  rmsnorm_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), T, C);
  check_grad("dx", x, dx, loss);
  check_grad("dweight", w, dw, loss);
}

// ------------------------------------------------------------------------------------------------- linear

TEST_F(TrainOps, LinearMatchesPlainLoopAndGradients) {
  const int64_t T = 5, I = 8, O = 7;
  for (const bool with_bias : {true, false}) {
    SCOPED_TRACE(with_bias ? "bias" : "no bias");
    auto x = random_floats(size_t(T * I), 6), w = random_floats(size_t(O * I), 7), b = random_floats(size_t(O), 8);
    auto r = random_floats(size_t(T * O), 9);
    const float* bias = with_bias ? b.data() : nullptr;
    std::vector<float> out(size_t(T * O)), want(out.size());
    auto loss = [&] {
      linear_forward(out.data(), x.data(), w.data(), bias, T, I, O, pool_);
      return weighted_sum(out, r);
    };
    loss();
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < O; ++o) {
        double s = with_bias ? b[size_t(o)] : 0.0;
        for (int64_t i = 0; i < I; ++i) s += double(x[size_t(t * I + i)]) * w[size_t(o * I + i)];
        want[size_t(t * O + o)] = float(s);
      }
    expect_close(out, want, 1e-5f, "linear vs plain loop");
    auto dx = grad_buffer(x.size()), dw = grad_buffer(w.size()), db = grad_buffer(b.size());
    linear_backward(dx.data(), dw.data(), with_bias ? db.data() : nullptr, r.data(), x.data(), w.data(), T, I, O,
                    pool_);
    check_grad("dx", x, dx, loss);
    check_grad("dweight", w, dw, loss);
    if (with_bias) check_grad("dbias", b, db, loss);
  }
}

// From kGemmMinRows (16) rows on, linear_backward runs through the GEMM: both paths against a plain double loop,
// accumulating onto prefilled buffers, with widths no SIMD block divides.
TEST_F(TrainOps, LinearBackwardBothPathsMatchPlainLoop) {
  for (const int64_t T : {3, 15, 16, 41}) {
    SCOPED_TRACE("T = " + std::to_string(T));
    const int64_t I = 37, O = 19;
    auto x = random_floats(size_t(T * I), 60), w = random_floats(size_t(O * I), 61), dy = random_floats(size_t(T * O), 62);
    auto dx = grad_buffer(x.size()), dw = grad_buffer(w.size());
    linear_backward(dx.data(), dw.data(), nullptr, dy.data(), x.data(), w.data(), T, I, O, pool_);
    std::vector<float> want_dx(x.size(), kPrefill), want_dw(w.size(), kPrefill);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < I; ++i) {
        double s = 0.0;
        for (int64_t o = 0; o < O; ++o) s += double(dy[size_t(t * O + o)]) * w[size_t(o * I + i)];
        want_dx[size_t(t * I + i)] += float(s);
      }
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < I; ++i) {
        double s = 0.0;
        for (int64_t t = 0; t < T; ++t) s += double(dy[size_t(t * O + o)]) * x[size_t(t * I + i)];
        want_dw[size_t(o * I + i)] += float(s);
      }
    expect_close(dx, want_dx, 1e-5f, "dinp");
    expect_close(dw, want_dw, 1e-5f, "dweight");
  }
}

// --------------------------------------------------------------------------------------------------- rope

TEST_F(TrainOps, RopeMatchesKernelAndGradientsForEveryLayoutAndScaling) {
  const int64_t T = 5, H = 2, D = 8;
  for (const RopeLayout layout : {RopeLayout::kHalfSplit, RopeLayout::kInterleaved})
    for (const bool yarn : {false, true}) {
      SCOPED_TRACE(::testing::Message() << (layout == RopeLayout::kHalfSplit ? "half-split" : "interleaved")
                                        << (yarn ? " yarn" : " default"));
      const RopeTables tab(yarn ? yarn_config() : RopeConfig{}, D, T, /*offset=*/1000);
      auto x = random_floats(size_t(T * H * D), 10), r = random_floats(x.size(), 11);
      std::vector<float> out(x.size()), want = x;
      auto loss = [&] {
        rope_forward(out.data(), x.data(), tab.cos.data(), tab.sin.data(), T, H, D, layout);
        return weighted_sum(out, r);
      };
      loss();
      for (int64_t t = 0; t < T; ++t)
        kernels::rope(want.data() + t * H * D, H, D, tab.cos.data() + t * D / 2, tab.sin.data() + t * D / 2,
                      layout == RopeLayout::kHalfSplit);
      expect_close(out, want, 1e-6f, "rope vs kernels::rope");
      if (!yarn) {
        // Unscaled, the backward is the inverse rotation: it takes the output back to the input.
        std::vector<float> back(x.size(), 0.0f);
        rope_backward(back.data(), out.data(), tab.cos.data(), tab.sin.data(), T, H, D, layout);
        expect_close(back, x, 1e-5f, "inverse rotation");
      }
      auto dx = grad_buffer(x.size());
      rope_backward(dx.data(), r.data(), tab.cos.data(), tab.sin.data(), T, H, D, layout);
      check_grad("dx", x, dx, loss);
    }
}

// ------------------------------------------------------------------------------------------------- swiglu

TEST_F(TrainOps, SwigluMatchesKernelAndGradients) {
  const int64_t N = 40;
  auto gate = random_floats(size_t(N), 12, 3.0f), up = random_floats(size_t(N), 13), r = random_floats(size_t(N), 14);
  std::vector<float> out(static_cast<size_t>(N)), want(static_cast<size_t>(N));
  auto loss = [&] {
    swiglu_forward(out.data(), gate.data(), up.data(), N);
    return weighted_sum(out, r);
  };
  loss();
  kernels::silu_mul(gate.data(), up.data(), want.data(), N);
  expect_close(out, want, 1e-6f, "swiglu vs kernels::silu_mul");
  auto dgate = grad_buffer(static_cast<size_t>(N)), dup = grad_buffer(static_cast<size_t>(N));
  swiglu_backward(dgate.data(), dup.data(), r.data(), gate.data(), up.data(), N);
  check_grad("dgate", gate, dgate, loss);
  check_grad("dup", up, dup, loss);
}

// ------------------------------------------------------------------------------ causal self-attention (GQA)

TEST_F(TrainOps, AttentionMatchesInferenceKernelAndGradients) {
  const AttentionShape s{.T = 5, .n_heads = 4, .n_kv_heads = 2, .head_dim = 8, .v_head_dim = 8};
  const float scale = 1.0f / std::sqrt(8.0f);
  auto q = random_floats(size_t(s.T * 4 * 8), 15), k = random_floats(size_t(s.T * 2 * 8), 16);
  auto v = random_floats(k.size(), 17), r = random_floats(q.size(), 18);
  std::vector<float> out(q.size()), att(size_t(4 * s.T * s.T)), want(q.size());
  auto loss = [&] {
    EXPECT_TRUE(attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), s, scale, pool_).is_ok());
    return weighted_sum(out, r);
  };
  loss();
  kernels::gqa_attention(q.data(), k.data(), v.data(), want.data(), s.T, 0, {.n_heads = 4, .n_kv_heads = 2,
                         .head_dim = 8}, scale, pool_);
  expect_close(out, want, 1e-5f, "attention vs kernels::gqa_attention");
  auto dq = grad_buffer(q.size()), dk = grad_buffer(k.size()), dv = grad_buffer(v.size());
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), att.data(), q.data(), k.data(), v.data(), s, scale,
                     pool_);
  check_grad("dq", q, dq, loss);
  check_grad("dk", k, dk, loss);
  check_grad("dv", v, dv, loss);
  EXPECT_FALSE(attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(),
                                 {.T = 5, .n_heads = 4, .n_kv_heads = 3, .head_dim = 8, .v_head_dim = 8}, scale,
                                 pool_).is_ok());
}

TEST_F(TrainOps, AttentionGradientsWithValueDimOtherThanKeyDim) {
  const AttentionShape s{.T = 4, .n_heads = 2, .n_kv_heads = 1, .head_dim = 6, .v_head_dim = 3};
  auto q = random_floats(size_t(4 * 2 * 6), 19), k = random_floats(size_t(4 * 6), 20);
  auto v = random_floats(size_t(4 * 3), 21), r = random_floats(size_t(4 * 2 * 3), 22);
  std::vector<float> out(r.size()), att(size_t(2 * 4 * 4));
  auto loss = [&] {
    EXPECT_TRUE(attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), s, 0.7f, pool_).is_ok());
    return weighted_sum(out, r);
  };
  loss();
  auto dq = grad_buffer(q.size()), dk = grad_buffer(k.size()), dv = grad_buffer(v.size());
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), att.data(), q.data(), k.data(), v.data(), s, 0.7f,
                     pool_);
  check_grad("dq", q, dq, loss);
  check_grad("dk", k, dk, loss);
  check_grad("dv", v, dv, loss);
}

}  // namespace
}  // namespace r1::train
