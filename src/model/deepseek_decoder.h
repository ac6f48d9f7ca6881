// The MLA + DeepSeekMoE decoder shared by `deepseek_v2` and `deepseek_v3` (ARCHITECTURE.md): embedding,
// N x [RMSNorm -> MLA -> residual, RMSNorm -> (dense SwiGLU | DeepSeekMoE) -> residual], RMSNorm, lm_head.
// deepseek_v2.cc and deepseek_v3.cc read their configs into DeepseekConfig; this file holds the one layer loop.
#pragma once

#include <memory>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/blocks/mla.h"
#include "model/blocks/moe.h"
#include "model/blocks/rope.h"
#include "model/model.h"

namespace r1 {

struct DeepseekConfig {
  int64_t vocab_size = 0;               // rows of embed_tokens and lm_head
  int64_t hidden_size = 0;              // C
  int64_t intermediate_size = 0;        // width of the dense SwiGLU layers
  int64_t moe_intermediate_size = 0;    // width of one routed expert
  int64_t num_hidden_layers = 0;        // L (the MTP layers come after these)
  int64_t num_attention_heads = 0;      // H
  int64_t q_lora_rank = 0;              // 0 when config.json has null (V2-Lite)
  int64_t kv_lora_rank = 0;             // R, width of the cached latent
  int64_t qk_nope_head_dim = 0;         // Dn
  int64_t qk_rope_head_dim = 0;         // Dr
  int64_t v_head_dim = 0;               // Dv
  int64_t n_shared_experts = 0;         // shared experts fused into one SwiGLU; 0 = none
  int64_t first_k_dense_replace = 0;    // layers below this are dense
  int64_t moe_layer_freq = 1;           // every moe_layer_freq-th layer (from first_k_dense_replace) is MoE
  int64_t num_nextn_predict_layers = 0; // MTP layers stored after the decoder layers (V3), loaded but not run
  int64_t max_position_embeddings = 0;  // context length
  double rms_norm_eps = 1e-6;           // RMSNorm epsilon
  bool tie_word_embeddings = false;     // lm_head shares embed_tokens
  MoeRouting routing;                   // n_routed_experts .. routed_scaling_factor; E = 0 means no MoE at all
  RopeConfig rope;                      // rope_theta, YaRN rope_scaling

  // Reads the fields V2 and V3 share; `defaults` carries each version's own defaults for routing fields the
  // config may leave out (V2: greedy/softmax; V3: noaux_tc/sigmoid).
  static Result<DeepseekConfig> from(const HfConfig& config, const MoeRouting& defaults);
  bool is_moe_layer(int64_t layer) const {
    return routing.n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
  }
};

// Sizes, parameter counts (total, active per token, MTP) and latent-cache bytes of the model `config` describes.
// The typed config of each architecture file (deepseek_v2.cc, deepseek_v3.cc): DeepseekConfig::from with that
// version's routing defaults. The trainer (train/model.h) reads configs through these too.
Result<DeepseekConfig> deepseek_v2_config(const HfConfig& config);
Result<DeepseekConfig> deepseek_v3_config(const HfConfig& config);

// MLA's dimensions and softmax scale ((Dn + Dr)^-0.5, times YaRN's m^2) for `config`.
MlaDims deepseek_mla_dims(const DeepseekConfig& config);

ModelInfo describe_deepseek(const DeepseekConfig& config);

Result<std::unique_ptr<Model>> make_deepseek_decoder(const DeepseekConfig& config, WeightStore weights,
                                                     ModelInfo info, const LoadOptions& options);

}  // namespace r1
