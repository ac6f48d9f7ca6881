#include "io/hf_config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace r1 {

struct JsonHolder {
  nlohmann::json j;
};

namespace {

const nlohmann::json* find(const JsonHolder& h, const std::string& key) {
  auto it = h.j.find(key);
  return (it == h.j.end() || it->is_null()) ? nullptr : &*it;
}

Status wrong_type(const std::string& source, const std::string& key, const char* want) {
  return Status::errorf("{}: field \"{}\" must be {}", source, key, want);
}

}  // namespace

Result<HfConfig> HfConfig::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::errorf("{}: cannot read", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

Result<HfConfig> HfConfig::parse(const std::string& text, const std::string& source) {
  auto h = std::make_shared<JsonHolder>();
  h->j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (h->j.is_discarded()) return Status::errorf("{}: malformed JSON", source);
  if (!h->j.is_object()) return Status::errorf("{}: top level is not a JSON object", source);
  HfConfig c;
  c.json_ = std::move(h);
  c.source_ = source;
  return c;
}

bool HfConfig::has(const std::string& key) const { return find(*json_, key) != nullptr; }

Result<int64_t> HfConfig::get_int(const std::string& key) const {
  const auto* v = find(*json_, key);
  if (!v) return Status::errorf("{}: missing required field \"{}\"", source_, key);
  return get_int(key, 0);
}

Result<int64_t> HfConfig::get_int(const std::string& key, int64_t def) const {
  const auto* v = find(*json_, key);
  if (!v) return def;
  if (v->is_number_integer()) return v->get<int64_t>();
  // Some configs write integers as 1e6 or 10000.0 (rope_theta); accept exact integral floats.
  if (v->is_number_float() && v->get<double>() == double(int64_t(v->get<double>()))) return int64_t(v->get<double>());
  return wrong_type(source_, key, "an integer");
}

Result<double> HfConfig::get_double(const std::string& key) const {
  if (!find(*json_, key)) return Status::errorf("{}: missing required field \"{}\"", source_, key);
  return get_double(key, 0.0);
}

Result<double> HfConfig::get_double(const std::string& key, double def) const {
  const auto* v = find(*json_, key);
  if (!v) return def;
  if (!v->is_number()) return wrong_type(source_, key, "a number");
  return v->get<double>();
}

Result<bool> HfConfig::get_bool(const std::string& key, bool def) const {
  const auto* v = find(*json_, key);
  if (!v) return def;
  if (!v->is_boolean()) return wrong_type(source_, key, "true or false");
  return v->get<bool>();
}

Result<std::string> HfConfig::get_string(const std::string& key) const {
  if (!find(*json_, key)) return Status::errorf("{}: missing required field \"{}\"", source_, key);
  return get_string(key, "");
}

Result<std::string> HfConfig::get_string(const std::string& key, const std::string& def) const {
  const auto* v = find(*json_, key);
  if (!v) return def;
  if (!v->is_string()) return wrong_type(source_, key, "a string");
  return v->get<std::string>();
}

Result<std::vector<int64_t>> HfConfig::get_int_list(const std::string& key) const {
  const auto* v = find(*json_, key);
  std::vector<int64_t> out;
  if (!v) return out;
  if (v->is_number_integer()) return std::vector<int64_t>{v->get<int64_t>()};
  if (!v->is_array()) return wrong_type(source_, key, "an integer or a list of integers");
  for (const auto& e : *v) {
    if (!e.is_number_integer()) return wrong_type(source_, key, "an integer or a list of integers");
    out.push_back(e.get<int64_t>());
  }
  return out;
}

Result<std::vector<std::string>> HfConfig::get_string_list(const std::string& key) const {
  const auto* v = find(*json_, key);
  std::vector<std::string> out;
  if (!v) return out;
  if (!v->is_array()) return wrong_type(source_, key, "a list of strings");
  for (const auto& e : *v) {
    if (!e.is_string()) return wrong_type(source_, key, "a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<std::optional<HfConfig>> HfConfig::get_object(const std::string& key) const {
  const auto* v = find(*json_, key);
  if (!v) return std::optional<HfConfig>();
  if (!v->is_object()) return wrong_type(source_, key, "an object");
  HfConfig c;
  auto h = std::make_shared<JsonHolder>();
  h->j = *v;
  c.json_ = std::move(h);
  c.source_ = source_ + " (" + key + ")";
  return std::optional<HfConfig>(std::move(c));
}

Result<GenerationConfig> GenerationConfig::load_dir(const std::string& dir) {
  GenerationConfig g;
  const std::string path = (std::filesystem::path(dir) / "generation_config.json").string();
  if (!std::filesystem::exists(path)) return g;
  R1_ASSIGN_OR_RETURN(HfConfig c, HfConfig::load(path));
  if (c.has("temperature")) { R1_ASSIGN_OR_RETURN(double t, c.get_double("temperature")); g.temperature = float(t); }
  if (c.has("top_p")) { R1_ASSIGN_OR_RETURN(double p, c.get_double("top_p")); g.top_p = float(p); }
  if (c.has("top_k")) { R1_ASSIGN_OR_RETURN(int64_t k, c.get_int("top_k")); g.top_k = int(k); }
  if (c.has("repetition_penalty")) {
    R1_ASSIGN_OR_RETURN(double r, c.get_double("repetition_penalty"));
    g.repetition_penalty = float(r);
  }
  if (c.has("do_sample")) { R1_ASSIGN_OR_RETURN(bool d, c.get_bool("do_sample", false)); g.do_sample = d; }
  R1_ASSIGN_OR_RETURN(auto eos, c.get_int_list("eos_token_id"));
  for (int64_t e : eos) g.eos_token_ids.push_back(int32_t(e));
  if (c.has("bos_token_id")) { R1_ASSIGN_OR_RETURN(int64_t b, c.get_int("bos_token_id")); g.bos_token_id = int32_t(b); }
  return g;
}

}  // namespace r1
