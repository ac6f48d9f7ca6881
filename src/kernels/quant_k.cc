// K-quant quantizers. First version: per-sub-block min/max (Q4_K) and max-magnitude (Q6_K) scales, then the
// sub-block scales quantized against the super-block's f16 scale. Valid GGUF blocks; the search ggml does for
// lower error comes later.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/quant.h"

namespace r1::kernels {

void quantize_row_q4_k(const float* x, BlockQ4_K* y, int64_t n) {
  for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
    float scale[8], min[8];
    for (int j = 0; j < 8; ++j) {
      float mn = 0.0f, mx = 0.0f;
      for (int l = 0; l < 32; ++l) mn = std::min(mn, x[32 * j + l]), mx = std::max(mx, x[32 * j + l]);
      scale[j] = (mx - mn) / 15.0f;
      min[j] = -mn;
    }
    const float max_scale = *std::max_element(scale, scale + 8), max_min = *std::max_element(min, min + 8);
    const float d = max_scale / 63.0f, dmin = max_min / 63.0f;
    BlockQ4_K& blk = y[b];
    std::memset(&blk, 0, sizeof blk);
    blk.d = f32_to_f16(d);
    blk.dmin = f32_to_f16(dmin);
    const float dq = f16_to_f32(blk.d), dminq = f16_to_f32(blk.dmin);
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
      ls[j] = uint8_t(std::clamp<long>(dq > 0 ? std::lround(scale[j] / dq) : 0, 0, 63));
      lm[j] = uint8_t(std::clamp<long>(dminq > 0 ? std::lround(min[j] / dminq) : 0, 0, 63));
      if (j < 4) {
        blk.scales[j] = ls[j];
        blk.scales[j + 4] = lm[j];
      } else {
        blk.scales[j + 4] = uint8_t((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
        blk.scales[j - 4] |= uint8_t((ls[j] >> 4) << 6);
        blk.scales[j] |= uint8_t((lm[j] >> 4) << 6);
      }
    }
    uint8_t q[kQKK];
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      q4_k_scale_min(j, blk.scales, &sc, &m);
      const float dl = dq * sc, ml = dminq * m;
      for (int l = 0; l < 32; ++l)
        q[32 * j + l] = uint8_t(dl > 0 ? std::clamp<long>(std::lround((x[32 * j + l] + ml) / dl), 0, 15) : 0);
    }
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) blk.qs[32 * c + l] = uint8_t(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

void quantize_row_q6_k(const float* x, BlockQ6_K* y, int64_t n) {
  for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
    float scale[16];
    float max_scale = 0.0f, amax_scale = 0.0f;
    for (int j = 0; j < 16; ++j) {
      float amax = 0.0f, max = 0.0f;
      for (int l = 0; l < 16; ++l)
        if (std::fabs(x[16 * j + l]) > amax) amax = std::fabs(x[16 * j + l]), max = x[16 * j + l];
      scale[j] = max / -32.0f;
      if (std::fabs(scale[j]) > amax_scale) amax_scale = std::fabs(scale[j]), max_scale = scale[j];
    }
    BlockQ6_K& blk = y[b];
    std::memset(&blk, 0, sizeof blk);
    uint8_t L[kQKK] = {};
    if (amax_scale > 0.0f) {
      const float iscale = -128.0f / max_scale;
      blk.d = f32_to_f16(1.0f / iscale);
      const float dq = f16_to_f32(blk.d);
      for (int j = 0; j < 16; ++j) {
        blk.scales[j] = int8_t(std::min<long>(127, std::lround(iscale * scale[j])));
        const float dl = dq * blk.scales[j];
        for (int l = 0; l < 16; ++l) {
          const long q = dl != 0.0f ? std::lround(x[16 * j + l] / dl) : 0;
          L[16 * j + l] = uint8_t(std::clamp<long>(q, -32, 31) + 32);
        }
      }
    } else {
      std::fill(L, L + kQKK, uint8_t(32));
    }
    uint8_t* ql = blk.ql;
    uint8_t* qh = blk.qh;
    for (int h = 0; h < kQKK; h += 128, ql += 64, qh += 32)
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[h + l], q2 = L[h + l + 32], q3 = L[h + l + 64], q4 = L[h + l + 96];
        ql[l] = uint8_t((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = uint8_t((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = uint8_t((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
  }
}

}  // namespace r1::kernels
