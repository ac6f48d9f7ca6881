// K-quant quantizers, in the spirit of ggml's (k_quants.c): each sub-block's scale (and Q4_K's min) is searched to
// minimise a weighted squared error rather than read off the min/max, then the sub-block scales are quantized
// against one f16 super-block scale (6-bit for Q4_K, int8 for Q6_K) and each rounded scale is tried against its
// neighbours with the quants re-rounded, since after that rounding the searched optimum is no longer exact.
//
// Weights of the error: Q4_K uses |x| + rms(sub-block) (ggml's choice without an importance matrix: larger
// weights matter more, small ones still count); Q6_K uses x^2 (ggml's rmse_type 1). Both lower the plain RMS error
// against the first, min/max versions as well (tests/kernels/quant_k_test.cc holds them as the baseline).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/quant.h"

namespace r1::kernels {
namespace {

// Round to nearest (ties to even) for |v| < 2^22, in plain float arithmetic.
inline float round_near(float v) { return (v + 12582912.0f) - 12582912.0f; }

// The per-sub-block loops run on 4-float vectors (GCC/Clang vector extensions: SSE2 on any x86-64, NEON on
// ARM), keeping 4 partial sums: the compiler may not reassociate a float reduction on its own.
typedef float V4 __attribute__((vector_size(16)));
inline V4 load4(const float* p) {
  V4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline V4 splat(float v) { return V4{v, v, v, v}; }
inline V4 round4(V4 v) { return (v + splat(12582912.0f)) - splat(12582912.0f); }
inline V4 clamp4(V4 v, float lo, float hi) {
  v = v < splat(lo) ? splat(lo) : v;
  return v > splat(hi) ? splat(hi) : v;
}
inline double hsum(V4 v) { return double(v[0]) + double(v[1]) + double(v[2]) + double(v[3]); }

// The smallest f16 >= v >= 0 (so scales divided by it stay within their integer range), at most f16's largest
// finite value.
uint16_t f16_ceil(float v) {
  uint16_t h = std::min<uint16_t>(f32_to_f16(v), 0x7BFF);
  if (f16_to_f32(h) < v && h < 0x7BFF) ++h;
  return h;
}

// x ≈ scale * q - min, q in 0..nmax, min >= 0: the weighted least-squares (scale, min) for each q of a grid of
// inverse scales around nmax / (max - min(x, 0)).
struct Affine {
  float scale, min;
};

Affine fit_affine(const float* x, const float* w, int n, int nmax) {
  float lo = x[0], hi = x[0];
  double sw = 0, sx = 0, sxx = 0;
  for (int l = 0; l < n; ++l) {
    lo = std::min(lo, x[l]), hi = std::max(hi, x[l]);
    sw += w[l], sx += double(w[l]) * x[l], sxx += double(w[l]) * x[l] * x[l];
  }
  lo = std::min(lo, 0.0f);
  if (!(hi > lo)) return {0.0f, -lo};  // constant sub-block at or below zero: all of it is the min
  const float range = hi - lo;
  Affine best{range / float(nmax), -lo};
  double best_err = 1e300;
  // Inverse scales (nmax - 1 .. nmax + 1.4) / range: a finer or wider grid gains < 0.1% of the error (measured on
  // normal and Student-t data), each step costs as much as the rest of the block.
  constexpr int kSteps = 8;
  for (int is = -1; is <= kSteps; ++is) {
    const float iscale = is < 0 ? float(nmax) / range : (float(nmax) - 1.0f + 0.3f * float(is)) / range;
    V4 sq = {}, sqq = {}, sqx = {};
    for (int l = 0; l < n; l += 4) {
      const V4 xv = load4(x + l), q = clamp4(round4(splat(iscale) * (xv - splat(lo))), 0.0f, float(nmax));
      const V4 wq = load4(w + l) * q;
      sq += wq, sqq += wq * q, sqx += wq * xv;
    }
    const double Sq = hsum(sq), Sqq = hsum(sqq), Sqx = hsum(sqx);
    // Minimise sum w (s q + o - x)^2 over s, o, with o = -min <= 0.
    const double det = sw * Sqq - Sq * Sq;
    if (!(det > 0)) continue;
    double s = (sw * Sqx - Sq * sx) / det, o = (Sqq * sx - Sq * Sqx) / det;
    if (o > 0) o = 0, s = Sqx / Sqq;
    if (!(s > 0)) continue;
    const double err = s * s * Sqq + 2 * s * o * Sq + o * o * sw - 2 * s * Sqx - 2 * o * sx + sxx;
    if (err < best_err) best_err = err, best = {float(s), float(-o)};
  }
  return best;
}

// Weighted error of sub-block x with integer scale ls and min lm (values d * ls * q - dmin * lm), q rounded.
float q4_k_sub_error(const float* x, const float* w, float d, float dmin, int ls, int lm, float* q) {
  const float dl = d * float(ls), ml = dmin * float(lm), inv = dl > 0 ? 1.0f / dl : 0.0f;
  V4 err = {};
  for (int l = 0; l < 32; l += 4) {
    const V4 xv = load4(x + l), qv = clamp4(round4((xv + splat(ml)) * splat(inv)), 0.0f, 15.0f);
    const V4 e = splat(dl) * qv - splat(ml) - xv;
    std::memcpy(q + l, &qv, sizeof qv);
    err += load4(w + l) * e * e;
  }
  return float(hsum(err));
}

void quantize_q4_k_block(const float* x, BlockQ4_K& blk) {
  float w[kQKK];
  Affine fit[8];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    const float* xj = x + 32 * j;
    float ss = 0.0f;
    for (int l = 0; l < 32; ++l) ss += xj[l] * xj[l];
    const float av = std::sqrt(ss / 32.0f);
    for (int l = 0; l < 32; ++l) w[32 * j + l] = av + std::fabs(xj[l]);
    fit[j] = fit_affine(xj, w + 32 * j, 32, 15);
    max_scale = std::max(max_scale, fit[j].scale), max_min = std::max(max_min, fit[j].min);
  }
  std::memset(&blk, 0, sizeof blk);
  blk.d = f16_ceil(max_scale / 63.0f);
  blk.dmin = f16_ceil(max_min / 63.0f);
  const float d = f16_to_f32(blk.d), dmin = f16_to_f32(blk.dmin);
  float q[kQKK], cand[32];
  for (int j = 0; j < 8; ++j) {
    const float* xj = x + 32 * j;
    const int ls0 = d > 0 ? int(std::clamp(round_near(fit[j].scale / d), 0.0f, 63.0f)) : 0;
    const int lm0 = dmin > 0 ? int(std::clamp(round_near(fit[j].min / dmin), 0.0f, 63.0f)) : 0;
    int ls = ls0, lm = lm0;
    float best = q4_k_sub_error(xj, w + 32 * j, d, dmin, ls, lm, q + 32 * j);
    for (int a = -1; a <= 1; ++a)
      for (int b = -1; b <= 1; ++b) {
        const int s = ls0 + a, m = lm0 + b;
        if ((a == 0 && b == 0) || s < 0 || s > 63 || m < 0 || m > 63) continue;
        const float e = q4_k_sub_error(xj, w + 32 * j, d, dmin, s, m, cand);
        if (e < best) best = e, ls = s, lm = m, std::memcpy(q + 32 * j, cand, sizeof cand);
      }
    if (j < 4) {
      blk.scales[j] = uint8_t(ls);
      blk.scales[j + 4] = uint8_t(lm);
    } else {
      blk.scales[j + 4] = uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
      blk.scales[j - 4] |= uint8_t((ls >> 4) << 6);
      blk.scales[j] |= uint8_t((lm >> 4) << 6);
    }
  }
  for (int c = 0; c < 4; ++c)  // 32 bytes: sub-block 2c in the low nibbles, 2c + 1 in the high
    for (int l = 0; l < 32; ++l) blk.qs[32 * c + l] = uint8_t(int(q[64 * c + l]) | (int(q[64 * c + 32 + l]) << 4));
}

// x ≈ s * q, q in -32..31: the weighted least-squares s for each q of a grid of inverse scales around the one that
// maps the value of largest magnitude to -32 (the longer side of the asymmetric range).
float fit_symmetric(const float* x, const float* w, int n) {
  float amax = 0.0f, vmax = 0.0f;
  for (int l = 0; l < n; ++l)
    if (std::fabs(x[l]) > amax) amax = std::fabs(x[l]), vmax = x[l];
  if (amax == 0.0f) return 0.0f;
  float best_s = vmax / -32.0f;
  double best_score = -1.0;
  constexpr int kSteps = 3;  // inverse scales -(32 - 0.9 .. 32 + 0.9) / vmax; finer grids gain nothing measurable
  for (int is = -kSteps; is <= kSteps; ++is) {
    const float iscale = -(32.0f + 0.3f * float(is)) / vmax;
    V4 qq = {}, qx = {};
    for (int l = 0; l < n; l += 4) {
      const V4 xv = load4(x + l), q = clamp4(round4(splat(iscale) * xv), -32.0f, 31.0f), wq = load4(w + l) * q;
      qq += wq * q, qx += wq * xv;
    }
    // The error at the optimum s = sqx / sqq is sum w x^2 - sqx^2 / sqq: maximise sqx^2 / sqq.
    const double sqq = hsum(qq), sqx = hsum(qx);
    if (sqq > 0 && sqx * sqx / sqq > best_score) best_score = sqx * sqx / sqq, best_s = float(sqx / sqq);
  }
  return best_s;
}

float q6_k_sub_error(const float* x, const float* w, float dl, float* q) {
  const float inv = dl != 0.0f ? 1.0f / dl : 0.0f;
  V4 err = {};
  for (int l = 0; l < 16; l += 4) {
    const V4 xv = load4(x + l), qv = clamp4(round4(xv * splat(inv)), -32.0f, 31.0f), e = splat(dl) * qv - xv;
    std::memcpy(q + l, &qv, sizeof qv);
    err += load4(w + l) * e * e;
  }
  return float(hsum(err));
}

void quantize_q6_k_block(const float* x, BlockQ6_K& blk) {
  float w[kQKK], s[16], amax = 0.0f;
  for (int l = 0; l < kQKK; ++l) w[l] = x[l] * x[l];
  for (int g = 0; g < 16; ++g) {
    s[g] = fit_symmetric(x + 16 * g, w + 16 * g, 16);
    amax = std::max(amax, std::fabs(s[g]));
  }
  std::memset(&blk, 0, sizeof blk);
  float L[kQKK], cand[16];  // q - 32
  blk.d = f16_ceil(amax / 127.0f);
  const float d = f16_to_f32(blk.d);
  for (int g = 0; g < 16; ++g) {
    const float* xg = x + 16 * g;
    const int sc0 = d > 0 ? int(std::clamp(round_near(s[g] / d), -127.0f, 127.0f)) : 0;
    int sc = sc0;
    // Where all weights x^2 vanish (an all-zero sub-block) any scale is exact; the plain error then decides.
    const float* wg = w + 16 * g;
    float best = q6_k_sub_error(xg, wg, d * float(sc), L + 16 * g);
    for (int a = -1; a <= 1; a += 2) {
      const int c = sc0 + a;
      if (c < -127 || c > 127) continue;
      const float e = q6_k_sub_error(xg, wg, d * float(c), cand);
      if (e < best) best = e, sc = c, std::memcpy(L + 16 * g, cand, sizeof cand);
    }
    blk.scales[g] = int8_t(sc);
  }
  for (int h = 0; h < 2; ++h)  // element 128h + 32k + l: ql nibble k / 2 of byte 64h + 32(k % 2) + l, qh bits 2k
    for (int l = 0; l < 32; ++l) {
      int q[4];
      for (int k = 0; k < 4; ++k) q[k] = int(L[128 * h + 32 * k + l]) + 32;
      blk.ql[64 * h + l] = uint8_t((q[0] & 0xF) | ((q[2] & 0xF) << 4));
      blk.ql[64 * h + l + 32] = uint8_t((q[1] & 0xF) | ((q[3] & 0xF) << 4));
      blk.qh[32 * h + l] = uint8_t((q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6));
    }
}

}  // namespace

void quantize_row_q4_k(const float* x, BlockQ4_K* y, int64_t n) {
  for (int64_t b = 0; b < n / kQKK; ++b) quantize_q4_k_block(x + b * kQKK, y[b]);
}

void quantize_row_q6_k(const float* x, BlockQ6_K* y, int64_t n) {
  for (int64_t b = 0; b < n / kQKK; ++b) quantize_q6_k_block(x + b * kQKK, y[b]);
}

}  // namespace r1::kernels
