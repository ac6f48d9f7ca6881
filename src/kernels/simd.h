// SIMD primitives compiled for every x86/ARM target Highway knows and dispatched once per process to the best one
// the CPU supports (kernels/simd_hwy.cc). Everything above this header is target-independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace r1::kernels {

// sum_i a[i] * b[i]
float dot_f32(const float* a, const float* b, size_t n);
// sum_i w[i] * x[i] with w stored in `wtype` (F32, F16 or BF16) and x in f32.
float dot_w(DType wtype, const void* w, const float* x, size_t n);
// y[r - r0] = dot(w row r, x) for rows [r0, r1) of a row-major [rows, n] matrix.
void gemv_rows(DType wtype, const void* w, const float* x, float* y, size_t n, size_t r0, size_t r1);
// out[i] = float(w[i])
void to_f32(DType wtype, const void* w, float* out, size_t n);
// y[i] += a * x[i]
void axpy(float a, const float* x, float* y, size_t n);

// Name of the SIMD target chosen at start-up ("AVX2", "AVX3", "NEON", ...).
std::string simd_target_name();

}  // namespace r1::kernels
