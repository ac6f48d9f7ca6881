// The dense decoder-only transformer shared by `llama` and `qwen2` (and the R1-Distill models built on them):
// embedding, N x [RMSNorm -> GQA -> residual, RMSNorm -> SwiGLU -> residual], RMSNorm, lm_head.
// qwen2.cc and llama.cc read their configs into DenseConfig; this file holds the one layer loop.
#pragma once

#include <memory>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/blocks/gqa.h"
#include "model/blocks/rope.h"
#include "model/blocks/swiglu.h"
#include "model/model.h"

namespace r1 {

struct DenseConfig {
  int64_t vocab_size = 0;               // rows of embed_tokens and lm_head
  int64_t hidden_size = 0;              // C
  int64_t intermediate_size = 0;        // F, SwiGLU width
  int64_t num_hidden_layers = 0;        // L
  int64_t num_attention_heads = 0;      // H
  int64_t num_key_value_heads = 0;      // Hkv (GQA groups)
  int64_t head_dim = 0;                 // Dh, hidden_size / H unless the config says otherwise
  int64_t max_position_embeddings = 0;  // longest context the model was trained for
  double rms_norm_eps = 0;              // RMSNorm epsilon
  bool tie_word_embeddings = false;     // lm_head shares embed_tokens
  bool attention_bias = false;          // q/k/v projections have biases (always for qwen2)
  RopeConfig rope;                      // rope_theta, rope_scaling

  // Reads the fields llama and qwen2 share and checks them for consistency.
  static Result<DenseConfig> from(const HfConfig& config);
};

// Sizes, parameter counts and cache bytes of the model `config` describes.
// The typed config of each architecture file (qwen2.cc, llama.cc): DenseConfig::from plus that architecture's own
// fields and checks. The trainer (train/model.h) reads configs through these too, so each has one parser.
Result<DenseConfig> qwen2_config(const HfConfig& config);
Result<DenseConfig> llama_config(const HfConfig& config);

ModelInfo describe_dense(const DenseConfig& config);

Result<std::unique_ptr<Model>> make_dense_decoder(const DenseConfig& config, WeightStore weights, ModelInfo info);

}  // namespace r1
