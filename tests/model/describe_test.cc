// Sizes from config.json alone, against the figures DeepSeek and the model cards publish.
#include <gtest/gtest.h>

#include "model/model.h"

namespace r1 {
namespace {

const std::string kConfigs = std::string(R1_FIXTURES_DIR) + "/configs/";

ModelInfo describe(const std::string& name) {
  auto info = describe_config(kConfigs + name);
  EXPECT_TRUE(info.is_ok()) << info.message();
  return info.is_ok() ? *info : ModelInfo{};
}

TEST(Describe, DeepSeekV3) {
  const ModelInfo i = describe("deepseek-v3/config.json");
  EXPECT_EQ(i.model_type, "deepseek_v3");
  EXPECT_NEAR(double(i.n_params) / 1e9, 671.0, 0.5);        // "671B total parameters"
  EXPECT_NEAR(double(i.n_active_params) / 1e9, 37.0, 0.7);  // "37B activated for each token"
  EXPECT_NEAR(double(i.n_params + i.n_mtp_params) / 1e9, 685.0, 1.6);  // HF checkpoint: 671B + 14B MTP
  EXPECT_EQ(i.kv_bytes_per_token_bf16, 70272u);  // (512 + 64) x 61 layers x 2 bytes
  EXPECT_EQ(i.dtype, DType::kF8E4M3);
}

TEST(Describe, DeepSeekV2Lite) {
  const ModelInfo i = describe("deepseek-v2-lite/config.json");
  EXPECT_EQ(i.model_type, "deepseek_v2");
  EXPECT_NEAR(double(i.n_params) / 1e9, 15.7, 0.05);        // "15.7B parameters in total"
  EXPECT_NEAR(double(i.n_active_params) / 1e9, 2.4, 0.1);   // "2.4B are activated for each token"
  EXPECT_EQ(i.kv_bytes_per_token_bf16, 31104u);  // (512 + 64) x 27 layers x 2 bytes
  EXPECT_EQ(i.n_mtp_params, 0);
}

TEST(Describe, R1DistillModels) {
  // The checkpoint's index lists 1,777,088,000 parameters for R1-Distill-Qwen-1.5B.
  const ModelInfo q = describe("r1-distill-qwen-1.5b.json");
  EXPECT_EQ(q.n_params, 1777088000);
  EXPECT_EQ(q.kv_bytes_per_token_bf16, 28u * 2 * 2 * 128 * 2);  // 28 layers, K+V, 2 KV heads, dim 128, bf16
  const ModelInfo l = describe("r1-distill-llama-8b.json");
  EXPECT_NEAR(double(l.n_params) / 1e9, 8.03, 0.01);  // Llama-3.1-8B: 8,030,261,248
  EXPECT_EQ(l.kv_bytes_per_token_bf16, 32u * 2 * 8 * 128 * 2);
}

TEST(Describe, UnknownArchitecture) {
  auto info = describe_config(std::string(R1_FIXTURES_DIR) + "/configs/README.md");
  EXPECT_FALSE(info.is_ok());
}

}  // namespace
}  // namespace r1
