// `deepseek_v3`: DeepSeek-V3, R1 and R1-Zero (671B, 37B active). MLA + DeepSeekMoE with a sigmoid router and
// auxiliary-loss-free balancing (noaux_tc: e_score_correction_bias steers selection only), plus the MTP layer.
#include "model/deepseek_decoder.h"

namespace r1 {

Result<DeepseekConfig> deepseek_v3_config(const HfConfig& config) {
  MoeRouting defaults;
  defaults.topk_method = MoeTopkMethod::kNoauxTc;
  defaults.scoring_func = MoeScoring::kSigmoid;
  defaults.scale_after_norm = true;
  return DeepseekConfig::from(config, defaults);
}

Result<ModelInfo> describe_deepseek_v3(const HfConfig& config) {
  R1_ASSIGN_OR_RETURN(DeepseekConfig c, deepseek_v3_config(config));
  return describe_deepseek(c);
}

Result<std::unique_ptr<Model>> make_deepseek_v3(const HfConfig& config, WeightStore weights, ModelInfo info,
                                                const LoadOptions& options) {
  R1_ASSIGN_OR_RETURN(DeepseekConfig c, deepseek_v3_config(config));
  return make_deepseek_decoder(c, std::move(weights), std::move(info), options);
}

}  // namespace r1
