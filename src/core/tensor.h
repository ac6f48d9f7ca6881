// A non-owning view of an n-dimensional array (a weight in a memory-mapped file, or a buffer owned elsewhere).
// Shapes are in PyTorch order: a Linear weight is [out_features, in_features], rows contiguous.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace r1 {

struct Tensor {
  static constexpr int kMaxRank = 4;

  DType dtype = DType::kF32;
  int rank = 0;
  std::array<int64_t, kMaxRank> shape{};  // [rank] sizes, outermost first
  const void* data = nullptr;

  bool empty() const { return data == nullptr; }
  int64_t dim(int i) const { return shape[i < 0 ? rank + i : i]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= shape[i];
    return n;
  }
  size_t row_bytes() const { return dtype_row_bytes(dtype, dim(-1)); }
  size_t nbytes() const { return dtype_row_bytes(dtype, numel()); }
  // Row r of a 2-D tensor (or of the flattened leading dimensions). Block-quantized rows are whole blocks.
  const void* row(int64_t r) const { return static_cast<const uint8_t*>(data) + size_t(r) * row_bytes(); }
  template <typename T>
  const T* as() const { return static_cast<const T*>(data); }
  std::string shape_string() const;  // "[1536, 8960]"
};

// Reads element i of any float tensor as f32 (slow; for loading small tensors and tests).
float tensor_get_f32(const Tensor& t, int64_t i);

}  // namespace r1
