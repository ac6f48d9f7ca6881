// Single-precision GEMM with a register-blocked micro-kernel: C[M, N] = A[M, K] · B[K, N] (+ C).
//
// The kernel keeps a 6 x (2 vectors) tile of C in registers and, for each k, broadcasts six elements of A against
// two vectors of B's row k: no horizontal sums, B's rows read with unit stride, A read one element at a time. So
// A may be any strided view (a transpose too) while B and C are row-major, which is what both products of a linear
// layer's backward need without copying, and what the forward needs after one transpose of the activations
// (kernels::matmul). B is taken 256 rows at a time so the panel the tile loops over stays in L1.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace r1::kernels {

struct GemmArgs {
  int64_t M = 0, N = 0, K = 0;
  const float* a = nullptr;  // element (m, k) at a[m * a_rs + k * a_cs]
  int64_t a_rs = 0, a_cs = 1;
  const float* b = nullptr;  // element (k, n) at b[k * ldb + n]
  int64_t ldb = 0;
  float* c = nullptr;  // element (m, n) at c[m * ldc + n]
  int64_t ldc = 0;
  bool accumulate = false;  // C += A·B instead of C = A·B
};

// On the calling thread. C must not overlap A or B.
void gemm_f32(const GemmArgs& g);
// Over the pool: threads own disjoint blocks of C's rows (of its columns when M is too short to share), so the
// result is the same for any number of threads. Small products stay on the calling thread.
void gemm_f32(const GemmArgs& g, ThreadPool& pool);

// out [C, R] = in [R, C]ᵀ, in cache-sized tiles; in's rows lie ld_in floats apart (0: C, contiguous), so a column
// block of a wider matrix (one head's slice) transposes in place of a copy.
void transpose_f32(const float* in, int64_t R, int64_t C, float* out, int64_t ld_in = 0);

}  // namespace r1::kernels
