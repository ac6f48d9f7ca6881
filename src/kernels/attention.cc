#include "kernels/attention.h"

#include <cstring>
#include <vector>

#include "kernels/ops.h"
#include "kernels/simd.h"

namespace r1::kernels {

void gqa_attention(const float* q, const float* k, const float* v, float* out, int64_t T, int64_t start,
                   const GqaShape& s, float scale, ThreadPool& pool) {
  const int64_t H = s.n_heads, Hkv = s.n_kv_heads, Dh = s.head_dim, group = H / Hkv;
  pool.parallel_for(T * H, 1, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> scores;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t t = i / H, h = i % H, kvh = h / group;
      const int64_t n = start + t + 1;  // causal: positions 0 .. start+t
      if (scores.size() < size_t(n)) scores.resize(size_t(n));
      const float* qh = q + (t * H + h) * Dh;
      for (int64_t p = 0; p < n; ++p) scores[p] = dot_f32(qh, k + (p * Hkv + kvh) * Dh, size_t(Dh)) * scale;
      softmax(scores.data(), n);
      float* oh = out + (t * H + h) * Dh;
      std::memset(oh, 0, sizeof(float) * size_t(Dh));
      for (int64_t p = 0; p < n; ++p) axpy(scores[p], v + (p * Hkv + kvh) * Dh, oh, size_t(Dh));
    }
  });
}

void mla_attention(const float* q_lat, const float* q_pe, const float* c_kv, const float* k_pe, float* out_lat,
                   int64_t T, int64_t start, const MlaShape& s, float scale, ThreadPool& pool) {
  const int64_t H = s.n_heads, R = s.kv_lora_rank, Dr = s.rope_head_dim;
  pool.parallel_for(T * H, 1, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> scores;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t t = i / H, n = start + t + 1;
      if (scores.size() < size_t(n)) scores.resize(size_t(n));
      const float* ql = q_lat + i * R;
      const float* qp = q_pe + i * Dr;
      for (int64_t p = 0; p < n; ++p)
        scores[p] = (dot_f32(ql, c_kv + p * R, size_t(R)) + dot_f32(qp, k_pe + p * Dr, size_t(Dr))) * scale;
      softmax(scores.data(), n);
      float* o = out_lat + i * R;
      std::memset(o, 0, sizeof(float) * size_t(R));
      for (int64_t p = 0; p < n; ++p) axpy(scores[p], c_kv + p * R, o, size_t(R));
    }
  });
}

}  // namespace r1::kernels
