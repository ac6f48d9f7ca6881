// `qwen2` and `llama` for training: the dense decoder of model/dense_decoder.cc (embedding, N x [RMSNorm -> GQA ->
// residual, RMSNorm -> SwiGLU -> residual], RMSNorm, lm_head) through the training ops. T tokens, C hidden size,
// H query heads, Hkv key/value heads, D head dim, F intermediate size.
#include <cmath>

#include "kernels/ops.h"
#include "model/blocks/rope.h"
#include "model/dense_decoder.h"
#include "train/model_families.h"
#include "train/ops.h"

namespace r1::train {

namespace {

struct DenseLayerWeights {
  Weight input_layernorm;           // [C]
  Weight q_proj, q_bias;            // [H * D, C], [H * D] (bias only with attention_bias)
  Weight k_proj, k_bias;            // [Hkv * D, C], [Hkv * D]
  Weight v_proj, v_bias;            // [Hkv * D, C], [Hkv * D]
  Weight o_proj;                    // [C, H * D]
  Weight post_attention_layernorm;  // [C]
  Weight gate_proj, up_proj;        // [F, C]
  Weight down_proj;                 // [C, F]
};

// What one layer's forward saves for its backward.
struct DenseLayerActs {
  std::vector<float> x_in, rstd1, xn1;     // [T, C] layer input, [T], [T, C] input_layernorm output
  std::vector<float> q, k, v;              // [T, H * D], [T, Hkv * D], [T, Hkv * D] projections (q, k before rope)
  std::vector<float> qr, kr;               // q, k after rope
  std::vector<float> att;                  // attention probabilities, [H, L, L] per sequence
  std::vector<float> o;                    // [T, H * D] attention output
  std::vector<float> x_mid, rstd2, xn2;    // [T, C] residual after attention, [T], [T, C]
  std::vector<float> gate, up, h;          // [T, F] gate_proj, up_proj outputs, silu(gate) * up
};

std::vector<ParamSpec> dense_specs(const DenseConfig& c) {
  const int64_t C = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim,
                F = c.intermediate_size;
  std::vector<ParamSpec> specs;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    specs.push_back({.name = p + "input_layernorm.weight", .shape = {C}, .init = ParamInit::kOnes});
    for (const auto& [name, out] : {std::pair{"q_proj", q}, {"k_proj", kv}, {"v_proj", kv}}) {
      specs.push_back({.name = p + "self_attn." + name + ".weight", .shape = {out, C}});
      if (c.attention_bias)
        specs.push_back({.name = p + "self_attn." + name + ".bias", .shape = {out}, .init = ParamInit::kZeros});
    }
    specs.push_back({.name = p + "self_attn.o_proj.weight", .shape = {C, q}});
    specs.push_back({.name = p + "post_attention_layernorm.weight", .shape = {C}, .init = ParamInit::kOnes});
    specs.push_back({.name = p + "mlp.gate_proj.weight", .shape = {F, C}});
    specs.push_back({.name = p + "mlp.up_proj.weight", .shape = {F, C}});
    specs.push_back({.name = p + "mlp.down_proj.weight", .shape = {C, F}});
  }
  TrainModel::add_outer_specs(specs, c.vocab_size, C, c.tie_word_embeddings);
  return specs;
}

class DenseTrainModel final : public TrainModel {
 public:
  DenseTrainModel(Init init, const DenseConfig& c)
      : TrainModel(std::move(init)), c_(c), inv_freq_(rope_inv_freq(c.rope, c.head_dim)),
        scale_(1.0f / std::sqrt(float(c.head_dim))) {
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".", a = p + "self_attn.";
      const auto bias = [&](const char* name) { return c.attention_bias ? weight(a + name + ".bias") : Weight{}; };
      layers_.push_back({.input_layernorm = weight(p + "input_layernorm.weight"),
                         .q_proj = weight(a + "q_proj.weight"), .q_bias = bias("q_proj"),
                         .k_proj = weight(a + "k_proj.weight"), .k_bias = bias("k_proj"),
                         .v_proj = weight(a + "v_proj.weight"), .v_bias = bias("v_proj"),
                         .o_proj = weight(a + "o_proj.weight"),
                         .post_attention_layernorm = weight(p + "post_attention_layernorm.weight"),
                         .gate_proj = weight(p + "mlp.gate_proj.weight"), .up_proj = weight(p + "mlp.up_proj.weight"),
                         .down_proj = weight(p + "mlp.down_proj.weight")});
    }
    acts_.resize(layers_.size());
  }

 private:
  Status forward_layers(int64_t T) override {
    const int64_t C = C_, H = c_.num_attention_heads, Hkv = c_.num_key_value_heads, D = c_.head_dim,
                  F = c_.intermediate_size;
    const float eps = float(c_.rms_norm_eps);
    cos_.resize(size_t(T * D / 2)), sin_.resize(cos_.size());
    rope_tables(inv_freq_, positions_, cos_.data(), sin_.data());  // the dense decoder's tables: no cos/sin scale
    tmp_.resize(size_t(T * C));
    const AttentionShape shape{
        .T = T, .n_heads = H, .n_kv_heads = Hkv, .head_dim = D, .v_head_dim = D, .lengths = lengths_};
    for (size_t l = 0; l < layers_.size(); ++l) {
      const DenseLayerWeights& w = layers_[l];
      DenseLayerActs& a = acts_[l];
      a.x_in = x_;
      a.rstd1.resize(size_t(T)), a.xn1.resize(size_t(T * C));
      rmsnorm_forward(a.xn1.data(), a.rstd1.data(), x_.data(), w.input_layernorm.w, T, C, eps);
      a.q.resize(size_t(T * H * D)), a.k.resize(size_t(T * Hkv * D)), a.v.resize(a.k.size());
      linear_forward(a.q.data(), a.xn1.data(), w.q_proj.w, w.q_bias.w, T, C, H * D, pool_);
      linear_forward(a.k.data(), a.xn1.data(), w.k_proj.w, w.k_bias.w, T, C, Hkv * D, pool_);
      linear_forward(a.v.data(), a.xn1.data(), w.v_proj.w, w.v_bias.w, T, C, Hkv * D, pool_);
      a.qr.resize(a.q.size()), a.kr.resize(a.k.size());
      rope_forward(a.qr.data(), a.q.data(), cos_.data(), sin_.data(), T, H, D, RopeLayout::kHalfSplit);
      rope_forward(a.kr.data(), a.k.data(), cos_.data(), sin_.data(), T, Hkv, D, RopeLayout::kHalfSplit);
      a.att.resize(size_t(attention_probs_size(shape))), a.o.resize(a.q.size());
      R1_RETURN_IF_ERROR(
          attention_forward(a.o.data(), a.att.data(), a.qr.data(), a.kr.data(), a.v.data(), shape, scale_, pool_));
      linear_forward(tmp_.data(), a.o.data(), w.o_proj.w, nullptr, T, H * D, C, pool_);
      kernels::add_inplace(x_.data(), tmp_.data(), T * C);

      a.x_mid = x_;
      a.rstd2.resize(size_t(T)), a.xn2.resize(size_t(T * C));
      rmsnorm_forward(a.xn2.data(), a.rstd2.data(), x_.data(), w.post_attention_layernorm.w, T, C, eps);
      a.gate.resize(size_t(T * F)), a.up.resize(a.gate.size()), a.h.resize(a.gate.size());
      linear_forward(a.gate.data(), a.xn2.data(), w.gate_proj.w, nullptr, T, C, F, pool_);
      linear_forward(a.up.data(), a.xn2.data(), w.up_proj.w, nullptr, T, C, F, pool_);
      swiglu_forward(a.h.data(), a.gate.data(), a.up.data(), T * F);
      linear_forward(tmp_.data(), a.h.data(), w.down_proj.w, nullptr, T, F, C, pool_);
      kernels::add_inplace(x_.data(), tmp_.data(), T * C);
    }
    return Status::ok();
  }

  void backward_layers(int64_t T) override {
    const int64_t C = C_, H = c_.num_attention_heads, Hkv = c_.num_key_value_heads, D = c_.head_dim,
                  F = c_.intermediate_size;
    const AttentionShape shape{
        .T = T, .n_heads = H, .n_kv_heads = Hkv, .head_dim = D, .v_head_dim = D, .lengths = lengths_};
    for (size_t l = layers_.size(); l-- > 0;) {
      const DenseLayerWeights& w = layers_[l];
      const DenseLayerActs& a = acts_[l];
      // MLP branch: dx_ is the gradient of the layer output, which the residual passes straight to x_mid.
      zero(dh_, T * F);
      linear_backward(dh_.data(), w.down_proj.g, nullptr, dx_.data(), a.h.data(), w.down_proj.w, T, F, C, pool_);
      zero(dgate_, T * F), zero(dup_, T * F);
      swiglu_backward(dgate_.data(), dup_.data(), dh_.data(), a.gate.data(), a.up.data(), T * F);
      zero(dxn_, T * C);
      linear_backward(dxn_.data(), w.gate_proj.g, nullptr, dgate_.data(), a.xn2.data(), w.gate_proj.w, T, C, F, pool_);
      linear_backward(dxn_.data(), w.up_proj.g, nullptr, dup_.data(), a.xn2.data(), w.up_proj.w, T, C, F, pool_);
      rmsnorm_backward(dx_.data(), w.post_attention_layernorm.g, dxn_.data(), a.x_mid.data(),
                       w.post_attention_layernorm.w, a.rstd2.data(), T, C);
      // Attention branch.
      zero(do_, T * H * D);
      linear_backward(do_.data(), w.o_proj.g, nullptr, dx_.data(), a.o.data(), w.o_proj.w, T, H * D, C, pool_);
      zero(dqr_, T * H * D), zero(dkr_, T * Hkv * D), zero(dv_, T * Hkv * D);
      attention_backward(dqr_.data(), dkr_.data(), dv_.data(), do_.data(), a.att.data(), a.qr.data(), a.kr.data(),
                         a.v.data(), shape, scale_, pool_);
      zero(dq_, T * H * D), zero(dk_, T * Hkv * D);
      rope_backward(dq_.data(), dqr_.data(), cos_.data(), sin_.data(), T, H, D, RopeLayout::kHalfSplit);
      rope_backward(dk_.data(), dkr_.data(), cos_.data(), sin_.data(), T, Hkv, D, RopeLayout::kHalfSplit);
      zero(dxn_, T * C);
      linear_backward(dxn_.data(), w.q_proj.g, w.q_bias.g, dq_.data(), a.xn1.data(), w.q_proj.w, T, C, H * D, pool_);
      linear_backward(dxn_.data(), w.k_proj.g, w.k_bias.g, dk_.data(), a.xn1.data(), w.k_proj.w, T, C, Hkv * D,
                      pool_);
      linear_backward(dxn_.data(), w.v_proj.g, w.v_bias.g, dv_.data(), a.xn1.data(), w.v_proj.w, T, C, Hkv * D,
                      pool_);
      rmsnorm_backward(dx_.data(), w.input_layernorm.g, dxn_.data(), a.x_in.data(), w.input_layernorm.w,
                       a.rstd1.data(), T, C);
    }
  }

  DenseConfig c_;
  std::vector<float> inv_freq_;  // [D / 2]
  float scale_;                  // 1 / sqrt(D)
  std::vector<DenseLayerWeights> layers_;
  std::vector<DenseLayerActs> acts_;
  std::vector<float> cos_, sin_, tmp_;  // [T, D / 2] of the last forward; [T, C] block output
  // Backward scratch, named after the activation they are the gradient of.
  std::vector<float> dh_, dgate_, dup_, dxn_, do_, dqr_, dkr_, dv_, dq_, dk_;
};

}  // namespace

Result<std::unique_ptr<TrainModel>> make_dense_train(TrainModel::Init base, const std::string& model_type,
                                                     const ParamSource& source) {
  auto parsed = model_type == "qwen2" ? qwen2_config(base.config) : llama_config(base.config);
  if (!parsed) return parsed.status();
  const DenseConfig& c = *parsed;
  R1_ASSIGN_OR_RETURN(base.params, source.make(dense_specs(c)));
  base.vocab_size = c.vocab_size, base.hidden_size = c.hidden_size, base.rms_norm_eps = c.rms_norm_eps;
  base.tie_word_embeddings = c.tie_word_embeddings, base.max_positions = c.max_position_embeddings;
  return std::unique_ptr<TrainModel>(new DenseTrainModel(std::move(base), c));
}

}  // namespace r1::train
