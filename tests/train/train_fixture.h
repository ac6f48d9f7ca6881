// The PyTorch reference of tools/gen_train_fixtures.py (tests/fixtures/train/<name>/): expected.safetensors and
// case.json, read for the trainer's tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"

namespace r1::train {

inline std::string train_fixture_dir(const std::string& name) {
  return std::string(R1_SOURCE_DIR) + "/tests/fixtures/train/" + name;
}

inline const char* const kTrainFixtures[] = {"qwen2_untied", "qwen2_tied", "deepseek_v3"};

class TrainFixture {
 public:
  explicit TrainFixture(const std::string& name) : dir(train_fixture_dir(name)) {
    auto f = SafetensorsFile::open(dir + "/expected.safetensors");
    EXPECT_TRUE(f.is_ok()) << f.message();
    if (f) file_ = std::make_unique<SafetensorsFile>(std::move(*f));
    std::ifstream in(dir + "/case.json");
    case_json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(case_json.is_discarded()) << dir;
  }

  bool has(const std::string& name) const { return file_ && file_->tensors().count(name) != 0; }
  std::vector<float> floats(const std::string& name) const {
    const Tensor& t = file_->tensors().at(name);
    return std::vector<float>(t.as<float>(), t.as<float>() + t.numel());
  }
  std::vector<int32_t> ints(const std::string& name) const {
    const Tensor& t = file_->tensors().at(name);
    return std::vector<int32_t>(t.as<int32_t>(), t.as<int32_t>() + t.numel());
  }
  // Names of the tensors whose key starts with `prefix`, the prefix removed.
  std::vector<std::string> names(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& [k, _] : file_->tensors())
      if (k.starts_with(prefix)) out.push_back(k.substr(prefix.size()));
    return out;
  }

  std::string dir;
  nlohmann::json case_json;

 private:
  std::unique_ptr<SafetensorsFile> file_;
};

// ‖got - want‖₂ / ‖want‖₂ (the per-tensor relative error the comparisons use).
inline double relative_error(const float* got, const std::vector<float>& want) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    norm += double(want[i]) * want[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

}  // namespace r1::train
