// `deepseek_v3` and `deepseek_v2` for training: the MLA + DeepSeekMoE decoder of model/deepseek_decoder.cc
// (embedding, N x [RMSNorm -> MLA -> residual, RMSNorm -> (dense SwiGLU | DeepSeekMoE) -> residual], RMSNorm,
// lm_head) through the training ops, MLA in its naive (decompressed) form. T tokens, C hidden size, E routed
// experts, F moe_intermediate_size, Fd the dense layers' intermediate_size.
#include "kernels/ops.h"
#include "model/blocks/rope.h"
#include "model/deepseek_decoder.h"
#include "train/model_families.h"
#include "train/ops.h"

namespace r1::train {

namespace {

struct DeepseekLayerWeights {
  Weight input_layernorm;           // [C]
  MlaParams mla;                    // self_attn.*
  MlaGrads mla_grad;
  Weight post_attention_layernorm;  // [C]
  bool is_moe = false;
  Weight gate_proj, up_proj, down_proj;  // dense layers: [Fd, C], [Fd, C], [C, Fd]
  MoeParams moe;                    // MoE layers: routed experts stacked (their specs are consecutive)
  MoeGrads moe_grad;
  float* e_score_correction_bias = nullptr;  // [E] noaux_tc only; a value, moved by update_moe_bias
};

struct DeepseekLayerActs {
  std::vector<float> x_in, rstd1, xn1;   // [T, C] layer input, [T], [T, C] input_layernorm output
  MlaActs mla;
  std::vector<float> x_mid, rstd2, xn2;  // [T, C] residual after attention, [T], [T, C]
  MoeActs moe;                           // MoE layers
  std::vector<float> gate, up, h;        // dense layers: [T, Fd]
};

std::vector<ParamSpec> deepseek_specs(const DeepseekConfig& c) {
  const int64_t C = c.hidden_size, H = c.num_attention_heads, Dq = c.qk_nope_head_dim + c.qk_rope_head_dim,
                R = c.kv_lora_rank, Dr = c.qk_rope_head_dim, E = c.routing.n_routed_experts,
                F = c.moe_intermediate_size, Fs = c.n_shared_experts * F, Fd = c.intermediate_size;
  std::vector<ParamSpec> specs;
  const auto ffn = [&](const std::string& p, int64_t width) {
    specs.push_back({.name = p + "gate_proj.weight", .shape = {width, C}});
    specs.push_back({.name = p + "up_proj.weight", .shape = {width, C}});
    specs.push_back({.name = p + "down_proj.weight", .shape = {C, width}});
  };
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".", a = p + "self_attn.", m = p + "mlp.";
    specs.push_back({.name = p + "input_layernorm.weight", .shape = {C}, .init = ParamInit::kOnes});
    if (c.q_lora_rank > 0) {
      specs.push_back({.name = a + "q_a_proj.weight", .shape = {c.q_lora_rank, C}});
      specs.push_back({.name = a + "q_a_layernorm.weight", .shape = {c.q_lora_rank}, .init = ParamInit::kOnes});
      specs.push_back({.name = a + "q_b_proj.weight", .shape = {H * Dq, c.q_lora_rank}});
    } else {
      specs.push_back({.name = a + "q_proj.weight", .shape = {H * Dq, C}});
    }
    specs.push_back({.name = a + "kv_a_proj_with_mqa.weight", .shape = {R + Dr, C}});
    specs.push_back({.name = a + "kv_a_layernorm.weight", .shape = {R}, .init = ParamInit::kOnes});
    specs.push_back({.name = a + "kv_b_proj.weight", .shape = {H * (c.qk_nope_head_dim + c.v_head_dim), R}});
    specs.push_back({.name = a + "o_proj.weight", .shape = {C, H * c.v_head_dim}});
    specs.push_back({.name = p + "post_attention_layernorm.weight", .shape = {C}, .init = ParamInit::kOnes});
    if (!c.is_moe_layer(l)) {
      ffn(m, Fd);
      continue;
    }
    specs.push_back({.name = m + "gate.weight", .shape = {E, C}});
    if (c.routing.topk_method == MoeTopkMethod::kNoauxTc)
      specs.push_back({.name = m + "gate.e_score_correction_bias", .shape = {E}, .init = ParamInit::kZeros,
                       .trainable = false});
    // Each projection's experts back to back, so the ops see one stacked [E, ...] tensor.
    for (const auto& [proj, rows, cols] : {std::tuple{"gate_proj", F, C}, {"up_proj", F, C}, {"down_proj", C, F}})
      for (int64_t e = 0; e < E; ++e)
        specs.push_back({.name = m + "experts." + std::to_string(e) + "." + proj + ".weight", .shape = {rows, cols}});
    if (Fs > 0) ffn(m + "shared_experts.", Fs);
  }
  TrainModel::add_outer_specs(specs, c.vocab_size, C, c.tie_word_embeddings);
  return specs;
}

class DeepseekTrainModel final : public TrainModel {
 public:
  DeepseekTrainModel(Init init, const DeepseekConfig& c)
      : TrainModel(std::move(init)), c_(c), dims_(deepseek_mla_dims(c)),
        moe_dims_{.hidden_size = c.hidden_size, .moe_intermediate_size = c.moe_intermediate_size,
                  .shared_intermediate_size = c.n_shared_experts * c.moe_intermediate_size},
        inv_freq_(rope_inv_freq(c.rope, c.qk_rope_head_dim)), cos_sin_scale_(rope_cos_sin_scale(c.rope)) {
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) layers_.push_back(layer_weights(l));
    acts_.resize(layers_.size());
  }

  std::vector<std::vector<int64_t>> expert_load() const override { return load_; }

  void update_moe_bias(float gamma) override {
    size_t i = 0;
    for (const DeepseekLayerWeights& w : layers_) {
      if (!w.is_moe) continue;
      if (w.e_score_correction_bias)
        moe_update_bias(w.e_score_correction_bias, load_[i].data(), c_.routing.n_routed_experts, gamma);
      std::fill(load_[i].begin(), load_[i].end(), 0);
      ++i;
    }
  }

 private:
  DeepseekLayerWeights layer_weights(int64_t l) {
    const std::string p = "model.layers." + std::to_string(l) + ".", a = p + "self_attn.", m = p + "mlp.";
    DeepseekLayerWeights w;
    w.input_layernorm = weight(p + "input_layernorm.weight");
    w.post_attention_layernorm = weight(p + "post_attention_layernorm.weight");
    const auto both = [&](const std::string& name, const float*& value, float*& grad) {
      const Weight x = weight(name);
      value = x.w, grad = x.g;
    };
    if (c_.q_lora_rank > 0) {
      both(a + "q_a_proj.weight", w.mla.q_a_proj, w.mla_grad.q_a_proj);
      both(a + "q_a_layernorm.weight", w.mla.q_a_layernorm, w.mla_grad.q_a_layernorm);
      both(a + "q_b_proj.weight", w.mla.q_b_proj, w.mla_grad.q_b_proj);
    } else {
      both(a + "q_proj.weight", w.mla.q_proj, w.mla_grad.q_proj);
    }
    both(a + "kv_a_proj_with_mqa.weight", w.mla.kv_a_proj_with_mqa, w.mla_grad.kv_a_proj_with_mqa);
    both(a + "kv_a_layernorm.weight", w.mla.kv_a_layernorm, w.mla_grad.kv_a_layernorm);
    both(a + "kv_b_proj.weight", w.mla.kv_b_proj, w.mla_grad.kv_b_proj);
    both(a + "o_proj.weight", w.mla.o_proj, w.mla_grad.o_proj);
    w.is_moe = c_.is_moe_layer(l);
    if (!w.is_moe) {
      w.gate_proj = weight(m + "gate_proj.weight"), w.up_proj = weight(m + "up_proj.weight");
      w.down_proj = weight(m + "down_proj.weight");
      return w;
    }
    both(m + "gate.weight", w.moe.gate, w.moe_grad.gate);
    if (c_.routing.topk_method == MoeTopkMethod::kNoauxTc)
      w.e_score_correction_bias = params().value(*params().find(m + "gate.e_score_correction_bias"));
    both(m + "experts.0.gate_proj.weight", w.moe.gate_proj, w.moe_grad.gate_proj);
    both(m + "experts.0.up_proj.weight", w.moe.up_proj, w.moe_grad.up_proj);
    both(m + "experts.0.down_proj.weight", w.moe.down_proj, w.moe_grad.down_proj);
    if (c_.n_shared_experts > 0) {
      both(m + "shared_experts.gate_proj.weight", w.moe.shared_gate_proj, w.moe_grad.shared_gate_proj);
      both(m + "shared_experts.up_proj.weight", w.moe.shared_up_proj, w.moe_grad.shared_up_proj);
      both(m + "shared_experts.down_proj.weight", w.moe.shared_down_proj, w.moe_grad.shared_down_proj);
    }
    load_.emplace_back(size_t(c_.routing.n_routed_experts), 0);
    return w;
  }

  Status forward_layers(int64_t T) override {
    const int64_t C = C_, Fd = c_.intermediate_size, half = c_.qk_rope_head_dim / 2;
    const float eps = float(c_.rms_norm_eps);
    cos_.resize(size_t(T * half)), sin_.resize(cos_.size());
    rope_tables(inv_freq_, positions_, cos_.data(), sin_.data(), cos_sin_scale_);
    tmp_.resize(size_t(T * C));
    for (size_t l = 0; l < layers_.size(); ++l) {
      const DeepseekLayerWeights& w = layers_[l];
      DeepseekLayerActs& a = acts_[l];
      a.x_in = x_;
      a.rstd1.resize(size_t(T)), a.xn1.resize(size_t(T * C));
      rmsnorm_forward(a.xn1.data(), a.rstd1.data(), x_.data(), w.input_layernorm.w, T, C, eps);
      R1_RETURN_IF_ERROR(
          mla_forward(tmp_.data(), a.mla, a.xn1.data(), w.mla, dims_, T, cos_.data(), sin_.data(), pool_, lengths_));
      kernels::add_inplace(x_.data(), tmp_.data(), T * C);

      a.x_mid = x_;
      a.rstd2.resize(size_t(T)), a.xn2.resize(size_t(T * C));
      rmsnorm_forward(a.xn2.data(), a.rstd2.data(), x_.data(), w.post_attention_layernorm.w, T, C, eps);
      if (w.is_moe) {
        R1_RETURN_IF_ERROR(moe_forward(tmp_.data(), a.moe, a.xn2.data(), w.moe, w.e_score_correction_bias,
                                       c_.routing, moe_dims_, T, pool_));
      } else {
        a.gate.resize(size_t(T * Fd)), a.up.resize(a.gate.size()), a.h.resize(a.gate.size());
        linear_forward(a.gate.data(), a.xn2.data(), w.gate_proj.w, nullptr, T, C, Fd, pool_);
        linear_forward(a.up.data(), a.xn2.data(), w.up_proj.w, nullptr, T, C, Fd, pool_);
        swiglu_forward(a.h.data(), a.gate.data(), a.up.data(), T * Fd);
        linear_forward(tmp_.data(), a.h.data(), w.down_proj.w, nullptr, T, Fd, C, pool_);
      }
      kernels::add_inplace(x_.data(), tmp_.data(), T * C);
    }
    return Status::ok();
  }

  void backward_layers(int64_t T) override {
    const int64_t C = C_, Fd = c_.intermediate_size;
    size_t moe_index = load_.size();
    for (size_t l = layers_.size(); l-- > 0;) {
      const DeepseekLayerWeights& w = layers_[l];
      DeepseekLayerActs& a = acts_[l];
      zero(dxn_, T * C);
      if (w.is_moe) {
        moe_backward(dxn_.data(), w.moe_grad, dx_.data(), a.moe, a.xn2.data(), w.moe, c_.routing, moe_dims_, T, pool_);
        std::vector<int64_t>& load = load_[--moe_index];
        for (size_t e = 0; e < load.size(); ++e) load[e] += a.moe.load(int64_t(e));
      } else {
        zero(dh_, T * Fd);
        linear_backward(dh_.data(), w.down_proj.g, nullptr, dx_.data(), a.h.data(), w.down_proj.w, T, Fd, C, pool_);
        zero(dgate_, T * Fd), zero(dup_, T * Fd);
        swiglu_backward(dgate_.data(), dup_.data(), dh_.data(), a.gate.data(), a.up.data(), T * Fd);
        linear_backward(dxn_.data(), w.gate_proj.g, nullptr, dgate_.data(), a.xn2.data(), w.gate_proj.w, T, C, Fd,
                        pool_);
        linear_backward(dxn_.data(), w.up_proj.g, nullptr, dup_.data(), a.xn2.data(), w.up_proj.w, T, C, Fd, pool_);
      }
      rmsnorm_backward(dx_.data(), w.post_attention_layernorm.g, dxn_.data(), a.x_mid.data(),
                       w.post_attention_layernorm.w, a.rstd2.data(), T, C);
      zero(dxn_, T * C);
      mla_backward(dxn_.data(), w.mla_grad, dx_.data(), a.mla, a.xn1.data(), w.mla, dims_, T, cos_.data(),
                   sin_.data(), pool_, lengths_);
      rmsnorm_backward(dx_.data(), w.input_layernorm.g, dxn_.data(), a.x_in.data(), w.input_layernorm.w,
                       a.rstd1.data(), T, C);
    }
  }

  DeepseekConfig c_;
  MlaDims dims_;
  MoeDims moe_dims_;
  std::vector<float> inv_freq_;  // [Dr / 2]
  float cos_sin_scale_;          // YaRN's factor on cos/sin
  std::vector<DeepseekLayerWeights> layers_;
  std::vector<DeepseekLayerActs> acts_;
  std::vector<std::vector<int64_t>> load_;  // [MoE layers][E] tokens routed since the last update_moe_bias
  std::vector<float> cos_, sin_, tmp_;      // [T, Dr / 2] of the last forward; [T, C] block output
  std::vector<float> dxn_, dh_, dgate_, dup_;  // backward scratch: [T, C], dense FFN [T, Fd]
};

}  // namespace

Result<std::unique_ptr<TrainModel>> make_deepseek_train(TrainModel::Init base, const std::string& model_type,
                                                        const ParamSource& source) {
  auto parsed = model_type == "deepseek_v3" ? deepseek_v3_config(base.config) : deepseek_v2_config(base.config);
  if (!parsed) return parsed.status();
  const DeepseekConfig& c = *parsed;
  R1_ASSIGN_OR_RETURN(base.params, source.make(deepseek_specs(c)));
  base.vocab_size = c.vocab_size, base.hidden_size = c.hidden_size, base.rms_norm_eps = c.rms_norm_eps;
  base.tie_word_embeddings = c.tie_word_embeddings, base.max_positions = c.max_position_embeddings;
  return std::unique_ptr<TrainModel>(new DeepseekTrainModel(std::move(base), c));
}

}  // namespace r1::train
