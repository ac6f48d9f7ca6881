// The interface every architecture implements, and load_model(), which picks the architecture from config.json
// through the one list in model/registry.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "runtime/kv_cache.h"

namespace r1 {

// What `r1 info` reports and what front ends need to size things.
struct ModelInfo {
  std::string model_type;            // HF model_type, e.g. "qwen2"
  std::string architecture;          // HF class name, e.g. "Qwen2ForCausalLM"
  int64_t vocab_size = 0;            // logits per token
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t max_position_embeddings = 0;
  int64_t n_params = 0;              // parameters of the model as the config defines it (MTP layers excluded)
  int64_t n_active_params = 0;       // parameters computed with per token: MoE counts only the routed experts
                                     // chosen, and an untied input embedding (a lookup) is left out, as
                                     // DeepSeek counts "activated" parameters
  int64_t n_mtp_params = 0;          // multi-token-prediction layers stored beside the model (V3), not run
  int64_t n_checkpoint_params = 0;   // elements of every tensor in the checkpoint; 0 when read from a config alone
  DType dtype = DType::kF32;         // dtype of most weight bytes
  size_t weight_bytes = 0;           // bytes of all weights as stored (memory-mapped); estimated from a config alone
  std::string attention;             // e.g. "GQA: 12 query heads, 2 KV heads, head dim 128"
  size_t kv_bytes_per_token = 0;     // cache bytes per token as this runtime stores it
  size_t kv_bytes_per_token_bf16 = 0;  // the same cache in bf16, the usual figure to compare engines by
};

class Model {
 public:
  virtual ~Model() = default;
  const ModelInfo& info() const { return info_; }

  // A cache for one sequence of at most `capacity` tokens.
  virtual std::unique_ptr<KvCache> new_cache(int64_t capacity) const = 0;

  // Runs `tokens` at the positions after those `cache` holds, and appends them to it. Writes the logits of the last
  // token to logits[vocab_size], or of every token to logits[T, vocab_size] when all_logits. Errors (a token id
  // outside the vocabulary, a full cache) leave the cache unchanged.
  virtual Status forward(std::span<const int32_t> tokens, KvCache& cache, float* logits, bool all_logits) = 0;

  // What running one token costs, from the weights as held after loading (--quant conversions included); the
  // inputs of `r1 bench --roofline`. All zero for a model that does not report it.
  struct TokenCost {
    size_t weight_bytes = 0;            // every weight held, embedding table included
    double active_weight_bytes = 0;     // weights one token reads: all Linear weights, lm_head and norms, MoE
                                        // layers counting router + shared experts + K/E of the routed experts;
                                        // not the embedding table (one row of it is read)
    double attention_flops_per_position = 0;  // attention FLOPs (scores and weighted sum, all layers) per cached
                                              // position the token attends to
  };
  virtual TokenCost token_cost() const { return {}; }

 protected:
  ModelInfo info_;
};

struct LoadOptions {
  // Multi-head latent attention in its naive form (decompressed K/V per head) instead of the absorbed one; for
  // checking one against the other.
  bool mla_naive = false;
  // Convert Linear weights to a GGUF block type at load time ("q8_0", "q4_0", "q4_k", "q6_k", or the mixed
  // "q4_k_m"); empty keeps them as stored. See quant_type_for() in model/blocks/load.h.
  std::string quant;
};

// The --quant recipes load_model accepts.
std::vector<std::string> quant_recipes();

// Loads a Hugging Face folder (config.json + safetensors), or a .gguf file (model/gguf_model.h). Unknown model_type or architectures is an error listing
// the supported ones; tensors are validated against the config.
Result<std::unique_ptr<Model>> load_model(const std::string& dir, const LoadOptions& options = {});

class HfConfig;
class WeightStore;
// The second half of load_model: the architecture `config` names, built from `weights` (a folder's safetensors, or
// a GGUF file's tensors under their HF names).
Result<std::unique_ptr<Model>> load_model_from(const HfConfig& config, WeightStore weights,
                                               const LoadOptions& options);

// What a config.json describes (sizes, parameter counts, KV cache), without any weights.
Result<ModelInfo> describe_config(const std::string& config_path);

// The supported HF model_type names, for error messages and `r1 --help`.
std::vector<std::string> supported_model_types();

}  // namespace r1
