// Element types of weights and activations, and scalar conversions between them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace r1 {

// The last four are GGUF's block-quantized weight formats (layouts in kernels/quant.h): a row of n elements is
// n / dtype_block_size blocks of dtype_block_bytes each.
enum class DType : uint8_t { kF32, kF16, kBF16, kI32, kI64, kU8, kI8, kF8E4M3, kQ8_0, kQ4_0, kQ4_K, kQ6_K };

// Bytes per element of an unquantized type; 0 for the block-quantized ones (use dtype_row_bytes).
size_t dtype_size(DType t);
bool dtype_is_quantized(DType t);
int64_t dtype_block_size(DType t);   // elements per block: 1, 32 (Q8_0, Q4_0) or 256 (Q4_K, Q6_K)
size_t dtype_block_bytes(DType t);   // bytes per block
// Bytes of a row of n elements (n a multiple of the block size).
inline size_t dtype_row_bytes(DType t, int64_t n) {
  return size_t(n / dtype_block_size(t)) * dtype_block_bytes(t);
}
std::string_view dtype_name(DType t);  // safetensors spelling: "F32", "BF16", ...; GGUF's for "Q8_0", "Q4_K", ...
// Safetensors dtype names only (a .safetensors file cannot hold the block-quantized types).
std::optional<DType> dtype_from_name(std::string_view name);
// Any dtype by its name, case-insensitive ("q4_k", "BF16"): command-line options.
std::optional<DType> dtype_from_any_name(std::string_view name);

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Round to nearest even, as PyTorch does; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

float f16_to_f32(uint16_t h);
// float8_e4m3fn (DeepSeek's FP8 weights): 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, 0x7f/0xff NaN.
float fp8_e4m3_to_f32(uint8_t v);
uint16_t f32_to_f16(float f);

}  // namespace r1
