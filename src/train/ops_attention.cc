// Causal self-attention and MLA for training (ops.h). T tokens, C hidden, H query heads, Hkv key/value heads,
// Dk query/key head dim, Dv value head dim; MLA: R kv_lora_rank, Dn/Dr qk nope/rope dims, Dq = Dn + Dr,
// Lq q_lora_rank.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/gemm.h"
#include "kernels/simd.h"
#include "train/ops.h"

namespace r1::train {

// ------------------------------------------------------------------------------ causal self-attention (GQA)

namespace {

// One sequence of s.T tokens (s.lengths ignored), a head at a time through kernels::gemm_f32 (its broadcast operand
// reads the per-head column blocks of q, k, v and their transposes in place; only keys and values are transposed
// where they must be B): scores = q_h · k_gᵀ, a causal softmax per row, out_h = att_h · v_g. The products also
// run over the masked upper triangle, where att is zero: twice the multiply-adds of a triangular loop, but a
// fraction of its time.
void attention_forward_one(float* out, float* att, const float* q, const float* k, const float* v,
                           const AttentionShape& s, float scale, ThreadPool& pool) {
  const int64_t T = s.T, H = s.n_heads, Hkv = s.n_kv_heads, Dk = s.head_dim, Dv = s.v_head_dim, group = H / Hkv;
  pool.parallel_for(H, 1, [&](int64_t h0, int64_t h1) {
    thread_local std::vector<float> kt;  // [Dk, T] the head's keys, transposed (shared by a GQA group)
    kt.resize(size_t(Dk * T));
    for (int64_t h = h0, built = -1; h < h1; ++h) {
      const int64_t g = h / group;
      if (g != built) kernels::transpose_f32(k + g * Dk, T, Dk, kt.data(), Hkv * Dk), built = g;
      float* p = att + h * T * T;
      kernels::gemm_f32({.M = T, .N = T, .K = Dk, .a = q + h * Dk, .a_rs = H * Dk, .a_cs = 1, .b = kt.data(),
                         .ldb = T, .c = p, .ldc = T});
      for (int64_t t = 0; t < T; ++t) {
        float* row = p + t * T;
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j <= t; ++j) mx = std::max(mx, row[j] *= scale);
        double sum = 0.0;
        for (int64_t j = 0; j <= t; ++j) sum += (row[j] = std::exp(row[j] - mx));
        const float inv = float(1.0 / sum);
        for (int64_t j = 0; j <= t; ++j) row[j] *= inv;
        std::fill(row + t + 1, row + T, 0.0f);  // the causal mask, explicit so att is a plain [H, T, T] matrix
      }
      kernels::gemm_f32({.M = T, .N = Dv, .K = T, .a = p, .a_rs = T, .a_cs = 1, .b = v + g * Dv, .ldb = Hkv * Dv,
                         .c = out + h * Dv, .ldc = H * Dv});
    }
  });
}

// Per head, as products: d_att = dout_h · v_gᵀ; dv_g += att_hᵀ · dout_h; the softmax backward
// d(score)_tj = att_tj (d_att_tj − Σ_i att_ti d_att_ti) · scale; dq_h += d(score) · k_g; dk_g += d(score)ᵀ · q_h.
// Threads own key/value groups, so the accumulation into dk/dv needs no atomics.
void attention_backward_one(float* dq, float* dk, float* dv, const float* dout, const float* att, const float* q,
                            const float* k, const float* v, const AttentionShape& s, float scale, ThreadPool& pool) {
  const int64_t T = s.T, H = s.n_heads, Hkv = s.n_kv_heads, Dk = s.head_dim, Dv = s.v_head_dim, group = H / Hkv;
  pool.parallel_for(Hkv, 1, [&](int64_t g0, int64_t g1) {
    thread_local std::vector<float> vt, ds;  // [Dv, T] the group's values transposed; [T, T] d(att), then d(score)
    vt.resize(size_t(Dv * T)), ds.resize(size_t(T * T));
    for (int64_t g = g0; g < g1; ++g) {
      kernels::transpose_f32(v + g * Dv, T, Dv, vt.data(), Hkv * Dv);
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const float* p = att + h * T * T;
        const float* dout_h = dout + h * Dv;
        kernels::gemm_f32({.M = T, .N = T, .K = Dv, .a = dout_h, .a_rs = H * Dv, .a_cs = 1, .b = vt.data(),
                           .ldb = T, .c = ds.data(), .ldc = T});
        if (dv)
          kernels::gemm_f32({.M = T, .N = Dv, .K = T, .a = p, .a_rs = 1, .a_cs = T, .b = dout_h, .ldb = H * Dv,
                             .c = dv + g * Dv, .ldc = Hkv * Dv, .accumulate = true});
        for (int64_t t = 0; t < T; ++t) {
          const float* prow = p + t * T;
          float* row = ds.data() + t * T;
          double pdp = 0.0;
          for (int64_t j = 0; j <= t; ++j) pdp += double(prow[j]) * row[j];
          for (int64_t j = 0; j <= t; ++j) row[j] = prow[j] * (row[j] - float(pdp)) * scale;
          std::fill(row + t + 1, row + T, 0.0f);
        }
        if (dq)
          kernels::gemm_f32({.M = T, .N = Dk, .K = T, .a = ds.data(), .a_rs = T, .a_cs = 1, .b = k + g * Dk,
                             .ldb = Hkv * Dk, .c = dq + h * Dk, .ldc = H * Dk, .accumulate = true});
        if (dk)
          kernels::gemm_f32({.M = T, .N = Dk, .K = T, .a = ds.data(), .a_rs = 1, .a_cs = T, .b = q + h * Dk,
                             .ldb = H * Dk, .c = dk + g * Dk, .ldc = Hkv * Dk, .accumulate = true});
      }
    }
  });
}

// Calls fn(one sequence's shape, its first token, its offset into att) for each packed sequence.
template <typename Fn>
void for_each_sequence(const AttentionShape& s, Fn&& fn) {
  if (s.lengths.empty()) return fn(s, int64_t(0), int64_t(0));
  int64_t start = 0, att_offset = 0;
  for (int64_t length : s.lengths) {
    AttentionShape one = s;
    one.T = length, one.lengths = {};
    fn(one, start, att_offset);
    start += length, att_offset += s.n_heads * length * length;
  }
}

}  // namespace

int64_t attention_probs_size(const AttentionShape& s) {
  if (s.lengths.empty()) return s.n_heads * s.T * s.T;
  int64_t sum = 0;
  for (int64_t length : s.lengths) sum += length * length;
  return s.n_heads * sum;
}

Status attention_forward(float* out, float* att, const float* q, const float* k, const float* v,
                         const AttentionShape& s, float scale, ThreadPool& pool) {
  if (s.T < 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.n_heads % s.n_kv_heads != 0 || s.head_dim <= 0 ||
      s.v_head_dim <= 0)
    return Status::errorf("attention: bad shape T={} H={} Hkv={} Dk={} Dv={} (H must be a multiple of Hkv)", s.T,
                          s.n_heads, s.n_kv_heads, s.head_dim, s.v_head_dim);
  if (!s.lengths.empty()) {
    int64_t total = 0;
    for (int64_t length : s.lengths) {
      if (length <= 0) return Status::errorf("attention: a packed sequence of length {}", length);
      total += length;
    }
    if (total != s.T) return Status::errorf("attention: packed lengths sum to {}, not T={}", total, s.T);
  }
  const int64_t H = s.n_heads, Hkv = s.n_kv_heads, Dk = s.head_dim, Dv = s.v_head_dim;
  for_each_sequence(s, [&](const AttentionShape& one, int64_t t0, int64_t a0) {
    attention_forward_one(out + t0 * H * Dv, att + a0, q + t0 * H * Dk, k + t0 * Hkv * Dk, v + t0 * Hkv * Dv, one,
                          scale, pool);
  });
  return Status::ok();
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* att, const float* q,
                        const float* k, const float* v, const AttentionShape& s, float scale, ThreadPool& pool) {
  const int64_t H = s.n_heads, Hkv = s.n_kv_heads, Dk = s.head_dim, Dv = s.v_head_dim;
  // Null gradients stay null: an offset is added only to a buffer that exists.
  const auto at = [](float* p, int64_t offset) { return p ? p + offset : nullptr; };
  for_each_sequence(s, [&](const AttentionShape& one, int64_t t0, int64_t a0) {
    attention_backward_one(at(dq, t0 * H * Dk), at(dk, t0 * Hkv * Dk), at(dv, t0 * Hkv * Dv), dout + t0 * H * Dv,
                           att + a0, q + t0 * H * Dk, k + t0 * Hkv * Dk, v + t0 * Hkv * Dv, one, scale, pool);
  });
}

// ------------------------------------------------------------------------ MLA (naive, decompressed form)

namespace {

void grow(std::vector<float>& v, int64_t n) {
  if (v.size() < size_t(n)) v.resize(static_cast<size_t>(n));
}
void zero(std::vector<float>& v, int64_t n) { v.assign(size_t(n), 0.0f); }

// dst row r [n] = src row r [n] for `rows` rows with their own strides (a column block of one matrix to another).
void copy_cols(float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * dst_stride, src + r * src_stride, sizeof(float) * size_t(n));
}
// dst row r [n] += src row r [n].
void add_cols(float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) kernels::axpy(1.0f, src + r * src_stride, dst + r * dst_stride, size_t(n));
}

}  // namespace

Status mla_check(const MlaDims& d, const MlaParams& p) {
  if (d.hidden_size <= 0 || d.n_heads <= 0 || d.q_lora_rank < 0 || d.kv_lora_rank <= 0 || d.qk_nope_head_dim < 0 ||
      d.qk_rope_head_dim <= 0 || d.qk_rope_head_dim % 2 != 0 || d.v_head_dim <= 0)
    return Status::errorf("mla: bad dims hidden_size={} n_heads={} q_lora_rank={} kv_lora_rank={} "
                          "qk_nope_head_dim={} qk_rope_head_dim={} (must be even) v_head_dim={}",
                          d.hidden_size, d.n_heads, d.q_lora_rank, d.kv_lora_rank, d.qk_nope_head_dim,
                          d.qk_rope_head_dim, d.v_head_dim);
  const bool lora = d.q_lora_rank > 0;
  const std::pair<const char*, bool> needed[] = {
      {"q_proj", lora || p.q_proj},
      {"q_a_proj", !lora || p.q_a_proj},
      {"q_a_layernorm", !lora || p.q_a_layernorm},
      {"q_b_proj", !lora || p.q_b_proj},
      {"kv_a_proj_with_mqa", p.kv_a_proj_with_mqa != nullptr},
      {"kv_a_layernorm", p.kv_a_layernorm != nullptr},
      {"kv_b_proj", p.kv_b_proj != nullptr},
      {"o_proj", p.o_proj != nullptr}};
  for (const auto& [name, present] : needed)
    if (!present) return Status::errorf("mla: {} is missing (q_lora_rank={})", name, d.q_lora_rank);
  return Status::ok();
}

Status mla_forward(float* out, MlaActs& a, const float* x, const MlaParams& p, const MlaDims& d, int64_t T,
                   const float* cos, const float* sin, ThreadPool& pool, std::span<const int64_t> lengths) {
  R1_RETURN_IF_ERROR(mla_check(d, p));
  const int64_t C = d.hidden_size, H = d.n_heads, Lq = d.q_lora_rank, R = d.kv_lora_rank;
  const int64_t Dn = d.qk_nope_head_dim, Dr = d.qk_rope_head_dim, Dv = d.v_head_dim, Dq = Dn + Dr;
  const float eps = d.rms_norm_eps;
  grow(a.q, T * H * Dq), grow(a.kv, T * (R + Dr)), grow(a.c_kv_in, T * R), grow(a.c_kv_rstd, T), grow(a.c_kv, T * R);
  grow(a.k_pe_in, T * Dr), grow(a.q_pe_in, T * H * Dr), grow(a.kvb, T * H * (Dn + Dv));
  const AttentionShape shape{
      .T = T, .n_heads = H, .n_kv_heads = H, .head_dim = Dq, .v_head_dim = Dv, .lengths = lengths};
  grow(a.qh, T * H * Dq), grow(a.kh, T * H * Dq), grow(a.vh, T * H * Dv), grow(a.att, attention_probs_size(shape));
  grow(a.o, T * H * Dv);
  // Queries.
  if (Lq > 0) {
    grow(a.qa, T * Lq), grow(a.qa_rstd, T), grow(a.qa_norm, T * Lq);
    linear_forward(a.qa.data(), x, p.q_a_proj, nullptr, T, C, Lq, pool);
    rmsnorm_forward(a.qa_norm.data(), a.qa_rstd.data(), a.qa.data(), p.q_a_layernorm, T, Lq, eps);
    linear_forward(a.q.data(), a.qa_norm.data(), p.q_b_proj, nullptr, T, Lq, H * Dq, pool);
  } else {
    linear_forward(a.q.data(), x, p.q_proj, nullptr, T, C, H * Dq, pool);
  }
  // The compressed latent and the shared rope key.
  linear_forward(a.kv.data(), x, p.kv_a_proj_with_mqa, nullptr, T, C, R + Dr, pool);
  copy_cols(a.c_kv_in.data(), R, a.kv.data(), R + Dr, T, R);
  copy_cols(a.k_pe_in.data(), Dr, a.kv.data() + R, R + Dr, T, Dr);
  rmsnorm_forward(a.c_kv.data(), a.c_kv_rstd.data(), a.c_kv_in.data(), p.kv_a_layernorm, T, R, eps);
  linear_forward(a.kvb.data(), a.c_kv.data(), p.kv_b_proj, nullptr, T, R, H * (Dn + Dv), pool);
  // Per-head Q = [q_nope; rope(q_pe)], K = [k_nope; rope(k_pe)], V; the shared k_pe is rotated once per token and
  // copied to every head.
  copy_cols(a.q_pe_in.data(), Dr, a.q.data() + Dn, Dq, T * H, Dr);
  copy_cols(a.qh.data(), Dq, a.q.data(), Dq, T * H, Dn);
  grow(a.q_pe, T * H * Dr), grow(a.k_pe, T * Dr);
  rope_forward(a.q_pe.data(), a.q_pe_in.data(), cos, sin, T, H, Dr, RopeLayout::kInterleaved);
  copy_cols(a.qh.data() + Dn, Dq, a.q_pe.data(), Dr, T * H, Dr);
  rope_forward(a.k_pe.data(), a.k_pe_in.data(), cos, sin, T, 1, Dr, RopeLayout::kInterleaved);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const float* kvb = a.kvb.data() + (t * H + h) * (Dn + Dv);
      float* kh = a.kh.data() + (t * H + h) * Dq;
      std::memcpy(kh, kvb, sizeof(float) * size_t(Dn));
      std::memcpy(kh + Dn, a.k_pe.data() + t * Dr, sizeof(float) * size_t(Dr));
      std::memcpy(a.vh.data() + (t * H + h) * Dv, kvb + Dn, sizeof(float) * size_t(Dv));
    }
  R1_RETURN_IF_ERROR(attention_forward(a.o.data(), a.att.data(), a.qh.data(), a.kh.data(), a.vh.data(), shape,
                                       d.softmax_scale, pool));
  linear_forward(out, a.o.data(), p.o_proj, nullptr, T, H * Dv, C, pool);
  return Status::ok();
}

void mla_backward(float* dx, const MlaGrads& g, const float* dout, MlaActs& a, const float* x, const MlaParams& p,
                  const MlaDims& d, int64_t T, const float* cos, const float* sin, ThreadPool& pool,
                  std::span<const int64_t> lengths) {
  const int64_t C = d.hidden_size, H = d.n_heads, Lq = d.q_lora_rank, R = d.kv_lora_rank;
  const int64_t Dn = d.qk_nope_head_dim, Dr = d.qk_rope_head_dim, Dv = d.v_head_dim, Dq = Dn + Dr;
  zero(a.d_o, T * H * Dv), zero(a.dqh, T * H * Dq), zero(a.dkh, T * H * Dq), zero(a.dvh, T * H * Dv);
  zero(a.dkvb, T * H * (Dn + Dv)), zero(a.dc_kv, T * R), zero(a.dkv, T * (R + Dr)), zero(a.dpe, T * H * Dr);
  zero(a.dpe_in, T * H * Dr), zero(a.dq, T * H * Dq);
  linear_backward(a.d_o.data(), g.o_proj, nullptr, dout, a.o.data(), p.o_proj, T, H * Dv, C, pool);
  const AttentionShape shape{
      .T = T, .n_heads = H, .n_kv_heads = H, .head_dim = Dq, .v_head_dim = Dv, .lengths = lengths};
  attention_backward(a.dqh.data(), a.dkh.data(), a.dvh.data(), a.d_o.data(), a.att.data(), a.qh.data(), a.kh.data(),
                     a.vh.data(), shape, d.softmax_scale, pool);
  // Keys and values back into kv_b_proj's output; the shared k_pe sums its gradient over the heads.
  copy_cols(a.dkvb.data(), Dn + Dv, a.dkh.data(), Dq, T * H, Dn);
  copy_cols(a.dkvb.data() + Dn, Dn + Dv, a.dvh.data(), Dv, T * H, Dv);
  for (int64_t t = 0; t < T; ++t)  // destination stride 0: every head's row adds into the token's one row
    add_cols(a.dpe.data() + t * Dr, 0, a.dkh.data() + t * H * Dq + Dn, Dq, H, Dr);
  rope_backward(a.dpe_in.data(), a.dpe.data(), cos, sin, T, 1, Dr, RopeLayout::kInterleaved);
  copy_cols(a.dkv.data() + R, R + Dr, a.dpe_in.data(), Dr, T, Dr);
  linear_backward(a.dc_kv.data(), g.kv_b_proj, nullptr, a.dkvb.data(), a.c_kv.data(), p.kv_b_proj, T, R,
                  H * (Dn + Dv), pool);
  // rmsnorm_backward accumulates, so it can write the c_kv columns of dkv directly only row by row.
  for (int64_t t = 0; t < T; ++t)
    rmsnorm_backward(a.dkv.data() + t * (R + Dr), g.kv_a_layernorm, a.dc_kv.data() + t * R,
                     a.c_kv_in.data() + t * R, p.kv_a_layernorm, a.c_kv_rstd.data() + t, 1, R);
  linear_backward(dx, g.kv_a_proj_with_mqa, nullptr, a.dkv.data(), x, p.kv_a_proj_with_mqa, T, C, R + Dr, pool);
  // Queries: the nope part passes straight through, the rope part back through the rotation.
  copy_cols(a.dq.data(), Dq, a.dqh.data(), Dq, T * H, Dn);
  copy_cols(a.dpe.data(), Dr, a.dqh.data() + Dn, Dq, T * H, Dr);
  std::fill(a.dpe_in.begin(), a.dpe_in.end(), 0.0f);
  rope_backward(a.dpe_in.data(), a.dpe.data(), cos, sin, T, H, Dr, RopeLayout::kInterleaved);
  copy_cols(a.dq.data() + Dn, Dq, a.dpe_in.data(), Dr, T * H, Dr);
  if (Lq > 0) {
    zero(a.dqa_norm, T * Lq), zero(a.dqa, T * Lq);
    linear_backward(a.dqa_norm.data(), g.q_b_proj, nullptr, a.dq.data(), a.qa_norm.data(), p.q_b_proj, T, Lq,
                    H * Dq, pool);
    rmsnorm_backward(a.dqa.data(), g.q_a_layernorm, a.dqa_norm.data(), a.qa.data(), p.q_a_layernorm,
                     a.qa_rstd.data(), T, Lq);
    linear_backward(dx, g.q_a_proj, nullptr, a.dqa.data(), x, p.q_a_proj, T, C, Lq, pool);
  } else {
    linear_backward(dx, g.q_proj, nullptr, a.dq.data(), x, p.q_proj, T, C, H * Dq, pool);
  }
}

}  // namespace r1::train
