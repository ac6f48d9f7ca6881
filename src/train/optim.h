// The optimiser: AdamW with PyTorch's torch.optim.AdamW semantics, global-norm gradient clipping as
// torch.nn.utils.clip_grad_norm_, and a warmup + cosine learning-rate schedule. Checked against PyTorch in
// tests/train/model_test.cc (fixtures from tools/gen_train_fixtures.py).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "train/params.h"

namespace r1::train {

struct AdamWConfig {
  double beta1 = 0.9;           // first-moment decay
  double beta2 = 0.999;         // second-moment decay
  double eps = 1e-8;            // added to sqrt(v̂), outside the square root (as PyTorch)
  double weight_decay = 0.01;   // decoupled: p -= lr * weight_decay * p before the Adam update
};

// Linear warmup to `lr` over warmup_steps, then a cosine from lr down to min_lr at total_steps, min_lr after.
struct LrSchedule {
  double lr = 1e-3;           // peak learning rate
  double min_lr = 0.0;        // floor of the cosine
  int64_t warmup_steps = 0;   // step s < warmup_steps runs at lr * (s + 1) / warmup_steps
  int64_t total_steps = 1;    // steps of the whole run

  double at(int64_t step) const;  // learning rate of optimizer step `step`, counted from 0
};

// Scales every gradient by min(1, max_norm / (‖g‖₂ + 1e-6)) over all of `grads` together and returns the norm
// before clipping (what training logs). max_norm <= 0 only measures.
double clip_grad_norm(std::span<float> grads, double max_norm);

// Weight decay goes to matrices only (tensors of rank >= 2: Linear weights, embeddings, the MoE router, experts),
// not to RMSNorm gains or biases, the usual GPT recipe; tools/gen_train_fixtures.py builds PyTorch's AdamW with
// the same two parameter groups. Tensors with ParamSpec::trainable false are never touched.
class AdamW {
 public:
  AdamW(const ParamStore& params, AdamWConfig config);

  // One update of every trainable parameter from params.grads() at learning rate lr (gradients unchanged).
  void step(ParamStore& params, double lr);
  int64_t steps() const { return step_; }
  const AdamWConfig& config() const { return config_; }

  // The state (m, v, step count) as a safetensors file, and back: a resumed run continues exactly.
  Status save(const std::string& path) const;
  Status load(const std::string& path);

 private:
  struct Range {
    int64_t begin, end;  // floats of the parameter buffer
    bool decay;
  };
  AdamWConfig config_;
  std::vector<Range> ranges_;   // trainable tensors, in ParamStore order
  std::vector<float> m_, v_;    // [numel] first and second moments
  int64_t step_ = 0;
};

}  // namespace r1::train
