// `llama`: Llama 2/3/3.1 and DeepSeek-R1-Distill-Llama-8B/70B (Llama-3.1 shape with `rope_type: llama3`).
#include "model/dense_decoder.h"

namespace r1 {

Result<DenseConfig> llama_config(const HfConfig& config) {
  R1_ASSIGN_OR_RETURN(DenseConfig c, DenseConfig::from(config));
  R1_ASSIGN_OR_RETURN(c.attention_bias, config.get_bool("attention_bias", false));
  R1_ASSIGN_OR_RETURN(bool mlp_bias, config.get_bool("mlp_bias", false));
  if (mlp_bias) return Status::errorf("{}: mlp_bias is not supported", config.source());
  return c;
}

Result<ModelInfo> describe_llama(const HfConfig& config) {
  R1_ASSIGN_OR_RETURN(DenseConfig c, llama_config(config));
  return describe_dense(c);
}

Result<std::unique_ptr<Model>> make_llama(const HfConfig& config, WeightStore weights, ModelInfo info,
                                          const LoadOptions&) {
  R1_ASSIGN_OR_RETURN(DenseConfig c, llama_config(config));
  return make_dense_decoder(c, std::move(weights), std::move(info));
}

}  // namespace r1
