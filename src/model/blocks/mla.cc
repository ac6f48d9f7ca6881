#include "model/blocks/mla.h"

#include <cmath>
#include <cstring>

#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/simd.h"
#include "model/blocks/load.h"

namespace r1 {

Result<MlaWeights> load_mla(WeightStore& ws, const std::string& p, const MlaDims& d) {
  MlaWeights w;
  const int64_t q_out = d.n_heads * (d.qk_nope_head_dim + d.qk_rope_head_dim);
  if (d.q_lora_rank > 0) {
    R1_ASSIGN_OR_RETURN(w.q_a_proj, load_linear(ws, p + ".q_a_proj.weight", d.q_lora_rank, d.hidden_size));
    R1_ASSIGN_OR_RETURN(w.q_a_layernorm, load_vector(ws, p + ".q_a_layernorm.weight", d.q_lora_rank));
    R1_ASSIGN_OR_RETURN(w.q_b_proj, load_linear(ws, p + ".q_b_proj.weight", q_out, d.q_lora_rank));
  } else {
    R1_ASSIGN_OR_RETURN(w.q_proj, load_linear(ws, p + ".q_proj.weight", q_out, d.hidden_size));
  }
  R1_ASSIGN_OR_RETURN(w.kv_a_proj_with_mqa, load_linear(ws, p + ".kv_a_proj_with_mqa.weight",
                                                        d.kv_lora_rank + d.qk_rope_head_dim, d.hidden_size));
  R1_ASSIGN_OR_RETURN(w.kv_a_layernorm, load_vector(ws, p + ".kv_a_layernorm.weight", d.kv_lora_rank));
  R1_ASSIGN_OR_RETURN(w.kv_b_proj, load_linear(ws, p + ".kv_b_proj.weight",
                                               d.n_heads * (d.qk_nope_head_dim + d.v_head_dim), d.kv_lora_rank));
  R1_ASSIGN_OR_RETURN(w.o_proj, load_linear(ws, p + ".o_proj.weight", d.hidden_size, d.n_heads * d.v_head_dim));
  const int64_t H = d.n_heads, Dn = d.qk_nope_head_dim, Dv = d.v_head_dim, R = d.kv_lora_rank;
  DType uk_type = w.kv_b_proj.dtype;
  if (Dn % dtype_block_size(uk_type) != 0) uk_type = Dn % 32 == 0 ? DType::kQ8_0 : DType::kF32;
  std::vector<float> uk_t(static_cast<size_t>(H * R * Dn)), row(static_cast<size_t>(R));
  for (int64_t h = 0; h < H; ++h)
    for (int64_t k = 0; k < Dn; ++k) {
      kernels::to_f32(w.kv_b_proj.dtype, w.kv_b_proj.row(h * (Dn + Dv) + k), row.data(), size_t(R));
      for (int64_t r = 0; r < R; ++r) uk_t[size_t((h * R + r) * Dn + k)] = row[size_t(r)];
    }
  Tensor all;
  if (uk_type == DType::kF32) {
    all = ws.adopt(std::move(uk_t), {H * R, Dn});
  } else {
    Tensor f32{.dtype = DType::kF32, .rank = 2, .shape = {H * R, Dn}, .data = uk_t.data()};
    all = ws.adopt_bytes(convert_rows(f32, uk_type), uk_type, {H * R, Dn});
  }
  for (int64_t h = 0; h < H; ++h) {
    Tensor uk = all, uv = w.kv_b_proj;
    uk.shape = {R, Dn};
    uk.data = all.row(h * R);
    uv.shape = {Dv, R};
    uv.data = w.kv_b_proj.row(h * (Dn + Dv) + Dn);
    w.w_uk_t.push_back(uk);
    w.w_uv.push_back(uv);
  }
  return w;
}

namespace {

void grow(std::vector<float>& v, int64_t n) {
  if (v.size() < size_t(n)) v.resize(size_t(n));
}

// out[t, h] = W[h] in[t, h] for every head: gather the head's T input rows (`in` + (t * H + h) * in_stride, W[h]'s
// width long), one matmul by W[h], scatter into out [T, H, W[h] rows].
void per_head_matmul(const std::vector<Tensor>& w, const float* in, int64_t in_stride, int64_t T, float* out,
                     MlaScratch& s, ThreadPool& pool) {
  const int64_t H = int64_t(w.size()), I = w[0].dim(1), O = w[0].dim(0);
  grow(s.head_in, T * I), grow(s.head_out, T * O);
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t t = 0; t < T; ++t)
      std::memcpy(s.head_in.data() + t * I, in + (t * H + h) * in_stride, sizeof(float) * size_t(I));
    kernels::matmul(s.head_in.data(), T, w[size_t(h)], s.head_out.data(), pool);
    for (int64_t t = 0; t < T; ++t)
      std::memcpy(out + (t * H + h) * O, s.head_out.data() + t * O, sizeof(float) * size_t(O));
  }
}

// The textbook form: decompress K = [W_UK c_kv ; k_pe] and V = W_UV c_kv for every cached position and head of
// one sequence. q [T, H, Dn + Dr] and att [T, H * Dv] are that sequence's rows.
void naive_attention(const MlaWeights& w, const MlaDims& d, const float* q, const SeqRows& seq, int64_t layer,
                     float* att, MlaScratch& s, ThreadPool& pool) {
  const int64_t H = d.n_heads, R = d.kv_lora_rank, Dn = d.qk_nope_head_dim, Dr = d.qk_rope_head_dim;
  const int64_t Dv = d.v_head_dim, T = seq.T, start = seq.start, S = start + T, per_head = Dn + Dv;
  auto& store = static_cast<MlaKvStore&>(seq.cache->store());
  grow(s.c_kv, S * R), grow(s.k_pe, S * Dr), grow(s.kv_full, S * H * per_head);
  for (int64_t j = 0; j < S; ++j) {
    const int64_t slot = seq.cache->slot(j);
    std::memcpy(s.c_kv.data() + j * R, store.c_kv(layer) + slot * R, sizeof(float) * size_t(R));
    std::memcpy(s.k_pe.data() + j * Dr, store.k_pe(layer) + slot * Dr, sizeof(float) * size_t(Dr));
  }
  kernels::matmul(s.c_kv.data(), S, w.kv_b_proj, s.kv_full.data(), pool);
  const float* k_pe = s.k_pe.data();
  pool.parallel_for(T * H, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> p(static_cast<size_t>(S));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t t = i / H, h = i % H, n = start + t + 1;
      const float* qh = q + i * (Dn + Dr);
      for (int64_t j = 0; j < n; ++j) {
        const float* kv = s.kv_full.data() + (j * H + h) * per_head;
        p[size_t(j)] = (kernels::dot_f32(qh, kv, size_t(Dn)) + kernels::dot_f32(qh + Dn, k_pe + j * Dr, size_t(Dr))) *
                       d.softmax_scale;
      }
      kernels::softmax(p.data(), n);
      float* o = att + i * Dv;
      std::memset(o, 0, sizeof(float) * size_t(Dv));
      for (int64_t j = 0; j < n; ++j) kernels::axpy(p[size_t(j)], s.kv_full.data() + (j * H + h) * per_head + Dn, o, size_t(Dv));
    }
  });
}

}  // namespace

void mla_forward(const MlaWeights& w, const MlaDims& d, MlaMode mode, const float* x, const Batch& batch,
                 int64_t layer, const float* cos, const float* sin, MlaScratch& s, float* out, ThreadPool& pool) {
  const int64_t H = d.n_heads, R = d.kv_lora_rank, Dn = d.qk_nope_head_dim, Dr = d.qk_rope_head_dim;
  const int64_t Dq = Dn + Dr, T = batch.rows, half = Dr / 2;
  grow(s.q, T * H * Dq), grow(s.kv, T * (R + Dr)), grow(s.att, T * H * d.v_head_dim);
  // Queries, optionally through the low-rank q_a -> norm -> q_b path.
  if (d.q_lora_rank > 0) {
    grow(s.qa, T * d.q_lora_rank);
    kernels::matmul(x, T, w.q_a_proj, s.qa.data(), pool);
    kernels::rmsnorm(s.qa.data(), w.q_a_layernorm.data(), s.qa.data(), T, d.q_lora_rank, d.rms_norm_eps);
    kernels::matmul(s.qa.data(), T, w.q_b_proj, s.q.data(), pool);
  } else {
    kernels::matmul(x, T, w.q_proj, s.q.data(), pool);
  }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h)
      kernels::rope(s.q.data() + (t * H + h) * Dq + Dn, 1, Dr, cos + t * half, sin + t * half, /*half_split=*/false);
  // The latent and the shared rope key go straight to each token's slot.
  kernels::matmul(x, T, w.kv_a_proj_with_mqa, s.kv.data(), pool);
  for (const SeqRows& seq : batch.seqs) {
    auto& store = static_cast<MlaKvStore&>(seq.cache->store());
    for (int64_t t = seq.row0; t < seq.row0 + seq.T; ++t) {
      const int64_t slot = seq.cache->slot(seq.start + t - seq.row0);
      const float* kv = s.kv.data() + t * (R + Dr);
      kernels::rmsnorm(kv, w.kv_a_layernorm.data(), store.c_kv(layer) + slot * R, 1, R, d.rms_norm_eps);
      float* k_pe = store.k_pe(layer) + slot * Dr;
      std::memcpy(k_pe, kv + R, sizeof(float) * size_t(Dr));
      kernels::rope(k_pe, 1, Dr, cos + t * half, sin + t * half, /*half_split=*/false);
    }
  }
  if (mode == MlaMode::kNaive) {
    for (const SeqRows& seq : batch.seqs)
      naive_attention(w, d, s.q.data() + seq.row0 * H * Dq, seq, layer,
                      s.att.data() + seq.row0 * H * d.v_head_dim, s, pool);
  } else {
    grow(s.q_lat, T * H * R), grow(s.o_lat, T * H * R);
    // q_lat[t, h] = W_UK[h]ᵀ q_nope[t, h]
    per_head_matmul(w.w_uk_t, s.q.data(), Dq, T, s.q_lat.data(), s, pool);
    // q_pe sits inside s.q with stride Dq; gather it contiguous for the kernel (reusing s.kv, no longer needed).
    grow(s.kv, T * H * Dr);
    for (int64_t i = 0; i < T * H; ++i)
      std::memcpy(s.kv.data() + i * Dr, s.q.data() + i * Dq + Dn, sizeof(float) * size_t(Dr));
    s.seqs.clear();
    for (const SeqRows& seq : batch.seqs) {
      auto& store = static_cast<MlaKvStore&>(seq.cache->store());
      s.seqs.push_back({.q_lat = s.q_lat.data() + seq.row0 * H * R, .q_pe = s.kv.data() + seq.row0 * H * Dr,
                        .out_lat = s.o_lat.data() + seq.row0 * H * R, .T = seq.T, .start = seq.start,
                        .c_kv = store.c_kv(layer), .k_pe = store.k_pe(layer),
                        .blocks = seq.cache->blocks().data(), .block_size = store.block_size()});
    }
    kernels::mla_attention_batch(s.seqs, {.n_heads = H, .kv_lora_rank = R, .rope_head_dim = Dr}, d.softmax_scale,
                                 pool);
    // att[t, h] = W_UV[h] o_lat[t, h]
    per_head_matmul(w.w_uv, s.o_lat.data(), R, T, s.att.data(), s, pool);
  }
  kernels::matmul(s.att.data(), T, w.o_proj, out, pool);
}

}  // namespace r1
