// x86 paths of the Q8_0 / Q4_0 kernels (kernels/quant_dot.h), each compiled for its own instruction set with
// `#pragma GCC target` (the rest of the binary stays baseline x86-64) and chosen at run time by quant_dot_q8.cc.
//   O weight rows (r), I inputs, T activation rows (t), nb = I / 32 blocks per row.
//
// AVX2 and AVX-VNNI run the 256-bit kernels of quant_dot_x86.inc; AVX-512 VNNI has two shapes of its own:
// - Decode (T < kGemmMinT) streams each weight row once as stored, 4 rows at a time, 2 (Q8_0) or 4 (Q4_0)
//   blocks per vpdpbusd, prefetching the next 4 rows as it goes: it runs at the memory's read rate.
// - Prefill packs a tile of 16 weight rows once into unsigned bytes laid out [block][4-input group][16 rows]
//   [4 inputs] (PackedBlock) and runs a register tile of 16 rows x kNT activation rows over it, the tile reused
//   by every activation row: per block and group one 64-byte weight load, then per activation row one 4-byte
//   broadcast and one vpdpbusd (16 rows x 4 inputs); per block and activation row an int32 init and
//   cvt * (d_w x d_a) into f32.
// vpdpbusd multiplies unsigned by signed bytes: Q8_0 weights become q + 128 and Q4_0's nibbles are 0..15, so
// each block's dot product carries a surplus of (128 or 8) * sum_a, which both shapes take off exactly.
#if defined(__x86_64__)

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the deliberately undefined inputs inside its own AVX-512 intrinsics (_mm512_undefined_*).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/quant_dot_impl.h"

#define R1_QD_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define R1_QD_TARGET_BEGIN(t) R1_QD_PRAGMA(clang attribute push(__attribute__((target(t))), apply_to = function))
#define R1_QD_TARGET_END R1_QD_PRAGMA(clang attribute pop)
#else
#define R1_QD_TARGET_BEGIN(t) R1_QD_PRAGMA(GCC push_options) R1_QD_PRAGMA(GCC target(t))
#define R1_QD_TARGET_END R1_QD_PRAGMA(GCC pop_options)
#endif

namespace r1::kernels::qdot {

// ---- AVX2 and AVX-VNNI: quant_dot_x86.inc ----

R1_QD_TARGET_BEGIN("avx2,fma,f16c")
#define R1_QD_NS avx2
#define R1_QD_ISA 0
#define R1_QD_KT 2
#include "kernels/quant_dot_x86.inc"
#undef R1_QD_NS
#undef R1_QD_ISA
#undef R1_QD_KT
void q8_0_avx2(const QArgs& a) {
  avx2::run<false>(a);
}
void q4_0_avx2(const QArgs& a) {
  avx2::run<true>(a);
}
R1_QD_TARGET_END

R1_QD_TARGET_BEGIN("avx2,fma,f16c,avxvnni")
#define R1_QD_NS avxvnni
#define R1_QD_ISA 1
#define R1_QD_KT 2
#include "kernels/quant_dot_x86.inc"
#undef R1_QD_NS
#undef R1_QD_ISA
#undef R1_QD_KT
void q8_0_avxvnni(const QArgs& a) {
  avxvnni::run<false>(a);
}
void q4_0_avxvnni(const QArgs& a) {
  avxvnni::run<true>(a);
}
R1_QD_TARGET_END

// ---- AVX-512 VNNI: rows as stored for decode, packed 16-row tiles for prefill ----

R1_QD_TARGET_BEGIN("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")

namespace avx512 {
namespace {

constexpr int64_t kGemmMinT = 3;  // below this the packing costs more than it saves
constexpr int kTileRows = 16;     // one zmm of int32 / f32 lanes
constexpr int kNT = 8;            // activation rows per register tile: 8 weight + 8 int + 8 f32 accumulators
constexpr int64_t kKc = 64;       // blocks per K chunk: a 36 KiB slice of the packed tile stays in L1 / L2

struct alignas(64) PackedBlock {
  __m512i q[8];  // group g, lane r: the 4 unsigned weights of row r paired with activation bytes 4g .. 4g + 3
  __m512 d;      // lane r: d_w of row r
};

inline int32_t load32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline __m128i ld16(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
inline __m256i ld32(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// ---- Decode: rows as stored, 2 (Q8_0) or 4 (Q4_0) blocks per vpdpbusd ----
//
// Per call, the activation rows are laid out for 64-byte loads (GemvActs): Q8_0 as the plain 32-byte quants
// of consecutive blocks; Q4_0 in groups of 4 blocks, first their quants 0..15, then 16..31, matching the
// weight vector [nibbles of 4 blocks] & 0xF (quants 0..15 of each) and >> 4 (16..31). Weights are unsigned
// (Q8_0's q + 128), and the surplus bias * sum_a per block is taken off at the end as bias * Σ_b d_w d_a
// sum_a, accumulated 8 blocks at a time from the same scale vector. Each int32 lane belongs to one block; its
// scale d_w d_a comes from a vector of 8 block scales by one permute.

struct GemvActs {
  const int8_t* q;   // [T][stride * 32]
  const float* d;    // [T][stride]: d_a, zero past nb
  const float* sum;  // [T][stride]: sum_a
  int64_t stride;    // nb rounded up to 8
};

template <bool kQ4>
GemvActs gemv_acts(const BlockQ8Act* x, int64_t T, int64_t nb) {
  thread_local std::vector<int8_t> qbuf;  // grow once per thread, then reused
  thread_local std::vector<float> fbuf;
  const int64_t stride = (nb + 7) / 8 * 8;
  if (qbuf.size() < size_t(T * stride * 32)) qbuf.resize(size_t(T * stride * 32));
  if (fbuf.size() < size_t(2 * T * stride)) fbuf.resize(size_t(2 * T * stride));
  int8_t* q = qbuf.data();
  float* d = fbuf.data();
  float* sum = d + T * stride;
  const int64_t pad_from = kQ4 ? nb / 4 * 128 : nb * 32;  // bytes of a row before the first padding block
  for (int64_t t = 0; t < T; ++t) {
    std::memset(q + t * stride * 32 + pad_from, 0, size_t(stride * 32 - pad_from));
    for (int64_t b = 0; b < stride; ++b) {
      const bool in = b < nb;
      d[t * stride + b] = in ? x[t * nb + b].d : 0.0f;
      sum[t * stride + b] = in ? float(x[t * nb + b].sum) : 0.0f;
      if (!in) continue;
      int8_t* lo = q + t * stride * 32 + (kQ4 ? (b / 4) * 128 + (b % 4) * 16 : b * 32);
      std::memcpy(lo, x[t * nb + b].qs, 16);
      std::memcpy(lo + (kQ4 ? 64 : 16), x[t * nb + b].qs + 16, 16);
    }
  }
  return {q, d, sum, stride};
}

// The f16 d_w of the 8 blocks starting at p, picked out of the 64-byte lines that hold them with word
// permutes (neither gathers nor byte stores read back as a vector: both cost more than the dot products they
// serve). A full group only: the loads cover 256 (Q8_0) or 128 (Q4_0) of its 272 or 144 bytes.
template <bool kQ4>
inline __m128i group_scales(const uint8_t* p) {
  // Word k of the result is word 17k (Q8_0, 34-byte blocks; two tables of 4) or 9k (Q4_0, 18-byte blocks).
  alignas(64) static constexpr uint16_t kQ8Idx[32] = {0, 17, 34, 51, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                      4, 21, 38, 55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  alignas(64) static constexpr uint16_t kQ4Idx[32] = {0, 9, 18, 27, 36, 45, 54, 63};
  const __m512i z0 = _mm512_loadu_si512(p), z1 = _mm512_loadu_si512(p + 64);
  if constexpr (kQ4) {
    return _mm512_castsi512_si128(_mm512_permutex2var_epi16(z0, _mm512_load_si512(kQ4Idx), z1));
  } else {
    const __m512i z2 = _mm512_loadu_si512(p + 128), z3 = _mm512_loadu_si512(p + 192);
    const __m512i lo = _mm512_permutex2var_epi16(
        z0, _mm512_castsi256_si512(_mm256_load_si256(reinterpret_cast<const __m256i*>(kQ8Idx))), z1);
    const __m512i hi = _mm512_permutex2var_epi16(
        z2, _mm512_castsi256_si512(_mm256_load_si256(reinterpret_cast<const __m256i*>(kQ8Idx + 16))), z3);
    return _mm_unpacklo_epi64(_mm512_castsi512_si128(lo), _mm512_castsi512_si128(hi));
  }
}

// The same for the last, partial group of n < 8 blocks (zeros past it).
inline __m128i tail_scales(const uint8_t* p, int64_t bs, int64_t n) {
  alignas(16) uint16_t h[8] = {};
  for (int64_t k = 0; k < n; ++k) std::memcpy(&h[k], p + k * bs, 2);
  return _mm_load_si128(reinterpret_cast<const __m128i*>(h));
}

// 32 (Q8_0) or 16 (Q4_0) quant bytes of block b, zeros past the row's last block.
inline __m256i block_q8(const uint8_t* row, int64_t b, int64_t nb) {
  return b < nb ? ld32(row + b * int64_t(sizeof(BlockQ8_0)) + 2) : _mm256_setzero_si256();
}
inline __m128i block_q4(const uint8_t* row, int64_t b, int64_t nb) {
  return b < nb ? ld16(row + b * int64_t(sizeof(BlockQ4_0)) + 2) : _mm_setzero_si128();
}

// Weight rows [0, kR) (stride rb) against one activation row: y[i] for row i. kTail: the last, partial group
// of 8 blocks, where loads past nb must not happen.
template <bool kQ4, int kR, bool kTail>
inline void gemv_group(const uint8_t* w, int64_t rb, int64_t nb, int64_t b0, const int8_t* xq, const __m256 (&s8)[kR],
                       __m512 (&acc)[kR]) {
  const __m512i c80 = _mm512_set1_epi8(char(0x80)), c0f = _mm512_set1_epi8(0x0F);
  if constexpr (kQ4) {
    for (int g = 0; g < 2; ++g) {
      const int64_t b = b0 + 4 * g;
      if (kTail && b >= nb) break;
      const __m512i xlo = _mm512_loadu_si512(xq + b * 32), xhi = _mm512_loadu_si512(xq + b * 32 + 64);
      const __m512i idx =
          _mm512_add_epi32(_mm512_set1_epi32(4 * g), _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
      for (int i = 0; i < kR; ++i) {
        const uint8_t* row = w + i * rb;
        __m512i n;
        if constexpr (kTail) {
          n = _mm512_castsi128_si512(block_q4(row, b, nb));
          n = _mm512_inserti32x4(n, block_q4(row, b + 1, nb), 1);
          n = _mm512_inserti32x4(n, block_q4(row, b + 2, nb), 2);
          n = _mm512_inserti32x4(n, block_q4(row, b + 3, nb), 3);
        } else {
          const uint8_t* q = row + b * int64_t(sizeof(BlockQ4_0)) + 2;
          n = _mm512_inserti32x4(_mm512_castsi128_si512(ld16(q)), ld16(q + sizeof(BlockQ4_0)), 1);
          n = _mm512_inserti32x4(_mm512_inserti32x4(n, ld16(q + 2 * sizeof(BlockQ4_0)), 2),
                                 ld16(q + 3 * sizeof(BlockQ4_0)), 3);
        }
        __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(n, c0f), xlo);
        p = _mm512_dpbusd_epi32(p, _mm512_and_si512(_mm512_srli_epi16(n, 4), c0f), xhi);
        const __m512 s = _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(s8[i]));
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), s, acc[i]);
      }
    }
  } else {
    for (int g = 0; g < 4; ++g) {
      const int64_t b = b0 + 2 * g;
      if (kTail && b >= nb) break;
      const __m512i x = _mm512_loadu_si512(xq + b * 32);
      const __m512i idx =
          _mm512_add_epi32(_mm512_set1_epi32(2 * g), _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
      for (int i = 0; i < kR; ++i) {
        const uint8_t* row = w + i * rb;
        // Past the last block (kTail only) both sides are zero.
        const __m256i q0 = block_q8(row, b, kTail ? nb : b + 1), q1 = block_q8(row, b + 1, kTail ? nb : b + 2);
        const __m512i u = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1), c80);
        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, x);
        const __m512 s = _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(s8[i]));
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), s, acc[i]);
      }
    }
  }
}

// Weight rows [0, kR) (stride rb) against activation row t: y[i] for row i. pf: the next kR rows, prefetched
// into L2 in step with this pass over the current ones (the rows of a group sit side by side in memory but
// are read as kR interleaved streams, which the hardware prefetchers follow less well than one).
template <bool kQ4, int kR>
void gemv_rows(const uint8_t* w, int64_t rb, int64_t nb, const GemvActs& xa, int64_t t, float* y, const uint8_t* pf) {
  constexpr int64_t bs = kQ4 ? int64_t(sizeof(BlockQ4_0)) : int64_t(sizeof(BlockQ8_0));
  constexpr float kBias = kQ4 ? 8.0f : 128.0f;
  const int8_t* xq = xa.q + t * xa.stride * 32;
  const float* xd = xa.d + t * xa.stride;
  const float* xs = xa.sum + t * xa.stride;
  __m512 acc[kR];
  __m256 off[kR];
  for (int i = 0; i < kR; ++i) acc[i] = _mm512_setzero_ps(), off[i] = _mm256_setzero_ps();
  for (int64_t b0 = 0; b0 < nb; b0 += 8) {
    const bool full = b0 + 8 <= nb;
    if (pf != nullptr) {
      const int64_t end = std::min(kR * rb, kR * (b0 + 8) * bs);
      for (int64_t o = kR * b0 * bs; o < end; o += 64) _mm_prefetch(reinterpret_cast<const char*>(pf + o), _MM_HINT_T1);
    }
    __m256 s8[kR];
    const __m256 d = _mm256_loadu_ps(xd + b0), sum = _mm256_loadu_ps(xs + b0);
    for (int i = 0; i < kR; ++i) {
      const uint8_t* p = w + i * rb + b0 * bs;
      s8[i] = _mm256_mul_ps(_mm256_cvtph_ps(full ? group_scales<kQ4>(p) : tail_scales(p, bs, nb - b0)), d);
      off[i] = _mm256_fmadd_ps(s8[i], sum, off[i]);
    }
    if (full)
      gemv_group<kQ4, kR, false>(w, rb, nb, b0, xq, s8, acc);
    else
      gemv_group<kQ4, kR, true>(w, rb, nb, b0, xq, s8, acc);
  }
  for (int i = 0; i < kR; ++i) {
    __m128 o = _mm_add_ps(_mm256_castps256_ps128(off[i]), _mm256_extractf128_ps(off[i], 1));
    o = _mm_add_ps(o, _mm_movehl_ps(o, o));
    o = _mm_add_ss(o, _mm_movehdup_ps(o));
    y[i] = _mm512_reduce_add_ps(acc[i]) - kBias * _mm_cvtss_f32(o);
  }
}

template <bool kQ4>
void gemv(const QArgs& a) {
  const int64_t nb = a.I / kQK;
  const int64_t rb = nb * (kQ4 ? int64_t(sizeof(BlockQ4_0)) : int64_t(sizeof(BlockQ8_0)));
  const GemvActs xa = gemv_acts<kQ4>(a.acts, a.T, nb);
  int64_t r = a.r0;
  for (; r + 4 <= a.r1; r += 4) {
    const uint8_t* next = r + 8 <= a.r1 ? a.w + (r + 4) * rb : nullptr;
    for (int64_t t = 0; t < a.T; ++t)  // a second activation row finds the 4 rows in L1 / L2
      gemv_rows<kQ4, 4>(a.w + r * rb, rb, nb, xa, t, a.y + t * a.ldy + r, t == 0 ? next : nullptr);
  }
  for (; r < a.r1; ++r)
    for (int64_t t = 0; t < a.T; ++t) gemv_rows<kQ4, 1>(a.w + r * rb, rb, nb, xa, t, a.y + t * a.ldy + r, nullptr);
}

// ---- Prefill: packed 16-row tiles ----

// Packs rows [0, nrows) of the tile starting at w (rows beyond nrows repeat the last; their lanes are never
// stored): a 16-row x 8-dword (Q8_0) or 16 x 4 (Q4_0) transpose per block in registers. The 16 scales come by
// one gather of 4 bytes inside each block.
template <bool kQ4>
void pack_tile(const uint8_t* w, int64_t rb, int nrows, int64_t nb, PackedBlock* out) {
  constexpr int64_t bs = kQ4 ? int64_t(sizeof(BlockQ4_0)) : int64_t(sizeof(BlockQ8_0));
  const uint8_t* row[kTileRows];
  for (int r = 0; r < kTileRows; ++r) row[r] = w + std::min(r, nrows - 1) * rb + 2;  // the quants
  const __m512i idx =
      _mm512_mullo_epi32(_mm512_min_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(nrows - 1)),
                         _mm512_set1_epi32(int32_t(rb)));
  const __m512i x80 = _mm512_set1_epi8(char(0x80)), nib = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0, o = 0; b < nb; ++b, o += bs) {
    PackedBlock& pb = out[b];
    pb.d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_i32gather_epi32(idx, w + o, 1)));
    if constexpr (kQ4) {
      // z[k], 128-bit chunk c: the 4 nibble dwords of row k + 4c. Per chunk a 4 x 4 transpose leaves dword j
      // of rows 4c .. 4c + 3 in chunk c of u[j]: lane r = row r.
      __m512i z[4];
      for (int k = 0; k < 4; ++k) {
        z[k] = _mm512_inserti32x4(_mm512_castsi128_si512(ld16(row[k] + o)), ld16(row[k + 4] + o), 1);
        z[k] = _mm512_inserti32x4(_mm512_inserti32x4(z[k], ld16(row[k + 8] + o), 2), ld16(row[k + 12] + o), 3);
      }
      const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
      const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
      const __m512i u[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2), _mm512_unpacklo_epi64(t1, t3),
                            _mm512_unpackhi_epi64(t1, t3)};
      for (int j = 0; j < 4; ++j) {
        pb.q[j] = _mm512_and_si512(u[j], nib);                            // q[4j .. 4j + 3]
        pb.q[j + 4] = _mm512_and_si512(_mm512_srli_epi32(u[j], 4), nib);  // q[16 + 4j .. 16 + 4j + 3]
      }
    } else {
      // z[k]: row k (low half) and row k + 8 (high half). Per half an 8 x 8 transpose, as for AVX2: unpacks
      // within 128-bit chunks, then chunks regrouped so that lane r of q[g] is dword g of row r.
      __m512i z[8];
      for (int k = 0; k < 8; ++k)
        z[k] = _mm512_inserti64x4(_mm512_castsi256_si512(ld32(row[k] + o)), ld32(row[k + 8] + o), 1);
      __m512i t[8], u[8];
      for (int k = 0; k < 8; k += 2) {
        t[k] = _mm512_unpacklo_epi32(z[k], z[k + 1]);
        t[k + 1] = _mm512_unpackhi_epi32(z[k], z[k + 1]);
      }
      for (int k = 0; k < 8; k += 4) {  // u[k + j]: dwords j and j + 4 of rows k .. k + 3 (and their + 8)
        u[k + 0] = _mm512_unpacklo_epi64(t[k], t[k + 2]);
        u[k + 1] = _mm512_unpackhi_epi64(t[k], t[k + 2]);
        u[k + 2] = _mm512_unpacklo_epi64(t[k + 1], t[k + 3]);
        u[k + 3] = _mm512_unpackhi_epi64(t[k + 1], t[k + 3]);
      }
      const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13),
                    hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
      for (int j = 0; j < 4; ++j) {
        pb.q[j] = _mm512_xor_si512(_mm512_permutex2var_epi64(u[j], lo, u[j + 4]), x80);
        pb.q[j + 4] = _mm512_xor_si512(_mm512_permutex2var_epi64(u[j], hi, u[j + 4]), x80);
      }
    }
  }
}

// acc[t] (lane r) += Σ over nk blocks of row r of the packed tile against activation row t. x and init point
// at the chunk's first block of activation row 0; rows are nb apart.
template <int NT>
inline void micro_tile(const PackedBlock* pb, int64_t nk, const BlockQ8Act* x, const int32_t* init, int64_t nb,
                       __m512 (&acc)[NT]) {
  for (int64_t k = 0; k < nk; ++k) {
    const PackedBlock& p = pb[k];
    __m512i s[NT];
    for (int t = 0; t < NT; ++t) s[t] = _mm512_set1_epi32(init[t * nb + k]);
    for (int g = 0; g < 8; ++g) {
      const __m512i wg = _mm512_load_si512(&p.q[g]);
      for (int t = 0; t < NT; ++t)
        s[t] = _mm512_dpbusd_epi32(s[t], wg, _mm512_set1_epi32(load32(x[t * nb + k].qs + 4 * g)));
    }
    for (int t = 0; t < NT; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[t]), _mm512_mul_ps(p.d, _mm512_set1_ps(x[t * nb + k].d)), acc[t]);
  }
}

// Activation rows [t0, t0 + NT) of one K chunk of one packed tile: y rows accumulate across chunks.
template <int NT>
void run_tile(const PackedBlock* pb, int64_t nk, const BlockQ8Act* x, const int32_t* init, int64_t nb, bool first,
              float* y, int64_t ldy, __mmask16 mask) {
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, y + t * ldy);
  micro_tile<NT>(pb, nk, x, init, nb, acc);
  for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, acc[t]);
}

using RunTile = void (*)(const PackedBlock*, int64_t, const BlockQ8Act*, const int32_t*, int64_t, bool, float*, int64_t,
                         __mmask16);
constexpr RunTile kRunTile[kNT + 1] = {nullptr,     run_tile<1>, run_tile<2>, run_tile<3>, run_tile<4>,
                                       run_tile<5>, run_tile<6>, run_tile<7>, run_tile<8>};

template <bool kQ4>
void gemm(const QArgs& a) {
  const int64_t nb = a.I / kQK;
  const int64_t rb = nb * (kQ4 ? int64_t(sizeof(BlockQ4_0)) : int64_t(sizeof(BlockQ8_0)));
  thread_local std::vector<PackedBlock> packed;  // grow once per thread, then reused
  thread_local std::vector<int32_t> init;
  if (packed.size() < size_t(nb)) packed.resize(size_t(nb));
  if (init.size() < size_t(a.T * nb)) init.resize(size_t(a.T * nb));
  const int32_t offset = kQ4 ? 8 : 128;
  for (int64_t i = 0; i < a.T * nb; ++i) init[size_t(i)] = -offset * a.acts[i].sum;
  for (int64_t r = a.r0; r < a.r1; r += kTileRows) {
    const int nrows = int(std::min<int64_t>(kTileRows, a.r1 - r));
    const __mmask16 mask = __mmask16((1u << nrows) - 1);
    pack_tile<kQ4>(a.w + r * rb, rb, nrows, nb, packed.data());
    for (int64_t k0 = 0; k0 < nb; k0 += kKc) {
      const int64_t nk = std::min(kKc, nb - k0);
      for (int64_t t = 0; t < a.T; t += kNT) {
        const int nt = int(std::min<int64_t>(kNT, a.T - t));
        kRunTile[nt](packed.data() + k0, nk, a.acts + t * nb + k0, init.data() + t * nb + k0, nb, k0 == 0,
                     a.y + t * a.ldy + r, a.ldy, mask);
      }
    }
  }
}

// The gathers take 32-bit offsets: a tile spans 15 row strides.
inline bool packable(const QArgs& a, int64_t block_bytes) {
  return a.T >= kGemmMinT && (a.I / kQK) * block_bytes * (kTileRows - 1) < (int64_t(1) << 31);
}

}  // namespace
}  // namespace avx512

void q8_0_avx512(const QArgs& a) {
  if (avx512::packable(a, sizeof(BlockQ8_0)))
    avx512::gemm<false>(a);
  else
    avx512::gemv<false>(a);
}
void q4_0_avx512(const QArgs& a) {
  if (avx512::packable(a, sizeof(BlockQ4_0)))
    avx512::gemm<true>(a);
  else
    avx512::gemv<true>(a);
}

R1_QD_TARGET_END

}  // namespace r1::kernels::qdot

#endif  // __x86_64__
