// Plain scalar oracles for the fast kernels: double accumulation, no SIMD, no threads. Tests compare against these.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace r1::kernels::reference {

// y[T, O] = x[T, I] · wᵀ, w in any float dtype.
void matmul(const float* x, int64_t T, const Tensor& w, float* y);

// Same contract as kernels::gqa_attention.
void gqa_attention(const float* q, const float* k, const float* v, float* out, int64_t T, int64_t start,
                   int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale);

// Same contract as kernels::mla_attention.
void mla_attention(const float* q_lat, const float* q_pe, const float* c_kv, const float* k_pe, float* out_lat,
                   int64_t T, int64_t start, int64_t n_heads, int64_t kv_lora_rank, int64_t rope_head_dim,
                   float scale);

}  // namespace r1::kernels::reference
