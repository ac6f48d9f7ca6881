// Integer dot products of Q4_K / Q6_K weight rows with 8-bit activations (kernels/quant_dot.h).
//   O weight rows (r), I inputs, T activation rows (t); nb = I / 256 super-blocks per weight row, na = I / 32
//   activation blocks per activation row. Each Q4_K sub-block (32 weights) and each pair of Q6_K sub-blocks
//   (16 + 16) meets exactly one activation block (d_a, sum_a, q_a[32]):
//     Q4_K sub-block j:  sum w*x = d_a * (d*sc_j * sum q*q_a  -  dmin*m_j * sum_a)            q in 0..15
//     Q6_K sub-block g:  sum w*x = d_a * d*sc_g * (sum q*q_a  -  32 * sum of its 16 q_a)       q in 0..63
//   so the integer part is an unsigned x signed byte dot product (VNNI's vpdpbusd, AVX2's vpmaddubsw).
//
// Two shapes. GEMV (T < 4: decode) streams the weights as stored, four rows at a time so each activation block is
// loaded once for four rows. GEMM (prefill) unpacks a tile of 32 weight rows once into bytes laid out
// [activation block][4-input step][32 rows][4 inputs] (PackedTile), then runs a register-tiled micro-kernel over
// 32 rows x NT activation rows: per 4-input step one load per 16 rows, one broadcast per activation row, and one
// vpdpbusd per (16 rows, activation row); the int32 sums become float once per sub-block.
#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
// GCC 12's avx512fintrin.h trips its own -Wmaybe-uninitialized (the _mm512_undefined_* idiom, GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#define R1_QK_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "kernels/quant.h"
#include "kernels/quant_dot.h"
#include "kernels/quant_dot_k.h"

namespace r1::kernels {
namespace {

inline uint32_t load32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// GEMV reads four consecutive weight rows at a time. Short rows (1536 inputs: 864 bytes of Q4_K) end before the
// hardware prefetcher has locked on, so each block read also prefetches the same block of the next four rows.
template <typename Block>
inline void prefetch_next_rows(const Block* blk, int64_t nb) {
  const char* p = reinterpret_cast<const char*>(blk + 4 * nb);
  for (size_t o = 0; o < sizeof(Block); o += 64) __builtin_prefetch(p + o);
}

// Per-activation-block values the SIMD paths want contiguous, for a run of activation rows.
struct ActAux {
  std::vector<float> d, ds;   // [t][na]: d_a, d_a * sum_a
  std::vector<int32_t> bs;    // [t][na][2]: -32 * (sum of q_a[0..15], of q_a[16..31])  (Q6_K's offset)
  void prepare(const BlockQ8Act* a, int64_t nt, int64_t na, bool halves) {
    const size_t n = size_t(nt * na);
    if (d.size() < n) d.resize(n), ds.resize(n);
    for (size_t i = 0; i < n; ++i) d[i] = a[i].d, ds[i] = a[i].d * float(a[i].sum);
    if (!halves) return;
    if (bs.size() < 2 * n) bs.resize(2 * n);
    for (size_t i = 0; i < n; ++i) {
      int32_t s0 = 0;
      for (int l = 0; l < 16; ++l) s0 += a[i].qs[l];
      bs[2 * i] = -32 * s0, bs[2 * i + 1] = -32 * (a[i].sum - s0);
    }
  }
};

// 32 weight rows unpacked for the GEMM micro-kernels (one byte per weight, 4 consecutive inputs per row
// contiguous so one 32-bit lane of vpdpbusd is one row).
struct PackedTile {
  std::vector<uint8_t> q;  // [na][8 steps][32 rows][4]
  std::vector<float> sc;   // Q4_K: [na][32] d*sc_j;  Q6_K: [na][2][32] d*scales_g
  std::vector<float> mn;   // Q4_K: [na][32] dmin*m_j
};

constexpr int kTileRows = 32;
constexpr int64_t kChunkT = 256;  // activation rows per GEMM pass: bounds ActAux, amortizes the unpacking

// The kernels of one code path for one weight type.
struct Kernels {
  // Four consecutive weight rows (pointers to their first block) . one activation row -> out[4].
  void (*gemv)(const void* const* rows, const BlockQ8Act* a, const float* ad, const float* ads, int64_t nb,
               float* out);
  // One packed tile (its first 16 rows if panels == 1) . nt (<= max_nt) activation rows -> out[nt][32].
  void (*tile)(const PackedTile& p, const BlockQ8Act* a, int64_t na, const float* ad, const float* ads,
               const int32_t* bs, int nt, int panels, float* out);
  void (*pack)(const void* w, int64_t nb, int64_t r, int64_t r_end, PackedTile& p);
  int max_nt;
  int64_t gemm_min_t;  // T from which the packed GEMM beats four-row GEMV
  size_t block_bytes;
  bool q6;
};

void run(const Kernels& k, const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy,
         int64_t r0, int64_t r1) {
  if (r1 <= r0 || T <= 0) return;
  const int64_t nb = I / kQKK, na = I / kQK;
  const size_t row_bytes = size_t(nb) * k.block_bytes;
  thread_local ActAux aux;
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  if (k.tile == nullptr || T < k.gemm_min_t) {
    aux.prepare(acts, T, na, false);
    for (int64_t r = r0; r < r1; r += 4) {
      const void* rows[4];
      for (int i = 0; i < 4; ++i) rows[i] = wb + size_t(std::min(r + i, r1 - 1)) * row_bytes;
      for (int64_t t = 0; t < T; ++t) {
        float out[4];
        k.gemv(rows, acts + t * na, aux.d.data() + t * na, aux.ds.data() + t * na, nb, out);
        for (int i = 0; i < 4 && r + i < r1; ++i) y[t * ldy + r + i] = out[i];
      }
    }
    return;
  }
  thread_local PackedTile tile;
  float out[kTileRows * 8];  // max_nt <= 8
  for (int64_t t0 = 0; t0 < T; t0 += kChunkT) {
    const int64_t tn = std::min(kChunkT, T - t0);
    aux.prepare(acts + t0 * na, tn, na, k.q6);
    for (int64_t r = r0; r < r1; r += kTileRows) {
      k.pack(w, nb, r, r1, tile);
      const int valid = int(std::min<int64_t>(kTileRows, r1 - r));
      for (int64_t t = 0; t < tn; t += k.max_nt) {
        const int nt = int(std::min<int64_t>(k.max_nt, tn - t));
        k.tile(tile, acts + (t0 + t) * na, na, aux.d.data() + t * na, aux.ds.data() + t * na,
               k.q6 ? aux.bs.data() + 2 * t * na : nullptr, nt, valid > 16 ? 2 : 1, out);
        for (int j = 0; j < nt; ++j) std::memcpy(y + (t0 + t + j) * ldy + r, out + j * kTileRows, size_t(valid) * 4);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Portable scalar path: the plain formula, block by block.

float dot_q4_k_scalar(const BlockQ4_K* w, const BlockQ8Act* a, int64_t nb) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b, a += 8) {
    const float d = f16_to_f32(w[b].d), dmin = f16_to_f32(w[b].dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      q4_k_scale_min(j, w[b].scales, &sc, &m);
      const uint8_t* q = w[b].qs + 32 * (j / 2);  // sub-block 2c: low nibbles of 32 bytes, 2c + 1: their highs
      const int shift = 4 * (j & 1);
      int32_t s = 0;
      for (int l = 0; l < 32; ++l) s += ((q[l] >> shift) & 0xF) * a[j].qs[l];
      acc += a[j].d * (d * float(sc) * float(s) - dmin * float(m) * float(a[j].sum));
    }
  }
  return acc;
}

float dot_q6_k_scalar(const BlockQ6_K* w, const BlockQ8Act* a, int64_t nb) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const float d = f16_to_f32(w[b].d);
    for (int h = 0; h < 2; ++h)      // halves of 128 weights
      for (int k = 0; k < 4; ++k) {  // 32 weights l = 0..31 at 128h + 32k: activation block 8b + 4h + k
        const BlockQ8Act& x = a[8 * b + 4 * h + k];
        const uint8_t* ql = w[b].ql + 64 * h + 32 * (k & 1);
        const uint8_t* qh = w[b].qh + 32 * h;
        const int shl = 4 * (k >> 1), shh = 2 * k;
        int32_t s[2];
        for (int e = 0; e < 2; ++e) {  // sub-blocks 8h + 2k + e: weights 16e .. 16e + 15
          int32_t acc_e = 0;
          for (int l = 16 * e; l < 16 * e + 16; ++l)
            acc_e += ((((ql[l] >> shl) & 0xF) | (((qh[l] >> shh) & 3) << 4)) - 32) * x.qs[l];
          s[e] = acc_e;
        }
        const int8_t* sc = w[b].scales + 8 * h + 2 * k;
        acc += x.d * d * (float(sc[0]) * float(s[0]) + float(sc[1]) * float(s[1]));
      }
  }
  return acc;
}

template <typename Block, float (*Dot)(const Block*, const BlockQ8Act*, int64_t)>
void gemv_generic(const void* const* rows, const BlockQ8Act* a, const float*, const float*, int64_t nb, float* out) {
  for (int i = 0; i < 4; ++i) out[i] = Dot(static_cast<const Block*>(rows[i]), a, nb);
}

#if defined(R1_QK_X86)
#include "kernels/quant_dot_k_x86.inc"  // IWYU pragma: keep
#endif  // R1_QK_X86

#if defined(__aarch64__)
// ---------------------------------------------------------------------------------------------------------------
// NEON path: the scalar loop with 16-byte vectors (sdot where the compiler targets it), signed weights q - 32 /
// q (both fit int8), one horizontal add per sub-block.

inline int32_t dot16_neon(int8x16_t w, int8x16_t a) {
#if defined(__ARM_FEATURE_DOTPROD)
  return vaddvq_s32(vdotq_s32(vdupq_n_s32(0), w, a));
#else
  const int16x8_t lo = vmull_s8(vget_low_s8(w), vget_low_s8(a));
  const int16x8_t hi = vmull_s8(vget_high_s8(w), vget_high_s8(a));
  return vaddvq_s32(vaddq_s32(vpaddlq_s16(lo), vpaddlq_s16(hi)));
#endif
}

float dot_q4_k_neon(const BlockQ4_K* w, const BlockQ8Act* a, int64_t nb) {
  const uint8x16_t m4 = vdupq_n_u8(0x0F);
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b, a += 8) {
    const float d = f16_to_f32(w[b].d), dmin = f16_to_f32(w[b].dmin);
    for (int c = 0; c < 4; ++c) {
      const uint8x16_t q0 = vld1q_u8(w[b].qs + 32 * c), q1 = vld1q_u8(w[b].qs + 32 * c + 16);
      for (int e = 0; e < 2; ++e) {  // sub-block 2c + e: low nibbles, then high
        const int j = 2 * c + e;
        const int8x16_t w0 = vreinterpretq_s8_u8(e ? vshrq_n_u8(q0, 4) : vandq_u8(q0, m4));
        const int8x16_t w1 = vreinterpretq_s8_u8(e ? vshrq_n_u8(q1, 4) : vandq_u8(q1, m4));
        const int32_t s = dot16_neon(w0, vld1q_s8(a[j].qs)) + dot16_neon(w1, vld1q_s8(a[j].qs + 16));
        uint8_t sc, m;
        q4_k_scale_min(j, w[b].scales, &sc, &m);
        acc += a[j].d * (d * float(sc) * float(s) - dmin * float(m) * float(a[j].sum));
      }
    }
  }
  return acc;
}

float dot_q6_k_neon(const BlockQ6_K* w, const BlockQ8Act* a, int64_t nb) {
  const uint8x16_t m4 = vdupq_n_u8(0x0F), m3 = vdupq_n_u8(3);
  const int8x16_t c32 = vdupq_n_s8(32);
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const float d = f16_to_f32(w[b].d);
    for (int h = 0; h < 2; ++h)
      for (int k = 0; k < 4; ++k) {
        const BlockQ8Act& x = a[8 * b + 4 * h + k];
        int32_t s[2];
        for (int e = 0; e < 2; ++e) {  // weights l = 16e .. 16e + 15: sub-block 8h + 2k + e
          uint8x16_t ql = vld1q_u8(w[b].ql + 64 * h + 32 * (k & 1) + 16 * e);
          uint8x16_t qh = vld1q_u8(w[b].qh + 32 * h + 16 * e);
          ql = (k >> 1) ? vshrq_n_u8(ql, 4) : vandq_u8(ql, m4);
          for (int i = 0; i < k; ++i) qh = vshrq_n_u8(qh, 2);
          const uint8x16_t q = vorrq_u8(ql, vshlq_n_u8(vandq_u8(qh, m3), 4));
          s[e] = dot16_neon(vsubq_s8(vreinterpretq_s8_u8(q), c32), vld1q_s8(x.qs + 16 * e));
        }
        const int8_t* sc = w[b].scales + 8 * h + 2 * k;
        acc += x.d * d * (float(sc[0]) * float(s[0]) + float(sc[1]) * float(s[1]));
      }
  }
  return acc;
}
#endif  // __aarch64__

// ---------------------------------------------------------------------------------------------------------------
// Dispatch: the best path is picked once; tests may force another.

enum class Path { kScalar, kNeon, kAvx2, kAvxVnni, kAvx512Vnni };

struct PathInfo {
  Path path;
  const char* name;
};
constexpr PathInfo kPaths[] = {{Path::kScalar, "scalar"},
                               {Path::kNeon, "neon"},
                               {Path::kAvx2, "avx2"},
                               {Path::kAvxVnni, "avxvnni"},
                               {Path::kAvx512Vnni, "avx512vnni"}};

bool cpu_has(Path p) {
  switch (p) {
    case Path::kScalar: return true;
#if defined(__aarch64__)
    case Path::kNeon: return true;
#endif
#if defined(R1_QK_X86)
    case Path::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    case Path::kAvxVnni: return cpu_has(Path::kAvx2) && cpu_has_avxvnni();
    case Path::kAvx512Vnni:
      return cpu_has(Path::kAvx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && cpu_has_avx512vnni();
#endif
    default: return false;
  }
}

// The kernels of path `p` for Q4_K (q6 = false) or Q6_K.
Kernels kernels_for(Path p, bool q6) {
  Kernels k{};
  k.block_bytes = q6 ? sizeof(BlockQ6_K) : sizeof(BlockQ4_K);
  k.q6 = q6;
  k.gemv = q6 ? gemv_generic<BlockQ6_K, dot_q6_k_scalar> : gemv_generic<BlockQ4_K, dot_q4_k_scalar>;
  switch (p) {
#if defined(__aarch64__)
    case Path::kNeon:
      k.gemv = q6 ? gemv_generic<BlockQ6_K, dot_q6_k_neon> : gemv_generic<BlockQ4_K, dot_q4_k_neon>;
      break;
#endif
#if defined(R1_QK_X86)
    case Path::kAvx2:
      k.gemv = q6 ? gemv_q6_k_avx2<false> : gemv_q4_k_avx2<false>;
      k.tile = q6 ? tile_avx2<false, true> : tile_avx2<false, false>;
      k.pack = q6 ? pack_q6_k_avx2 : pack_q4_k_avx2;
      k.max_nt = 2, k.gemm_min_t = 4;
      break;
    case Path::kAvxVnni:
      k.gemv = q6 ? gemv_q6_k_avx2<true> : gemv_q4_k_avx2<true>;
      k.tile = q6 ? tile_avx2<true, true> : tile_avx2<true, false>;
      k.pack = q6 ? pack_q6_k_avx2 : pack_q4_k_avx2;
      k.max_nt = 3, k.gemm_min_t = 4;
      break;
    case Path::kAvx512Vnni:
      k.gemv = q6 ? gemv_q6_k_avx512 : gemv_q4_k_avx512;
      k.tile = q6 ? tile_avx512<true> : tile_avx512<false>;
      k.pack = q6 ? pack_q6_k_avx2 : pack_q4_k_avx2;
      k.max_nt = kNt512, k.gemm_min_t = 4;
      break;
#endif
    default: break;
  }
  return k;
}

struct PathKernels {
  Path path;
  Kernels q4_k, q6_k;
};

PathKernels make_path_kernels(Path p) { return {p, kernels_for(p, false), kernels_for(p, true)}; }

const PathKernels& best_kernels() {
  static const PathKernels best = [] {
    Path b = Path::kScalar;
    for (const PathInfo& p : kPaths)
      if (cpu_has(p.path)) b = p.path;
    return make_path_kernels(b);
  }();
  return best;
}

PathKernels g_forced;
bool g_is_forced = false;

const PathKernels& current() { return g_is_forced ? g_forced : best_kernels(); }

}  // namespace

bool set_quant_dot_k_path_for_testing(const char* name) {
  if (name == nullptr || *name == '\0') {
    g_is_forced = false;
    return true;
  }
  for (const PathInfo& p : kPaths)
    if (std::strcmp(p.name, name) == 0 && cpu_has(p.path)) {
      g_forced = make_path_kernels(p.path), g_is_forced = true;
      return true;
    }
  return false;
}

const char* quant_dot_k_path() {
  for (const PathInfo& p : kPaths)
    if (p.path == current().path) return p.name;
  return "scalar";
}

void qgemm_rows_q4_k(const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy,
                     int64_t r0, int64_t r1) {
  run(current().q4_k, w, I, acts, T, y, ldy, r0, r1);
}

void qgemm_rows_q6_k(const void* w, int64_t I, const BlockQ8Act* acts, int64_t T, float* y, int64_t ldy,
                     int64_t r0, int64_t r1) {
  run(current().q6_k, w, I, acts, T, y, ldy, r0, r1);
}

}  // namespace r1::kernels
