// DeepSeekMoE for training (ops.h): routing by moe_route, grouped SwiGLU experts, weighted scatter, and the
// backward into the experts, the input and the router. T tokens, C hidden, E routed experts, K experts per token,
// F routed expert width, Fs shared experts' width.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "kernels/simd.h"
#include "train/ops.h"

namespace r1::train {

namespace {

void zero(std::vector<float>& v, int64_t n) { v.assign(size_t(n), 0.0f); }

// SwiGLU FFN over n rows: h_gate/h_up [n, F] = x [n, C] · gate/upᵀ, h = silu(h_gate) * h_up, y [n, C] = h · downᵀ.
void ffn_forward(float* y, float* h_gate, float* h_up, float* h, const float* x, const float* gate_proj,
                 const float* up_proj, const float* down_proj, int64_t n, int64_t C, int64_t F, ThreadPool& pool) {
  linear_forward(h_gate, x, gate_proj, nullptr, n, C, F, pool);
  linear_forward(h_up, x, up_proj, nullptr, n, C, F, pool);
  swiglu_forward(h, h_gate, h_up, n * F);
  linear_forward(y, h, down_proj, nullptr, n, F, C, pool);
}

// Its backward: dx [n, C] and the three weight gradients (+=) from dy [n, C]; dh, dh_gate, dh_up [n, F] scratch.
void ffn_backward(float* dx, float* dgate_proj, float* dup_proj, float* ddown_proj, float* dh, float* dh_gate,
                  float* dh_up, const float* dy, const float* x, const float* h_gate, const float* h_up,
                  const float* h, const float* gate_proj, const float* up_proj, const float* down_proj, int64_t n,
                  int64_t C, int64_t F, ThreadPool& pool) {
  std::fill(dh, dh + n * F, 0.0f), std::fill(dh_gate, dh_gate + n * F, 0.0f), std::fill(dh_up, dh_up + n * F, 0.0f);
  linear_backward(dh, ddown_proj, nullptr, dy, h, down_proj, n, F, C, pool);
  swiglu_backward(dh_gate, dh_up, dh, h_gate, h_up, n * F);
  linear_backward(dx, dgate_proj, nullptr, dh_gate, x, gate_proj, n, C, F, pool);
  linear_backward(dx, dup_proj, nullptr, dh_up, x, up_proj, n, C, F, pool);
}

// The router's scores [T, E] from its logits, the same formulas as moe_route.
void router_scores(float* scores, const float* logits, const MoeRouting& r, int64_t T) {
  const int64_t E = r.n_routed_experts;
  for (int64_t t = 0; t < T; ++t) {
    const float* l = logits + t * E;
    float* s = scores + t * E;
    if (r.scoring_func == MoeScoring::kSigmoid) {
      for (int64_t e = 0; e < E; ++e) s[e] = 1.0f / (1.0f + std::exp(-l[e]));
    } else {
      const float mx = *std::max_element(l, l + E);
      double sum = 0.0;
      for (int64_t e = 0; e < E; ++e) sum += (s[e] = std::exp(l[e] - mx));
      for (int64_t e = 0; e < E; ++e) s[e] = float(s[e] / sum);
    }
  }
}

// dlogits [T, E] from the gradient of the combine weights dweights [T, K]: back through moe_route's
// w_k = scale * s_k / Σ_j s_j (normalised) or scale * s_k, then through the sigmoid or softmax. Unselected experts
// get score gradient 0 (only a softmax couples them to the logits of the selected ones).
void router_backward(float* dlogits, float* dscores, const float* dweights, const float* scores, const int32_t* ids,
                     const MoeRouting& r, int64_t T) {
  const int64_t E = r.n_routed_experts, K = r.num_experts_per_tok;
  const bool normalise = r.norm_topk_prob && K > 1;
  const float scale = (!normalise || r.scale_after_norm) ? r.routed_scaling_factor : 1.0f;
  std::fill(dscores, dscores + T * E, 0.0f);
  for (int64_t t = 0; t < T; ++t) {
    const int32_t* id = ids + t * K;
    const float* dw = dweights + t * K;
    const float* s = scores + t * E;
    float* ds = dscores + t * E;
    if (normalise) {
      // d(s_k / S)/d(s_j) = δ_kj / S - s_k / S²  =>  ds_j = scale * (dw_j - Σ_k dw_k s_k / S) / S.
      double S = 0.0, dws = 0.0;
      for (int64_t k = 0; k < K; ++k) S += s[id[k]], dws += double(dw[k]) * s[id[k]];
      for (int64_t k = 0; k < K; ++k) ds[id[k]] += float(scale * (dw[k] - dws / S) / S);
    } else {
      for (int64_t k = 0; k < K; ++k) ds[id[k]] += scale * dw[k];
    }
    float* dl = dlogits + t * E;
    if (r.scoring_func == MoeScoring::kSigmoid) {
      for (int64_t e = 0; e < E; ++e) dl[e] = ds[e] * s[e] * (1.0f - s[e]);
    } else {
      double sds = 0.0;
      for (int64_t e = 0; e < E; ++e) sds += double(s[e]) * ds[e];
      for (int64_t e = 0; e < E; ++e) dl[e] = s[e] * (ds[e] - float(sds));
    }
  }
}

}  // namespace

Status moe_check(const MoeRouting& r, const MoeDims& d, const MoeParams& p, const float* e_score_correction_bias) {
  const int64_t E = r.n_routed_experts, K = r.num_experts_per_tok;
  if (d.hidden_size <= 0 || d.moe_intermediate_size <= 0 || d.shared_intermediate_size < 0)
    return Status::errorf("moe: bad dims hidden_size={} moe_intermediate_size={} shared_intermediate_size={}",
                          d.hidden_size, d.moe_intermediate_size, d.shared_intermediate_size);
  if (E <= 0 || K <= 0 || K > E)
    return Status::errorf("moe: need 0 < num_experts_per_tok ({}) <= n_routed_experts ({})", K, E);
  if (r.topk_method != MoeTopkMethod::kGreedy &&
      (r.n_group <= 0 || E % r.n_group != 0 || r.topk_group <= 0 || r.topk_group > r.n_group ||
       K > r.topk_group * (E / r.n_group)))
    return Status::errorf("moe: n_group {} must divide n_routed_experts {} and topk_group {} groups must hold "
                          "num_experts_per_tok {} experts", r.n_group, E, r.topk_group, K);
  if (r.topk_method == MoeTopkMethod::kNoauxTc && !e_score_correction_bias)
    return Status::error("moe: topk_method noaux_tc needs e_score_correction_bias");
  if (!p.gate || !p.gate_proj || !p.up_proj || !p.down_proj)
    return Status::error("moe: gate and the routed experts' gate_proj, up_proj, down_proj are required");
  if (d.shared_intermediate_size > 0 && (!p.shared_gate_proj || !p.shared_up_proj || !p.shared_down_proj))
    return Status::errorf("moe: shared_intermediate_size {} needs shared_experts' gate_proj, up_proj, down_proj",
                          d.shared_intermediate_size);
  return Status::ok();
}

Status moe_forward(float* out, MoeActs& a, const float* x, const MoeParams& p, const float* e_score_correction_bias,
                   const MoeRouting& r, const MoeDims& d, int64_t T, ThreadPool& pool) {
  R1_RETURN_IF_ERROR(moe_check(r, d, p, e_score_correction_bias));
  const int64_t E = r.n_routed_experts, K = r.num_experts_per_tok, C = d.hidden_size, F = d.moe_intermediate_size;
  const int64_t Fs = d.shared_intermediate_size, N = T * K;
  a.logits.resize(size_t(T * E)), a.scores.resize(size_t(T * E)), a.ids.resize(static_cast<size_t>(N));
  a.weights.resize(static_cast<size_t>(N)), a.order.resize(static_cast<size_t>(N));
  a.xe.resize(size_t(N * C)), a.ye.resize(size_t(N * C));
  a.h_gate.resize(size_t(N * F)), a.h_up.resize(size_t(N * F)), a.h.resize(size_t(N * F));
  // Route: the inference router picks the experts and their weights; the scores are kept for the backward.
  linear_forward(a.logits.data(), x, p.gate, nullptr, T, C, E, pool);
  moe_route(r, a.logits.data(), e_score_correction_bias, T, a.ids.data(), a.weights.data());
  router_scores(a.scores.data(), a.logits.data(), r, T);
  // Group the (token, slot) pairs by expert (a counting sort, stable in slot order) and gather their inputs.
  a.begin.assign(size_t(E + 1), 0);
  for (int32_t id : a.ids) ++a.begin[size_t(id) + 1];
  std::partial_sum(a.begin.begin(), a.begin.end(), a.begin.begin());
  std::vector<int64_t> fill(a.begin.begin(), a.begin.end() - 1);
  for (int64_t i = 0; i < N; ++i) a.order[size_t(fill[size_t(a.ids[size_t(i)])]++)] = int32_t(i);
  for (int64_t j = 0; j < N; ++j)
    std::memcpy(a.xe.data() + j * C, x + (a.order[size_t(j)] / K) * C, sizeof(float) * size_t(C));
  for (int64_t e = 0; e < E; ++e) {
    const int64_t j0 = a.begin[size_t(e)], n = a.load(e);
    if (n == 0) continue;
    ffn_forward(a.ye.data() + j0 * C, a.h_gate.data() + j0 * F, a.h_up.data() + j0 * F, a.h.data() + j0 * F,
                a.xe.data() + j0 * C, p.gate_proj + e * F * C, p.up_proj + e * F * C, p.down_proj + e * C * F, n, C,
                F, pool);
  }
  // Shared experts see every token and start the sum; the routed outputs add in, weighted.
  if (Fs > 0) {
    a.s_gate.resize(size_t(T * Fs)), a.s_up.resize(size_t(T * Fs)), a.s_h.resize(size_t(T * Fs));
    ffn_forward(out, a.s_gate.data(), a.s_up.data(), a.s_h.data(), x, p.shared_gate_proj, p.shared_up_proj,
                p.shared_down_proj, T, C, Fs, pool);
  } else {
    std::memset(out, 0, sizeof(float) * size_t(T * C));
  }
  for (int64_t j = 0; j < N; ++j) {
    const int32_t slot = a.order[size_t(j)];
    kernels::axpy(a.weights[size_t(slot)], a.ye.data() + j * C, out + (slot / K) * C, size_t(C));
  }
  return Status::ok();
}

void moe_backward(float* dx, const MoeGrads& g, const float* dout, MoeActs& a, const float* x, const MoeParams& p,
                  const MoeRouting& r, const MoeDims& d, int64_t T, ThreadPool& pool) {
  const int64_t E = r.n_routed_experts, K = r.num_experts_per_tok, C = d.hidden_size, F = d.moe_intermediate_size;
  const int64_t Fs = d.shared_intermediate_size, N = T * K;
  if (Fs > 0) {
    zero(a.ds_h, T * Fs), zero(a.ds_gate, T * Fs), zero(a.ds_up, T * Fs);
    ffn_backward(dx, g.shared_gate_proj, g.shared_up_proj, g.shared_down_proj, a.ds_h.data(), a.ds_gate.data(),
                 a.ds_up.data(), dout, x, a.s_gate.data(), a.s_up.data(), a.s_h.data(), p.shared_gate_proj,
                 p.shared_up_proj, p.shared_down_proj, T, C, Fs, pool);
  }
  // out[t] += w[slot] ye[j]: dw[slot] = dout[t]·ye[j], dye[j] = w[slot] dout[t].
  zero(a.dweights, N), zero(a.dye, N * C), zero(a.dxe, N * C);
  zero(a.dh, N * F), zero(a.dh_gate, N * F), zero(a.dh_up, N * F);
  for (int64_t j = 0; j < N; ++j) {
    const int32_t slot = a.order[size_t(j)];
    const float* dy = dout + (slot / K) * C;
    a.dweights[size_t(slot)] = kernels::dot_f32(dy, a.ye.data() + j * C, size_t(C));
    kernels::axpy(a.weights[size_t(slot)], dy, a.dye.data() + j * C, size_t(C));
  }
  for (int64_t e = 0; e < E; ++e) {
    const int64_t j0 = a.begin[size_t(e)], n = a.load(e);
    if (n == 0) continue;
    const auto at = [e](float* w, int64_t size) { return w ? w + e * size : nullptr; };
    ffn_backward(a.dxe.data() + j0 * C, at(g.gate_proj, F * C), at(g.up_proj, F * C), at(g.down_proj, C * F),
                 a.dh.data() + j0 * F, a.dh_gate.data() + j0 * F, a.dh_up.data() + j0 * F, a.dye.data() + j0 * C,
                 a.xe.data() + j0 * C, a.h_gate.data() + j0 * F, a.h_up.data() + j0 * F, a.h.data() + j0 * F,
                 p.gate_proj + e * F * C, p.up_proj + e * F * C, p.down_proj + e * C * F, n, C, F, pool);
  }
  if (dx)
    for (int64_t j = 0; j < N; ++j) kernels::axpy(1.0f, a.dxe.data() + j * C, dx + (a.order[size_t(j)] / K) * C, size_t(C));
  // The router: through the selected experts' weights into the logits, then into gate and x.
  a.dscores.resize(size_t(T * E)), a.dlogits.resize(size_t(T * E));
  router_backward(a.dlogits.data(), a.dscores.data(), a.dweights.data(), a.scores.data(), a.ids.data(), r, T);
  linear_backward(dx, g.gate, nullptr, a.dlogits.data(), x, p.gate, T, C, E, pool);
}

void moe_update_bias(float* bias, const int64_t* load, int64_t E, float gamma) {
  if (E <= 0) return;
  double mean = 0.0;
  for (int64_t e = 0; e < E; ++e) mean += double(load[e]);
  mean /= double(E);
  for (int64_t e = 0; e < E; ++e) {
    const double gap = mean - double(load[e]);
    bias[e] += gamma * float((gap > 0.0) - (gap < 0.0));
  }
}

}  // namespace r1::train
