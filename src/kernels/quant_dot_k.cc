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
// ---------------------------------------------------------------------------------------------------------------
// x86 helpers shared by the AVX-512 and AVX2 paths (an AVX2-target inline function inlines into AVX-512 code).

#define R1_AVX2 __attribute__((target("avx2,fma,f16c")))
#define R1_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

// The 8 scales and 8 mins of a Q4_K super-block, one byte each (little-endian words; the word form of
// q4_k_scale_min: sub-blocks 0..3 hold 6 bits in bytes 0..3 / 4..7, sub-blocks 4..7 4 bits in bytes 8..11 plus
// the top 2 bits of bytes 0..3 / 4..7).
inline void q4_k_scales8(const uint8_t* s, uint64_t* sc, uint64_t* m) {
  const uint32_t u0 = load32(s), u1 = load32(s + 4), u2 = load32(s + 8);
  const uint32_t sc_hi = (u2 & 0x0f0f0f0fu) | (((u0 >> 6) & 0x03030303u) << 4);
  const uint32_t m_hi = ((u2 >> 4) & 0x0f0f0f0fu) | (((u1 >> 6) & 0x03030303u) << 4);
  *sc = uint64_t(u0 & 0x3f3f3f3fu) | (uint64_t(sc_hi) << 32);
  *m = uint64_t(u1 & 0x3f3f3f3fu) | (uint64_t(m_hi) << 32);
}

R1_AVX2 inline float hsum256_avx2(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

R1_AVX2 inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// ---------------------------------------------------------------------------------------------------------------
// AVX-512 VNNI path (Ice Lake / Sapphire Rapids / Zen 4 and later).

// 64 activation quants of blocks i and j, in the low and high 256 bits.
R1_AVX512 inline __m512i acts_pair512(const BlockQ8Act* a, int64_t i, int64_t j) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs))),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[j].qs)), 1);
}

// One 256-bit load of 32 weight bytes into both halves, each half shifted right by its own count (per 64 bits).
R1_AVX512 inline __m512i bytes_x2_srl(const uint8_t* p, __m512i counts) {
  return _mm512_srlv_epi64(_mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), counts);
}

// Four Q4_K rows: per 64 weights (sub-blocks 2c, 2c+1 = the low and high nibbles of the same 32 bytes) one
// vpdpbusd; lanes 0..7 belong to sub-block 2c, 8..15 to 2c + 1, scaled by d * sc_j * d_a in float.
R1_AVX512 void gemv_q4_k_avx512(const void* const* rows, const BlockQ8Act* a, const float* ad, const float* ads,
                                int64_t nb, float* out) {
  const __m512i counts = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0), m4 = _mm512_set1_epi8(0x0F);
  const __m512i half = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const BlockQ4_K* w[4];
  __m512 acc[4];
  __m256 accm[4];
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i)
    w[i] = static_cast<const BlockQ4_K*>(rows[i]), acc[i] = _mm512_setzero_ps(), accm[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b, a += 8) {
    const __m256 ad8 = _mm256_loadu_ps(ad + 8 * b), ads8 = _mm256_loadu_ps(ads + 8 * b);
    __m512i av[4];
#pragma GCC unroll 8
    for (int c = 0; c < 4; ++c) av[c] = acts_pair512(a, 2 * c, 2 * c + 1);
#pragma GCC unroll 8
    for (int i = 0; i < 4; ++i) {
      const BlockQ4_K& blk = w[i][b];
      prefetch_next_rows(&blk, nb);
      const __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128(int(load32(&blk))));  // d, dmin
      uint64_t sc, m;
      q4_k_scales8(blk.scales, &sc, &m);
      const __m256 scf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(sc))));
      const __m256 mf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(m))));
      const __m512 s8 = _mm512_castps256_ps512(_mm256_mul_ps(scf, _mm256_mul_ps(_mm256_broadcastss_ps(dd), ad8)));
      accm[i] = _mm256_fmadd_ps(mf, _mm256_mul_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(dd)), ads8), accm[i]);
#pragma GCC unroll 8
      for (int c = 0; c < 4; ++c) {
        const __m512i wq = _mm512_and_si512(bytes_x2_srl(blk.qs + 32 * c, counts), m4);
        const __m512i x = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, av[c]);
        const __m512 s = _mm512_permutexvar_ps(_mm512_add_epi32(half, _mm512_set1_epi32(2 * c)), s8);
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(x), s, acc[i]);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) out[i] = _mm512_reduce_add_ps(acc[i]) - hsum256_avx2(accm[i]);
}

// Four Q6_K rows: per pair of activation blocks (h, k) and (h, k + 2) — which share their ql and qh bytes — one
// vpdpbusd starting from -32 * (sums of 4 activation quants); lanes 4g'..4g'+3 belong to one 16-weight sub-block.
R1_AVX512 void gemv_q6_k_avx512(const void* const* rows, const BlockQ8Act* a, const float* ad, const float*,
                                int64_t nb, float* out) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30), c32 = _mm512_set1_epi8(32);
  const __m512i ql_counts = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);
  const __m512i quarter = _mm512_set_epi32(5, 5, 5, 5, 4, 4, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0);
  const __m512i halfb = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
  const BlockQ6_K* w[4];
  __m512 acc[4];
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) w[i] = static_cast<const BlockQ6_K*>(rows[i]), acc[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b, a += 8) {
    const __m512 ad8 = _mm512_castps256_ps512(_mm256_loadu_ps(ad + 8 * b));
    __m512i av[4], neg[4];
    __m512 dl[4];
#pragma GCC unroll 8
    for (int ch = 0; ch < 4; ++ch) {  // ch = 2h + k: activation blocks 4h + k and 4h + k + 2
      const int h = ch >> 1, k = ch & 1;
      av[ch] = acts_pair512(a, 4 * h + k, 4 * h + k + 2);
      neg[ch] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), c32, av[ch]));
      dl[ch] = _mm512_permutexvar_ps(_mm512_add_epi32(halfb, _mm512_set1_epi32(4 * h + k)), ad8);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 4; ++i) {
      const BlockQ6_K& blk = w[i][b];
      prefetch_next_rows(&blk, nb);
      const __m512 d = _mm512_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(blk.d))));
      const __m512 sv = _mm512_mul_ps(
          _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales)))), d);
#pragma GCC unroll 8
      for (int ch = 0; ch < 4; ++ch) {
        const int h = ch >> 1, k = ch & 1;
        const __m512i lo = _mm512_and_si512(bytes_x2_srl(blk.ql + 64 * h + 32 * k, ql_counts), m4);
        const int64_t c0 = 2 * k, c1 = 2 * k + 4;  // qh bit pairs k (low half) and k + 2 (high half)
        const __m512i qh_counts = _mm512_set_epi64(c1, c1, c1, c1, c0, c0, c0, c0);
        const __m512i hi = _mm512_and_si512(_mm512_slli_epi16(bytes_x2_srl(blk.qh + 32 * h, qh_counts), 4), m30);
        const __m512i x = _mm512_dpbusd_epi32(neg[ch], _mm512_or_si512(lo, hi), av[ch]);
        const __m512 s = _mm512_permutexvar_ps(_mm512_add_epi32(quarter, _mm512_set1_epi32(8 * h + 2 * k)), sv);
        acc[i] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(x), dl[ch]), s, acc[i]);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) out[i] = _mm512_reduce_add_ps(acc[i]);
}

// GEMM micro-kernel: P panels of 16 packed rows (one zmm each) x NT activation rows. A sub-block is 8 4-input
// steps for Q4_K, 4 for Q6_K (two per activation block, their int32 sums starting from the activation's -32 *
// sum of its 16 quants); after each, the int32 sums are scaled into the float accumulators.
template <bool kQ6, int NT, int P>
R1_AVX512 void tile_avx512_body(const PackedTile& p, const BlockQ8Act* a, int64_t na, const float* ad,
                                const float* ads, const int32_t* bs, float* out) {
  constexpr int kSteps = kQ6 ? 4 : 8;
  __m512 acc[P][NT];
  for (int t = 0; t < NT; ++t)
    for (int v = 0; v < P; ++v) acc[v][t] = _mm512_setzero_ps();
  const uint8_t* q = p.q.data();
  for (int64_t g = 0; g < (kQ6 ? 2 * na : na); ++g, q += 128 * kSteps) {
    const int64_t blk = kQ6 ? g / 2 : g;
    const int off = kQ6 ? 16 * int(g & 1) : 0;
    __m512i is[P][NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t)
      for (int v = 0; v < P; ++v)
        is[v][t] = kQ6 ? _mm512_set1_epi32(bs[2 * (t * na + blk) + (g & 1)]) : _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int s = 0; s < kSteps; ++s) {
      __m512i wv[P];
      for (int v = 0; v < P; ++v) wv[v] = _mm512_loadu_si512(q + 128 * s + 64 * v);
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) {
        const __m512i av = _mm512_set1_epi32(int(load32(a[t * na + blk].qs + off + 4 * s)));
        for (int v = 0; v < P; ++v) is[v][t] = _mm512_dpbusd_epi32(is[v][t], wv[v], av);
      }
    }
    __m512 sc[P], mn[P];
    for (int v = 0; v < P; ++v) {
      sc[v] = _mm512_loadu_ps(p.sc.data() + 32 * g + 16 * v);
      if (!kQ6) mn[v] = _mm512_loadu_ps(p.mn.data() + 32 * g + 16 * v);
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const __m512 da = _mm512_set1_ps(ad[t * na + blk]);
      for (int v = 0; v < P; ++v) {
        acc[v][t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(is[v][t]), da), sc[v], acc[v][t]);
        if (!kQ6) acc[v][t] = _mm512_fnmadd_ps(mn[v], _mm512_set1_ps(ads[t * na + blk]), acc[v][t]);
      }
    }
  }
  for (int t = 0; t < NT; ++t)
    for (int v = 0; v < P; ++v) _mm512_storeu_ps(out + 32 * t + 16 * v, acc[v][t]);
}

// Activation rows per micro-kernel call: 2 x 6 float and 2 x 6 int32 accumulators + 2 weight vectors use 26 of
// the 32 zmm registers (no spills at -O2 / -O3).
constexpr int kNt512 = 6;

template <bool kQ6, int P>
R1_AVX512 void tile_avx512_p(const PackedTile& p, const BlockQ8Act* a, int64_t na, const float* ad,
                             const float* ads, const int32_t* bs, int nt, float* out) {
  switch (nt) {
    case 1: return tile_avx512_body<kQ6, 1, P>(p, a, na, ad, ads, bs, out);
    case 2: return tile_avx512_body<kQ6, 2, P>(p, a, na, ad, ads, bs, out);
    case 3: return tile_avx512_body<kQ6, 3, P>(p, a, na, ad, ads, bs, out);
    case 4: return tile_avx512_body<kQ6, 4, P>(p, a, na, ad, ads, bs, out);
    case 5: return tile_avx512_body<kQ6, 5, P>(p, a, na, ad, ads, bs, out);
    default: return tile_avx512_body<kQ6, kNt512, P>(p, a, na, ad, ads, bs, out);
  }
}

template <bool kQ6>
R1_AVX512 void tile_avx512(const PackedTile& p, const BlockQ8Act* a, int64_t na, const float* ad, const float* ads,
                           const int32_t* bs, int nt, int panels, float* out) {
  if (panels == 2) tile_avx512_p<kQ6, 2>(p, a, na, ad, ads, bs, nt, out);
  else tile_avx512_p<kQ6, 1>(p, a, na, ad, ads, bs, nt, out);
}

// ---------------------------------------------------------------------------------------------------------------
// AVX2 path (Haswell and later, Zen): the same kernels on 256-bit vectors. The u8 x s8 dot product is AVX-VNNI's
// vpdpbusd where the CPU has it (Alder Lake, Sapphire Rapids, Zen 5), else vpmaddubsw + vpmaddwd (no
// saturation: |q| <= 63 and |q_a| <= 128, so a pair sums to at most 16128). VNNI goes through inline asm so the
// plain-AVX2 instantiations are compiled without the avxvnni target.

template <bool kVnni>
R1_AVX2 inline __m256i dot_u8s8(__m256i acc, __m256i w, __m256i a) {
  if constexpr (kVnni) {
    asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(w), "x"(a));
    return acc;
  } else {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1)));
  }
}

template <bool kVnni>
R1_AVX2 void gemv_q4_k_avx2(const void* const* rows, const BlockQ8Act* a, const float* ad, const float* ads,
                            int64_t nb, float* out) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256 acc[4], accm[4];
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) acc[i] = accm[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b, a += 8) {
    const __m256 ad8 = _mm256_loadu_ps(ad + 8 * b), ads8 = _mm256_loadu_ps(ads + 8 * b);
#pragma GCC unroll 8
    for (int i = 0; i < 4; ++i) {
      const BlockQ4_K& blk = static_cast<const BlockQ4_K*>(rows[i])[b];
      prefetch_next_rows(&blk, nb);
      const __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128(int(load32(&blk))));
      uint64_t sc, m;
      q4_k_scales8(blk.scales, &sc, &m);
      const __m256 scf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(sc))));
      const __m256 mf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(m))));
      const __m256 s8 = _mm256_mul_ps(scf, _mm256_mul_ps(_mm256_broadcastss_ps(dd), ad8));
      accm[i] = _mm256_fmadd_ps(mf, _mm256_mul_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(dd)), ads8), accm[i]);
#pragma GCC unroll 8
      for (int c = 0; c < 4; ++c) {
        const __m256i qv = load256(blk.qs + 32 * c);
        const __m256i xl = dot_u8s8<kVnni>(_mm256_setzero_si256(), _mm256_and_si256(qv, m4), load256(a[2 * c].qs));
        const __m256i xh = dot_u8s8<kVnni>(_mm256_setzero_si256(), _mm256_and_si256(_mm256_srli_epi16(qv, 4), m4),
                                           load256(a[2 * c + 1].qs));
        acc[i] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(xl), _mm256_permutevar8x32_ps(s8, _mm256_set1_epi32(2 * c)), acc[i]);
        acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(xh), _mm256_permutevar8x32_ps(s8, _mm256_set1_epi32(2 * c + 1)),
                                 acc[i]);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) out[i] = hsum256_avx2(acc[i]) - hsum256_avx2(accm[i]);
}

template <bool kVnni>
R1_AVX2 void gemv_q6_k_avx2(const void* const* rows, const BlockQ8Act* a, const float* ad, const float*, int64_t nb,
                            float* out) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3), c32 = _mm256_set1_epi8(32);
  const __m256i pair = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  __m256 acc[4];
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b, a += 8) {
    __m256i corr[8];  // 32 * (sums of 4 activation quants): the q - 32 offset
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) corr[j] = dot_u8s8<kVnni>(_mm256_setzero_si256(), c32, load256(a[j].qs));
#pragma GCC unroll 8
    for (int i = 0; i < 4; ++i) {
      const BlockQ6_K& blk = static_cast<const BlockQ6_K*>(rows[i])[b];
      prefetch_next_rows(&blk, nb);
      const __m256 d = _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(blk.d))));
#pragma GCC unroll 8
      for (int h = 0; h < 2; ++h) {
        const __m128i sc8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk.scales + 8 * h));
        const __m256 sv = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc8)), d);
        const __m256i qh = load256(blk.qh + 32 * h);
#pragma GCC unroll 8
        for (int k = 0; k < 4; ++k) {
          const __m256i ql = load256(blk.ql + 64 * h + 32 * (k & 1));
          const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(ql, 4 * (k >> 1)), m4);
          const __m256i hi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m3), 4);
          const int j = 4 * h + k;
          const __m256i x = _mm256_sub_epi32(
              dot_u8s8<kVnni>(_mm256_setzero_si256(), _mm256_or_si256(lo, hi), load256(a[j].qs)), corr[j]);
          const __m256 s = _mm256_permutevar8x32_ps(sv, _mm256_add_epi32(pair, _mm256_set1_epi32(2 * k)));
          acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(x), _mm256_set1_ps(ad[8 * b + j])), s, acc[i]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) out[i] = hsum256_avx2(acc[i]);
}

// GEMM micro-kernel: one half (16 rows = two ymm) of a packed tile x NT activation rows.
template <bool kVnni, bool kQ6, int NT>
R1_AVX2 void tile_half_avx2(const PackedTile& p, int half, const BlockQ8Act* a, int64_t na, const float* ad,
                            const float* ads, const int32_t* bs, float* out) {
  __m256 acc0[NT], acc1[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
  const uint8_t* q = p.q.data() + 64 * half;
  constexpr int kSteps = kQ6 ? 4 : 8;  // 4-input steps per sub-block
  const int64_t nsub = kQ6 ? 2 * na : na;
  for (int64_t g = 0; g < nsub; ++g, q += 128 * kSteps) {
    const int64_t blk = kQ6 ? g / 2 : g;
    const int off = kQ6 ? 16 * int(g & 1) : 0;
    __m256i i0[NT], i1[NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t)
      i0[t] = i1[t] = kQ6 ? _mm256_set1_epi32(bs[2 * (t * na + blk) + (g & 1)]) : _mm256_setzero_si256();
    // Without VNNI, vpmaddubsw's int16 pair sums (|.| <= 2 * q_max * 128) are added in int16 over kGroup steps —
    // 8 * 3840 (Q4_K) and 2 * 16128 (Q6_K) stay below 32768 — then widened by one vpmaddwd.
    constexpr int kGroup = kVnni ? kSteps : (kQ6 ? 2 : 8);
#pragma GCC unroll 8
    for (int s0 = 0; s0 < kSteps; s0 += kGroup) {
      __m256i h0[NT], h1[NT];
#pragma GCC unroll 8
      for (int s = s0; s < s0 + kGroup; ++s) {
        const __m256i w0 = load256(q + 128 * s), w1 = load256(q + 128 * s + 32);
#pragma GCC unroll 8
        for (int t = 0; t < NT; ++t) {
          const __m256i av = _mm256_set1_epi32(int(load32(a[t * na + blk].qs + off + 4 * s)));
          if constexpr (kVnni) {
            i0[t] = dot_u8s8<true>(i0[t], w0, av);
            i1[t] = dot_u8s8<true>(i1[t], w1, av);
          } else {
            const __m256i p0 = _mm256_maddubs_epi16(w0, av), p1 = _mm256_maddubs_epi16(w1, av);
            h0[t] = s == s0 ? p0 : _mm256_add_epi16(h0[t], p0);
            h1[t] = s == s0 ? p1 : _mm256_add_epi16(h1[t], p1);
          }
        }
      }
      if constexpr (!kVnni) {
#pragma GCC unroll 8
        for (int t = 0; t < NT; ++t) {
          i0[t] = _mm256_add_epi32(i0[t], _mm256_madd_epi16(h0[t], _mm256_set1_epi16(1)));
          i1[t] = _mm256_add_epi32(i1[t], _mm256_madd_epi16(h1[t], _mm256_set1_epi16(1)));
        }
      }
    }
    const float* sc = p.sc.data() + g * 32 + 16 * half;
    const __m256 sc0 = _mm256_loadu_ps(sc), sc1 = _mm256_loadu_ps(sc + 8);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const __m256 da = _mm256_set1_ps(ad[t * na + blk]);
      acc0[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(i0[t]), da), sc0, acc0[t]);
      acc1[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(i1[t]), da), sc1, acc1[t]);
    }
    if constexpr (!kQ6) {
      const float* mn = p.mn.data() + g * 32 + 16 * half;
      const __m256 mn0 = _mm256_loadu_ps(mn), mn1 = _mm256_loadu_ps(mn + 8);
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) {
        const __m256 ds = _mm256_set1_ps(ads[t * na + blk]);
        acc0[t] = _mm256_fnmadd_ps(mn0, ds, acc0[t]);
        acc1[t] = _mm256_fnmadd_ps(mn1, ds, acc1[t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t)
    _mm256_storeu_ps(out + 32 * t + 16 * half, acc0[t]), _mm256_storeu_ps(out + 32 * t + 16 * half + 8, acc1[t]);
}

template <bool kVnni, bool kQ6>
R1_AVX2 void tile_avx2(const PackedTile& p, const BlockQ8Act* a, int64_t na, const float* ad, const float* ads,
                       const int32_t* bs, int nt, int panels, float* out) {
  for (int half = 0; half < panels; ++half) {
    if constexpr (kVnni)
      if (nt == 3) {
        tile_half_avx2<kVnni, kQ6, 3>(p, half, a, na, ad, ads, bs, out);
        continue;
      }
    if (nt >= 2) tile_half_avx2<kVnni, kQ6, 2>(p, half, a, na, ad, ads, bs, out);
    else tile_half_avx2<kVnni, kQ6, 1>(p, half, a, na, ad, ads, bs, out);
  }
}

// Packing 32 rows (rows past r_end repeat row r_end - 1) into PackedTile: 8 rows at a time, each 32-byte run of
// a row's quants is one ymm, and an 8 x 8 transpose of 32-bit words turns 8 rows x 8 steps into 8 steps x 8 rows.
R1_AVX2 inline void transpose8x8(__m256i r[8]) {
  __m256i t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    u[4 * i + 0] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
  }
}

// dst[k * stride] = word k of rows row[0..7] at byte offset off (8 words each).
R1_AVX2 inline void load_transposed(const uint8_t* const* row, size_t off, __m256i v[8]) {
  for (int i = 0; i < 8; ++i) v[i] = load256(row[i] + off);
  transpose8x8(v);
}

R1_AVX2 inline void store_floats_transposed(__m256 v[8], float* dst, size_t stride) {
  __m256i* vi = reinterpret_cast<__m256i*>(v);
  transpose8x8(vi);
  for (int k = 0; k < 8; ++k) _mm256_storeu_ps(dst + k * stride, _mm256_castsi256_ps(vi[k]));
}

R1_AVX2 void pack_q4_k_avx2(const void* w, int64_t nb, int64_t r, int64_t r_end, PackedTile& p) {
  const int64_t na = nb * 8;
  p.q.resize(size_t(na * 1024)), p.sc.resize(size_t(na * 32)), p.mn.resize(size_t(na * 32));
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  for (int g = 0; g < 4; ++g) {  // rows 8g .. 8g + 7
    const uint8_t* row[8];
    for (int i = 0; i < 8; ++i)
      row[i] = static_cast<const uint8_t*>(w) + size_t(std::min(r + 8 * g + i, r_end - 1) * nb) * sizeof(BlockQ4_K);
    for (int64_t b = 0; b < nb; ++b) {
      __m256 sc[8], mn[8];
      for (int i = 0; i < 8; ++i) {
        const BlockQ4_K& blk = reinterpret_cast<const BlockQ4_K*>(row[i])[b];
        const __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128(int(load32(&blk))));
        uint64_t s8, m8;
        q4_k_scales8(blk.scales, &s8, &m8);
        sc[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(s8)))),
                              _mm256_broadcastss_ps(dd));
        mn[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(m8)))),
                              _mm256_broadcastss_ps(_mm_movehdup_ps(dd)));
      }
      store_floats_transposed(sc, p.sc.data() + 8 * b * 32 + 8 * g, 32);
      store_floats_transposed(mn, p.mn.data() + 8 * b * 32 + 8 * g, 32);
      uint8_t* q = p.q.data() + 8 * b * 1024 + 32 * g;
      for (int c = 0; c < 4; ++c) {  // 32 bytes: sub-block 2c in the low nibbles, 2c + 1 in the high
        __m256i v[8];
        load_transposed(row, size_t(b) * sizeof(BlockQ4_K) + 16 + 32 * c, v);
#pragma GCC unroll 8
        for (int s = 0; s < 8; ++s) {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + (2 * c * 8 + s) * 128), _mm256_and_si256(v[s], m4));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + ((2 * c + 1) * 8 + s) * 128),
                              _mm256_and_si256(_mm256_srli_epi16(v[s], 4), m4));
        }
      }
    }
  }
}

R1_AVX2 void pack_q6_k_avx2(const void* w, int64_t nb, int64_t r, int64_t r_end, PackedTile& p) {
  const int64_t na = nb * 8;
  p.q.resize(size_t(na * 1024)), p.sc.resize(size_t(na * 64));
  const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
  for (int g = 0; g < 4; ++g) {
    const uint8_t* row[8];
    for (int i = 0; i < 8; ++i)
      row[i] = static_cast<const uint8_t*>(w) + size_t(std::min(r + 8 * g + i, r_end - 1) * nb) * sizeof(BlockQ6_K);
    for (int64_t b = 0; b < nb; ++b) {
      __m256 lo[8], hi[8];
      for (int i = 0; i < 8; ++i) {
        const BlockQ6_K& blk = reinterpret_cast<const BlockQ6_K*>(row[i])[b];
        const __m256 d = _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(blk.d))));
        const __m128i s16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales));
        lo[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(s16)), d);
        hi[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(s16, s16))), d);
      }
      store_floats_transposed(lo, p.sc.data() + 16 * b * 32 + 8 * g, 32);
      store_floats_transposed(hi, p.sc.data() + (16 * b + 8) * 32 + 8 * g, 32);
      uint8_t* q = p.q.data() + 8 * b * 1024 + 32 * g;
      const size_t base = size_t(b) * sizeof(BlockQ6_K);
      for (int h = 0; h < 2; ++h) {
        __m256i l0[8], l1[8], hb[8];
        load_transposed(row, base + 64 * h, l0);
        load_transposed(row, base + 64 * h + 32, l1);
        load_transposed(row, base + 128 + 32 * h, hb);
#pragma GCC unroll 8
        for (int s = 0; s < 8; ++s) {  // activation block 4h + k: k = 0, 1 low nibbles, k = 2, 3 high; 2 qh bits each
          const __m256i out[4] = {
              _mm256_or_si256(_mm256_and_si256(l0[s], m4), _mm256_and_si256(_mm256_slli_epi32(hb[s], 4), m30)),
              _mm256_or_si256(_mm256_and_si256(l1[s], m4), _mm256_and_si256(_mm256_slli_epi32(hb[s], 2), m30)),
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(l0[s], 4), m4), _mm256_and_si256(hb[s], m30)),
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(l1[s], 4), m4),
                              _mm256_and_si256(_mm256_srli_epi32(hb[s], 2), m30))};
          for (int k = 0; k < 4; ++k)
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + ((4 * h + k) * 8 + s) * 128), out[k]);
        }
      }
    }
  }
}

// CPUID leaf 7 feature bits (the compilers' __builtin_cpu_supports do not all know the VNNI names); the OS
// support for the wider registers is what __builtin_cpu_supports("avx2" / "avx512f") checks.
bool cpuid7_bit(unsigned subleaf, int reg, int bit) {
  unsigned r[4];
  if (!__get_cpuid_count(7, subleaf, &r[0], &r[1], &r[2], &r[3])) return false;
  return (r[reg] >> bit) & 1;
}
bool cpu_has_f16c() {
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && ((c >> 29) & 1);  // ECX bit 29
}
bool cpu_has_avxvnni() { return __builtin_cpu_supports("avx2") && cpuid7_bit(1, 0, 4); }         // EAX bit 4
bool cpu_has_avx512vnni() { return __builtin_cpu_supports("avx512f") && cpuid7_bit(0, 2, 11); }  // ECX bit 11
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
