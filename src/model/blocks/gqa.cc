#include "model/blocks/gqa.h"

#include <cmath>
#include <cstring>

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
  const size_t n = size_t(T * d.n_heads * d.head_dim), n_kv = size_t(T * d.n_kv_heads * d.head_dim);
  if (q.size() < n) q.resize(n), att.resize(n);
  if (k.size() < n_kv) k.resize(n_kv), v.resize(n_kv);
}

void gqa_forward(const GqaWeights& w, const GqaDims& d, const float* x, const Batch& batch, int64_t layer,
                 const float* cos, const float* sin, GqaScratch& s, float* out, ThreadPool& pool) {
  const int64_t T = batch.rows, kv_row = d.n_kv_heads * d.head_dim, half = d.head_dim / 2;
  s.reserve(T, d);
  const auto bias = [](const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); };
  kernels::matmul(x, T, w.q_proj, s.q.data(), pool, bias(w.q_bias));
  kernels::matmul(x, T, w.k_proj, s.k.data(), pool, bias(w.k_bias));
  kernels::matmul(x, T, w.v_proj, s.v.data(), pool, bias(w.v_bias));
  for (int64_t t = 0; t < T; ++t) {
    kernels::rope(s.q.data() + t * d.n_heads * d.head_dim, d.n_heads, d.head_dim, cos + t * half, sin + t * half,
                  /*half_split=*/true);
    kernels::rope(s.k.data() + t * kv_row, d.n_kv_heads, d.head_dim, cos + t * half, sin + t * half, true);
  }
  s.seqs.clear();
  for (const SeqRows& seq : batch.seqs) {
    auto& store = static_cast<GqaKvStore&>(seq.cache->store());
    float *k = store.k(layer), *v = store.v(layer);
    for (int64_t t = 0; t < seq.T; ++t) {
      const int64_t slot = seq.cache->slot(seq.start + t), row = seq.row0 + t;
      std::memcpy(k + slot * kv_row, s.k.data() + row * kv_row, sizeof(float) * size_t(kv_row));
      std::memcpy(v + slot * kv_row, s.v.data() + row * kv_row, sizeof(float) * size_t(kv_row));
    }
    const int64_t q_off = seq.row0 * d.n_heads * d.head_dim;
    s.seqs.push_back({.q = s.q.data() + q_off, .out = s.att.data() + q_off, .T = seq.T, .start = seq.start,
                      .k = k, .v = v, .blocks = seq.cache->blocks().data(), .block_size = store.block_size()});
  }
  const float scale = 1.0f / std::sqrt(float(d.head_dim));
  kernels::gqa_attention_batch(s.seqs, {.n_heads = d.n_heads, .n_kv_heads = d.n_kv_heads, .head_dim = d.head_dim},
                               scale, pool);
  kernels::matmul(s.att.data(), T, w.o_proj, out, pool);
}

}  // namespace r1
