// Integer dot products of block-quantized weights (kernels/quant.h) with activations quantized to 8 bits per
// block of 32 — the decode GEMV and prefill GEMM behind kernels::matmul for Q8_0, Q4_0, Q4_K and Q6_K weights.
//
// Activations: each row of x (I values, I a multiple of 32) becomes I/32 BlockQ8Act: an f32 scale d, the int32
// sum of the quants (so offset formats — Q4_0's q - 8, Q4_K's mins, Q6_K's q - 32 — fold into one multiply), and
// 32 int8 quants with x ≈ d * q. Every weight type takes the same activation format.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace r1::kernels {

struct BlockQ8Act {
  float d;
  int32_t sum;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8Act) == 40);

// Quantizes rows [t0, t1) of x [T, I] into acts (T * I/32 blocks, row-major). Per block: d = amax / 127 and
// q = rint(x * (127 / amax)) (ties to even), the same bytes on every code path (quant_dot.cc has the details).
void quantize_acts(const float* x, int64_t I, BlockQ8Act* acts, int64_t t0, int64_t t1);

// y[t * ldy + r] = dot(weight row r, activation row t) for rows r in [r0, r1) and all T activation rows, where w
// is a row-major [O, I] matrix of block type `wtype`. Called by matmul with disjoint row ranges per thread.
void qgemm_rows(DType wtype, const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy,
                int64_t r0, int64_t r1);

// Per-type bodies (kernels/quant_dot_*.cc), each dispatching at run time to the best code path the CPU has
// (AVX-512 VNNI, AVX-VNNI / AVX2, NEON dot product, portable scalar).
void qgemm_rows_q8_0(const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy,
                     int64_t r0, int64_t r1);
void qgemm_rows_q4_0(const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy,
                     int64_t r0, int64_t r1);
void qgemm_rows_q4_k(const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy,
                     int64_t r0, int64_t r1);
void qgemm_rows_q6_k(const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy,
                     int64_t r0, int64_t r1);

// Which code path the quantized kernels use on this CPU ("avx512vnni", "avxvnni", "avx2", "neon-dot", "scalar").
const char* quant_dot_path();

// Forces the path of quantize_acts, qgemm_rows_q8_0 and qgemm_rows_q4_0 (one of the names above; nullptr or "" for
// the best this CPU has). Returns false, changing nothing, when the CPU lacks it. Tests and benchmarks only: not
// safe against concurrent kernel calls. (The K-quants have their own: kernels/quant_dot_k.h.)
bool set_quant_dot_path_for_testing(const char* name);

}  // namespace r1::kernels
