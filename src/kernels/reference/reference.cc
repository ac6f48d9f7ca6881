#include "kernels/reference/reference.h"

#include <cmath>
#include <vector>

namespace r1::kernels::reference {

void matmul(const float* x, int64_t T, const Tensor& w, float* y) {
  const int64_t O = w.dim(0), I = w.dim(1);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t o = 0; o < O; ++o) {
      double acc = 0.0;
      for (int64_t i = 0; i < I; ++i) acc += double(tensor_get_f32(w, o * I + i)) * x[t * I + i];
      y[t * O + o] = float(acc);
    }
}

void gqa_attention(const float* q, const float* k, const float* v, float* out, int64_t T, int64_t start,
                   int64_t H, int64_t Hkv, int64_t Dh, float scale) {
  const int64_t group = H / Hkv;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t n = start + t + 1, kvh = h / group;
      std::vector<double> p(static_cast<size_t>(n));
      double mx = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        double s = 0.0;
        for (int64_t d = 0; d < Dh; ++d) s += double(q[(t * H + h) * Dh + d]) * k[(j * Hkv + kvh) * Dh + d];
        p[j] = s * scale;
        mx = std::max(mx, p[j]);
      }
      double sum = 0.0;
      for (auto& e : p) sum += (e = std::exp(e - mx));
      for (int64_t d = 0; d < Dh; ++d) {
        double acc = 0.0;
        for (int64_t j = 0; j < n; ++j) acc += p[j] / sum * v[(j * Hkv + kvh) * Dh + d];
        out[(t * H + h) * Dh + d] = float(acc);
      }
    }
}

void mla_attention(const float* q_lat, const float* q_pe, const float* c_kv, const float* k_pe, float* out_lat,
                   int64_t T, int64_t start, int64_t H, int64_t R, int64_t Dr, float scale) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t n = start + t + 1;
      std::vector<double> p(static_cast<size_t>(n));
      double mx = -INFINITY, sum = 0.0;
      for (int64_t j = 0; j < n; ++j) {
        double s = 0.0;
        for (int64_t r = 0; r < R; ++r) s += double(q_lat[(t * H + h) * R + r]) * c_kv[j * R + r];
        for (int64_t d = 0; d < Dr; ++d) s += double(q_pe[(t * H + h) * Dr + d]) * k_pe[j * Dr + d];
        p[size_t(j)] = s * scale;
        mx = std::max(mx, p[size_t(j)]);
      }
      for (auto& e : p) sum += (e = std::exp(e - mx));
      for (int64_t r = 0; r < R; ++r) {
        double acc = 0.0;
        for (int64_t j = 0; j < n; ++j) acc += p[size_t(j)] / sum * c_kv[j * R + r];
        out_lat[(t * H + h) * R + r] = float(acc);
      }
    }
}

}  // namespace r1::kernels::reference
