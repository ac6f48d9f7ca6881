// Every trainable tensor of a model as a named f32 tensor (its Hugging Face name and shape) in ONE contiguous
// buffer, with a gradient buffer of the same layout: the optimiser and the gradient clipping see two flat arrays,
// the model sees one pointer per tensor, and a checkpoint is the buffer written under the HF names.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/safetensors.h"

namespace r1::train {

enum class ParamInit {
  kNormal,  // N(0, initializer_range²): Linear and Embedding weights, the MoE router (HF _init_weights)
  kOnes,    // RMSNorm gains
  kZeros,   // biases, e_score_correction_bias
};

struct ParamSpec {
  std::string name;            // HF tensor name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // PyTorch order: a Linear weight is [out, in]
  ParamInit init = ParamInit::kNormal;
  // false for tensors that are part of the checkpoint but not moved by gradients (noaux_tc's
  // e_score_correction_bias, moved by moe_update_bias): the optimiser skips them.
  bool trainable = true;

  int64_t numel() const;
};

class ParamStore {
 public:
  ParamStore() = default;
  // Seeded random initialisation as HF's _init_weights does it (normal(0, init_std), norms 1, biases 0); the same
  // seed gives the same values on every platform.
  static Result<ParamStore> create(std::vector<ParamSpec> specs, double init_std, uint64_t seed);
  // Values from `weights` (a folder's safetensors; any float dtype widened to f32). A missing tensor or one of
  // another shape is an error naming it. Tensors of `weights` that no spec names are left alone.
  static Result<ParamStore> load(std::vector<ParamSpec> specs, WeightStore& weights);

  size_t size() const { return specs_.size(); }  // number of tensors
  int64_t numel() const { return int64_t(values_.size()); }
  const ParamSpec& spec(size_t i) const { return specs_[i]; }
  // Tensor i's values / gradient, spec(i).numel() floats at a fixed offset.
  float* value(size_t i) { return values_.data() + offset_[i]; }
  const float* value(size_t i) const { return values_.data() + offset_[i]; }
  float* grad(size_t i) { return grads_.data() + offset_[i]; }
  const float* grad(size_t i) const { return grads_.data() + offset_[i]; }
  // The index of `name`, or an error naming it.
  Result<size_t> find(const std::string& name) const;
  bool has(const std::string& name) const { return index_.count(name) != 0; }

  // Every value / gradient, in spec order (the iteration order of everything here).
  std::span<float> values() { return values_; }
  std::span<const float> values() const { return values_; }
  std::span<float> grads() { return grads_; }
  std::span<const float> grads() const { return grads_; }
  void zero_grad();

  // The values as a .safetensors file under the HF names: f32, or with the matrices (rank >= 2) rounded to
  // `matrix_dtype` (kBF16 halves a model for shipping; vectors such as norms and MoE biases stay f32).
  Status save_safetensors(const std::string& path, DType matrix_dtype = DType::kF32) const;
  // A Hugging Face folder at `dir`: config.json (the text `config_json`), model.safetensors (save_safetensors),
  // generation_config.json and the tokenizer files (copied from `source_dir` when it has them; empty: none; without
  // a generation_config.json there, one with the config's bos/eos ids is written). Written into a temporary sibling
  // folder and renamed into place, so an interrupted save leaves the previous checkpoint (or nothing), never half of
  // one; an existing `dir` is replaced.
  Status save_hf(const std::string& dir, const std::string& config_json, const std::string& source_dir,
                 DType matrix_dtype = DType::kF32) const;

 private:
  explicit ParamStore(std::vector<ParamSpec> specs);

  std::vector<ParamSpec> specs_;
  std::vector<int64_t> offset_;       // [size()] start of each tensor in values_ / grads_
  std::map<std::string, size_t> index_;
  std::vector<float> values_, grads_;  // [numel()]
};

}  // namespace r1::train
