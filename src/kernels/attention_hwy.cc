// Highway body of the flash-attention inner loop (kernels/attention_flash.h), compiled once per SIMD target
// and dispatched at run time. Query rows go through in micro-blocks of M = 8, 4, 2 or 1: q·k runs M rows
// against one key at a time (each key row is loaded once per micro-block), then the online softmax over a
// tile of keys, then p·v with the M output accumulators in registers (each value row is loaded once per
// micro-block). The key tile stays in L1/L2 while every micro-block of the item passes over it.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/attention_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/dtype.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/attention_flash.h"

HWY_BEFORE_NAMESPACE();
namespace r1::kernels::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Keys per tile: a 64 × 128 f32 K tile is 32 KiB; MLA's 64 × 576 is 144 KiB, still well inside L2.
constexpr int64_t kTile = 64;

// Loads N key/value elements of type KT (float or hwy::float16_t) widened to f32 lanes.
template <typename KT, class DF>
HWY_INLINE hn::Vec<DF> LoadKv(DF df, const KT* HWY_RESTRICT p) {
  if constexpr (std::is_same_v<KT, float>) {
    return hn::LoadU(df, p);
  } else {
    const hn::Rebind<KT, DF> dh;
    return hn::PromoteTo(df, hn::LoadU(dh, p));
  }
}

template <typename KT>
HWY_INLINE float KvScalar(KT x) {
  if constexpr (std::is_same_v<KT, float>) {
    return x;
  } else {
    uint16_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    return f16_to_f32(bits);
  }
}

// Runs X(i) for each row i < M of a micro-block (M is 1, 2, 4 or 8). Named accumulators rather than arrays of
// vectors, which sizeless SIMD types (SVE) do not allow.
#define R1_EACH_ROW(X)   \
  X(0)                   \
  if constexpr (M > 1) { \
    X(1)                 \
  }                      \
  if constexpr (M > 2) { \
    X(2) X(3)            \
  }                      \
  if constexpr (M > 4) { \
    X(4) X(5) X(6) X(7)  \
  }

// s[i * kTile + jj] = qa[i]·ka(row[jj]) + qb[i]·kb(row[jj]), unscaled, for rows i < M and keys jj < nj.
template <typename KT, int M>
HWY_INLINE void Scores(const FlashKeys& K, const float* const* qa, const float* const* qb, const int64_t* row,
                       int64_t nj, float* HWY_RESTRICT s) {
  const hn::ScalableTag<float> df;
  const int64_t N = int64_t(hn::Lanes(df));
  const int64_t da_vec = K.da / N * N, db_vec = K.db / N * N;
  for (int64_t jj = 0; jj < nj; ++jj) {
    const KT* ka = static_cast<const KT*>(K.ka) + row[jj] * K.ka_stride;
    const float* kb = K.db ? K.kb + row[jj] * K.kb_stride : nullptr;
    auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    auto a4 = hn::Zero(df), a5 = hn::Zero(df), a6 = hn::Zero(df), a7 = hn::Zero(df);
    for (int64_t d = 0; d < da_vec; d += N) {
      const auto k = LoadKv(df, ka + d);
#define R1_FMA_A(i) a##i = hn::MulAdd(hn::LoadU(df, qa[i] + d), k, a##i);
      R1_EACH_ROW(R1_FMA_A)
#undef R1_FMA_A
    }
    for (int64_t d = 0; d < db_vec; d += N) {
      const auto k = hn::LoadU(df, kb + d);
#define R1_FMA_B(i) a##i = hn::MulAdd(hn::LoadU(df, qb[i] + d), k, a##i);
      R1_EACH_ROW(R1_FMA_B)
#undef R1_FMA_B
    }
#define R1_SUM(i)                                                            \
  {                                                                          \
    float t = hn::GetLane(hn::SumOfLanes(df, a##i));                         \
    for (int64_t d = da_vec; d < K.da; ++d) t += qa[i][d] * KvScalar(ka[d]); \
    for (int64_t d = db_vec; d < K.db; ++d) t += qb[i][d] * kb[d];           \
    s[i * kTile + jj] = t;                                                   \
  }
    R1_EACH_ROW(R1_SUM)
#undef R1_SUM
  }
}

// o[i * dv ..] += sum_jj p[i * kTile + jj] * v(row[jj]) for rows i < M.
template <typename KT, int M>
HWY_INLINE void Accumulate(const FlashKeys& K, const float* HWY_RESTRICT p, const int64_t* row, int64_t nj,
                           float* HWY_RESTRICT o) {
  const hn::ScalableTag<float> df;
  const int64_t N = int64_t(hn::Lanes(df));
  const int64_t dv = K.dv, dv_vec = dv / N * N;
  const KT* v = static_cast<const KT*>(K.v);
  for (int64_t d = 0; d < dv_vec; d += N) {
    auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    auto a4 = hn::Zero(df), a5 = hn::Zero(df), a6 = hn::Zero(df), a7 = hn::Zero(df);
#define R1_LOAD(i) a##i = hn::LoadU(df, o + i * dv + d);
    R1_EACH_ROW(R1_LOAD)
#undef R1_LOAD
    for (int64_t jj = 0; jj < nj; ++jj) {
      const auto x = LoadKv(df, v + row[jj] * K.v_stride + d);
#define R1_FMA(i) a##i = hn::MulAdd(hn::Set(df, p[i * kTile + jj]), x, a##i);
      R1_EACH_ROW(R1_FMA)
#undef R1_FMA
    }
#define R1_STORE(i) hn::StoreU(a##i, df, o + i * dv + d);
    R1_EACH_ROW(R1_STORE)
#undef R1_STORE
  }
  for (int64_t d = dv_vec; d < dv; ++d)
    for (int64_t i = 0; i < M; ++i) {
      float acc = o[i * dv + d];
      for (int64_t jj = 0; jj < nj; ++jj) acc += p[i * kTile + jj] * KvScalar(v[row[jj] * K.v_stride + d]);
      o[i * dv + d] = acc;
    }
}

#undef R1_EACH_ROW

// Folds one row's raw scores s[0, nv) of this tile into its running state (m, l, o) and leaves the weights
// p = exp(score - m_new) in s[0, nv) and zeros in s[nv, nj).
HWY_INLINE void UpdateRow(float* HWY_RESTRICT s, int64_t nv, int64_t nj, float scale, float& m, float& l,
                          float* HWY_RESTRICT o, int64_t dv) {
  const hn::ScalableTag<float> df;
  const int64_t N = int64_t(hn::Lanes(df));
  std::fill(s + std::max<int64_t>(nv, 0), s + nj, 0.0f);
  if (nv <= 0) return;
  const int64_t nv_vec = nv / N * N;
  const auto vscale = hn::Set(df, scale);
  auto vmax = hn::Set(df, -std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < nv_vec; j += N) {
    const auto x = hn::Mul(hn::LoadU(df, s + j), vscale);
    hn::StoreU(x, df, s + j);
    vmax = hn::Max(vmax, x);
  }
  float tile_max = hn::GetLane(hn::MaxOfLanes(df, vmax));
  for (int64_t j = nv_vec; j < nv; ++j) tile_max = std::max(tile_max, s[j] *= scale);
  const float m_new = std::max(m, tile_max);
  const float alpha = std::exp(m - m_new);  // 0 on the row's first keys (m = -inf)
  const auto vm = hn::Set(df, m_new);
  auto vsum = hn::Zero(df);
  for (int64_t j = 0; j < nv_vec; j += N) {
    const auto e = hn::Exp(df, hn::Sub(hn::LoadU(df, s + j), vm));
    hn::StoreU(e, df, s + j);
    vsum = hn::Add(vsum, e);
  }
  float sum = hn::GetLane(hn::SumOfLanes(df, vsum));
  for (int64_t j = nv_vec; j < nv; ++j) sum += (s[j] = std::exp(s[j] - m_new));
  l = l * alpha + sum;
  m = m_new;
  if (alpha != 1.0f) {
    const auto va = hn::Set(df, alpha);
    const int64_t dv_vec = dv / N * N;
    for (int64_t d = 0; d < dv_vec; d += N) hn::StoreU(hn::Mul(hn::LoadU(df, o + d), va), df, o + d);
    for (int64_t d = dv_vec; d < dv; ++d) o[d] *= alpha;
  }
}

template <typename KT>
void FlashRowsT(const FlashKeys& K, const float* const* qa, const float* const* qb, const int64_t* limit,
                int64_t n, int64_t j0, int64_t j1, float* o, float* m, float* l) {
  const int64_t dv = K.dv;
  std::fill(m, m + n, -std::numeric_limits<float>::infinity());
  std::fill(l, l + n, 0.0f);
  std::fill(o, o + n * dv, 0.0f);
  if (n <= 0) return;
  j1 = std::min(j1, *std::max_element(limit, limit + n));
  HWY_ALIGN float s[8 * kTile];
  int64_t row[kTile];  // the tile's key rows, resolved once through the block table
  const int64_t block_mask = (int64_t(1) << K.block_shift) - 1;
  for (int64_t kt = j0; kt < j1; kt += kTile) {
    const int64_t nk = std::min(kTile, j1 - kt);
    for (int64_t jj = 0; jj < nk; ++jj) {
      const int64_t j = kt + jj;
      row[jj] = K.blocks ? (int64_t(K.blocks[j >> K.block_shift]) << K.block_shift) | (j & block_mask) : j;
    }
    const auto visible = [&](int64_t r) { return std::clamp<int64_t>(limit[r] - kt, 0, nk); };
    for (int64_t r0 = 0; r0 < n;) {
      const int64_t M = n - r0 >= 8 ? 8 : n - r0 >= 4 ? 4 : n - r0 >= 2 ? 2 : 1;
      int64_t nj = 0;
      for (int64_t i = 0; i < M; ++i) nj = std::max(nj, visible(r0 + i));
      if (nj > 0) {
        switch (M) {
          case 8:
            Scores<KT, 8>(K, qa + r0, qb ? qb + r0 : nullptr, row, nj, s);
            break;
          case 4:
            Scores<KT, 4>(K, qa + r0, qb ? qb + r0 : nullptr, row, nj, s);
            break;
          case 2:
            Scores<KT, 2>(K, qa + r0, qb ? qb + r0 : nullptr, row, nj, s);
            break;
          default:
            Scores<KT, 1>(K, qa + r0, qb ? qb + r0 : nullptr, row, nj, s);
            break;
        }
        for (int64_t i = 0; i < M; ++i)
          UpdateRow(s + i * kTile, visible(r0 + i), nj, K.scale, m[r0 + i], l[r0 + i], o + (r0 + i) * dv, dv);
        switch (M) {
          case 8:
            Accumulate<KT, 8>(K, s, row, nj, o + r0 * dv);
            break;
          case 4:
            Accumulate<KT, 4>(K, s, row, nj, o + r0 * dv);
            break;
          case 2:
            Accumulate<KT, 2>(K, s, row, nj, o + r0 * dv);
            break;
          default:
            Accumulate<KT, 1>(K, s, row, nj, o + r0 * dv);
            break;
        }
      }
      r0 += M;
    }
  }
}

void FlashRows(const FlashKeys& K, const float* const* qa, const float* const* qb, const int64_t* limit,
               int64_t n, int64_t j0, int64_t j1, float* o, float* m, float* l) {
  if (K.f16) return FlashRowsT<hwy::float16_t>(K, qa, qb, limit, n, j0, j1, o, m, l);
  FlashRowsT<float>(K, qa, qb, limit, n, j0, j1, o, m, l);
}

}  // namespace HWY_NAMESPACE
}  // namespace r1::kernels::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace r1::kernels::detail {

HWY_EXPORT(FlashRows);

void flash_rows(const FlashKeys& keys, const float* const* qa, const float* const* qb, const int64_t* limit,
                int64_t n, int64_t j0, int64_t j1, float* o, float* m, float* l) {
  HWY_DYNAMIC_DISPATCH(FlashRows)(keys, qa, qb, limit, n, j0, j1, o, m, l);
}

}  // namespace r1::kernels::detail
#endif  // HWY_ONCE
