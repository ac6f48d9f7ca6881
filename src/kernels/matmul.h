// Dense matrix products against weights in F32, F16, BF16 or a GGUF block type (Q8_0, Q4_0, Q4_K, Q6_K: integer
// dot products on activations quantized per block, kernels/quant_dot.h) with f32 activations.
// T tokens, I input features, O output features. Weights are PyTorch Linear layout [O, I].
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace r1::kernels {

// y[T, O] = x[T, I] · wᵀ (+ bias[O] when given). T == 1 takes the GEMV path (one pass over the weights, rows split
// across threads); T > 1 runs kernels/gemm.h's register-blocked GEMM (f32/f16/bf16 weights widened a block at a
// time) or, for block-quantized weights, the integer kernels.
void matmul(const float* x, int64_t T, const Tensor& w, float* y, ThreadPool& pool, const float* bias = nullptr);

}  // namespace r1::kernels
