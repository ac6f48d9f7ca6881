// config.json and generation_config.json of a Hugging Face folder, read through typed accessors. The JSON library
// stays inside io/: architectures read named fields with get_*(), which report the file and key on any mismatch.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace r1 {

struct JsonHolder;  // wraps nlohmann::json, defined in hf_config.cc

class HfConfig {
 public:
  static Result<HfConfig> load(const std::string& path);
  static Result<HfConfig> parse(const std::string& text, const std::string& source);

  const std::string& source() const { return source_; }
  // Present and not null.
  bool has(const std::string& key) const;

  // Required fields: missing, null or the wrong type is an error naming the key.
  Result<int64_t> get_int(const std::string& key) const;
  Result<double> get_double(const std::string& key) const;
  Result<std::string> get_string(const std::string& key) const;
  // Optional fields: missing or null gives the default; a value of the wrong type is still an error.
  Result<int64_t> get_int(const std::string& key, int64_t def) const;
  Result<double> get_double(const std::string& key, double def) const;
  Result<bool> get_bool(const std::string& key, bool def) const;
  Result<std::string> get_string(const std::string& key, const std::string& def) const;
  // An int or a list of ints (eos_token_id is either); missing or null gives an empty list.
  Result<std::vector<int64_t>> get_int_list(const std::string& key) const;
  Result<std::vector<std::string>> get_string_list(const std::string& key) const;
  // A nested object (rope_scaling); nullopt when missing or null.
  Result<std::optional<HfConfig>> get_object(const std::string& key) const;

 private:
  std::shared_ptr<const JsonHolder> json_;
  std::string source_;
};

// Default sampling a model ships in generation_config.json (R1-Distill: temperature 0.6, top_p 0.95).
struct GenerationConfig {
  std::optional<float> temperature;
  std::optional<float> top_p;
  std::optional<int> top_k;
  std::optional<float> repetition_penalty;
  std::optional<bool> do_sample;
  std::vector<int32_t> eos_token_ids;  // generation stops at any of these
  std::optional<int32_t> bos_token_id;

  // Missing file: an empty config (all defaults). Malformed file: an error.
  static Result<GenerationConfig> load_dir(const std::string& dir);
};

}  // namespace r1
