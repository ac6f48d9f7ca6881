// The interface every architecture implements, and load_model(), which picks the architecture from config.json
// through the one list in model/registry.cc.
#pragma once

#include <algorithm>
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

// One sequence's share of Model::forward_batch.
struct SeqChunk {
  std::span<const int32_t> tokens;  // appended at positions cache->size() .. +T-1
  KvCache* cache;                   // each sequence appears at most once per call
  bool all_logits = false;          // logits of every token (else only the last)
};

class Model {
 public:
  virtual ~Model() = default;
  const ModelInfo& info() const { return info_; }

  // A store of n_blocks blocks of block_size token slots in this model's KV layout, shared by the caches made on
  // it; null unless KvStore::check_geometry(n_blocks, block_size) is ok.
  virtual std::unique_ptr<KvStore> new_kv_store(int64_t n_blocks, int64_t block_size) const = 0;
  // A cache for one sequence of at most `capacity` tokens, owning its store (blocks of kOwnedBlockSize).
  std::unique_ptr<KvCache> new_cache(int64_t capacity) const {
    const int64_t B = kOwnedBlockSize, n_blocks = (std::max<int64_t>(capacity, 0) + B - 1) / B;
    return std::make_unique<KvCache>(new_kv_store(n_blocks, B), capacity);
  }
  static constexpr int64_t kOwnedBlockSize = 16;

  using SeqChunk = r1::SeqChunk;
  // One pass over every sequence's tokens: all Linear layers / MoE run on the concatenated rows (weights read once
  // per pass), RoPE at each token's own position, attention per sequence over its own block table. logits gets, in
  // order, T_i rows per sequence with all_logits, else 1 row, each [vocab_size]; null logits skips lm_head (a
  // prefill chunk whose logits nobody reads). Errors (no tokens, a token id outside the vocabulary, a block table
  // too short for the new tokens or naming a block outside the store, a store of another model, a sequence twice)
  // leave every cache unchanged.
  virtual Status forward_batch(std::span<const SeqChunk> seqs, float* logits) = 0;

  // forward_batch of one sequence: runs `tokens` at the positions after those `cache` holds and appends them to
  // it; writes the logits of the last token to logits[vocab_size], or of every token to logits[T, vocab_size]
  // when all_logits.
  Status forward(std::span<const int32_t> tokens, KvCache& cache, float* logits, bool all_logits) {
    const SeqChunk seq{.tokens = tokens, .cache = &cache, .all_logits = all_logits};
    return forward_batch({&seq, 1}, logits);
  }

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
