#include "core/tensor.h"

namespace r1 {

std::string Tensor::shape_string() const {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

float tensor_get_f32(const Tensor& t, int64_t i) {
  switch (t.dtype) {
    case DType::kF32: return t.as<float>()[i];
    case DType::kF16: return f16_to_f32(t.as<uint16_t>()[i]);
    case DType::kBF16: return bf16_to_f32(t.as<uint16_t>()[i]);
    default: return 0.0f;
  }
}

}  // namespace r1
