// Highway bodies of kernels/gemm.h, compiled once per SIMD target and dispatched at run time like simd_hwy.cc.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/gemm_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "kernels/gemm.h"

#include <algorithm>
#include <vector>

HWY_BEFORE_NAMESPACE();
namespace r1::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int64_t kMr = 6;    // rows of C per tile: 12 accumulators + 2 B vectors + 1 broadcast fit 16 registers
constexpr int64_t kKc = 256;  // rows of B per pass

// C[0..MR, 0..2L) (+)= A[0..MR, 0..kb) · B[0..kb, 0..2L), L the vector length. Written out row by row (rather
// than with arrays of vectors) so that it also compiles for sizeless vector types (SVE, RVV).
template <int64_t MR, class DF>
HWY_INLINE void Tile(DF df, const float* HWY_RESTRICT a, int64_t a_rs, int64_t a_cs, const float* HWY_RESTRICT b,
                     int64_t ldb, int64_t kb, float* HWY_RESTRICT c, int64_t ldc, bool load_c) {
  const size_t L = hn::Lanes(df);
  auto c00 = hn::Zero(df), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
       c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define R1_GEMM_LOAD(i)                                                                      \
  if constexpr (MR > i) {                                                                    \
    c##i##0 = hn::LoadU(df, c + i * ldc), c##i##1 = hn::LoadU(df, c + i * ldc + L); \
  }
#define R1_GEMM_FMA(i)                                        \
  if constexpr (MR > i) {                                     \
    const auto x = hn::Set(df, ak[i * a_rs]);                 \
    c##i##0 = hn::MulAdd(x, b0, c##i##0), c##i##1 = hn::MulAdd(x, b1, c##i##1); \
  }
#define R1_GEMM_STORE(i)                                                                     \
  if constexpr (MR > i) {                                                                    \
    hn::StoreU(c##i##0, df, c + i * ldc), hn::StoreU(c##i##1, df, c + i * ldc + L); \
  }
  if (load_c) {
    R1_GEMM_LOAD(0) R1_GEMM_LOAD(1) R1_GEMM_LOAD(2) R1_GEMM_LOAD(3) R1_GEMM_LOAD(4) R1_GEMM_LOAD(5)
  }
  for (int64_t k = 0; k < kb; ++k) {
    const float* bk = b + k * ldb;
    const auto b0 = hn::LoadU(df, bk), b1 = hn::LoadU(df, bk + L);
    const float* ak = a + k * a_cs;
    R1_GEMM_FMA(0) R1_GEMM_FMA(1) R1_GEMM_FMA(2) R1_GEMM_FMA(3) R1_GEMM_FMA(4) R1_GEMM_FMA(5)
  }
  R1_GEMM_STORE(0) R1_GEMM_STORE(1) R1_GEMM_STORE(2) R1_GEMM_STORE(3) R1_GEMM_STORE(4) R1_GEMM_STORE(5)
#undef R1_GEMM_LOAD
#undef R1_GEMM_FMA
#undef R1_GEMM_STORE
}

template <class DF>
HWY_INLINE void TileRows(DF df, int64_t rows, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                         int64_t ldb, int64_t kb, float* c, int64_t ldc, bool load_c) {
  switch (rows) {
    case 6: return Tile<6>(df, a, a_rs, a_cs, b, ldb, kb, c, ldc, load_c);
    case 5: return Tile<5>(df, a, a_rs, a_cs, b, ldb, kb, c, ldc, load_c);
    case 4: return Tile<4>(df, a, a_rs, a_cs, b, ldb, kb, c, ldc, load_c);
    case 3: return Tile<3>(df, a, a_rs, a_cs, b, ldb, kb, c, ldc, load_c);
    case 2: return Tile<2>(df, a, a_rs, a_cs, b, ldb, kb, c, ldc, load_c);
    default: return Tile<1>(df, a, a_rs, a_cs, b, ldb, kb, c, ldc, load_c);
  }
}

void GemmF32(const GemmArgs& g) {
  const hn::ScalableTag<float> df;
  const int64_t nr = 2 * int64_t(hn::Lanes(df));  // columns of a tile
  // The last, narrower column block runs on copies padded to a full tile: B's rows into `panel` (zeros beyond N),
  // C's rows into `edge`, so the tile never reads or writes past the caller's buffers.
  thread_local std::vector<float> panel, edge;
  panel.resize(size_t(kKc * nr)), edge.resize(size_t(kMr * nr));
  for (int64_t k0 = 0; k0 < g.K; k0 += kKc) {
    const int64_t kb = std::min(kKc, g.K - k0);
    const bool load_c = g.accumulate || k0 > 0;
    const float* a = g.a + k0 * g.a_cs;
    for (int64_t n0 = 0; n0 < g.N; n0 += nr) {
      const int64_t nb = std::min(nr, g.N - n0);
      const float* b = g.b + k0 * g.ldb + n0;
      if (nb == nr) {
        for (int64_t m0 = 0; m0 < g.M; m0 += kMr)
          TileRows(df, std::min(kMr, g.M - m0), a + m0 * g.a_rs, g.a_rs, g.a_cs, b, g.ldb, kb,
                   g.c + m0 * g.ldc + n0, g.ldc, load_c);
        continue;
      }
      std::fill(panel.begin(), panel.end(), 0.0f);
      for (int64_t k = 0; k < kb; ++k) std::copy_n(b + k * g.ldb, nb, panel.data() + k * nr);
      for (int64_t m0 = 0; m0 < g.M; m0 += kMr) {
        const int64_t mb = std::min(kMr, g.M - m0);
        float* c = g.c + m0 * g.ldc + n0;
        if (load_c)
          for (int64_t i = 0; i < mb; ++i) std::copy_n(c + i * g.ldc, nb, edge.data() + i * nr);
        TileRows(df, mb, a + m0 * g.a_rs, g.a_rs, g.a_cs, panel.data(), nr, kb, edge.data(), nr, load_c);
        for (int64_t i = 0; i < mb; ++i) std::copy_n(edge.data() + i * nr, nb, c + i * g.ldc);
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace r1::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace r1::kernels {

HWY_EXPORT(GemmF32);

void gemm_f32(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return;
  if (g.K <= 0) {  // an empty sum
    if (!g.accumulate)
      for (int64_t m = 0; m < g.M; ++m) std::fill_n(g.c + m * g.ldc, g.N, 0.0f);
    return;
  }
  HWY_DYNAMIC_DISPATCH(GemmF32)(g);
}

void gemm_f32(const GemmArgs& g, ThreadPool& pool) {
  // Under ~128 K multiply-adds waking the pool costs more than the product.
  const int64_t threads = pool.size();
  if (threads == 1 || g.M * g.N * std::max<int64_t>(g.K, 1) < (int64_t(1) << 17)) return gemm_f32(g);
  constexpr int64_t kRowAlign = 6, kColAlign = 64;  // whole tiles per chunk (64 columns: whole for every target)
  if (g.M >= 2 * kRowAlign * threads || g.N < 2 * kColAlign) {
    const int64_t rows = (g.M + 2 * threads - 1) / (2 * threads);
    const int64_t grain = (rows + kRowAlign - 1) / kRowAlign * kRowAlign;
    pool.parallel_for(g.M, grain, [&](int64_t m0, int64_t m1) {
      GemmArgs part = g;
      part.M = m1 - m0, part.a = g.a + m0 * g.a_rs, part.c = g.c + m0 * g.ldc;
      gemm_f32(part);
    });
    return;
  }
  const int64_t cols = (g.N + 2 * threads - 1) / (2 * threads);
  const int64_t grain = (cols + kColAlign - 1) / kColAlign * kColAlign;
  pool.parallel_for(g.N, grain, [&](int64_t n0, int64_t n1) {
    GemmArgs part = g;
    part.N = n1 - n0, part.b = g.b + n0, part.c = g.c + n0;
    gemm_f32(part);
  });
}

void transpose_f32(const float* in, int64_t R, int64_t C, float* out, int64_t ld_in) {
  if (ld_in == 0) ld_in = C;
  constexpr int64_t kTile = 32;  // a 32 x 32 tile of each side stays in L1
  for (int64_t r0 = 0; r0 < R; r0 += kTile)
    for (int64_t c0 = 0; c0 < C; c0 += kTile) {
      const int64_t r1 = std::min(R, r0 + kTile), c1 = std::min(C, c0 + kTile);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) out[c * R + r] = in[r * ld_in + c];
    }
}

}  // namespace r1::kernels
#endif  // HWY_ONCE
