// Element-wise and row-wise ops of the transformer block. T tokens, D features, H heads, Dh head dim.
#pragma once

#include <cstdint>

namespace r1::kernels {

// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight, for T rows of D (Llama/Qwen RMSNorm; out may alias x).
void rmsnorm(const float* x, const float* weight, float* out, int64_t T, int64_t D, float eps);

// out = silu(gate) * up, n elements (out may alias gate).
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

// y += x, n elements.
void add_inplace(float* y, const float* x, int64_t n);

// In-place softmax over n values; returns nothing, handles -inf entries.
void softmax(float* x, int64_t n);

// Rotary position embedding of one token, in place on x [H, Dh], with cos/sin [Dh/2] for its position.
// half_split: pairs (i, i + Dh/2) as in HF Llama/Qwen (rotate_half); otherwise interleaved pairs (2i, 2i+1) as in
// DeepSeek's and Meta's original checkpoints.
void rope(float* x, int64_t H, int64_t Dh, const float* cos, const float* sin, bool half_split);

}  // namespace r1::kernels
