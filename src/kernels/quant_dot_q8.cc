// Q8_0 and Q4_0 weights against 8-bit activations (kernels/quant_dot.h): the per-type entry points, which
// pick the code path, and the two paths that need no x86: portable scalar and AArch64 NEON. The x86 paths are
// in quant_dot_x86.cc.
//   O weight rows (r), I inputs, T activation rows (t), nb = I / 32 blocks per row.
//   Q8_0 block b of row r against activation block b of row t:  d_w * d_a * Σ q_w * q_a
//   Q4_0:                                                        d_w * d_a * (Σ q_w * q_a  -  8 * sum_a)
#include <cstring>

#include "kernels/quant_dot_impl.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace r1::kernels {

namespace qdot {

namespace {

inline float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

}  // namespace

// ---- Portable scalar ----

void q8_0_scalar(const QArgs& a) {
  const int64_t nb = a.I / kQK, rb = nb * int64_t(sizeof(BlockQ8_0));
  for (int64_t r = a.r0; r < a.r1; ++r) {
    const uint8_t* row = a.w + r * rb;
    for (int64_t t = 0; t < a.T; ++t) {
      const BlockQ8Act* x = a.acts + t * nb;
      float sum = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = row + b * int64_t(sizeof(BlockQ8_0));
        const auto* q = reinterpret_cast<const int8_t*>(blk + 2);
        int32_t dot = 0;
        for (int j = 0; j < kQK; ++j) dot += int32_t(q[j]) * int32_t(x[b].qs[j]);
        sum += f16_at(blk) * x[b].d * float(dot);
      }
      a.y[t * a.ldy + r] = sum;
    }
  }
}

void q4_0_scalar(const QArgs& a) {
  const int64_t nb = a.I / kQK, rb = nb * int64_t(sizeof(BlockQ4_0));
  for (int64_t r = a.r0; r < a.r1; ++r) {
    const uint8_t* row = a.w + r * rb;
    for (int64_t t = 0; t < a.T; ++t) {
      const BlockQ8Act* x = a.acts + t * nb;
      float sum = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = row + b * int64_t(sizeof(BlockQ4_0));
        const uint8_t* q = blk + 2;
        int32_t dot = 0;
        for (int j = 0; j < kQK / 2; ++j)
          dot += int32_t(q[j] & 0xF) * x[b].qs[j] + int32_t(q[j] >> 4) * x[b].qs[j + kQK / 2];
        sum += f16_at(blk) * x[b].d * float(dot - 8 * x[b].sum);
      }
      a.y[t * a.ldy + r] = sum;
    }
  }
}

// ---- AArch64 NEON ----
// One (row, activation row) pair at a time: the signed x signed products need no offset tricks here. With the
// dot product extension (armv8.2-a+dotprod, built with it enabled) vdotq_s32 does 16 products per instruction;
// without it, widening multiplies and pairwise adds compute the same sums.

#if defined(__aarch64__)

namespace {

inline int32x4_t dot16(int32x4_t acc, int8x16_t u, int8x16_t v) {
#if defined(__ARM_FEATURE_DOTPROD)
  return vdotq_s32(acc, u, v);
#else
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(u), vget_low_s8(v)));
  return vpadalq_s16(acc, vmull_high_s8(u, v));
#endif
}

// kQ4: the 16 bytes of nibbles unpack to q - 8 in [-8, 7], low nibbles first.
template <bool kQ4>
void neon_rows(const QArgs& a) {
  const int64_t nb = a.I / kQK;
  const int64_t bs = kQ4 ? int64_t(sizeof(BlockQ4_0)) : int64_t(sizeof(BlockQ8_0)), rb = nb * bs;
  for (int64_t r = a.r0; r < a.r1; ++r) {
    const uint8_t* row = a.w + r * rb;
    for (int64_t t = 0; t < a.T; ++t) {
      const BlockQ8Act* x = a.acts + t * nb;
      float32x4_t acc = vdupq_n_f32(0.0f);
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = row + b * bs;
        int8x16_t w0, w1;
        if constexpr (kQ4) {
          const uint8x16_t q = vld1q_u8(blk + 2);
          w0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F))), vdupq_n_s8(8));
          w1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), vdupq_n_s8(8));
        } else {
          w0 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 2));
          w1 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 18));
        }
        const int32x4_t dot = dot16(dot16(vdupq_n_s32(0), w0, vld1q_s8(x[b].qs)), w1, vld1q_s8(x[b].qs + 16));
        acc = vfmaq_n_f32(acc, vcvtq_f32_s32(dot), f16_at(blk) * x[b].d);
      }
      a.y[t * a.ldy + r] = vaddvq_f32(acc);
    }
  }
}

}  // namespace

void q8_0_neon(const QArgs& a) {
  neon_rows<false>(a);
}
void q4_0_neon(const QArgs& a) {
  neon_rows<true>(a);
}

#endif  // __aarch64__

}  // namespace qdot

// ---- Entry points ----

namespace {

// One weight type's kernels on every code path; the path was chosen once for the CPU (qdot::active_path).
struct TypeKernels {
  void (*scalar)(const qdot::QArgs&);
#if defined(__x86_64__)
  void (*avx512)(const qdot::QArgs&);
  void (*avxvnni)(const qdot::QArgs&);
  void (*avx2)(const qdot::QArgs&);
#endif
#if defined(__aarch64__)
  void (*neon)(const qdot::QArgs&);
#endif
};

void run_rows(const TypeKernels& k, const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y,
              int64_t ldy, int64_t r0, int64_t r1) {
  if (r0 >= r1 || T <= 0) return;
  const qdot::QArgs a{static_cast<const uint8_t*>(w), I, acts, T, y, ldy, r0, r1};
  switch (qdot::active_path()) {
#if defined(__x86_64__)
    case qdot::Path::kAvx512Vnni: return k.avx512(a);
    case qdot::Path::kAvxVnni: return k.avxvnni(a);
    case qdot::Path::kAvx2: return k.avx2(a);
#endif
#if defined(__aarch64__)
    case qdot::Path::kNeon: return k.neon(a);
#endif
    default: return k.scalar(a);
  }
}

#if defined(__x86_64__)
constexpr TypeKernels kQ8_0{qdot::q8_0_scalar, qdot::q8_0_avx512, qdot::q8_0_avxvnni, qdot::q8_0_avx2};
constexpr TypeKernels kQ4_0{qdot::q4_0_scalar, qdot::q4_0_avx512, qdot::q4_0_avxvnni, qdot::q4_0_avx2};
#elif defined(__aarch64__)
constexpr TypeKernels kQ8_0{qdot::q8_0_scalar, qdot::q8_0_neon};
constexpr TypeKernels kQ4_0{qdot::q4_0_scalar, qdot::q4_0_neon};
#else
constexpr TypeKernels kQ8_0{qdot::q8_0_scalar};
constexpr TypeKernels kQ4_0{qdot::q4_0_scalar};
#endif

}  // namespace

void qgemm_rows_q8_0(const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy, int64_t r0,
                     int64_t r1) {
  run_rows(kQ8_0, w, I, acts, T, y, ldy, r0, r1);
}

void qgemm_rows_q4_0(const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy, int64_t r0,
                     int64_t r1) {
  run_rows(kQ4_0, w, I, acts, T, y, ldy, r0, r1);
}

}  // namespace r1::kernels
