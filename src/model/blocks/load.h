// Small helpers shared by architecture loaders.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "io/safetensors.h"

namespace r1 {

// A 1-D weight (norm scale, bias) widened to f32 and owned, since the hot loops read it every token.
Result<std::vector<float>> load_vector(WeightStore& ws, const std::string& name, int64_t n);

}  // namespace r1
