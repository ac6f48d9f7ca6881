// Grouped-query self-attention (Llama, Qwen2): q/k/v projections (optionally with bias), RoPE, causal attention
// over each sequence's paged GqaKvStore, output projection. T tokens (all sequences of a pass), H query heads,
// Hkv KV heads, Dh head dim, C hidden size.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "kernels/attention.h"
#include "model/blocks/batch.h"

namespace r1 {

struct GqaDims {
  int64_t hidden_size;  // C
  int64_t n_heads;      // H
  int64_t n_kv_heads;   // Hkv
  int64_t head_dim;     // Dh
};

struct GqaWeights {
  Tensor q_proj;  // [H * Dh, C]
  Tensor k_proj;  // [Hkv * Dh, C]
  Tensor v_proj;  // [Hkv * Dh, C]
  Tensor o_proj;  // [C, H * Dh]
  std::vector<float> q_bias, k_bias, v_bias;  // [H * Dh], [Hkv * Dh], [Hkv * Dh]; empty without attention bias
};

// Loads `{prefix}.{q,k,v,o}_proj.weight` (and `.bias` of q/k/v when `bias`).
Result<GqaWeights> load_gqa(WeightStore& ws, const std::string& prefix, const GqaDims& dims, bool bias);

// Scratch reused across layers and steps; grown to the largest T seen.
struct GqaScratch {
  std::vector<float> q;     // [T, H * Dh]
  std::vector<float> k, v;  // [T, Hkv * Dh] the new rows, before they go to their slots
  std::vector<float> att;   // [T, H * Dh]
  std::vector<kernels::GqaSeq> seqs;  // [sequences] attention work of the pass
  void reserve(int64_t T, const GqaDims& d);
};

// out[T, C] = attention output for normed input x[T, C], the rows of the batch's sequences (each cache a
// GqaKvStore's); K and V of the new tokens are written to their slots (the caller advances the caches after the
// last layer). Projections run over all T rows at once, attention per sequence over its block table.
// cos/sin [T, Dh/2] at each row's position.
void gqa_forward(const GqaWeights& w, const GqaDims& d, const float* x, const Batch& batch, int64_t layer,
                 const float* cos, const float* sin, GqaScratch& s, float* out, ThreadPool& pool);

}  // namespace r1
