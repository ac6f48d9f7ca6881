// Shared by the training-op tests: the finite-difference gradient check and small helpers.
//
// Gradient checks: the ops run in f32 as in training. A scalar loss L = Σ_i r_i out_i with fixed random r (so
// dout = r) is summed in double; each entry of an input or parameter is moved by ±kEps and (L+ - L-) / (x+ - x-)
// compared with the analytic gradient within kAtol + kRtol·|numeric|. With kEps = 1e-3 on O(1) values the f32
// rounding of L contributes ~1e-4 and the truncation error ~1e-6, both inside the tolerance. Every gradient
// buffer starts at kPrefill, not 0, and the check subtracts it, so a backward that overwrites instead of
// accumulating fails.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "model/blocks/rope.h"
#include "test_util.h"

namespace r1::train {

using test::random_floats;

inline constexpr float kEps = 1e-3f, kAtol = 1e-3f, kRtol = 1e-2f, kPrefill = 0.25f;

inline std::vector<float> grad_buffer(size_t n) { return std::vector<float>(n, kPrefill); }

inline double weighted_sum(const std::vector<float>& out, const std::vector<float>& r) {
  double s = 0.0;
  for (size_t i = 0; i < out.size(); ++i) s += double(out[i]) * r[i];
  return s;
}

// Compares `analytic` (a gradient buffer that started at kPrefill) with central differences of loss() in x. A loss
// that returns NaN marks a point where the op is not differentiable (MoE selection changed); those are skipped, at
// most max_skipped of them.
inline void check_grad(const std::string& name, std::vector<float>& x, const std::vector<float>& analytic,
                const std::function<double()>& loss, int max_skipped = 0) {
  ASSERT_EQ(x.size(), analytic.size()) << name;
  double max_num = 0.0;
  int skipped = 0, failures = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float keep = x[i], plus = keep + kEps, minus = keep - kEps;
    x[i] = plus;
    const double lp = loss();
    x[i] = minus;
    const double lm = loss();
    x[i] = keep;
    if (std::isnan(lp) || std::isnan(lm)) {
      ++skipped;
      continue;
    }
    const double num = (lp - lm) / (double(plus) - double(minus)), ana = double(analytic[i]) - kPrefill;
    max_num = std::max(max_num, std::fabs(num));
    if (std::fabs(ana - num) > kAtol + kRtol * std::fabs(num) && ++failures <= 5)
      ADD_FAILURE() << name << "[" << i << "]: analytic " << ana << " numeric " << num;
  }
  EXPECT_EQ(failures, 0) << name;
  EXPECT_LE(skipped, max_skipped) << name;
  EXPECT_GT(max_num, 1e-2) << name << ": the gradient vanishes, so the check would prove nothing";
}

inline void expect_close(const std::vector<float>& got, const std::vector<float>& want, float tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  float max_diff = 0.0f, max_abs = 0.0f;
  for (size_t i = 0; i < got.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(got[i] - want[i]));
    max_abs = std::max(max_abs, std::fabs(want[i]));
  }
  EXPECT_GT(max_abs, 0.0f) << what;
  EXPECT_LE(max_diff, tol * std::max(1.0f, max_abs)) << what;
}

inline Tensor view(const float* data, int64_t rows, int64_t cols) {
  return Tensor{.dtype = DType::kF32, .rank = 2, .shape = {rows, cols}, .data = data};
}

// cos/sin [T, D/2] for positions offset .. offset + T-1, with the config's cos/sin scale.
struct RopeTables {
  std::vector<float> cos, sin;
  RopeTables(const RopeConfig& c, int64_t D, int64_t T, int64_t offset = 0) : cos(size_t(T * D / 2)), sin(cos) {
    std::vector<int64_t> pos(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) pos[size_t(t)] = offset + t;
    rope_tables(rope_inv_freq(c, D), pos, cos.data(), sin.data(), rope_cos_sin_scale(c));
  }
};

inline RopeConfig yarn_config() {
  return RopeConfig{.rope_theta = 10000.0, .type = RopeScalingType::kYarn, .factor = 40.0,
                    .original_max_position_embeddings = 4096, .beta_fast = 32.0, .beta_slow = 1.0,
                    .mscale = 1.0, .mscale_all_dim = 0.707};
}

class TrainOps : public ::testing::Test {
 protected:
  ThreadPool pool_{2};
};

}  // namespace r1::train
