// Element-wise, row-wise and linear training ops (ops.h). T tokens, C channels, V vocab, I/O linear in/out
// features, H heads, D head dim.
#include "train/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/tensor.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/simd.h"

namespace r1::train {

// ---------------------------------------------------------------------------------------------- embedding

Status embedding_forward(float* out, const int32_t* ids, const float* wte, int64_t T, int64_t V, int64_t C) {
  for (int64_t t = 0; t < T; ++t) {
    if (ids[t] < 0 || ids[t] >= V)
      return Status::errorf("embedding: token id {} at position {} is outside the vocabulary [0, {})", ids[t], t, V);
    std::memcpy(out + t * C, wte + int64_t(ids[t]) * C, sizeof(float) * size_t(C));
  }
  return Status::ok();
}

void embedding_backward(float* dwte, const float* dout, const int32_t* ids, int64_t T, int64_t C) {
  for (int64_t t = 0; t < T; ++t) kernels::axpy(1.0f, dout + t * C, dwte + int64_t(ids[t]) * C, size_t(C));
}

// ------------------------------------------------------------------------------------------------ rmsnorm

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t T, int64_t C,
                     float eps) {
  for (int64_t t = 0; t < T; ++t) {
    const float* x = inp + t * C;
    float* o = out + t * C;
    // Same arithmetic as kernels::rmsnorm (double sum of squares, f32 rsqrt), so training and inference agree.
    double ss = 0.0;
    for (int64_t i = 0; i < C; ++i) ss += double(x[i]) * x[i];
    const float r = 1.0f / std::sqrt(float(ss / double(C)) + eps);
    rstd[t] = r;
    for (int64_t i = 0; i < C; ++i) o[i] = x[i] * r * weight[i];
  }
}

void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t T, int64_t C) {
  for (int64_t t = 0; t < T; ++t) {
    const float* x = inp + t * C;
    const float* dy = dout + t * C;
    const float r = rstd[t];
    if (dweight)
      for (int64_t i = 0; i < C; ++i) dweight[i] += dy[i] * x[i] * r;
    if (!dinp) continue;
    // y_i = w_i x_i r with r = (mean(x^2) + eps)^-1/2, dr/dx_j = -r^3 x_j / C:
    // dx_j = r w_j dy_j - r^3 x_j / C * Σ_i w_i dy_i x_i.
    double dot = 0.0;
    for (int64_t i = 0; i < C; ++i) dot += double(weight[i]) * dy[i] * x[i];
    const float k = float(dot) * r * r * r / float(C);
    float* dx = dinp + t * C;
    for (int64_t i = 0; i < C; ++i) dx[i] += r * weight[i] * dy[i] - k * x[i];
  }
}

// ------------------------------------------------------------------------------------------------- linear

void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t T, int64_t I,
                    int64_t O, ThreadPool& pool) {
  const Tensor w{.dtype = DType::kF32, .rank = 2, .shape = {O, I}, .data = weight};
  kernels::matmul(inp, T, w, out, pool, bias);
}

// Both products through the register-blocked GEMM, with no copies: its broadcast operand may be strided, so doutᵀ
// is read in place, and the weight and the input already have the row-major layout its other operand needs.
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t T, int64_t I, int64_t O, ThreadPool& pool) {
  if (dinp)  // dinp [T, I] += dout [T, O] · W [O, I]
    kernels::gemm_f32({.M = T, .N = I, .K = O, .a = dout, .a_rs = O, .a_cs = 1, .b = weight, .ldb = I, .c = dinp,
                       .ldc = I, .accumulate = true},
                      pool);
  if (dweight)  // dW [O, I] += doutᵀ [O, T] · inp [T, I]
    kernels::gemm_f32({.M = O, .N = I, .K = T, .a = dout, .a_rs = 1, .a_cs = O, .b = inp, .ldb = I, .c = dweight,
                       .ldc = I, .accumulate = true},
                      pool);
  if (dbias)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < O; ++o) dbias[o] += dout[t * O + o];
}

// --------------------------------------------------------------------------------------------------- rope

namespace {

// The two members (a, b) of rotation pair i in a head of D dims.
struct RopePair {
  int64_t a, b;
};
RopePair rope_pair(int64_t i, int64_t D, RopeLayout layout) {
  return layout == RopeLayout::kHalfSplit ? RopePair{i, i + D / 2} : RopePair{2 * i, 2 * i + 1};
}

}  // namespace

void rope_forward(float* out, const float* inp, const float* cos, const float* sin, int64_t T, int64_t H, int64_t D,
                  RopeLayout layout) {
  const int64_t half = D / 2;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const float* x = inp + (t * H + h) * D;
      float* y = out + (t * H + h) * D;
      for (int64_t i = 0; i < half; ++i) {
        const auto [a, b] = rope_pair(i, D, layout);
        const float c = cos[t * half + i], s = sin[t * half + i], x0 = x[a], x1 = x[b];
        y[a] = x0 * c - x1 * s;
        y[b] = x1 * c + x0 * s;
      }
    }
}

void rope_backward(float* dinp, const float* dout, const float* cos, const float* sin, int64_t T, int64_t H,
                   int64_t D, RopeLayout layout) {
  const int64_t half = D / 2;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const float* dy = dout + (t * H + h) * D;
      float* dx = dinp + (t * H + h) * D;
      for (int64_t i = 0; i < half; ++i) {
        const auto [a, b] = rope_pair(i, D, layout);
        const float c = cos[t * half + i], s = sin[t * half + i];
        dx[a] += dy[a] * c + dy[b] * s;
        dx[b] += dy[b] * c - dy[a] * s;
      }
    }
}

// ------------------------------------------------------------------------------------------------- swiglu

// Elementwise, so chunks over the pool give the same bits as one loop; a chunk is large enough to pay for a wake-up.
constexpr int64_t kElementwiseGrain = 1 << 15;

void swiglu_forward(float* out, const float* gate, const float* up, int64_t N) {
  ThreadPool::global().parallel_for(N, kElementwiseGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float g = gate[i];
      out[i] = g / (1.0f + std::exp(-g)) * up[i];  // as kernels::silu_mul
    }
  });
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t N) {
  ThreadPool::global().parallel_for(N, kElementwiseGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float g = gate[i], sig = 1.0f / (1.0f + std::exp(-g));
      // silu'(g) = σ(g) (1 + g (1 - σ(g)))
      if (dgate) dgate[i] += dout[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
      if (dup) dup[i] += dout[i] * g * sig;
    }
  });
}

// ---------------------------------------------------------------------------- log-probs and cross-entropy

namespace {

// log Σ_v exp(s · row[v]), against the row maximum so large logits do not overflow (s > 0).
float log_sum_exp(const float* row, int64_t V, float s = 1.0f) {
  const float mx = s * *std::max_element(row, row + V);
  double sum = 0.0;
  for (int64_t v = 0; v < V; ++v) sum += std::exp(double(s * row[v] - mx));
  return mx + float(std::log(sum));
}

// dlogits[t] += g · s · (onehot(target) - softmax(s · logits[t])), the gradient of g · log softmax(s · logits[t]).
void add_logprob_grad(float* dlogits, float g, const float* logits, int32_t target, int64_t V, float s = 1.0f) {
  const float lse = log_sum_exp(logits, V, s);
  const float gs = g * s;
  for (int64_t v = 0; v < V; ++v) dlogits[v] -= gs * std::exp(s * logits[v] - lse);
  dlogits[target] += gs;
}

}  // namespace

Status token_logprobs_forward(float* logp, const float* logits, const int32_t* targets, int64_t T, int64_t V,
                             float temperature) {
  if (!(temperature > 0.0f)) return Status::errorf("token_logprobs: temperature {} is not > 0", temperature);
  const float s = 1.0f / temperature;
  for (int64_t t = 0; t < T; ++t) {
    if (targets[t] < 0 || targets[t] >= V)
      return Status::errorf("token_logprobs: target {} at position {} is outside the vocabulary [0, {})",
                            targets[t], t, V);
    logp[t] = s * logits[t * V + targets[t]] - log_sum_exp(logits + t * V, V, s);
  }
  return Status::ok();
}

void token_logprobs_backward(float* dlogits, const float* dlogp, const float* logits, const int32_t* targets,
                             int64_t T, int64_t V, float temperature) {
  const float s = 1.0f / temperature;
  for (int64_t t = 0; t < T; ++t) add_logprob_grad(dlogits + t * V, dlogp[t], logits + t * V, targets[t], V, s);
}

Result<float> cross_entropy_forward(const float* logits, const int32_t* targets, const float* weights, int64_t T,
                                    int64_t V) {
  double loss = 0.0, total = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    const float w = weights ? weights[t] : 1.0f;
    if (!(w >= 0.0f)) return Status::errorf("cross_entropy: weight {} at position {} is not >= 0", w, t);
    if (w == 0.0f) continue;
    if (targets[t] < 0 || targets[t] >= V)
      return Status::errorf("cross_entropy: target {} at position {} is outside the vocabulary [0, {})", targets[t],
                            t, V);
    loss -= double(w) * (logits[t * V + targets[t]] - log_sum_exp(logits + t * V, V));
    total += w;
  }
  return total > 0.0 ? float(loss / total) : 0.0f;
}

void cross_entropy_backward(float* dlogits, float dloss, const float* logits, const int32_t* targets,
                            const float* weights, int64_t T, int64_t V) {
  double total = 0.0;
  for (int64_t t = 0; t < T; ++t) total += weights ? weights[t] : 1.0f;
  if (total <= 0.0) return;
  for (int64_t t = 0; t < T; ++t) {
    const float w = weights ? weights[t] : 1.0f;
    if (w == 0.0f) continue;
    add_logprob_grad(dlogits + t * V, float(-dloss * w / total), logits + t * V, targets[t], V);
  }
}

}  // namespace r1::train
