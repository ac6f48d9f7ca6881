#include "train/model.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/safetensors.h"
#include "train/model_families.h"
#include "train/ops.h"

namespace r1::train {

namespace {

namespace fs = std::filesystem;

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::errorf("{}: cannot open", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The trainer's list of architectures (model_type -> family); model/registry.cc is the inference side's.
Result<std::unique_ptr<TrainModel>> make_family(TrainModel::Init base, const ParamSource& source) {
  R1_ASSIGN_OR_RETURN(std::string model_type, base.config.get_string("model_type"));
  R1_ASSIGN_OR_RETURN(int64_t mtp, base.config.get_int("num_nextn_predict_layers", 0));
  if (mtp > 0)
    return Status::errorf("{}: num_nextn_predict_layers {}: multi-token-prediction layers are not trained; set it "
                          "to 0 for a model to train", base.config.source(), mtp);
  if (model_type == "qwen2" || model_type == "llama") return make_dense_train(std::move(base), model_type, source);
  if (model_type == "deepseek_v2" || model_type == "deepseek_v3")
    return make_deepseek_train(std::move(base), model_type, source);
  return Status::errorf("{}: model_type \"{}\" cannot be trained (supported: qwen2, llama, deepseek_v2, deepseek_v3)",
                        base.config.source(), model_type);
}

Result<TrainModel::Init> read_config(const std::string& config_path, const std::string& source_dir) {
  TrainModel::Init base;
  R1_ASSIGN_OR_RETURN(base.config_json, read_text(config_path));
  R1_ASSIGN_OR_RETURN(base.config, HfConfig::parse(base.config_json, config_path));
  base.source_dir = source_dir;
  return base;
}

}  // namespace

Result<std::unique_ptr<TrainModel>> TrainModel::init(const std::string& config_path, uint64_t seed) {
  R1_ASSIGN_OR_RETURN(Init base, read_config(config_path, fs::path(config_path).parent_path().string()));
  ParamSource source{.seed = seed};
  R1_ASSIGN_OR_RETURN(source.init_std, base.config.get_double("initializer_range", 0.02));
  R1_ASSIGN_OR_RETURN(int64_t pad, base.config.get_int("pad_token_id", -1));
  R1_ASSIGN_OR_RETURN(auto model, make_family(std::move(base), source));
  // HF's _init_weights zeroes the padding row of nn.Embedding(padding_idx = pad_token_id).
  if (pad >= 0 && pad < model->V_) {
    float* embed = model->params_.value(*model->params_.find("model.embed_tokens.weight"));
    std::fill_n(embed + pad * model->C_, model->C_, 0.0f);
  }
  return model;
}

Result<std::unique_ptr<TrainModel>> TrainModel::load(const std::string& dir) {
  R1_ASSIGN_OR_RETURN(Init base, read_config((fs::path(dir) / "config.json").string(), dir));
  R1_ASSIGN_OR_RETURN(WeightStore weights, WeightStore::open_dir(dir));
  auto model = make_family(std::move(base), ParamSource{.weights = &weights});
  if (!model) return model.status().with_context(dir);
  return model;
}

TrainModel::TrainModel(Init init)
    : pool_(ThreadPool::global()), C_(init.hidden_size), config_(std::move(init.config)),
      config_json_(std::move(init.config_json)), source_dir_(std::move(init.source_dir)),
      params_(std::move(init.params)), V_(init.vocab_size), eps_(float(init.rms_norm_eps)),
      max_positions_(init.max_positions) {
  embed_tokens_ = weight("model.embed_tokens.weight");
  norm_ = weight("model.norm.weight");
  lm_head_ = init.tie_word_embeddings ? embed_tokens_ : weight("lm_head.weight");
}

void TrainModel::add_outer_specs(std::vector<ParamSpec>& specs, int64_t V, int64_t C, bool tied) {
  specs.insert(specs.begin(), {.name = "model.embed_tokens.weight", .shape = {V, C}});
  specs.push_back({.name = "model.norm.weight", .shape = {C}, .init = ParamInit::kOnes});
  if (!tied) specs.push_back({.name = "lm_head.weight", .shape = {V, C}});
}

Weight TrainModel::weight(const std::string& name) {
  auto i = params_.find(name);
  if (!i) return {};  // not in this model's specs: a family bug that the first forward's null pointer shows
  return {.w = params_.value(*i), .g = params_.grad(*i)};
}

Status TrainModel::run_forward(std::span<const int32_t> tokens, std::span<const int64_t> lengths) {
  const int64_t T = int64_t(tokens.size()), C = C_;
  last_ = Last::kNone;
  if (T == 0) return Status::error("forward: no tokens");
  int64_t total = 0, longest = T;
  if (!lengths.empty()) {
    longest = 0;
    for (int64_t length : lengths) {
      if (length <= 0) return Status::errorf("forward: a packed sequence of length {}", length);
      total += length, longest = std::max(longest, length);
    }
    if (total != T) return Status::errorf("forward: packed lengths sum to {} but there are {} tokens", total, T);
  }
  if (longest > max_positions_)
    return Status::errorf("forward: a sequence of {} tokens exceeds max_position_embeddings {}", longest,
                          max_positions_);
  lengths_.assign(lengths.begin(), lengths.end());
  positions_.resize(size_t(T));
  for (int64_t t = 0, start = 0, s = 0; t < T; ++t) {  // each token's position within its own sequence
    if (!lengths_.empty() && t - start == lengths_[size_t(s)]) start = t, ++s;
    positions_[size_t(t)] = t - start;
  }
  tokens_.assign(tokens.begin(), tokens.end());
  x_.resize(size_t(T * C));
  R1_RETURN_IF_ERROR(embedding_forward(x_.data(), tokens_.data(), embed_tokens_.w, T, V_, C));
  R1_RETURN_IF_ERROR(forward_layers(T));
  x_final_ = x_;
  rstd_final_.resize(size_t(T)), xn_final_.resize(size_t(T * C)), logits_.resize(size_t(T * V_));
  rmsnorm_forward(xn_final_.data(), rstd_final_.data(), x_final_.data(), norm_.w, T, C, eps_);
  linear_forward(logits_.data(), xn_final_.data(), lm_head_.w, nullptr, T, C, V_, pool_);
  return Status::ok();
}

Result<float> TrainModel::forward(std::span<const int32_t> tokens, std::span<const int32_t> targets,
                                  std::span<const float> weights) {
  if (targets.size() != tokens.size() || (!weights.empty() && weights.size() != tokens.size()))
    return Status::errorf("forward: {} tokens, {} targets, {} weights (targets and weights, when given, must "
                          "match the tokens)", tokens.size(), targets.size(), weights.size());
  R1_RETURN_IF_ERROR(run_forward(tokens, {}));
  const int64_t T = int64_t(tokens.size());
  targets_.assign(targets.begin(), targets.end());
  loss_weights_.assign(weights.begin(), weights.end());
  const float* w = loss_weights_.empty() ? nullptr : loss_weights_.data();
  R1_ASSIGN_OR_RETURN(float loss, cross_entropy_forward(logits_.data(), targets_.data(), w, T, V_));
  last_ = Last::kLoss;
  return loss;
}

Status TrainModel::backward() {
  if (last_ != Last::kLoss) return Status::error("backward: no successful forward() to differentiate");
  const int64_t T = int64_t(tokens_.size());
  zero(dlogits_, T * V_);
  cross_entropy_backward(dlogits_.data(), 1.0f, logits_.data(), targets_.data(),
                         loss_weights_.empty() ? nullptr : loss_weights_.data(), T, V_);
  backward_from_logits(T);
  return Status::ok();
}

Result<std::vector<float>> TrainModel::forward_logprobs(std::span<const int32_t> tokens,
                                                        std::span<const int32_t> targets, float temperature,
                                                        std::span<const int64_t> lengths) {
  if (targets.size() != tokens.size())
    return Status::errorf("forward_logprobs: {} tokens but {} targets", tokens.size(), targets.size());
  if (!(temperature > 0.0f)) return Status::errorf("forward_logprobs: temperature {} is not > 0", temperature);
  R1_RETURN_IF_ERROR(run_forward(tokens, lengths));
  const int64_t T = int64_t(tokens.size());
  targets_.assign(targets.begin(), targets.end());
  std::vector<float> logp(static_cast<size_t>(T));
  R1_RETURN_IF_ERROR(token_logprobs_forward(logp.data(), logits_.data(), targets_.data(), T, V_, temperature));
  logprob_temperature_ = temperature;
  last_ = Last::kLogprobs;
  return logp;
}

Status TrainModel::backward_logprobs(std::span<const float> dlogp) {
  if (last_ != Last::kLogprobs) return Status::error("backward_logprobs: no successful forward_logprobs()");
  const int64_t T = int64_t(tokens_.size());
  if (int64_t(dlogp.size()) != T)
    return Status::errorf("backward_logprobs: {} gradients for {} tokens", dlogp.size(), T);
  zero(dlogits_, T * V_);
  token_logprobs_backward(dlogits_.data(), dlogp.data(), logits_.data(), targets_.data(), T, V_,
                          logprob_temperature_);
  backward_from_logits(T);
  return Status::ok();
}

void TrainModel::backward_from_logits(int64_t T) {
  const int64_t C = C_;
  zero(dxn_final_, T * C);
  linear_backward(dxn_final_.data(), lm_head_.g, nullptr, dlogits_.data(), xn_final_.data(), lm_head_.w, T, C, V_,
                  pool_);
  zero(dx_, T * C);
  rmsnorm_backward(dx_.data(), norm_.g, dxn_final_.data(), x_final_.data(), norm_.w, rstd_final_.data(), T, C);
  backward_layers(T);
  embedding_backward(embed_tokens_.g, dx_.data(), tokens_.data(), T, C);
}

Result<std::unique_ptr<Model>> TrainModel::inference_model() const {
  WeightStore weights;
  weights.set_source("training parameters");
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamSpec& s = params_.spec(i);
    Tensor t{.dtype = DType::kF32, .rank = int(s.shape.size()), .data = params_.value(i)};
    std::copy(s.shape.begin(), s.shape.end(), t.shape.begin());
    weights.add(s.name, t, nullptr);  // views: the ParamStore outlives the model (see the header)
  }
  return load_model_from(config_, std::move(weights), {});
}

Status TrainModel::save_hf(const std::string& dir, DType matrix_dtype) const {
  return params_.save_hf(dir, config_json_, source_dir_, matrix_dtype);
}

}  // namespace r1::train
