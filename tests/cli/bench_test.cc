// `r1 bench` as a user runs it: JSON fields, the markdown table, roofline fractions, the accuracy report against an
// independent (unquantized) reference, and clear errors. Timings are never asserted, only that they are positive.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_util.h"

namespace {

using r1::test::json_of;
using r1::test::Outcome;
Outcome r1(const std::string& args, const std::string& stdin_text = "") {
  return r1::test::run_r1(args, stdin_text);
}

const std::string kStories = std::string(R1_MODELS_DIR) + "/stories260K";
const std::string kFixtures = std::string(R1_FIXTURES_DIR) + "/models/";

void expect_speeds(const nlohmann::json& j) {
  ASSERT_TRUE(j.is_object());
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GE(j["prefill_tokens_per_s_sd"].get<double>(), 0.0);
  EXPECT_GE(j["decode_tokens_per_s_sd"].get<double>(), 0.0);
  EXPECT_GT(j["params"].get<int64_t>(), 0);
  EXPECT_GT(j["size_bytes"].get<int64_t>(), 0);
  EXPECT_GT(j["weight_bytes_per_token"].get<double>(), 0.0);
  EXPECT_GT(j["decode_bytes_per_token"].get<double>(), j["weight_bytes_per_token"].get<double>());  // + KV cache
  EXPECT_GT(j["prefill_flops_per_token"].get<double>(), 0.0);
  EXPECT_GE(j["threads"].get<int>(), 1);
}

TEST(Bench, StoriesJson) {
  const Outcome r = r1("bench -m " + kStories + " -p 8 -n 4 --repeat 2 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  expect_speeds(j);
  EXPECT_EQ(j["quant"], "F32");
  EXPECT_EQ(j["repeat"], 2);
  // An f32 model reads 4 bytes per active parameter: the tensors the model holds agree with the config's count
  // (stories260K ties lm_head to the embedding, which it reads in full as lm_head).
  EXPECT_EQ(j["weight_bytes_per_token"].get<double>(), 4.0 * j["active_params"].get<double>());
}

TEST(Bench, FixtureJsonAtDepthWithThreads) {
  const Outcome r = r1("bench -m " + kFixtures + "qwen2_gqa4 -p 8 -n 4 --repeat 2 --depth 16 -t 2 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  expect_speeds(j);
  EXPECT_EQ(j["depth"], 16);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["weight_bytes_per_token"].get<double>(), 4.0 * j["active_params"].get<double>());  // q/k/v biases too
  // At depth 16 the 4 decoded tokens attend to 17..20 cached positions, 18.5 on average.
  EXPECT_DOUBLE_EQ(j["decode_bytes_per_token"].get<double>(),
                   j["weight_bytes_per_token"].get<double>() + 18.5 * j["kv_bytes_per_position"].get<double>());
}

TEST(Bench, MoeReadsOnlyTheChosenExperts) {
  // deepseek_v3 (f32): attention, router, shared expert and 2 of the 8 routed experts per MoE layer.
  const Outcome r = r1("bench -m " + kFixtures + "deepseek_v3 -p 4 -n 2 --repeat 1 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  expect_speeds(j);
  EXPECT_NEAR(j["weight_bytes_per_token"].get<double>(), 4.0 * j["active_params"].get<double>(), 1.0);
  EXPECT_LT(j["weight_bytes_per_token"].get<double>(), 4.0 * j["params"].get<double>());
}

TEST(Bench, QuantizedReadsFewerBytes) {
  const Outcome f = r1("bench -m " + kStories + " -p 4 -n 2 --repeat 1 --json");
  const Outcome q = r1("bench -m " + kStories + " -p 4 -n 2 --repeat 1 --quant q8_0 --json");
  ASSERT_EQ(q.status, 0) << q.out;
  EXPECT_EQ(json_of(q)["quant"], "Q8_0");
  EXPECT_LT(json_of(q)["weight_bytes_per_token"].get<double>(), json_of(f)["weight_bytes_per_token"].get<double>());
}

TEST(Bench, MarkdownTable) {
  const Outcome r = r1("bench -m " + kStories + " -p 8 -n 4 --repeat 1 --depth 8");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("| model | size | params | quant | threads | test | t/s |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| stories260K |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" pp8@d8 | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" tg4@d8 | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ± "), std::string::npos) << r.out;
}

TEST(Bench, RooflineFractions) {
  const Outcome r = r1("bench -m " + kStories + " -p 16 -n 8 --repeat 1 --roofline --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_GT(j["read_bandwidth_gb_s"].get<double>(), 0.0);
  EXPECT_GT(j["fp32_peak_gflops"].get<double>(), 0.0);
  EXPECT_GT(j["int8_peak_gops"].get<double>(), 0.0);
  EXPECT_EQ(j["prefill_peak"], "fp32");
  EXPECT_GT(j["prefill_roofline_fraction"].get<double>(), 0.0);
  EXPECT_LT(j["prefill_roofline_fraction"].get<double>(), 1.5);
  // Decode is only bounded by DRAM bandwidth when its weights do not fit in the caches; stories260K's 1 MB do (it
  // can read them from L2 faster than from memory), so its fraction is checked for what it is, not for a bound.
  const double decode_fraction = j["decode_roofline_fraction"].get<double>();
  EXPECT_GT(decode_fraction, 0.0);
  EXPECT_NEAR(decode_fraction,
              j["decode_tokens_per_s"].get<double>() * j["decode_bytes_per_token"].get<double>() /
                  (j["read_bandwidth_gb_s"].get<double>() * 1e9),
              1e-9 * decode_fraction);
  // The table form names the bounds.
  const Outcome t = r1("bench -m " + kStories + " -p 16 -n 8 --repeat 1 --roofline");
  ASSERT_EQ(t.status, 0) << t.out;
  EXPECT_NE(t.out.find("roofline: read "), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("% of bound |"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("GB/s (read)"), std::string::npos) << t.out;
}

TEST(Bench, AccuracyOfQ8AgainstTheUnquantizedFolder) {
  const Outcome r = r1("bench -m " + kStories + " -p 0 -n 0 --accuracy --quant q8_0 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  const auto& a = j["accuracy"];
  EXPECT_EQ(a["source"], "text");
  EXPECT_EQ(a["tokens"], 256);
  EXPECT_GE(a["mean_kl"].get<double>(), 0.0);
  EXPECT_LT(a["mean_kl"].get<double>(), 0.01);
  EXPECT_GE(a["max_kl"].get<double>(), a["mean_kl"].get<double>());
  EXPECT_GT(a["top1_agreement"].get<double>(), 0.9);
  // The model was trained on simple stories: the paragraph is far from random (perplexity 512).
  EXPECT_GT(a["perplexity_ref"].get<double>(), 1.0);
  EXPECT_LT(a["perplexity_ref"].get<double>(), 100.0);
  EXPECT_NEAR(a["perplexity_quant"].get<double>(), a["perplexity_ref"].get<double>(),
              0.05 * a["perplexity_ref"].get<double>());
  EXPECT_EQ(j.count("prefill_tokens_per_s"), 0u);  // -p 0 -n 0: no speed tests
}

TEST(Bench, AccuracyOfAModelAgainstItselfIsExact) {
  const Outcome r = r1("bench -m " + kStories + " -p 0 -n 0 --accuracy --reference " + kStories + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto a = json_of(r)["accuracy"];
  EXPECT_EQ(a["mean_kl"].get<double>(), 0.0);
  EXPECT_EQ(a["top1_agreement"].get<double>(), 1.0);
  EXPECT_EQ(a["perplexity_ref"].get<double>(), a["perplexity_quant"].get<double>());
}

TEST(Bench, BadArguments) {
  Outcome r = r1("bench -m /nonexistent/model -p 4 -n 2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("error:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/nonexistent/model"), std::string::npos) << r.out;

  r = r1("bench -m " + kStories + " --quant bogus -p 4 -n 2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("bogus"), std::string::npos) << r.out;

  r = r1("bench -m " + kStories + " --accuracy -p 0 -n 0");  // nothing to compare against
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--reference"), std::string::npos) << r.out;

  r = r1("bench -m " + kStories + " -p 0 -n 0");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("nothing to measure"), std::string::npos) << r.out;

  r = r1("bench -m " + kStories + " --repeat 0");
  EXPECT_NE(r.status, 0);
  r = r1("bench -m " + kStories + " -p -3");
  EXPECT_NE(r.status, 0);
}

}  // namespace
