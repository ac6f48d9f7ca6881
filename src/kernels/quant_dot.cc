// Activation quantizer, code-path selection and the per-type switch of the quantized dot products
// (kernels/quant_dot.h). The Q8_0 / Q4_0 bodies are in quant_dot_q8.cc and quant_dot_x86.cc, the K-quants in
// quant_dot_k.cc.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the deliberately undefined inputs inside its own AVX-512 intrinsics (_mm512_undefined_*).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "kernels/quant_dot.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/quant_dot_impl.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace r1::kernels {

namespace qdot {
namespace {

// ---- Code paths ----

#if defined(__x86_64__)
// AVX-VNNI (the VEX form of vpdpbusd: Alder Lake, Sapphire Rapids, Zen 5) is CPUID.(EAX=7,ECX=1):EAX bit 4;
// not every compiler's __builtin_cpu_supports knows its name. F16C (CPUID.1:ECX bit 29) comes with every AVX2
// CPU that matters, but the scale conversions need it, so it is checked too.
bool cpuid_bit(unsigned leaf, unsigned sub, int reg, int bit) {
  unsigned r[4] = {0, 0, 0, 0};
  if (!__get_cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3])) return false;
  return (r[reg] >> bit) & 1u;
}
#endif

Path detect_best() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the YMM / ZMM state.
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpuid_bit(1, 0, 2, 29);
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
    return Path::kAvx512Vnni;
  if (avx2 && cpuid_bit(7, 1, 0, 4)) return Path::kAvxVnni;
  if (avx2) return Path::kAvx2;
  return Path::kScalar;
#elif defined(__aarch64__)
  return Path::kNeon;  // Advanced SIMD is part of AArch64
#else
  return Path::kScalar;
#endif
}

const Path g_best = detect_best();  // once, at static initialisation
Path g_active = g_best;

// Whether this CPU can run `p` (every path below the best one on the same architecture can).
bool supported(Path p) {
  if (p == Path::kScalar) return true;
#if defined(__x86_64__)
  if (p == Path::kNeon) return false;
  if (p == Path::kAvxVnni) return g_best == Path::kAvxVnni || (g_best == Path::kAvx512Vnni && cpuid_bit(7, 1, 0, 4));
  return g_best != Path::kScalar && int(p) <= int(g_best);
#else
  return p == g_best;
#endif
}

// ---- Activation quantizer ----
//
// Per block of 32: amax = max |x| (taken on the bit patterns, so any reduction order gives the same answer
// even with NaNs), d = amax / 127, q = rint(clamp(x * (127 / amax), -127, 127)) in the current rounding mode
// (nearest, ties to even), sum = Σ q. A block with amax <= 1e-30 quantizes to zeros (127 / amax would
// overflow). The clamp is written as the max/min instructions compute it, so NaN becomes -127 on every path;
// d keeps NaN and infinity, so they still reach the output. Every path gives the same bytes.

constexpr float kTinyAmax = 1e-30f;

inline float abs_max_scalar(const float* x) {
  uint32_t m = 0;
  for (int j = 0; j < 32; ++j) {
    uint32_t bits;
    std::memcpy(&bits, &x[j], 4);
    m = std::max(m, bits & 0x7fffffffu);
  }
  float amax;
  std::memcpy(&amax, &m, 4);
  return amax;
}

void quantize_acts_scalar(const float* x, int64_t I, BlockQ8Act* acts, int64_t t0, int64_t t1) {
  const int64_t nb = I / 32;
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + t * I + b * 32;
      BlockQ8Act& out = acts[t * nb + b];
      const float amax = abs_max_scalar(xb);
      const float id = amax > kTinyAmax ? 127.0f / amax : 0.0f;
      out.d = amax / 127.0f;
      int32_t sum = 0;
      for (int j = 0; j < 32; ++j) {
        float v = xb[j] * id;
        v = v > -127.0f ? v : -127.0f;  // maxps(v, -127)
        v = v < 127.0f ? v : 127.0f;    // minps(v, 127)
        const int q = int(std::lrint(v));
        out.qs[j] = int8_t(q);
        sum += q;
      }
      out.sum = sum;
    }
  }
}

}  // namespace

Path active_path() {
  return g_active;
}

const char* path_name(Path p) {
  switch (p) {
    case Path::kAvx512Vnni:
      return "avx512vnni";
    case Path::kAvxVnni:
      return "avxvnni";
    case Path::kAvx2:
      return "avx2";
    case Path::kNeon:
      return "neon-dot";
    case Path::kScalar:
      break;
  }
  return "scalar";
}

#if defined(__x86_64__)

__attribute__((target("avx2,fma,f16c"))) void quantize_acts_avx2(const float* x, int64_t I, BlockQ8Act* acts,
                                                                 int64_t t0, int64_t t1) {
  const int64_t nb = I / 32;
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  // packs interleave 128-bit lanes; this puts the 4-byte groups back in order.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + t * I + b * 32;
      BlockQ8Act& out = acts[t * nb + b];
      __m256 v[4];
      __m256i m = _mm256_setzero_si256();
      for (int k = 0; k < 4; ++k) {
        v[k] = _mm256_loadu_ps(xb + 8 * k);
        m = _mm256_max_epu32(m, _mm256_and_si256(_mm256_castps_si256(v[k]), abs_mask));
      }
      __m128i m4 = _mm_max_epu32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
      m4 = _mm_max_epu32(m4, _mm_shuffle_epi32(m4, 0x4e));
      m4 = _mm_max_epu32(m4, _mm_shuffle_epi32(m4, 0xb1));
      const float amax = _mm_cvtss_f32(_mm_castsi128_ps(m4));
      const float id = amax > kTinyAmax ? 127.0f / amax : 0.0f;
      out.d = amax / 127.0f;
      const __m256 vid = _mm256_set1_ps(id);
      __m256i q[4];
      for (int k = 0; k < 4; ++k)
        q[k] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v[k], vid), lo), hi));
      __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
      out.sum = _mm_cvtsi128_si32(s4);
      const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.qs), _mm256_permutevar8x32_epi32(p, order));
    }
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void quantize_acts_avx512(const float* x, int64_t I,
                                                                               BlockQ8Act* acts, int64_t t0,
                                                                               int64_t t1) {
  const int64_t nb = I / 32;
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff);
  const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t b = 0; b < nb; ++b) {
      const float* xb = x + t * I + b * 32;
      BlockQ8Act& out = acts[t * nb + b];
      const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
      const __m512i m = _mm512_max_epu32(_mm512_and_si512(_mm512_castps_si512(v0), abs_mask),
                                         _mm512_and_si512(_mm512_castps_si512(v1), abs_mask));
      const uint32_t mbits = _mm512_reduce_max_epu32(m);
      float amax;
      std::memcpy(&amax, &mbits, 4);
      const float id = amax > kTinyAmax ? 127.0f / amax : 0.0f;
      out.d = amax / 127.0f;
      const __m512 vid = _mm512_set1_ps(id);
      const __m512i q0 = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v0, vid), lo), hi));
      const __m512i q1 = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v1, vid), lo), hi));
      out.sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out.qs), _mm512_cvtsepi32_epi8(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out.qs + 16), _mm512_cvtsepi32_epi8(q1));
    }
  }
}

#endif  // __x86_64__

}  // namespace qdot

void quantize_acts(const float* x, int64_t I, BlockQ8Act* acts, int64_t t0, int64_t t1) {
  using qdot::Path;
  switch (qdot::active_path()) {
#if defined(__x86_64__)
    case Path::kAvx512Vnni:
      return qdot::quantize_acts_avx512(x, I, acts, t0, t1);
    case Path::kAvxVnni:
    case Path::kAvx2:
      return qdot::quantize_acts_avx2(x, I, acts, t0, t1);
#endif
    default:
      return qdot::quantize_acts_scalar(x, I, acts, t0, t1);
  }
}

void qgemm_rows(DType wtype, const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy,
                int64_t r0, int64_t r1) {
  switch (wtype) {
    case DType::kQ8_0:
      return qgemm_rows_q8_0(w, I, acts, T, y, ldy, r0, r1);
    case DType::kQ4_0:
      return qgemm_rows_q4_0(w, I, acts, T, y, ldy, r0, r1);
    case DType::kQ4_K:
      return qgemm_rows_q4_k(w, I, acts, T, y, ldy, r0, r1);
    case DType::kQ6_K:
      return qgemm_rows_q6_k(w, I, acts, T, y, ldy, r0, r1);
    default:
      return;  // matmul only sends the block-quantized types here
  }
}

const char* quant_dot_path() {
  return qdot::path_name(qdot::active_path());
}

bool set_quant_dot_path_for_testing(const char* name) {
  using qdot::Path;
  if (name == nullptr || *name == '\0') {
    qdot::g_active = qdot::g_best;
    return true;
  }
  for (Path p : {Path::kScalar, Path::kAvx2, Path::kAvxVnni, Path::kAvx512Vnni, Path::kNeon}) {
    if (std::strcmp(name, qdot::path_name(p)) != 0) continue;
    if (!qdot::supported(p)) return false;
    qdot::g_active = p;
    return true;
  }
  return false;
}

}  // namespace r1::kernels
