// Model folders that are wrong in every way a download or a conversion can be wrong: clear errors, no crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model.h"
#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;
const std::string kFixture = std::string(R1_FIXTURES_DIR) + "/models/qwen2_gqa4";

// A copy of the qwen2 fixture whose config.json has been edited by `edit`.
std::string load_error(const std::function<void(nlohmann::json&)>& edit, test::TempDir& dir) {
  fs::copy_file(kFixture + "/model.safetensors", dir.file("model.safetensors"));
  std::ifstream in(kFixture + "/config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  edit(config);
  test::write_file(dir.file("config.json"), config.dump());
  auto model = load_model(dir.path());
  return model.is_ok() ? "" : model.message();
}

TEST(Loading, UnknownArchitectureListsSupportedOnes) {
  test::TempDir dir;
  std::string e = load_error([](auto& c) { c["model_type"] = "gpt_neox"; }, dir);
  EXPECT_NE(e.find("model_type \"gpt_neox\" is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("qwen2 (Qwen2ForCausalLM)"), std::string::npos) << e;
  EXPECT_NE(e.find("llama (LlamaForCausalLM)"), std::string::npos) << e;
  test::TempDir dir2;
  e = load_error([](auto& c) { c["architectures"] = {"Qwen2ForSequenceClassification"}; }, dir2);
  EXPECT_NE(e.find("architecture \"Qwen2ForSequenceClassification\" is not supported"), std::string::npos) << e;
}

TEST(Loading, ConfigDisagreeingWithTensors) {
  test::TempDir d1;
  std::string e = load_error([](auto& c) { c["hidden_size"] = 96; }, d1);
  EXPECT_NE(e.find("model.embed_tokens.weight' has shape"), std::string::npos) << e;
  test::TempDir d2;
  e = load_error([](auto& c) { c["num_hidden_layers"] = 3; }, d2);
  EXPECT_NE(e.find("missing tensor 'model.layers.2."), std::string::npos) << e;
  test::TempDir d3;
  e = load_error([](auto& c) { c["num_hidden_layers"] = 1; }, d3);
  EXPECT_NE(e.find("unexpected tensor 'model.layers.1."), std::string::npos) << e;
  test::TempDir d4;
  e = load_error([](auto& c) { c["num_key_value_heads"] = 3; }, d4);
  EXPECT_NE(e.find("not a multiple of num_key_value_heads"), std::string::npos) << e;
  test::TempDir d5;
  e = load_error([](auto& c) { c["rope_scaling"] = {{"rope_type", "su"}, {"factor", 2.0}}; }, d5);
  EXPECT_NE(e.find("rope_scaling type \"su\" is not supported"), std::string::npos) << e;
  test::TempDir d6;
  e = load_error([](auto& c) { c["hidden_size"] = "64"; }, d6);
  EXPECT_NE(e.find("\"hidden_size\" must be an integer"), std::string::npos) << e;
  test::TempDir d7;
  e = load_error([](auto& c) { c.erase("vocab_size"); }, d7);
  EXPECT_NE(e.find("missing required field \"vocab_size\""), std::string::npos) << e;
}

TEST(Loading, MissingFolderAndFiles) {
  EXPECT_FALSE(load_model("/nonexistent/model").is_ok());
  test::TempDir dir;
  auto m = load_model(dir.path());
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.message().find("config.json"), std::string::npos) << m.message();
}

TEST(Loading, TruncatedWeightsFile) {
  test::TempDir dir;
  fs::copy_file(kFixture + "/config.json", dir.file("config.json"));
  std::ifstream in(kFixture + "/model.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  test::write_file(dir.file("model.safetensors"), bytes.substr(0, bytes.size() / 2));
  auto m = load_model(dir.path());
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.message().find("model.safetensors"), std::string::npos) << m.message();
}

}  // namespace
}  // namespace r1
