// Highway bodies of kernels/simd.h. This file is compiled once per SIMD target (foreach_target.h re-includes it);
// HWY_EXPORT/HWY_DYNAMIC_DISPATCH pick the best target at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "kernels/simd.h"
#include "kernels/quant.h"

#include <cstring>
#include <type_traits>

HWY_BEFORE_NAMESPACE();
namespace r1::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Loads N weights of type W starting at w and widens them to f32 lanes.
template <typename W, class DF>
HWY_INLINE hn::Vec<DF> LoadWide(DF df, const W* HWY_RESTRICT w) {
  if constexpr (std::is_same_v<W, float>) {
    return hn::LoadU(df, w);
  } else {
    const hn::Rebind<W, DF> dw;
    return hn::PromoteTo(df, hn::LoadU(dw, w));
  }
}

template <typename W>
HWY_INLINE float ScalarWide(W v) {
  if constexpr (std::is_same_v<W, float>) return v;
  else if constexpr (std::is_same_v<W, hwy::bfloat16_t>) return hwy::F32FromBF16(v);
  else {
    uint16_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return f16_to_f32(bits);
  }
}

// Four independent accumulators hide FMA latency; the tail is scalar.
template <typename W>
HWY_INLINE float DotT(const W* HWY_RESTRICT w, const float* HWY_RESTRICT x, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  auto s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    s0 = hn::MulAdd(LoadWide(df, w + i), hn::LoadU(df, x + i), s0);
    s1 = hn::MulAdd(LoadWide(df, w + i + N), hn::LoadU(df, x + i + N), s1);
    s2 = hn::MulAdd(LoadWide(df, w + i + 2 * N), hn::LoadU(df, x + i + 2 * N), s2);
    s3 = hn::MulAdd(LoadWide(df, w + i + 3 * N), hn::LoadU(df, x + i + 3 * N), s3);
  }
  for (; i + N <= n; i += N) s0 = hn::MulAdd(LoadWide(df, w + i), hn::LoadU(df, x + i), s0);
  s0 = hn::Add(hn::Add(s0, s1), hn::Add(s2, s3));
  float sum = hn::GetLane(hn::SumOfLanes(df, s0));
  for (; i < n; ++i) sum += ScalarWide(w[i]) * x[i];
  return sum;
}

float DotF32(const float* a, const float* b, size_t n) { return DotT(a, b, n); }

float DotW(DType wtype, const void* w, const float* x, size_t n) {
  switch (wtype) {
    case DType::kBF16: return DotT(static_cast<const hwy::bfloat16_t*>(w), x, n);
    case DType::kF16: return DotT(static_cast<const hwy::float16_t*>(w), x, n);
    default: return DotT(static_cast<const float*>(w), x, n);
  }
}

template <typename W>
HWY_INLINE void GemvRowsT(const W* w, const float* x, float* y, size_t n, size_t r0, size_t r1) {
  for (size_t r = r0; r < r1; ++r) y[r - r0] = DotT(w + r * n, x, n);
}

void GemvRows(DType wtype, const void* w, const float* x, float* y, size_t n, size_t r0, size_t r1) {
  switch (wtype) {
    case DType::kBF16: return GemvRowsT(static_cast<const hwy::bfloat16_t*>(w), x, y, n, r0, r1);
    case DType::kF16: return GemvRowsT(static_cast<const hwy::float16_t*>(w), x, y, n, r0, r1);
    default: return GemvRowsT(static_cast<const float*>(w), x, y, n, r0, r1);
  }
}

template <typename W>
HWY_INLINE void ToF32T(const W* HWY_RESTRICT w, float* HWY_RESTRICT out, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(LoadWide(df, w + i), df, out + i);
  for (; i < n; ++i) out[i] = ScalarWide(w[i]);
}

void ToF32(DType wtype, const void* w, float* out, size_t n) {
  switch (wtype) {
    case DType::kBF16: return ToF32T(static_cast<const hwy::bfloat16_t*>(w), out, n);
    case DType::kF16: return ToF32T(static_cast<const hwy::float16_t*>(w), out, n);
    default: return ToF32T(static_cast<const float*>(w), out, n);
  }
}

void Axpy(float a, const float* HWY_RESTRICT x, float* HWY_RESTRICT y, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const auto va = hn::Set(df, a);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::MulAdd(va, hn::LoadU(df, x + i), hn::LoadU(df, y + i)), df, y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace HWY_NAMESPACE
}  // namespace r1::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace r1::kernels {

HWY_EXPORT(DotF32);
HWY_EXPORT(DotW);
HWY_EXPORT(GemvRows);
HWY_EXPORT(ToF32);
HWY_EXPORT(Axpy);

float dot_f32(const float* a, const float* b, size_t n) { return HWY_DYNAMIC_DISPATCH(DotF32)(a, b, n); }
// Block-quantized rows (rare here: MLA's kv_b rows, embedding rows) are widened a block at a time; the hot
// quantized products are in kernels/quant_dot*.
float dot_w(DType t, const void* w, const float* x, size_t n) {
  if (!dtype_is_quantized(t)) return HWY_DYNAMIC_DISPATCH(DotW)(t, w, x, n);
  const int64_t block = dtype_block_size(t);
  float wide[kQKK];
  float sum = 0.0f;
  const auto* p = static_cast<const uint8_t*>(w);
  for (size_t i = 0; i < n; i += size_t(block), p += dtype_block_bytes(t)) {
    dequantize_row(t, p, wide, block);
    sum += dot_f32(wide, x + i, size_t(block));
  }
  return sum;
}
void gemv_rows(DType t, const void* w, const float* x, float* y, size_t n, size_t r0, size_t r1) {
  if (!dtype_is_quantized(t)) return HWY_DYNAMIC_DISPATCH(GemvRows)(t, w, x, y, n, r0, r1);
  const size_t row = dtype_row_bytes(t, int64_t(n));
  for (size_t r = r0; r < r1; ++r) y[r - r0] = dot_w(t, static_cast<const uint8_t*>(w) + r * row, x, n);
}
void to_f32(DType t, const void* w, float* out, size_t n) {
  if (dtype_is_quantized(t) || t == DType::kF8E4M3) return dequantize_row(t, w, out, int64_t(n));
  HWY_DYNAMIC_DISPATCH(ToF32)(t, w, out, n);
}
void axpy(float a, const float* x, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(Axpy)(a, x, y, n); }

std::string simd_target_name() {
  // Dynamic dispatch takes the best compiled target the CPU supports; lower bits are better targets.
  const int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  return hwy::TargetName(targets & -targets);
}

}  // namespace r1::kernels
#endif  // HWY_ONCE
