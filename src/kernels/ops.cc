#include "kernels/ops.h"

#include <cmath>
#include <limits>

namespace r1::kernels {

void rmsnorm(const float* x, const float* weight, float* out, int64_t T, int64_t D, float eps) {
  for (int64_t t = 0; t < T; ++t) {
    const float* xt = x + t * D;
    float* ot = out + t * D;
    double ss = 0.0;
    for (int64_t i = 0; i < D; ++i) ss += double(xt[i]) * xt[i];
    const float inv = 1.0f / std::sqrt(float(ss / double(D)) + eps);
    for (int64_t i = 0; i < D; ++i) ot[i] = xt[i] * inv * weight[i];
  }
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add_inplace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void softmax(float* x, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  if (!std::isfinite(mx)) {  // all -inf (fully masked): define as uniform zeros rather than NaN
    for (int64_t i = 0; i < n; ++i) x[i] = 0.0f;
    return;
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void rope(float* x, int64_t H, int64_t Dh, const float* cos, const float* sin, bool half_split) {
  const int64_t half = Dh / 2;
  for (int64_t h = 0; h < H; ++h) {
    float* v = x + h * Dh;
    for (int64_t i = 0; i < half; ++i) {
      const int64_t a = half_split ? i : 2 * i;
      const int64_t b = half_split ? i + half : 2 * i + 1;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * cos[i] - x1 * sin[i];
      v[b] = x1 * cos[i] + x0 * sin[i];
    }
  }
}

}  // namespace r1::kernels
