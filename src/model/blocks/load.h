// Small helpers shared by architecture loaders.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "io/safetensors.h"

namespace r1 {

// A 1-D weight (norm scale, bias) widened to f32 and owned, since the hot loops read it every token.
Result<std::vector<float>> load_vector(WeightStore& ws, const std::string& name, int64_t n);

// A Linear weight [out, in] used in place, or, for DeepSeek's FP8 checkpoints (F8_E4M3 with a
// `{name}_scale_inv` of one f32 per 128x128 block, `weight_block_size`), dequantised to f32 at load.
Result<Tensor> load_linear(WeightStore& ws, const std::string& name, int64_t out, int64_t in);

}  // namespace r1
