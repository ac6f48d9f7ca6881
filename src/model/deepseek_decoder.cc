#include "model/deepseek_decoder.h"

#include <algorithm>
#include <cmath>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/simd.h"
#include "model/blocks/load.h"
#include "model/decoder.h"

namespace r1 {

namespace {

Result<MoeTopkMethod> parse_topk_method(const HfConfig& c, MoeTopkMethod def) {
  R1_ASSIGN_OR_RETURN(std::string s, c.get_string("topk_method", ""));
  if (s.empty()) return def;
  if (s == "greedy") return MoeTopkMethod::kGreedy;
  if (s == "group_limited_greedy") return MoeTopkMethod::kGroupLimitedGreedy;
  if (s == "noaux_tc") return MoeTopkMethod::kNoauxTc;
  return Status::errorf("{}: topk_method \"{}\" is not supported (supported: greedy, group_limited_greedy, noaux_tc)",
                        c.source(), s);
}

Result<MoeScoring> parse_scoring(const HfConfig& c, MoeScoring def) {
  R1_ASSIGN_OR_RETURN(std::string s, c.get_string("scoring_func", ""));
  if (s.empty()) return def;
  if (s == "softmax") return MoeScoring::kSoftmax;
  if (s == "sigmoid") return MoeScoring::kSigmoid;
  return Status::errorf("{}: scoring_func \"{}\" is not supported (supported: softmax, sigmoid)", c.source(), s);
}

Status check_routing(const HfConfig& c, const MoeRouting& r) {
  if (r.n_routed_experts == 0) return Status::ok();
  if (r.num_experts_per_tok <= 0 || r.num_experts_per_tok > r.n_routed_experts)
    return Status::errorf("{}: num_experts_per_tok {} must be in 1..n_routed_experts ({})", c.source(),
                          r.num_experts_per_tok, r.n_routed_experts);
  if (r.n_group <= 0 || r.n_routed_experts % r.n_group != 0 || r.topk_group <= 0 || r.topk_group > r.n_group)
    return Status::errorf("{}: n_group {} must divide n_routed_experts {} and topk_group {} be in 1..n_group",
                          c.source(), r.n_group, r.n_routed_experts, r.topk_group);
  if (r.topk_method != MoeTopkMethod::kGreedy &&
      r.num_experts_per_tok > r.topk_group * (r.n_routed_experts / r.n_group))
    return Status::errorf("{}: the {} kept groups hold fewer than num_experts_per_tok ({}) experts", c.source(),
                          r.topk_group, r.num_experts_per_tok);
  return Status::ok();
}

}  // namespace

Result<DeepseekConfig> DeepseekConfig::from(const HfConfig& c, const MoeRouting& defaults) {
  DeepseekConfig d;
  R1_ASSIGN_OR_RETURN(d.vocab_size, c.get_int("vocab_size"));
  R1_ASSIGN_OR_RETURN(d.hidden_size, c.get_int("hidden_size"));
  R1_ASSIGN_OR_RETURN(d.intermediate_size, c.get_int("intermediate_size"));
  R1_ASSIGN_OR_RETURN(d.num_hidden_layers, c.get_int("num_hidden_layers"));
  R1_ASSIGN_OR_RETURN(d.num_attention_heads, c.get_int("num_attention_heads"));
  R1_ASSIGN_OR_RETURN(d.q_lora_rank, c.get_int("q_lora_rank", 0));
  R1_ASSIGN_OR_RETURN(d.kv_lora_rank, c.get_int("kv_lora_rank"));
  R1_ASSIGN_OR_RETURN(d.qk_nope_head_dim, c.get_int("qk_nope_head_dim"));
  R1_ASSIGN_OR_RETURN(d.qk_rope_head_dim, c.get_int("qk_rope_head_dim"));
  R1_ASSIGN_OR_RETURN(d.v_head_dim, c.get_int("v_head_dim"));
  R1_ASSIGN_OR_RETURN(d.max_position_embeddings, c.get_int("max_position_embeddings", 4096));
  R1_ASSIGN_OR_RETURN(d.rms_norm_eps, c.get_double("rms_norm_eps", 1e-6));
  R1_ASSIGN_OR_RETURN(d.tie_word_embeddings, c.get_bool("tie_word_embeddings", false));
  R1_ASSIGN_OR_RETURN(d.num_nextn_predict_layers, c.get_int("num_nextn_predict_layers", 0));
  R1_ASSIGN_OR_RETURN(d.rope, RopeConfig::from(c));
  MoeRouting& r = d.routing;
  r = defaults;
  R1_ASSIGN_OR_RETURN(r.n_routed_experts, c.get_int("n_routed_experts", 0));
  R1_ASSIGN_OR_RETURN(d.n_shared_experts, c.get_int("n_shared_experts", 0));
  R1_ASSIGN_OR_RETURN(d.moe_intermediate_size, c.get_int("moe_intermediate_size", 0));
  R1_ASSIGN_OR_RETURN(r.num_experts_per_tok, c.get_int("num_experts_per_tok", 0));
  R1_ASSIGN_OR_RETURN(d.first_k_dense_replace, c.get_int("first_k_dense_replace", 0));
  R1_ASSIGN_OR_RETURN(d.moe_layer_freq, c.get_int("moe_layer_freq", 1));
  R1_ASSIGN_OR_RETURN(r.n_group, c.get_int("n_group", 1));
  R1_ASSIGN_OR_RETURN(r.topk_group, c.get_int("topk_group", 1));
  R1_ASSIGN_OR_RETURN(r.topk_method, parse_topk_method(c, defaults.topk_method));
  R1_ASSIGN_OR_RETURN(r.scoring_func, parse_scoring(c, defaults.scoring_func));
  R1_ASSIGN_OR_RETURN(r.norm_topk_prob, c.get_bool("norm_topk_prob", false));
  R1_ASSIGN_OR_RETURN(double scale, c.get_double("routed_scaling_factor", 1.0));
  r.routed_scaling_factor = float(scale);
  R1_ASSIGN_OR_RETURN(std::string act, c.get_string("hidden_act", "silu"));
  if (act != "silu") return Status::errorf("{}: hidden_act \"{}\" is not supported (only silu)", c.source(), act);
  R1_ASSIGN_OR_RETURN(bool bias, c.get_bool("attention_bias", false));
  if (bias) return Status::errorf("{}: attention_bias is not supported for MLA", c.source());
  for (int64_t v : {d.vocab_size, d.hidden_size, d.num_hidden_layers, d.num_attention_heads, d.kv_lora_rank,
                    d.qk_nope_head_dim, d.v_head_dim, d.moe_layer_freq})
    if (v <= 0) return Status::errorf("{}: sizes and counts must be positive", c.source());
  if (d.qk_rope_head_dim <= 0 || d.qk_rope_head_dim % 2)
    return Status::errorf("{}: qk_rope_head_dim {} must be positive and even", c.source(), d.qk_rope_head_dim);
  if (r.n_routed_experts > 0 && d.moe_intermediate_size <= 0)
    return Status::errorf("{}: moe_intermediate_size must be positive with routed experts", c.source());
  R1_RETURN_IF_ERROR(check_routing(c, r));
  return d;
}

MlaDims deepseek_mla_dims(const DeepseekConfig& c) {
  return {.hidden_size = c.hidden_size, .n_heads = c.num_attention_heads, .q_lora_rank = c.q_lora_rank,
          .kv_lora_rank = c.kv_lora_rank, .qk_nope_head_dim = c.qk_nope_head_dim,
          .qk_rope_head_dim = c.qk_rope_head_dim, .v_head_dim = c.v_head_dim, .rms_norm_eps = float(c.rms_norm_eps),
          .softmax_scale = float(1.0 / std::sqrt(double(c.qk_nope_head_dim + c.qk_rope_head_dim))) *
                           yarn_softmax_factor(c.rope)};
}

namespace {

struct DeepseekLayer {
  std::vector<float> input_layernorm;           // [C]
  MlaWeights self_attn;
  std::vector<float> post_attention_layernorm;  // [C]
  bool is_moe = false;
  SwigluWeights mlp;  // dense layers: width intermediate_size
  MoeWeights moe;     // MoE layers
};

class DeepseekDecoder final : public DecoderModel {
 public:
  DeepseekDecoder(const DeepseekConfig& c, WeightStore ws, ModelInfo info, const LoadOptions& options)
      : c_(c), ws_(std::move(ws)), mode_(options.mla_naive ? MlaMode::kNaive : MlaMode::kAbsorbed),
        inv_freq_(rope_inv_freq(c.rope, c.qk_rope_head_dim)), cos_sin_scale_(rope_cos_sin_scale(c.rope)) {
    info_ = std::move(info);
    hidden_size_ = c.hidden_size;
    vocab_size_ = c.vocab_size;
    rms_norm_eps_ = float(c.rms_norm_eps);
    dims_ = deepseek_mla_dims(c);
  }

  Status load() {
    const int64_t C = c_.hidden_size;
    R1_ASSIGN_OR_RETURN(embed_tokens_, ws_.get("model.embed_tokens.weight", {c_.vocab_size, C}));
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l);
      DeepseekLayer layer;
      R1_ASSIGN_OR_RETURN(layer.input_layernorm, load_vector(ws_, p + ".input_layernorm.weight", C));
      R1_ASSIGN_OR_RETURN(layer.self_attn, load_mla(ws_, p + ".self_attn", dims_));
      R1_ASSIGN_OR_RETURN(layer.post_attention_layernorm, load_vector(ws_, p + ".post_attention_layernorm.weight", C));
      layer.is_moe = c_.is_moe_layer(l);
      if (layer.is_moe) {
        R1_ASSIGN_OR_RETURN(layer.moe, load_moe(ws_, p + ".mlp", c_.routing, C, c_.moe_intermediate_size,
                                                c_.n_shared_experts));
      } else {
        R1_ASSIGN_OR_RETURN(layer.mlp, load_swiglu(ws_, p + ".mlp", C, c_.intermediate_size));
      }
      layers_.push_back(std::move(layer));
    }
    R1_ASSIGN_OR_RETURN(norm_, load_vector(ws_, "model.norm.weight", C));
    if (c_.tie_word_embeddings) {
      lm_head_ = embed_tokens_;
    } else {
      R1_ASSIGN_OR_RETURN(lm_head_, load_linear(ws_, "lm_head.weight", c_.vocab_size, C));
    }
    // Multi-token-prediction layers (V3: model.layers.61) are kept for speculative decoding, not run here.
    for (int64_t i = 0; i < c_.num_nextn_predict_layers; ++i) {
      auto mtp = ws_.take_prefix("model.layers." + std::to_string(c_.num_hidden_layers + i) + ".");
      if (mtp.empty()) return Status::errorf("num_nextn_predict_layers is {} but layer {} is missing",
                                             c_.num_nextn_predict_layers, c_.num_hidden_layers + i);
      mtp_layers_.push_back(std::move(mtp));
    }
    return check_all_used(ws_, c_.num_hidden_layers);
  }

  std::unique_ptr<KvStore> new_kv_store(int64_t n_blocks, int64_t block_size) const override {
    if (!KvStore::check_geometry(n_blocks, block_size)) return nullptr;
    return std::make_unique<MlaKvStore>(c_.num_hidden_layers, n_blocks, block_size, c_.kv_lora_rank,
                                        c_.qk_rope_head_dim);
  }

 private:
  bool accepts(const KvStore& store) const override {
    const auto* s = dynamic_cast<const MlaKvStore*>(&store);
    return s && s->n_layers() == c_.num_hidden_layers && s->kv_lora_rank() == c_.kv_lora_rank &&
           s->rope_head_dim() == c_.qk_rope_head_dim;
  }

  void run_layers(const Batch& batch, ThreadPool& pool) override {
    const int64_t T = batch.rows, C = c_.hidden_size, half = c_.qk_rope_head_dim / 2;
    grow(cos_, T * half), grow(sin_, T * half);
    rope_tables(inv_freq_, batch.positions, cos_.data(), sin_.data(), cos_sin_scale_);
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
      const DeepseekLayer& layer = layers_[size_t(l)];
      kernels::rmsnorm(x_.data(), layer.input_layernorm.data(), xn_.data(), T, C, rms_norm_eps_);
      mla_forward(layer.self_attn, dims_, mode_, xn_.data(), batch, l, cos_.data(), sin_.data(), mla_scratch_,
                  tmp_.data(), pool);
      kernels::add_inplace(x_.data(), tmp_.data(), T * C);
      kernels::rmsnorm(x_.data(), layer.post_attention_layernorm.data(), xn_.data(), T, C, rms_norm_eps_);
      if (layer.is_moe) moe_forward(layer.moe, c_.routing, xn_.data(), T, moe_scratch_, tmp_.data(), pool);
      else swiglu_forward(layer.mlp, xn_.data(), T, moe_scratch_.ffn, tmp_.data(), pool);
      kernels::add_inplace(x_.data(), tmp_.data(), T * C);
    }
  }

  static size_t swiglu_bytes(const SwigluWeights& w) {
    return bytes_of(w.gate_proj) + bytes_of(w.up_proj) + bytes_of(w.down_proj);
  }

  TokenCost layers_cost() const override {
    TokenCost c;
    const MoeRouting& r = c_.routing;
    for (const DeepseekLayer& l : layers_) {
      const MlaWeights& a = l.self_attn;
      size_t fixed = bytes_of(l.input_layernorm) + bytes_of(l.post_attention_layernorm) + bytes_of(a.q_proj) +
                     bytes_of(a.q_a_proj) + bytes_of(a.q_a_layernorm) + bytes_of(a.q_b_proj) +
                     bytes_of(a.kv_a_proj_with_mqa) + bytes_of(a.kv_a_layernorm) + bytes_of(a.kv_b_proj) +
                     bytes_of(a.o_proj);
      size_t routed = 0;
      if (l.is_moe) {
        fixed += bytes_of(l.moe.gate) + bytes_of(l.moe.e_score_correction_bias) +
                 (l.moe.has_shared_experts ? swiglu_bytes(l.moe.shared_experts) : 0);
        for (const SwigluWeights& e : l.moe.experts) routed += swiglu_bytes(e);
      } else {
        fixed += swiglu_bytes(l.mlp);
      }
      c.weight_bytes += fixed + routed;
      // A token runs num_experts_per_tok of the n_routed_experts (all the same size).
      c.active_weight_bytes += double(fixed) +
                               (l.is_moe ? double(routed) * double(r.num_experts_per_tok) / double(r.n_routed_experts)
                                         : 0.0);
    }
    // Absorbed MLA, per layer and cached position: each head scores against c_kv [R] and k_pe [Dr], then sums
    // c_kv [R]; 2 FLOPs per product. (The naive path reads decompressed keys and values instead.)
    c.attention_flops_per_position =
        2.0 * double(c_.num_hidden_layers * c_.num_attention_heads * (2 * c_.kv_lora_rank + c_.qk_rope_head_dim));
    return c;
  }

  DeepseekConfig c_;
  WeightStore ws_;  // owns the memory maps (and dequantised FP8 weights) every Tensor below points into
  MlaMode mode_;
  MlaDims dims_;
  std::vector<float> inv_freq_;  // [Dr / 2]
  float cos_sin_scale_;          // YaRN magnitude factor on cos/sin
  std::vector<DeepseekLayer> layers_;
  std::vector<std::map<std::string, Tensor>> mtp_layers_;  // [num_nextn_predict_layers] name -> tensor
  std::vector<float> cos_, sin_;  // [T, Dr / 2]
  MlaScratch mla_scratch_;
  MoeScratch moe_scratch_;
};

}  // namespace

namespace {

// Parameters of one decoder layer: (all, active per token).
std::pair<int64_t, int64_t> layer_params(const DeepseekConfig& c, int64_t layer) {
  const int64_t C = c.hidden_size, H = c.num_attention_heads, Dq = c.qk_nope_head_dim + c.qk_rope_head_dim;
  const int64_t q = c.q_lora_rank > 0 ? C * c.q_lora_rank + c.q_lora_rank + c.q_lora_rank * H * Dq : C * H * Dq;
  const int64_t attention = q + C * (c.kv_lora_rank + c.qk_rope_head_dim) + c.kv_lora_rank +
                            c.kv_lora_rank * H * (c.qk_nope_head_dim + c.v_head_dim) + H * c.v_head_dim * C;
  const int64_t norms = 2 * C;
  if (!c.is_moe_layer(layer)) {
    const int64_t all = attention + norms + 3 * C * c.intermediate_size;
    return {all, all};
  }
  const MoeRouting& r = c.routing;
  const int64_t expert = 3 * C * c.moe_intermediate_size;
  const int64_t router = r.n_routed_experts * C + (r.topk_method == MoeTopkMethod::kNoauxTc ? r.n_routed_experts : 0);
  const int64_t fixed = attention + norms + router + c.n_shared_experts * expert;
  return {fixed + r.n_routed_experts * expert, fixed + r.num_experts_per_tok * expert};
}

}  // namespace

ModelInfo describe_deepseek(const DeepseekConfig& c) {
  ModelInfo info;
  const int64_t C = c.hidden_size, embed = c.vocab_size * C;
  info.n_params = embed * (c.tie_word_embeddings ? 1 : 2) + C;  // embeddings, lm_head, final norm
  info.n_active_params = info.n_params - (c.tie_word_embeddings ? 0 : embed);  // the input lookup is not compute
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const auto [all, active] = layer_params(c, l);
    info.n_params += all;
    info.n_active_params += active;
  }
  // An MTP module (DeepSeek-V3 section 2.2): enorm, hnorm, eh_proj [C, 2C], one more decoder layer, and its own
  // copies of the embedding and output head, as the checkpoint stores them.
  for (int64_t i = 0; i < c.num_nextn_predict_layers; ++i)
    info.n_mtp_params += 2 * C + 2 * C * C + layer_params(c, c.num_hidden_layers + i).first + C + 2 * embed;
  info.vocab_size = c.vocab_size;
  info.hidden_size = C;
  info.num_hidden_layers = c.num_hidden_layers;
  info.max_position_embeddings = c.max_position_embeddings;
  info.attention = fmt::format("MLA: {} heads, kv_lora_rank {}, rope dim {}, q_lora_rank {}; cache holds c_kv + k_pe",
                               c.num_attention_heads, c.kv_lora_rank, c.qk_rope_head_dim,
                               c.q_lora_rank ? std::to_string(c.q_lora_rank) : "none");
  info.kv_bytes_per_token = size_t(c.num_hidden_layers * (c.kv_lora_rank + c.qk_rope_head_dim)) * sizeof(float);
  info.kv_bytes_per_token_bf16 = info.kv_bytes_per_token / 2;
  return info;
}

Result<std::unique_ptr<Model>> make_deepseek_decoder(const DeepseekConfig& c, WeightStore weights, ModelInfo info,
                                                     const LoadOptions& options) {
  auto model = std::make_unique<DeepseekDecoder>(c, std::move(weights), std::move(info), options);
  R1_RETURN_IF_ERROR(model->load());
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace r1
