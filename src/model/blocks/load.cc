#include "model/blocks/load.h"

#include "kernels/simd.h"

namespace r1 {

Result<std::vector<float>> load_vector(WeightStore& ws, const std::string& name, int64_t n) {
  R1_ASSIGN_OR_RETURN(Tensor t, ws.get(name, {n}));
  std::vector<float> out(static_cast<size_t>(n));
  kernels::to_f32(t.dtype, t.data, out.data(), size_t(n));
  return out;
}

}  // namespace r1
