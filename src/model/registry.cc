// The one list of architectures: HF model_type -> loader. Adding an architecture is one line here.
#include <algorithm>
#include <filesystem>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/model.h"

namespace r1 {

using Factory = Result<std::unique_ptr<Model>> (*)(const HfConfig&, WeightStore, ModelInfo, const LoadOptions&);
Result<std::unique_ptr<Model>> make_qwen2(const HfConfig&, WeightStore, ModelInfo, const LoadOptions&);
Result<std::unique_ptr<Model>> make_llama(const HfConfig&, WeightStore, ModelInfo, const LoadOptions&);
Result<std::unique_ptr<Model>> make_deepseek_v2(const HfConfig&, WeightStore, ModelInfo, const LoadOptions&);
Result<std::unique_ptr<Model>> make_deepseek_v3(const HfConfig&, WeightStore, ModelInfo, const LoadOptions&);

namespace {

struct Architecture {
  const char* model_type;                 // config.json "model_type"
  std::vector<const char*> class_names;  // config.json "architectures" values it accepts
  Factory make;
};

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> kList = {
      {"qwen2", {"Qwen2ForCausalLM"}, make_qwen2},
      {"llama", {"LlamaForCausalLM"}, make_llama},
      {"deepseek_v2", {"DeepseekV2ForCausalLM"}, make_deepseek_v2},
      {"deepseek_v3", {"DeepseekV3ForCausalLM"}, make_deepseek_v3},
  };
  return kList;
}

std::string supported_list() {
  std::string s;
  for (const auto& a : architectures()) {
    s += s.empty() ? "" : ", ";
    s += fmt::format("{} ({})", a.model_type, a.class_names.front());
  }
  return s;
}

}  // namespace

std::vector<std::string> supported_model_types() {
  std::vector<std::string> out;
  for (const auto& a : architectures()) out.push_back(a.model_type);
  return out;
}

Result<std::unique_ptr<Model>> load_model(const std::string& dir, const LoadOptions& options) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) return Status::errorf("{}: not a model folder", dir);
  const std::string config_path = (fs::path(dir) / "config.json").string();
  R1_ASSIGN_OR_RETURN(HfConfig config, HfConfig::load(config_path));
  R1_ASSIGN_OR_RETURN(std::string model_type, config.get_string("model_type"));
  R1_ASSIGN_OR_RETURN(auto class_names, config.get_string_list("architectures"));
  auto it = std::find_if(architectures().begin(), architectures().end(),
                         [&](const Architecture& a) { return model_type == a.model_type; });
  if (it == architectures().end())
    return Status::errorf("{}: model_type \"{}\" is not supported (supported: {})", config_path, model_type,
                          supported_list());
  std::string class_name = it->class_names.front();
  for (const std::string& name : class_names) {
    if (std::find(it->class_names.begin(), it->class_names.end(), name) == it->class_names.end())
      return Status::errorf("{}: architecture \"{}\" is not supported (supported: {})", config_path, name,
                            supported_list());
    class_name = name;
  }
  R1_ASSIGN_OR_RETURN(WeightStore weights, WeightStore::open_dir(dir));
  ModelInfo info;
  info.model_type = model_type;
  info.architecture = class_name;
  info.n_params = weights.total_elements();
  info.dtype = weights.main_dtype();
  info.weight_bytes = weights.total_bytes();
  auto model = it->make(config, std::move(weights), std::move(info), options);
  if (!model) return model.status().with_context(dir);
  return model;
}

}  // namespace r1
