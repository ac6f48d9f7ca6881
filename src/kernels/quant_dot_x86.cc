// x86 paths of the Q8_0 / Q4_0 kernels (kernels/quant_dot.h), each compiled for its own instruction set with
// `#pragma GCC target` (the rest of the binary stays baseline x86-64) and chosen at run time by quant_dot_q8.cc.
//   O weight rows (r), I inputs, T activation rows (t), nb = I / 32 blocks per row.
//
// Decode (T < kGemmMinT) runs the row-at-a-time kernels of quant_dot_x86.inc: each weight row is streamed once as
// stored. Prefill on AVX-512 packs a tile of 16 weight rows once into unsigned bytes laid out
// [block][4-input group][16 rows][4 inputs] (PackedBlock) and runs a register tile of 16 rows x kNT activation
// rows over it, the tile reused by every activation row:
//   per block and group: one 64-byte weight load, then per activation row one 4-byte broadcast and one vpdpbusd
//   (16 rows x 4 inputs); per block and activation row: an int32 init, and cvt * (d_w x d_a) into f32.
// vpdpbusd multiplies unsigned by signed bytes, so Q8_0 weights are stored as q + 128 and the surplus
// 128 * sum_a is the int32 init's -128 * sum_a; Q4_0's nibbles 0..15 take -8 * sum_a the same way.
#if defined(__x86_64__)

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the deliberately undefined inputs inside its own AVX-512 intrinsics (_mm512_undefined_*).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/quant_dot_impl.h"

#if defined(__clang__)
#define R1_QD_TARGET_BEGIN(t) _Pragma("clang attribute push(__attribute__((target(" #t "))), apply_to = function)")
#define R1_QD_TARGET_END _Pragma("clang attribute pop")
#else
#define R1_QD_PRAGMA(x) _Pragma(#x)
#define R1_QD_TARGET_BEGIN(t) R1_QD_PRAGMA(GCC push_options) R1_QD_PRAGMA(GCC target(t))
#define R1_QD_TARGET_END _Pragma("GCC pop_options")
#endif

namespace r1::kernels::qdot {

// ---- AVX2 and AVX-VNNI: row-at-a-time kernels for every T ----------------------------------------------------

R1_QD_TARGET_BEGIN("avx2,fma,f16c")
#define R1_QD_NS avx2
#define R1_QD_ISA 0
#define R1_QD_KT 2
#include "kernels/quant_dot_x86.inc"
#undef R1_QD_NS
#undef R1_QD_ISA
#undef R1_QD_KT
void q8_0_avx2(const QArgs& a) { avx2::rows<false>(a); }
void q4_0_avx2(const QArgs& a) { avx2::rows<true>(a); }
R1_QD_TARGET_END

R1_QD_TARGET_BEGIN("avx2,fma,f16c,avxvnni")
#define R1_QD_NS avxvnni
#define R1_QD_ISA 1
#define R1_QD_KT 2
#include "kernels/quant_dot_x86.inc"
#undef R1_QD_NS
#undef R1_QD_ISA
#undef R1_QD_KT
void q8_0_avxvnni(const QArgs& a) { avxvnni::rows<false>(a); }
void q4_0_avxvnni(const QArgs& a) { avxvnni::rows<true>(a); }
R1_QD_TARGET_END

// ---- AVX-512 VNNI: row-at-a-time for decode, packed 16-row tiles for prefill ---------------------------------

R1_QD_TARGET_BEGIN("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#define R1_QD_NS avx512
#define R1_QD_ISA 2
#define R1_QD_KT 4
#include "kernels/quant_dot_x86.inc"
#undef R1_QD_NS
#undef R1_QD_ISA
#undef R1_QD_KT

namespace avx512 {
namespace {

constexpr int64_t kGemmMinT = 4;  // below this the packing costs more than it saves
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

// Packs rows [0, nrows) of the tile starting at w (rows beyond nrows repeat the last; their lanes are never
// stored). Gathers read 4 bytes at a time, always inside the block they start in.
template <bool kQ4>
void pack_tile(const uint8_t* w, int64_t rb, int nrows, int64_t nb, PackedBlock* out) {
  constexpr int64_t bs = kQ4 ? int64_t(sizeof(BlockQ4_0)) : int64_t(sizeof(BlockQ8_0));
  const __m512i rows = _mm512_min_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                        _mm512_set1_epi32(nrows - 1));
  const __m512i idx = _mm512_mullo_epi32(rows, _mm512_set1_epi32(int32_t(rb)));
  const __m512i x80 = _mm512_set1_epi8(char(0x80)), nib = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* p = w + b * bs;
    PackedBlock& o = out[b];
    o.d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_i32gather_epi32(idx, p, 1)));
    if constexpr (kQ4) {
      for (int j = 0; j < 4; ++j) {
        const __m512i n = _mm512_i32gather_epi32(idx, p + 2 + 4 * j, 1);
        o.q[j] = _mm512_and_si512(n, nib);                          // q[4j .. 4j + 3]
        o.q[j + 4] = _mm512_and_si512(_mm512_srli_epi32(n, 4), nib);  // q[16 + 4j .. 16 + 4j + 3]
      }
    } else {
      for (int g = 0; g < 8; ++g) o.q[g] = _mm512_xor_si512(_mm512_i32gather_epi32(idx, p + 2 + 4 * g, 1), x80);
    }
  }
}

// acc[t] (lane r) += Σ over nk blocks of row r of the packed tile against activation row t. x and init point at
// the chunk's first block of activation row 0; rows are nb apart.
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
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[t]), _mm512_mul_ps(p.d, _mm512_set1_ps(x[t * nb + k].d)),
                               acc[t]);
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

using RunTile = void (*)(const PackedBlock*, int64_t, const BlockQ8Act*, const int32_t*, int64_t, bool, float*,
                         int64_t, __mmask16);
constexpr RunTile kRunTile[kNT + 1] = {nullptr,      run_tile<1>, run_tile<2>, run_tile<3>, run_tile<4>,
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
  if (avx512::packable(a, sizeof(BlockQ8_0))) avx512::gemm<false>(a);
  else avx512::rows<false>(a);
}
void q4_0_avx512(const QArgs& a) {
  if (avx512::packable(a, sizeof(BlockQ4_0))) avx512::gemm<true>(a);
  else avx512::rows<true>(a);
}

R1_QD_TARGET_END

}  // namespace r1::kernels::qdot

#endif  // __x86_64__
