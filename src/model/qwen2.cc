// `qwen2`: Qwen2 / Qwen2.5 and DeepSeek-R1-Distill-Qwen-1.5B/7B/14B/32B. A Llama-shaped dense decoder whose
// q/k/v projections always carry biases.
#include "model/dense_decoder.h"

namespace r1 {

Result<DenseConfig> qwen2_config(const HfConfig& config) {
  R1_ASSIGN_OR_RETURN(DenseConfig c, DenseConfig::from(config));
  c.attention_bias = true;
  // Sliding-window attention is off in every released R1-Distill/Qwen2.5 config; refuse rather than silently
  // attend to the full context when a checkpoint turns it on.
  R1_ASSIGN_OR_RETURN(bool sliding, config.get_bool("use_sliding_window", false));
  if (sliding) return Status::errorf("{}: use_sliding_window is not supported", config.source());
  return c;
}

Result<ModelInfo> describe_qwen2(const HfConfig& config) {
  R1_ASSIGN_OR_RETURN(DenseConfig c, qwen2_config(config));
  return describe_dense(c);
}

Result<std::unique_ptr<Model>> make_qwen2(const HfConfig& config, WeightStore weights, ModelInfo info,
                                          const LoadOptions&) {
  R1_ASSIGN_OR_RETURN(DenseConfig c, qwen2_config(config));
  return make_dense_decoder(c, std::move(weights), std::move(info));
}

}  // namespace r1
