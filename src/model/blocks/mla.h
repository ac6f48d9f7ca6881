// Multi-head latent attention (DeepSeek-V2/V3, ARCHITECTURE.md "MLA"). T tokens, C hidden, H heads, R kv_lora_rank,
// Dn qk_nope_head_dim, Dr qk_rope_head_dim, Dv v_head_dim, S cached positions.
// The cache keeps only c_kv [S, R] and k_pe [S, Dr] per layer. The absorbed path (default) folds W_UK into the
// query and W_UV after attention, so it never materialises per-head keys or values; the naive path decompresses
// them and exists to check the absorbed one.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "kernels/attention.h"
#include "model/blocks/batch.h"

namespace r1 {

struct MlaDims {
  int64_t hidden_size;       // C
  int64_t n_heads;           // H
  int64_t q_lora_rank;       // 0: queries come straight from q_proj
  int64_t kv_lora_rank;      // R
  int64_t qk_nope_head_dim;  // Dn
  int64_t qk_rope_head_dim;  // Dr
  int64_t v_head_dim;        // Dv
  float rms_norm_eps;        // of q_a_layernorm and kv_a_layernorm
  float softmax_scale;       // (Dn + Dr)^-0.5, times the YaRN m^2 when rope_scaling is yarn
};

struct MlaWeights {
  Tensor q_proj;                       // [H * (Dn + Dr), C]          without q_lora_rank
  Tensor q_a_proj;                     // [q_lora_rank, C]            with q_lora_rank
  std::vector<float> q_a_layernorm;    // [q_lora_rank]
  Tensor q_b_proj;                     // [H * (Dn + Dr), q_lora_rank]
  Tensor kv_a_proj_with_mqa;           // [R + Dr, C]: c_kv then the shared k_pe
  std::vector<float> kv_a_layernorm;   // [R]
  Tensor kv_b_proj;                    // [H * (Dn + Dv), R]: per head W_UK (Dn rows) then W_UV (Dv rows)
  Tensor o_proj;                       // [C, H * Dv]
  // The absorbed path's per-head matrices, so both products are ordinary (quantized) matmuls: W_UK[h]ᵀ [R, Dn],
  // built at load in kv_b_proj's type (Q8_0 when Dn is not a multiple of its block, f32 when not of 32), and
  // W_UV[h] [Dv, R], a view of kv_b_proj's rows.
  std::vector<Tensor> w_uk_t;
  std::vector<Tensor> w_uv;
};

enum class MlaMode { kAbsorbed, kNaive };

Result<MlaWeights> load_mla(WeightStore& ws, const std::string& prefix, const MlaDims& d);

struct MlaScratch {
  std::vector<float> qa;     // [T, q_lora_rank]
  std::vector<float> q;      // [T, H, Dn + Dr]
  std::vector<float> kv;     // [T, R + Dr]
  std::vector<float> q_lat;  // [T, H, R]
  std::vector<float> o_lat;  // [T, H, R]
  std::vector<float> att;    // [T, H * Dv]
  std::vector<float> kv_full;  // naive path: [S, H * (Dn + Dv)]
  std::vector<float> c_kv, k_pe;  // naive path: one sequence's cached c_kv [S, R] and k_pe [S, Dr] in order
  std::vector<kernels::MlaSeq> seqs;  // absorbed path: [sequences] attention work of the pass
  std::vector<float> head_in, head_out;  // absorbed path: one head's [T, Dn] / [T, R] operands
};

// out[T, C] for normed input x[T, C], the rows of the batch's sequences (each cache an MlaKvStore's). Writes c_kv
// and k_pe of the new tokens to their slots (the caller advances the caches after the last layer); projections run
// over all T rows at once, attention per sequence over its block table. cos/sin [T, Dr/2] at each row's position,
// rope on interleaved pairs.
void mla_forward(const MlaWeights& w, const MlaDims& d, MlaMode mode, const float* x, const Batch& batch,
                 int64_t layer, const float* cos, const float* sin, MlaScratch& s, float* out, ThreadPool& pool);

}  // namespace r1
