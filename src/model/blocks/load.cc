#include "model/blocks/load.h"

#include "kernels/simd.h"

namespace r1 {

Result<std::vector<float>> load_vector(WeightStore& ws, const std::string& name, int64_t n) {
  R1_ASSIGN_OR_RETURN(Tensor t, ws.get(name, {n}));
  std::vector<float> out(static_cast<size_t>(n));
  kernels::to_f32(t.dtype, t.data, out.data(), size_t(n));
  return out;
}

Result<Tensor> load_linear(WeightStore& ws, const std::string& name, int64_t out, int64_t in) {
  R1_ASSIGN_OR_RETURN(Tensor w, ws.get(name, {out, in}, /*allow_fp8=*/true));
  if (w.dtype != DType::kF8E4M3) return w;
  constexpr int64_t kBlock = 128;
  const std::string scale_name = name + "_scale_inv";
  if (!ws.has(scale_name)) return Status::errorf("FP8 tensor '{}' has no '{}'", name, scale_name);
  const int64_t bo = (out + kBlock - 1) / kBlock, bi = (in + kBlock - 1) / kBlock;
  R1_ASSIGN_OR_RETURN(Tensor scale, ws.get(scale_name, {bo, bi}));
  std::vector<float> deq(static_cast<size_t>(out * in));
  const auto* q = w.as<uint8_t>();
  for (int64_t r = 0; r < out; ++r)
    for (int64_t c = 0; c < in; ++c)
      deq[size_t(r * in + c)] = fp8_e4m3_to_f32(q[r * in + c]) * tensor_get_f32(scale, (r / kBlock) * bi + c / kBlock);
  return ws.adopt(std::move(deq), {out, in});
}

}  // namespace r1
