// The r1 binary as a user runs it: flags, exit codes, JSON output, stdin-driven chat.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_util.h"
#include "eval/dataset.h"
#include "eval/math_answer.h"
#include "train/tasks.h"

namespace {

using r1::test::json_of;
using r1::test::Outcome;
Outcome r1(const std::string& args, const std::string& stdin_text = "") {
  return r1::test::run_r1(args, stdin_text);
}

const std::string kFixtures = std::string(R1_FIXTURES_DIR) + "/models/";

const std::string kStories = "-m " + std::string(R1_MODELS_DIR) + "/stories260K";

TEST(Cli, RunStories260KGreedyJson) {
  // stories260K (llama2.c's, bundled); an empty prompt starts from BOS alone.
  const Outcome r = r1("run " + kStories + " --greedy -n 20 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["prompt_ids"], nlohmann::json::array({1}));
  EXPECT_EQ(j["ids"], nlohmann::json({403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
                                      401, 396, 267, 337}));
  EXPECT_EQ(j["text"].get<std::string>().substr(0, 26), "Once upon a time, there wa");
  EXPECT_EQ(j["reasoning"], "");
  EXPECT_EQ(j["finish_reason"], "length");
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0.0);
  EXPECT_NE(r.out.find("decode: 20 tokens"), std::string::npos) << r.out;
}

// No -m: the bundled tiny-r1, r1's own reasoning model, answers held-out 3-digit additions (problems it never
// trained on, asked as `r1 eval` asks) with its scratchpad as reasoning and the sum in \boxed{} after it.
TEST(Cli, DefaultModelAddsWithVisibleReasoning) {
  auto problems = r1::train::generate_problems({.kind = r1::train::TaskKind::kAddition, .digits = 3},
                                               r1::train::Split::kHeldOut, 77, 20, true);
  ASSERT_TRUE(problems.is_ok()) << problems.message();
  int correct = 0;
  for (const r1::train::TaskProblem& p : *problems) {
    const Outcome r = r1("run -p '" + r1::eval::r1_user_prompt(p.question) + "' --greedy -n 160 --json");
    ASSERT_EQ(r.status, 0) << r.out;
    const auto j = json_of(r);
    ASSERT_TRUE(j.is_object()) << r.out;
    const std::string reasoning = j["reasoning"], answer = j["text"];
    EXPECT_NE(reasoning.find("digit by digit"), std::string::npos) << reasoning;
    EXPECT_EQ(answer.find("</think>"), std::string::npos) << answer;
    const auto boxed = r1::eval::extract_boxed(answer);
    correct += boxed && *boxed == p.answer;
  }
  EXPECT_GE(correct, 8) << "of 20 held-out problems (it adds about two in three right; guessing gets none)";
}

TEST(Cli, RunWithSeedIsReproducible) {
  const Outcome a = r1("run " + kStories + " -p 'Once upon a time' -n 24 --temperature 1.0 --seed 7 --json");
  const Outcome b = r1("run " + kStories + " -p 'Once upon a time' -n 24 --temperature 1.0 --seed 7 --json");
  const Outcome c = r1("run " + kStories + " -p 'Once upon a time' -n 24 --temperature 1.0 --seed 8 --json");
  ASSERT_EQ(a.status, 0) << a.out;
  EXPECT_EQ(json_of(a)["ids"], json_of(b)["ids"]);
  EXPECT_NE(json_of(a)["ids"], json_of(c)["ids"]);
}

TEST(Cli, PromptIdsAndChatTemplate) {
  const Outcome r = r1("run -m " + kFixtures + "qwen2_gqa4 --prompt-ids 508,506,100,507 --greedy -n 5 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(json_of(r)["prompt_ids"], nlohmann::json({508, 506, 100, 507}));
  EXPECT_EQ(json_of(r)["ids"].size(), 5u);
  // -p on a model with a chat template wraps the text in it: BOS <｜User｜> ... <｜Assistant｜><think>\n.
  const Outcome t = r1("run -m " + kFixtures + "qwen2_gqa4 -p 'hi' --greedy -n 3 --json");
  ASSERT_EQ(t.status, 0) << t.out;
  const auto ids = json_of(t)["prompt_ids"];
  EXPECT_EQ(ids[0], 508);
  EXPECT_EQ(ids[1], 506);
}

TEST(Cli, ChatReadsTurnsFromStdin) {
  const Outcome r = r1("chat -m " + kFixtures + "qwen2_gqa4 --greedy -n 8", "hello\nhow are you\n/exit\n");
  ASSERT_EQ(r.status, 0) << r.out;
  // Two answers, each followed by a speed line.
  size_t n = 0;
  for (size_t p = r.out.find("decode:"); p != std::string::npos; p = r.out.find("decode:", p + 1)) ++n;
  EXPECT_EQ(n, 2u) << r.out;
}

TEST(Cli, ChatNeedsATemplate) {
  const Outcome r = r1("chat " + kStories, "hello\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("no chat template"), std::string::npos) << r.out;
}

TEST(Cli, Info) {
  const Outcome r = r1("info -m " + kFixtures + "qwen2_gqa4");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("qwen2 (Qwen2ForCausalLM)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GQA: 8 query heads, 2 KV heads, head dim 16"), std::string::npos) << r.out;
  // 2 layers x (K + V) x 2 KV heads x 16 dims x 2 bytes = 256 B per token in bf16.
  EXPECT_NE(r.out.find("KV cache / token: 256 bytes in bf16"), std::string::npos) << r.out;
}

TEST(Cli, ErrorsAreMessagesNotCrashes) {
  Outcome r = r1("run -m /nonexistent -p hi");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("error: /nonexistent: not a model folder"), std::string::npos) << r.out;
  r = r1("run --prompt-ids 1,x");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("not a token id"), std::string::npos) << r.out;
  r = r1("run --prompt-ids 1,99999");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("outside the vocabulary"), std::string::npos) << r.out;
  r = r1("run --top-p 0");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("top_p"), std::string::npos) << r.out;
  r = r1("frobnicate");
  EXPECT_NE(r.status, 0);
}

}  // namespace

namespace {

TEST(Cli, InfoFromABareConfig) {
  const Outcome r = r1("info --config " + std::string(R1_FIXTURES_DIR) + "/configs/deepseek-v3/config.json");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("deepseek_v3 (DeepseekV3ForCausalLM)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(671.03B)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("KV cache / token: 70272 bytes in bf16"), std::string::npos) << r.out;
  const Outcome bad = r1("info --config /nonexistent.json");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("error: /nonexistent.json"), std::string::npos) << bad.out;
}

TEST(Cli, ThinkingBudgetClosesTheThoughtEarly) {
  // The fixture's template ends the prompt with <think>\n; after 2 tokens of thought r1 closes it with
  // "\n</think>\n\n" (ids 198 511 198 198) and the rest is the answer.
  const Outcome r = r1("run -m " + kFixtures + "qwen2_gqa4 -p 'hi' --greedy -n 10 --max-thinking-tokens 2 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = json_of(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  const std::vector<int32_t> ids = j["ids"];
  ASSERT_GE(ids.size(), 6u);
  EXPECT_EQ(std::vector<int32_t>(ids.begin() + 2, ids.begin() + 6), (std::vector<int32_t>{198, 511, 198, 198}));
  EXPECT_EQ(j["reasoning"].get<std::string>().find("</think>"), std::string::npos);
  // A model whose vocabulary has no </think> refuses a budget.
  const Outcome none = r1("run " + kStories + " -n 4 --max-thinking-tokens 2");
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.out.find("no </think> token"), std::string::npos) << none.out;
}

}  // namespace
