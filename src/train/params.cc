#include "train/params.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/hf_config.h"

#include "io/safetensors_writer.h"
#include "sampling/sampler.h"

namespace r1::train {

int64_t ParamSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

ParamStore::ParamStore(std::vector<ParamSpec> specs) : specs_(std::move(specs)) {
  int64_t total = 0;
  for (size_t i = 0; i < specs_.size(); ++i) {
    offset_.push_back(total);
    index_[specs_[i].name] = i;
    total += specs_[i].numel();
  }
  values_.assign(size_t(total), 0.0f);
  grads_.assign(size_t(total), 0.0f);
}

namespace {

Status check_specs(const std::vector<ParamSpec>& specs) {
  std::map<std::string, int> seen;
  for (const ParamSpec& s : specs) {
    if (s.name.empty() || seen[s.name]++) return Status::errorf("parameter name \"{}\" is empty or repeated", s.name);
    if (s.shape.empty() || std::any_of(s.shape.begin(), s.shape.end(), [](int64_t d) { return d <= 0; }))
      return Status::errorf("parameter {} has an empty or non-positive shape", s.name);
  }
  return Status::ok();
}

}  // namespace

Result<ParamStore> ParamStore::create(std::vector<ParamSpec> specs, double init_std, uint64_t seed) {
  R1_RETURN_IF_ERROR(check_specs(specs));
  if (!(init_std > 0.0)) return Status::errorf("initializer_range {} must be positive", init_std);
  ParamStore p(std::move(specs));
  // Box-Muller on the project's portable generator (std::normal_distribution differs between standard libraries).
  Rng rng(seed);
  for (size_t i = 0; i < p.size(); ++i) {
    float* v = p.value(i);
    const int64_t n = p.spec(i).numel();
    switch (p.spec(i).init) {
      case ParamInit::kOnes: std::fill(v, v + n, 1.0f); break;
      case ParamInit::kZeros: std::fill(v, v + n, 0.0f); break;
      case ParamInit::kNormal:
        for (int64_t j = 0; j < n; ++j) {
          const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();  // u1 in (0, 1]: log is finite
          v[j] = float(init_std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
        }
        break;
    }
  }
  return p;
}

Result<ParamStore> ParamStore::load(std::vector<ParamSpec> specs, WeightStore& weights) {
  R1_RETURN_IF_ERROR(check_specs(specs));
  ParamStore p(std::move(specs));
  for (size_t i = 0; i < p.size(); ++i) {
    const ParamSpec& s = p.spec(i);
    if (!weights.has(s.name)) return Status::errorf("{}: tensor {} is missing", weights.source(), s.name);
    auto t = weights.get(s.name, s.shape);
    if (!t) return t.status();
    if (dtype_is_quantized(t->dtype))
      return Status::errorf("{}: tensor {} is {}; training needs float weights", weights.source(), s.name,
                            dtype_name(t->dtype));
    float* v = p.value(i);
    for (int64_t j = 0, n = s.numel(); j < n; ++j) v[j] = tensor_get_f32(*t, j);
  }
  return p;
}

Result<size_t> ParamStore::find(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return Status::errorf("no parameter named {}", name);
  return it->second;
}

void ParamStore::zero_grad() { std::fill(grads_.begin(), grads_.end(), 0.0f); }

Status ParamStore::save_safetensors(const std::string& path, DType matrix_dtype) const {
  if (matrix_dtype != DType::kF32 && matrix_dtype != DType::kBF16)
    return Status::error("safetensors: matrices are written as F32 or BF16");
  std::vector<SafetensorsEntry> entries;
  std::vector<std::vector<uint16_t>> rounded;  // the BF16 copies, alive until the file is written
  rounded.reserve(size());
  for (size_t i = 0; i < size(); ++i) {
    SafetensorsEntry e{.name = specs_[i].name, .dtype = DType::kF32, .shape = specs_[i].shape, .data = value(i)};
    if (matrix_dtype == DType::kBF16 && specs_[i].shape.size() >= 2) {
      const float* v = value(i);
      auto& r = rounded.emplace_back(size_t(specs_[i].numel()));
      for (size_t k = 0; k < r.size(); ++k) r[k] = f32_to_bf16(v[k]);
      e.dtype = DType::kBF16;
      e.data = r.data();
    }
    entries.push_back(std::move(e));
  }
  return write_safetensors(path, entries);
}

namespace {

namespace fs = std::filesystem;

// Tokenizer files of a Hugging Face folder (what AutoTokenizer and r1's tokenizer/hf_files read).
bool is_tokenizer_file(const std::string& name) {
  return name.starts_with("tokenizer") || name == "special_tokens_map.json" || name == "added_tokens.json" ||
         name == "vocab.json" || name == "merges.txt" || name == "chat_template.jinja";
}

Status write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) return Status::errorf("{}: write failed", path.string());
  return Status::ok();
}

// generation_config.json for a folder that has none: the config's bos/eos ids, so generation stops where HF's does.
Result<std::string> default_generation_config(const std::string& config_json) {
  R1_ASSIGN_OR_RETURN(HfConfig c, HfConfig::parse(config_json, "config.json"));
  R1_ASSIGN_OR_RETURN(auto eos, c.get_int_list("eos_token_id"));
  R1_ASSIGN_OR_RETURN(int64_t bos, c.get_int("bos_token_id", -1));
  std::string fields;
  if (bos >= 0) fields += fmt::format("\"bos_token_id\": {}, ", bos);
  if (!eos.empty()) fields += fmt::format("\"eos_token_id\": [{}], ", fmt::join(eos, ", "));
  return fmt::format("{{{}\"_from_model_config\": true}}\n", fields);
}

Status write_hf_folder(const ParamStore& p, const fs::path& dir, const std::string& config_json,
                       const std::string& source_dir, DType matrix_dtype) {
  R1_RETURN_IF_ERROR(write_text(dir / "config.json", config_json));
  R1_RETURN_IF_ERROR(p.save_safetensors((dir / "model.safetensors").string(), matrix_dtype));
  std::error_code ec;
  bool have_generation_config = false;
  if (!source_dir.empty()) {
    for (const auto& e : fs::directory_iterator(source_dir, ec)) {
      const std::string name = e.path().filename().string();
      if (!e.is_regular_file() || !(is_tokenizer_file(name) || name == "generation_config.json")) continue;
      fs::copy_file(e.path(), dir / name, fs::copy_options::overwrite_existing, ec);
      if (ec) return Status::errorf("{}: cannot copy to {}: {}", e.path().string(), dir.string(), ec.message());
      have_generation_config |= name == "generation_config.json";
    }
    if (ec) return Status::errorf("{}: cannot list: {}", source_dir, ec.message());
  }
  if (!have_generation_config) {
    R1_ASSIGN_OR_RETURN(std::string gen, default_generation_config(config_json));
    R1_RETURN_IF_ERROR(write_text(dir / "generation_config.json", gen));
  }
  return Status::ok();
}

}  // namespace

Status ParamStore::save_hf(const std::string& dir_name, const std::string& config_json,
                           const std::string& source_dir, DType matrix_dtype) const {
  const fs::path dir = fs::path(dir_name).lexically_normal();
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  const fs::path tmp = parent / (dir.filename().string() + ".tmp-save");
  const fs::path old = parent / (dir.filename().string() + ".tmp-old");
  std::error_code ec;
  fs::create_directories(parent, ec);
  fs::remove_all(tmp, ec);  // left by an interrupted save
  if (!fs::create_directory(tmp, ec))
    return Status::errorf("{}: cannot create: {}", tmp.string(), ec ? ec.message() : "exists");
  if (Status s = write_hf_folder(*this, tmp, config_json, source_dir, matrix_dtype); !s.is_ok()) {
    fs::remove_all(tmp, ec);
    return s.with_context(dir.string());
  }
  // Swap in the complete folder: the old one moves aside first (rename cannot replace a non-empty folder).
  fs::remove_all(old, ec);
  if (fs::exists(dir)) {
    fs::rename(dir, old, ec);
    if (ec) return Status::errorf("{}: cannot move aside: {}", dir.string(), ec.message());
  }
  fs::rename(tmp, dir, ec);
  if (ec) return Status::errorf("{}: cannot rename {} into place: {}", dir.string(), tmp.string(), ec.message());
  fs::remove_all(old, ec);
  return Status::ok();
}

}  // namespace r1::train
