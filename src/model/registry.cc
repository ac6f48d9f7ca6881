// The one list of architectures: HF model_type -> loader. Adding an architecture is one line here.
#include <algorithm>
#include <filesystem>

#include <fmt/ranges.h>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/gguf_model.h"
#include "model/model.h"

namespace r1 {

// Each architecture file defines describe_<type> (sizes from config.json alone) and make_<type> (the model).
using Describe = Result<ModelInfo> (*)(const HfConfig&);
using Factory = Result<std::unique_ptr<Model>> (*)(const HfConfig&, WeightStore, ModelInfo, const LoadOptions&);
#define R1_ARCHITECTURE(type)                              \
  Result<ModelInfo> describe_##type(const HfConfig&);      \
  Result<std::unique_ptr<Model>> make_##type(const HfConfig&, WeightStore, ModelInfo, const LoadOptions&);
R1_ARCHITECTURE(qwen2)
R1_ARCHITECTURE(llama)
R1_ARCHITECTURE(deepseek_v2)
R1_ARCHITECTURE(deepseek_v3)
#undef R1_ARCHITECTURE

namespace {

struct Architecture {
  const char* model_type;                 // config.json "model_type"
  std::vector<const char*> class_names;  // config.json "architectures" values it accepts
  Describe describe;
  Factory make;
};

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> kList = {
      {"qwen2", {"Qwen2ForCausalLM"}, describe_qwen2, make_qwen2},
      {"llama", {"LlamaForCausalLM"}, describe_llama, make_llama},
      {"deepseek_v2", {"DeepseekV2ForCausalLM"}, describe_deepseek_v2, make_deepseek_v2},
      {"deepseek_v3", {"DeepseekV3ForCausalLM"}, describe_deepseek_v3, make_deepseek_v3},
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

namespace {

// The architecture config.json names, or an error listing the supported ones.
Result<const Architecture*> find_architecture(const HfConfig& config) {
  R1_ASSIGN_OR_RETURN(std::string model_type, config.get_string("model_type"));
  R1_ASSIGN_OR_RETURN(auto class_names, config.get_string_list("architectures"));
  auto it = std::find_if(architectures().begin(), architectures().end(),
                         [&](const Architecture& a) { return model_type == a.model_type; });
  if (it == architectures().end())
    return Status::errorf("{}: model_type \"{}\" is not supported (supported: {})", config.source(), model_type,
                          supported_list());
  for (const std::string& name : class_names)
    if (std::find(it->class_names.begin(), it->class_names.end(), name) == it->class_names.end())
      return Status::errorf("{}: architecture \"{}\" is not supported (supported: {})", config.source(), name,
                            supported_list());
  return &*it;
}

// ModelInfo from the config alone; the weights' dtype and size are estimated from torch_dtype and
// quantization_config.
Result<ModelInfo> describe(const Architecture& arch, const HfConfig& config) {
  R1_ASSIGN_OR_RETURN(ModelInfo info, arch.describe(config));
  info.model_type = arch.model_type;
  info.architecture = arch.class_names.front();
  R1_ASSIGN_OR_RETURN(auto class_names, config.get_string_list("architectures"));
  if (!class_names.empty()) info.architecture = class_names.front();
  R1_ASSIGN_OR_RETURN(std::string torch_dtype, config.get_string("torch_dtype", "bfloat16"));
  info.dtype = torch_dtype == "float32" ? DType::kF32 : torch_dtype == "float16" ? DType::kF16 : DType::kBF16;
  R1_ASSIGN_OR_RETURN(auto quant, config.get_object("quantization_config"));
  if (quant) {
    R1_ASSIGN_OR_RETURN(std::string fmt, quant->get_string("fmt", ""));
    if (fmt == "e4m3") info.dtype = DType::kF8E4M3;
  }
  info.weight_bytes = size_t(info.n_params + info.n_mtp_params) * dtype_size(info.dtype);
  return info;
}

}  // namespace

Result<ModelInfo> describe_config(const std::string& config_path) {
  R1_ASSIGN_OR_RETURN(HfConfig config, HfConfig::load(config_path));
  R1_ASSIGN_OR_RETURN(const Architecture* arch, find_architecture(config));
  return describe(*arch, config);
}

Result<std::unique_ptr<Model>> load_model_from(const HfConfig& config, WeightStore weights,
                                               const LoadOptions& options) {
  R1_ASSIGN_OR_RETURN(const Architecture* arch, find_architecture(config));
  R1_ASSIGN_OR_RETURN(ModelInfo info, describe(*arch, config));
  if (!options.quant.empty()) {
    const auto recipes = quant_recipes();
    if (std::find(recipes.begin(), recipes.end(), options.quant) == recipes.end())
      return Status::errorf("unknown --quant '{}' (supported: {})", options.quant, fmt::join(recipes, ", "));
  }
  weights.set_quant_recipe(options.quant);
  info.n_checkpoint_params = weights.total_elements();
  info.dtype = weights.main_dtype();
  info.weight_bytes = weights.total_bytes();
  return arch->make(config, std::move(weights), std::move(info), options);
}

Result<std::unique_ptr<Model>> load_model(const std::string& dir, const LoadOptions& options) {
  namespace fs = std::filesystem;
  if (fs::is_regular_file(dir) && dir.ends_with(".gguf")) return load_gguf_model(dir, options);
  if (!fs::is_directory(dir)) return Status::errorf("{}: not a model folder or .gguf file", dir);
  R1_ASSIGN_OR_RETURN(HfConfig config, HfConfig::load((fs::path(dir) / "config.json").string()));
  // Config errors before the weights are opened.
  R1_ASSIGN_OR_RETURN(const Architecture* arch, find_architecture(config));
  R1_RETURN_IF_ERROR(describe(*arch, config).status());
  if (!options.quant.empty()) {
    const auto recipes = quant_recipes();
    if (std::find(recipes.begin(), recipes.end(), options.quant) == recipes.end())
      return Status::errorf("unknown --quant '{}' (supported: {})", options.quant, fmt::join(recipes, ", "));
  }
  R1_ASSIGN_OR_RETURN(WeightStore weights, WeightStore::open_dir(dir));
  auto model = load_model_from(config, std::move(weights), options);
  if (!model) return model.status().with_context(dir);
  return model;
}

}  // namespace r1
