// GGUF's block-quantized weight formats, byte for byte as ggml lays them out (so files interoperate with
// llama.cpp), and the scalar reference conversions. Fast dot products over them live in kernels/quant_dot*.
//
//   Q8_0  32 weights: f16 d, int8 q[32]                       w = d * q
//   Q4_0  32 weights: f16 d, 16 bytes of nibbles              w = d * (q - 8); byte j holds q[j] (low), q[j+16] (high)
//   Q4_K  256 weights in 8 sub-blocks of 32: f16 d, f16 dmin, 12 bytes of 6-bit (scale, min) pairs, 128 bytes of
//         nibbles                                             w = d * sc[j] * q - dmin * m[j]
//   Q6_K  256 weights in 16 sub-blocks of 16: 128 bytes low nibbles, 64 bytes of 2-bit highs, int8 scales[16], f16 d
//                                                             w = d * scales[j] * (q - 32)
#pragma once

#include <cstdint>
#include <optional>

#include "core/dtype.h"

namespace r1::kernels {

inline constexpr int64_t kQK = 32;    // Q8_0, Q4_0 block
inline constexpr int64_t kQKK = 256;  // K-quant super-block

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[kQKK / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ6_K) == 210);

// Scale and min of Q4_K sub-block j (0..7) from the packed 12 bytes (ggml's get_scale_min_k4).
inline void q4_k_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Reference conversions of one row of n values (n a multiple of dtype_block_size(t)) for any float or
// block-quantized type. quantize_row rounds like ggml's reference quantizers.
void quantize_row(DType t, const float* x, void* out, int64_t n);
void dequantize_row(DType t, const void* in, float* out, int64_t n);

// The K-quant quantizers (kernels/quant_k.cc): n a multiple of 256.
void quantize_row_q4_k(const float* x, BlockQ4_K* y, int64_t n);
void quantize_row_q6_k(const float* x, BlockQ6_K* y, int64_t n);

// ggml's type ids (GGML_TYPE_F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8, Q4_K = 12, Q6_K = 14, BF16 = 30).
std::optional<uint32_t> ggml_type_of(DType t);
std::optional<DType> dtype_of_ggml(uint32_t ggml_type);

}  // namespace r1::kernels
