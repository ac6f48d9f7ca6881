// The trainable model: r1's architectures (qwen2, llama, deepseek_v2, deepseek_v3) run through the training ops
// (train/ops.h) over the parameters of a ParamStore, for one sequence or several packed into one call. forward()
// saves the activations, backward() accumulates every parameter's gradient into the ParamStore. The same
// parameters give r1's inference
// Model (inference_model()), so the policy that is trained is the one that samples: one model definition, two
// executions (the training one checked against the inference one and against PyTorch in tests/train/).
//
// Not trained: DeepSeek-V3's multi-token-prediction layers (a config with num_nextn_predict_layers > 0 is refused,
// since a checkpoint saved without them would not load); the noaux_tc e_score_correction_bias moves only through
// update_moe_bias. T tokens, C hidden size, V vocabulary.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "io/hf_config.h"
#include "model/model.h"
#include "train/params.h"

namespace r1::train {

// Tokens the trainers pack into one forward/backward call (TrainModel::forward_logprobs `lengths`): enough rows for
// every matrix product to run near the GEMM's speed, few enough that the [T, vocab] logits stay small.
inline constexpr size_t kPackTokens = 4096;

// A parameter's value and its gradient (same layout, in the ParamStore).
struct Weight {
  const float* w = nullptr;
  float* g = nullptr;
};

class TrainModel {
 public:
  // From config.json alone, initialised as HF's _init_weights does (normal(0, initializer_range), norms 1, biases
  // and e_score_correction_bias 0, the pad_token_id row of the embedding 0) from `seed`.
  static Result<std::unique_ptr<TrainModel>> init(const std::string& config_path, uint64_t seed);
  // From a Hugging Face folder (config.json + safetensors in any float dtype, widened to f32).
  static Result<std::unique_ptr<TrainModel>> load(const std::string& dir);
  virtual ~TrainModel() = default;
  TrainModel(const TrainModel&) = delete;  // layers hold pointers into params()
  TrainModel& operator=(const TrainModel&) = delete;

  ParamStore& params() { return params_; }
  const ParamStore& params() const { return params_; }
  const HfConfig& config() const { return config_; }
  int64_t vocab_size() const { return V_; }

  // Next-token loss of one sequence: -Σ_t w[t] log p(targets[t] | tokens[..t]) / Σ_t w[t], targets [T] (usually
  // the tokens shifted by one), weights [T] (empty: all 1; 0 masks a prompt token). Saves what backward() needs.
  Result<float> forward(std::span<const int32_t> tokens, std::span<const int32_t> targets,
                        std::span<const float> weights);
  // Accumulates d(loss)/d(parameter) of the last forward() into params().grads(); an error when there was none.
  Status backward();
  // log p(targets[t] | tokens[..t]) [T] (GRPO's per-token log-probabilities) of the distribution sampled at
  // `temperature` (the logits divided by it, as TRL does); saves what backward_logprobs needs. `lengths` packs
  // several sequences into one call (positive, summing to T; empty: one sequence): each starts at position 0 and
  // attends only to itself, so the result equals separate calls, while every matrix product runs over all of
  // their tokens at once.
  Result<std::vector<float>> forward_logprobs(std::span<const int32_t> tokens, std::span<const int32_t> targets,
                                              float temperature = 1.0f, std::span<const int64_t> lengths = {});
  // Accumulates Σ_t dlogp[t] · d(logp[t])/d(parameter) for the last forward_logprobs(); dlogp [T].
  Status backward_logprobs(std::span<const float> dlogp);
  // Logits [T, V] of the last forward.
  const std::vector<float>& logits() const { return logits_; }

  // DeepSeekMoE balancing (arXiv 2412.19437 §2.1.2): tokens each routed expert received in the sequences
  // backpropagated since the last update_moe_bias, one [E] row per MoE layer (empty for dense models) ...
  virtual std::vector<std::vector<int64_t>> expert_load() const { return {}; }
  // ... and the step itself: every noaux_tc layer's e_score_correction_bias moves by ±gamma towards balance
  // (moe_update_bias), then the counts restart. No-op without noaux_tc MoE layers.
  virtual void update_moe_bias(float gamma) { (void)gamma; }

  // r1's inference Model on these parameters, built without touching disk: the weight matrices are views of the
  // ParamStore (norms and MLA's absorbed matrices are copied at build time), so it must not outlive this
  // TrainModel and must be rebuilt after the parameters change (each optimizer step).
  Result<std::unique_ptr<Model>> inference_model() const;

  // The parameters as a Hugging Face folder (ParamStore::save_hf) with this model's config.json and the tokenizer
  // and generation_config.json of the folder it was loaded from; matrices in `matrix_dtype` (F32 or BF16).
  Status save_hf(const std::string& dir, DType matrix_dtype = DType::kF32) const;

  // Adds the parameters every family shares to its list: model.embed_tokens first, model.norm and (untied)
  // lm_head last, as HF orders them.
  static void add_outer_specs(std::vector<ParamSpec>& specs, int64_t V, int64_t C, bool tied);

  // What every family passes to the constructor (train/model_families.h).
  struct Init {
    HfConfig config;
    std::string config_json;  // config.json's text, written back by save_hf
    std::string source_dir;   // folder the tokenizer and generation_config.json are copied from ("" = none)
    ParamStore params;
    // Set by the family from its typed config.
    int64_t vocab_size = 0, hidden_size = 0;
    double rms_norm_eps = 0.0;
    bool tie_word_embeddings = false;
    int64_t max_positions = 0;  // longest sequence forward accepts
  };

 protected:
  explicit TrainModel(Init init);

  // The layers over x_ [T, C] (in place) for the sequences lengths_ packs (positions_ within each), saving their
  // activations.
  virtual Status forward_layers(int64_t T) = 0;
  // Their backward: dx_ [T, C] holds d(loss)/d(output of the last layer) and becomes d(loss)/d(embedding output).
  virtual void backward_layers(int64_t T) = 0;

  Weight weight(const std::string& name);  // a name from this model's own specs
  static void zero(std::vector<float>& v, int64_t n) { v.assign(size_t(n), 0.0f); }

  ThreadPool& pool_;
  int64_t C_;
  std::vector<float> x_, dx_;  // [T, C] residual stream and its gradient
  std::vector<int64_t> lengths_;    // the packed sequences of the last forward (empty: one)
  std::vector<int64_t> positions_;  // [T] each token's position within its sequence

 private:
  Status run_forward(std::span<const int32_t> tokens, std::span<const int64_t> lengths);
  void backward_from_logits(int64_t T);

  HfConfig config_;
  std::string config_json_, source_dir_;
  ParamStore params_;
  int64_t V_;
  float eps_;
  int64_t max_positions_;
  Weight embed_tokens_, norm_, lm_head_;
  std::vector<int32_t> tokens_, targets_;  // [T] of the last forward
  std::vector<float> loss_weights_;        // [T] of the last forward() (empty: all 1)
  enum class Last { kNone, kLoss, kLogprobs } last_ = Last::kNone;
  float logprob_temperature_ = 1.0f;  // of the last forward_logprobs
  std::vector<float> x_final_, rstd_final_, xn_final_;  // [T, C] input of the final norm, [T], its output
  std::vector<float> logits_, dlogits_, dxn_final_;      // [T, V], [T, V], [T, C]
};

}  // namespace r1::train
