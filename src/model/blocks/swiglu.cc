#include "model/blocks/swiglu.h"

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/blocks/load.h"

namespace r1 {

Result<SwigluWeights> load_swiglu(WeightStore& ws, const std::string& prefix, int64_t hidden, int64_t intermediate) {
  SwigluWeights w;
  R1_ASSIGN_OR_RETURN(w.gate_proj, load_linear(ws, prefix + ".gate_proj.weight", intermediate, hidden));
  R1_ASSIGN_OR_RETURN(w.up_proj, load_linear(ws, prefix + ".up_proj.weight", intermediate, hidden));
  R1_ASSIGN_OR_RETURN(w.down_proj, load_linear(ws, prefix + ".down_proj.weight", hidden, intermediate));
  return w;
}

void swiglu_forward(const SwigluWeights& w, const float* x, int64_t T, SwigluScratch& s, float* out,
                    ThreadPool& pool) {
  const int64_t F = w.gate_proj.dim(0);
  if (s.gate.size() < size_t(T * F)) s.gate.resize(size_t(T * F)), s.up.resize(size_t(T * F));
  kernels::matmul(x, T, w.gate_proj, s.gate.data(), pool);
  kernels::matmul(x, T, w.up_proj, s.up.data(), pool);
  kernels::silu_mul(s.gate.data(), s.up.data(), s.gate.data(), T * F);
  kernels::matmul(s.gate.data(), T, w.down_proj, out, pool);
}

}  // namespace r1
