// Absorbed and naive multi-head latent attention must agree, on every DeepSeek fixture and at every position.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model.h"

namespace r1 {
namespace {

const std::string kDir = std::string(R1_FIXTURES_DIR) + "/models/";

class MlaPathsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MlaPathsTest, NaiveEqualsAbsorbed) {
  auto absorbed = load_model(kDir + GetParam());
  LoadOptions naive_options;
  naive_options.mla_naive = true;
  auto naive = load_model(kDir + GetParam(), naive_options);
  ASSERT_TRUE(absorbed.is_ok()) << absorbed.message();
  ASSERT_TRUE(naive.is_ok()) << naive.message();
  std::ifstream in(kDir + GetParam() + "/expected.json");
  const auto e = nlohmann::json::parse(in);
  const std::vector<int32_t> ids = e["sequences"][1]["ids"];
  const size_t V = size_t((*absorbed)->info().vocab_size);
  // Prefill half, then decode one token at a time, so both the prefill and the decode paths are compared.
  auto ca = (*absorbed)->new_cache(64), cn = (*naive)->new_cache(64);
  const size_t half = ids.size() / 2;
  std::vector<float> la(half * V), ln(half * V);
  ASSERT_TRUE((*absorbed)->forward(std::span(ids.data(), half), *ca, la.data(), true).is_ok());
  ASSERT_TRUE((*naive)->forward(std::span(ids.data(), half), *cn, ln.data(), true).is_ok());
  float max_abs = 0, max_diff = 0;
  auto compare = [&](size_t n) {
    for (size_t i = 0; i < n; ++i) {
      max_abs = std::max(max_abs, std::fabs(ln[i]));
      max_diff = std::max(max_diff, std::fabs(la[i] - ln[i]));
    }
  };
  compare(half * V);
  for (size_t t = half; t < ids.size(); ++t) {
    ASSERT_TRUE((*absorbed)->forward(std::span(&ids[t], 1), *ca, la.data(), false).is_ok());
    ASSERT_TRUE((*naive)->forward(std::span(&ids[t], 1), *cn, ln.data(), false).is_ok());
    compare(V);
  }
  EXPECT_GT(max_abs, 0.0f);
  EXPECT_LE(max_diff, 1e-5f * max_abs) << "max |logit| " << max_abs;
}

INSTANTIATE_TEST_SUITE_P(DeepSeek, MlaPathsTest,
                         ::testing::Values("deepseek_v2_lite", "deepseek_v2_group", "deepseek_v3", "deepseek_v3_fp8",
                                           "deepseek_v3_no_shared"));

}  // namespace
}  // namespace r1
