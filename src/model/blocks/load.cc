#include "model/blocks/load.h"

#include <algorithm>

#include "core/thread_pool.h"
#include "kernels/quant.h"
#include "kernels/simd.h"
#include "model/model.h"

namespace r1 {

Result<std::vector<float>> load_vector(WeightStore& ws, const std::string& name, int64_t n) {
  R1_ASSIGN_OR_RETURN(Tensor t, ws.get(name, {n}));
  std::vector<float> out(static_cast<size_t>(n));
  kernels::to_f32(t.dtype, t.data, out.data(), size_t(n));
  return out;
}

std::vector<std::string> quant_recipes() { return {"q8_0", "q4_0", "q4_k", "q6_k", "q4_k_m"}; }

std::optional<DType> quant_type_for(std::string_view recipe, std::string_view name, int64_t in, bool moe) {
  if (recipe.empty()) return std::nullopt;
  DType type;
  if (recipe == "q4_k_m") {
    const bool routed = name.find(".mlp.experts.") != std::string_view::npos;
    const bool more_bits = name.find("v_proj") != std::string_view::npos ||
                           name.find("down_proj") != std::string_view::npos || name == "lm_head.weight";
    if (moe) type = routed ? DType::kQ4_K : DType::kQ8_0;
    else type = more_bits ? DType::kQ6_K : DType::kQ4_K;
  } else {
    auto t = dtype_from_any_name(recipe);
    if (!t || !dtype_is_quantized(*t)) return std::nullopt;
    type = *t;
  }
  if (in % dtype_block_size(type) != 0) type = DType::kQ8_0;
  if (in % dtype_block_size(type) != 0) return std::nullopt;
  return type;
}

std::vector<uint8_t> convert_rows(const Tensor& w, DType type) {
  const int64_t in = w.dim(-1), rows = w.numel() / in;
  std::vector<uint8_t> bytes(dtype_row_bytes(type, w.numel()));
  const size_t row_bytes = dtype_row_bytes(type, in);
  ThreadPool::global().parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    std::vector<float> wide(static_cast<size_t>(in));
    for (int64_t r = r0; r < r1; ++r) {
      kernels::to_f32(w.dtype, w.row(r), wide.data(), size_t(in));
      kernels::quantize_row(type, wide.data(), bytes.data() + size_t(r) * row_bytes, in);
    }
  });
  return bytes;
}

Tensor convert_weight(WeightStore& ws, const Tensor& w, DType type) {
  std::vector<uint8_t> bytes = convert_rows(w, type);
  ws.release(w);  // the converted copy replaces it: peak memory stays near the converted model's size
  std::vector<int64_t> shape(w.shape.begin(), w.shape.begin() + w.rank);
  return ws.adopt_bytes(std::move(bytes), type, std::move(shape));
}

namespace {

// DeepSeek's FP8 block format: F8_E4M3 weights times one `weight_scale_inv` per 128x128 block.
Result<Tensor> dequantize_fp8(WeightStore& ws, const std::string& name, const Tensor& w, int64_t out, int64_t in) {
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

}  // namespace

Result<Tensor> load_linear(WeightStore& ws, const std::string& name, int64_t out, int64_t in) {
  R1_ASSIGN_OR_RETURN(Tensor w, ws.get(name, {out, in}, /*allow_fp8=*/true));
  if (w.dtype == DType::kF8E4M3) {
    R1_ASSIGN_OR_RETURN(w, dequantize_fp8(ws, name, w, out, in));
  }
  if (ws.quant_recipe().empty() || dtype_is_quantized(w.dtype)) return w;
  auto type = quant_type_for(ws.quant_recipe(), name, in, ws.is_moe());
  if (!type || *type == w.dtype) return w;
  return convert_weight(ws, w, *type);
}

}  // namespace r1
