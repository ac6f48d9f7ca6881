// Small helpers shared by architecture loaders.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "io/safetensors.h"

namespace r1 {

// A 1-D weight (norm scale, bias) widened to f32 and owned, since the hot loops read it every token.
Result<std::vector<float>> load_vector(WeightStore& ws, const std::string& name, int64_t n);

// A Linear weight [out, in] used in place; or, for DeepSeek's FP8 checkpoints (F8_E4M3 with a
// `{name}_scale_inv` of one f32 per 128x128 block, `weight_block_size`), dequantised to f32 at load; or, when the
// store has a quant recipe (LoadOptions::quant), converted to the recipe's block type.
Result<Tensor> load_linear(WeightStore& ws, const std::string& name, int64_t out, int64_t in);

// The block type `recipe` gives the Linear weight `name` (an HF tensor name) with `in` input features, or nullopt
// to keep it as stored. "q8_0" / "q4_0" / "q4_k" / "q6_k": every Linear weight. "q4_k_m", as llama.cpp's Q4_K_M:
// in a dense model Q4_K with Q6_K for v_proj, down_proj and lm_head; in an MoE model (`moe`) routed experts Q4_K
// and attention, shared experts, dense FFNs and lm_head Q8_0. A width the type's block does not divide falls back
// to Q8_0 (K types) or stays as stored.
std::optional<DType> quant_type_for(std::string_view recipe, std::string_view name, int64_t in, bool moe);

// The bytes of `w` (any float or block type) converted row by row to `type` through f32; rows split across the
// thread pool.
std::vector<uint8_t> convert_rows(const Tensor& w, DType type);

// convert_rows owned by the store, with the source's mapped pages released.
Tensor convert_weight(WeightStore& ws, const Tensor& w, DType type);

}  // namespace r1
