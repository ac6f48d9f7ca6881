// Causal grouped-query attention over a KV cache. T new tokens, S cached positions (including the new ones),
// H query heads, Hkv key/value heads (H % Hkv == 0), Dh head dim.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace r1::kernels {

struct GqaShape {
  int64_t n_heads;     // H
  int64_t n_kv_heads;  // Hkv
  int64_t head_dim;    // Dh
};

// q [T, H, Dh] for positions start .. start+T-1; k, v [>= start+T, Hkv, Dh]; out [T, H, Dh].
// Token t attends to positions 0 .. start+t. scores = q·k * scale.
void gqa_attention(const float* q, const float* k, const float* v, float* out, int64_t T, int64_t start,
                   const GqaShape& shape, float scale, ThreadPool& pool);

}  // namespace r1::kernels
