// `deepseek_v2`: DeepSeek-V2, V2.5 and V2-Lite (16B, 2.4B active). MLA + DeepSeekMoE with a softmax router,
// greedy (V2-Lite) or group-limited greedy (V2) expert selection.
#include "model/deepseek_decoder.h"

namespace r1 {

Result<DeepseekConfig> deepseek_v2_config(const HfConfig& config) {
  MoeRouting defaults;
  defaults.topk_method = MoeTopkMethod::kGreedy;
  defaults.scoring_func = MoeScoring::kSoftmax;
  defaults.scale_after_norm = false;  // V2 applies routed_scaling_factor only when it does not renormalise
  return DeepseekConfig::from(config, defaults);
}

Result<ModelInfo> describe_deepseek_v2(const HfConfig& config) {
  R1_ASSIGN_OR_RETURN(DeepseekConfig c, deepseek_v2_config(config));
  return describe_deepseek(c);
}

Result<std::unique_ptr<Model>> make_deepseek_v2(const HfConfig& config, WeightStore weights, ModelInfo info,
                                                const LoadOptions& options) {
  R1_ASSIGN_OR_RETURN(DeepseekConfig c, deepseek_v2_config(config));
  return make_deepseek_decoder(c, std::move(weights), std::move(info), options);
}

}  // namespace r1
