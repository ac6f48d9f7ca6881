// SwiGLU feed-forward: down_proj(silu(gate_proj(x)) * up_proj(x)). T tokens, C hidden size, F intermediate size.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"

namespace r1 {

struct SwigluWeights {
  Tensor gate_proj;  // [F, C]
  Tensor up_proj;    // [F, C]
  Tensor down_proj;  // [C, F]
};

// Loads `{prefix}.{gate,up,down}_proj.weight`.
Result<SwigluWeights> load_swiglu(WeightStore& ws, const std::string& prefix, int64_t hidden, int64_t intermediate);

struct SwigluScratch {
  std::vector<float> gate, up;  // [T, F]
};

// out[T, C] = SwiGLU(x[T, C]).
void swiglu_forward(const SwigluWeights& w, const float* x, int64_t T, SwigluScratch& s, float* out, ThreadPool& pool);

}  // namespace r1
