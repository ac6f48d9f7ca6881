#include "model/dense_decoder.h"

#include <algorithm>
#include <cstring>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/simd.h"
#include "model/blocks/load.h"
#include "model/decoder.h"

namespace r1 {

Result<DenseConfig> DenseConfig::from(const HfConfig& c) {
  DenseConfig d;
  R1_ASSIGN_OR_RETURN(d.vocab_size, c.get_int("vocab_size"));
  R1_ASSIGN_OR_RETURN(d.hidden_size, c.get_int("hidden_size"));
  R1_ASSIGN_OR_RETURN(d.intermediate_size, c.get_int("intermediate_size"));
  R1_ASSIGN_OR_RETURN(d.num_hidden_layers, c.get_int("num_hidden_layers"));
  R1_ASSIGN_OR_RETURN(d.num_attention_heads, c.get_int("num_attention_heads"));
  R1_ASSIGN_OR_RETURN(d.num_key_value_heads, c.get_int("num_key_value_heads", d.num_attention_heads));
  if (d.num_attention_heads <= 0 || d.hidden_size <= 0 || d.vocab_size <= 0 || d.intermediate_size <= 0 ||
      d.num_hidden_layers <= 0 || d.num_key_value_heads <= 0)
    return Status::errorf("{}: sizes and counts must be positive", c.source());
  R1_ASSIGN_OR_RETURN(d.head_dim, c.get_int("head_dim", d.hidden_size / d.num_attention_heads));
  R1_ASSIGN_OR_RETURN(d.max_position_embeddings, c.get_int("max_position_embeddings", 2048));
  R1_ASSIGN_OR_RETURN(d.rms_norm_eps, c.get_double("rms_norm_eps", 1e-6));
  R1_ASSIGN_OR_RETURN(d.tie_word_embeddings, c.get_bool("tie_word_embeddings", false));
  R1_ASSIGN_OR_RETURN(d.rope, RopeConfig::from(c));
  R1_ASSIGN_OR_RETURN(std::string act, c.get_string("hidden_act", "silu"));
  if (act != "silu") return Status::errorf("{}: hidden_act \"{}\" is not supported (only silu)", c.source(), act);
  if (d.num_attention_heads % d.num_key_value_heads != 0)
    return Status::errorf("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", c.source(),
                          d.num_attention_heads, d.num_key_value_heads);
  if (d.head_dim <= 0 || d.head_dim % 2 != 0)
    return Status::errorf("{}: head_dim {} must be positive and even for RoPE", c.source(), d.head_dim);
  return d;
}

namespace {

struct DenseLayer {
  std::vector<float> input_layernorm;           // [C]
  GqaWeights self_attn;
  std::vector<float> post_attention_layernorm;  // [C]
  SwigluWeights mlp;
};

class DenseDecoder final : public DecoderModel {
 public:
  DenseDecoder(const DenseConfig& c, WeightStore ws, ModelInfo info)
      : c_(c), ws_(std::move(ws)), inv_freq_(rope_inv_freq(c.rope, c.head_dim)) {
    info_ = std::move(info);
    hidden_size_ = c.hidden_size;
    vocab_size_ = c.vocab_size;
    rms_norm_eps_ = float(c.rms_norm_eps);
    dims_ = {.hidden_size = c.hidden_size, .n_heads = c.num_attention_heads, .n_kv_heads = c.num_key_value_heads,
             .head_dim = c.head_dim};
  }

  Status load() {
    const int64_t C = c_.hidden_size;
    R1_ASSIGN_OR_RETURN(embed_tokens_, ws_.get("model.embed_tokens.weight", {c_.vocab_size, C}));
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l);
      DenseLayer layer;
      R1_ASSIGN_OR_RETURN(layer.input_layernorm, load_vector(ws_, p + ".input_layernorm.weight", C));
      R1_ASSIGN_OR_RETURN(layer.self_attn, load_gqa(ws_, p + ".self_attn", dims_, c_.attention_bias));
      R1_ASSIGN_OR_RETURN(layer.post_attention_layernorm, load_vector(ws_, p + ".post_attention_layernorm.weight", C));
      R1_ASSIGN_OR_RETURN(layer.mlp, load_swiglu(ws_, p + ".mlp", C, c_.intermediate_size));
      layers_.push_back(std::move(layer));
    }
    R1_ASSIGN_OR_RETURN(norm_, load_vector(ws_, "model.norm.weight", C));
    if (c_.tie_word_embeddings) {
      lm_head_ = embed_tokens_;
      if (ws_.has("lm_head.weight")) (void)ws_.get("lm_head.weight", {c_.vocab_size, C});  // saved copy; unused
    } else {
      R1_ASSIGN_OR_RETURN(lm_head_, load_linear(ws_, "lm_head.weight", c_.vocab_size, C));
    }
    return check_all_used(ws_, c_.num_hidden_layers);
  }

  std::unique_ptr<KvStore> new_kv_store(int64_t n_blocks, int64_t block_size) const override {
    if (!KvStore::check_geometry(n_blocks, block_size)) return nullptr;
    return std::make_unique<GqaKvStore>(c_.num_hidden_layers, n_blocks, block_size, c_.num_key_value_heads,
                                        c_.head_dim);
  }

 private:
  bool accepts(const KvStore& store) const override {
    const auto* s = dynamic_cast<const GqaKvStore*>(&store);
    return s && s->n_layers() == c_.num_hidden_layers && s->n_kv_heads() == c_.num_key_value_heads &&
           s->head_dim() == c_.head_dim;
  }

  void run_layers(const Batch& batch, ThreadPool& pool) override {
    const int64_t T = batch.rows, C = c_.hidden_size, half = c_.head_dim / 2;
    grow(cos_, T * half), grow(sin_, T * half);
    rope_tables(inv_freq_, batch.positions, cos_.data(), sin_.data());
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
      const DenseLayer& layer = layers_[size_t(l)];
      kernels::rmsnorm(x_.data(), layer.input_layernorm.data(), xn_.data(), T, C, rms_norm_eps_);
      gqa_forward(layer.self_attn, dims_, xn_.data(), batch, l, cos_.data(), sin_.data(), attn_scratch_,
                  tmp_.data(), pool);
      kernels::add_inplace(x_.data(), tmp_.data(), T * C);
      kernels::rmsnorm(x_.data(), layer.post_attention_layernorm.data(), xn_.data(), T, C, rms_norm_eps_);
      swiglu_forward(layer.mlp, xn_.data(), T, mlp_scratch_, tmp_.data(), pool);
      kernels::add_inplace(x_.data(), tmp_.data(), T * C);
    }
  }

  TokenCost layers_cost() const override {
    TokenCost c;
    for (const DenseLayer& l : layers_) {
      const GqaWeights& a = l.self_attn;
      const size_t bytes = bytes_of(l.input_layernorm) + bytes_of(a.q_proj) + bytes_of(a.k_proj) +
                           bytes_of(a.v_proj) + bytes_of(a.o_proj) + bytes_of(a.q_bias) + bytes_of(a.k_bias) +
                           bytes_of(a.v_bias) + bytes_of(l.post_attention_layernorm) + bytes_of(l.mlp.gate_proj) +
                           bytes_of(l.mlp.up_proj) + bytes_of(l.mlp.down_proj);
      c.weight_bytes += bytes;
      c.active_weight_bytes += double(bytes);
    }
    // Per layer and cached position: q.k over H heads of Dh, then the weighted sum of V; 2 FLOPs per product.
    c.attention_flops_per_position = 4.0 * double(c_.num_hidden_layers * c_.num_attention_heads * c_.head_dim);
    return c;
  }

  DenseConfig c_;
  WeightStore ws_;  // owns the memory maps every Tensor points into
  GqaDims dims_;
  std::vector<float> inv_freq_;  // [Dh / 2]
  std::vector<DenseLayer> layers_;
  // Run state, grown to the largest chunk seen and reused: no allocation per decoded token.
  std::vector<float> cos_, sin_;  // [T, Dh / 2]
  GqaScratch attn_scratch_;
  SwigluScratch mlp_scratch_;
};

}  // namespace

ModelInfo describe_dense(const DenseConfig& c) {
  ModelInfo info;
  const int64_t C = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const int64_t attention = C * q + 2 * C * kv + q * C + (c.attention_bias ? q + 2 * kv : 0);
  const int64_t layer = attention + 3 * C * c.intermediate_size + 2 * C;
  info.n_params = c.vocab_size * C * (c.tie_word_embeddings ? 1 : 2) + c.num_hidden_layers * layer + C;
  info.n_active_params = info.n_params - (c.tie_word_embeddings ? 0 : c.vocab_size * C);  // lookup is not compute
  info.vocab_size = c.vocab_size;
  info.hidden_size = C;
  info.num_hidden_layers = c.num_hidden_layers;
  info.max_position_embeddings = c.max_position_embeddings;
  info.attention = fmt::format("GQA: {} query heads, {} KV heads, head dim {}", c.num_attention_heads,
                               c.num_key_value_heads, c.head_dim);
  info.kv_bytes_per_token = size_t(2 * c.num_hidden_layers * kv) * sizeof(float);
  info.kv_bytes_per_token_bf16 = info.kv_bytes_per_token / 2;
  return info;
}

Result<std::unique_ptr<Model>> make_dense_decoder(const DenseConfig& config, WeightStore weights, ModelInfo info) {
  auto model = std::make_unique<DenseDecoder>(config, std::move(weights), std::move(info));
  R1_RETURN_IF_ERROR(model->load());
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace r1
