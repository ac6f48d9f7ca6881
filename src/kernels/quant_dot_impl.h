// Internals shared by the Q8_0 / Q4_0 dot-product files (kernels/quant_dot*.cc): the code paths, which one is
// active, and each path's entry points. Everything outside kernels/quant_dot* goes through
// kernels/quant_dot.h.
#pragma once

#include <cstdint>

#include "kernels/quant.h"
#include "kernels/quant_dot.h"

namespace r1::kernels::qdot {

enum class Path : uint8_t { kScalar, kAvx2, kAvxVnni, kAvx512Vnni, kNeon };

// The best path this CPU has (detected once) unless a test forced another.
Path active_path();
const char* path_name(Path p);

// Arguments of qgemm_rows, bundled for the per-path bodies.
struct QArgs {
  const uint8_t* w;        // [O, I] weight rows of the block type
  int64_t I;               // input features, a multiple of 32
  const BlockQ8Act* acts;  // [T, I/32]
  int64_t T;
  float* y;  // y[t * ldy + r]
  int64_t ldy;
  int64_t r0, r1;  // output rows to compute
};

// Paths, by instruction set (kernels/quant_dot_x86.cc, kernels/quant_dot_q8.cc).
void q8_0_scalar(const QArgs& a);
void q4_0_scalar(const QArgs& a);
#if defined(__x86_64__)
void q8_0_avx2(const QArgs& a);
void q4_0_avx2(const QArgs& a);
void q8_0_avxvnni(const QArgs& a);
void q4_0_avxvnni(const QArgs& a);
void q8_0_avx512(const QArgs& a);
void q4_0_avx512(const QArgs& a);
void quantize_acts_avx2(const float* x, int64_t I, BlockQ8Act* acts, int64_t t0, int64_t t1);
void quantize_acts_avx512(const float* x, int64_t I, BlockQ8Act* acts, int64_t t0, int64_t t1);
#endif
#if defined(__aarch64__)
void q8_0_neon(const QArgs& a);
void q4_0_neon(const QArgs& a);
#endif

}  // namespace r1::kernels::qdot
