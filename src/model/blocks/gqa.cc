#include "model/blocks/gqa.h"

#include <cmath>

#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/blocks/load.h"

namespace r1 {

Result<GqaWeights> load_gqa(WeightStore& ws, const std::string& prefix, const GqaDims& d, bool bias) {
  GqaWeights w;
  const int64_t q_out = d.n_heads * d.head_dim, kv_out = d.n_kv_heads * d.head_dim;
  R1_ASSIGN_OR_RETURN(w.q_proj, load_linear(ws, prefix + ".q_proj.weight", q_out, d.hidden_size));
  R1_ASSIGN_OR_RETURN(w.k_proj, load_linear(ws, prefix + ".k_proj.weight", kv_out, d.hidden_size));
  R1_ASSIGN_OR_RETURN(w.v_proj, load_linear(ws, prefix + ".v_proj.weight", kv_out, d.hidden_size));
  R1_ASSIGN_OR_RETURN(w.o_proj, load_linear(ws, prefix + ".o_proj.weight", d.hidden_size, q_out));
  if (bias) {
    R1_ASSIGN_OR_RETURN(w.q_bias, load_vector(ws, prefix + ".q_proj.bias", q_out));
    R1_ASSIGN_OR_RETURN(w.k_bias, load_vector(ws, prefix + ".k_proj.bias", kv_out));
    R1_ASSIGN_OR_RETURN(w.v_bias, load_vector(ws, prefix + ".v_proj.bias", kv_out));
  }
  return w;
}

void GqaScratch::reserve(int64_t T, const GqaDims& d) {
  const size_t n = size_t(T * d.n_heads * d.head_dim);
  if (q.size() < n) q.resize(n), att.resize(n);
}

void gqa_forward(const GqaWeights& w, const GqaDims& d, const float* x, int64_t T, GqaKvCache& cache, int64_t layer,
                 const float* cos, const float* sin, GqaScratch& s, float* out, ThreadPool& pool) {
  s.reserve(T, d);
  const int64_t start = cache.size(), kv_row = d.n_kv_heads * d.head_dim, half = d.head_dim / 2;
  const auto bias = [](const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); };
  float* k_new = cache.k(layer) + start * kv_row;  // [T, Hkv, Dh], written in place in the cache
  float* v_new = cache.v(layer) + start * kv_row;
  kernels::matmul(x, T, w.q_proj, s.q.data(), pool, bias(w.q_bias));
  kernels::matmul(x, T, w.k_proj, k_new, pool, bias(w.k_bias));
  kernels::matmul(x, T, w.v_proj, v_new, pool, bias(w.v_bias));
  for (int64_t t = 0; t < T; ++t) {
    kernels::rope(s.q.data() + t * d.n_heads * d.head_dim, d.n_heads, d.head_dim, cos + t * half, sin + t * half,
                  /*half_split=*/true);
    kernels::rope(k_new + t * kv_row, d.n_kv_heads, d.head_dim, cos + t * half, sin + t * half, true);
  }
  const float scale = 1.0f / std::sqrt(float(d.head_dim));
  kernels::gqa_attention(s.q.data(), cache.k(layer), cache.v(layer), s.att.data(), T, start,
                         {.n_heads = d.n_heads, .n_kv_heads = d.n_kv_heads, .head_dim = d.head_dim}, scale, pool);
  kernels::matmul(s.att.data(), T, w.o_proj, out, pool);
}

}  // namespace r1
