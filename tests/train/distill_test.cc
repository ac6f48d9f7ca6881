// Rejection sampling for distillation: exactly the accepted samples are kept (at most keep_per_problem distinct
// ones per problem, in sample order), with the prompt in `r1 eval`'s form and the model's own text; the default
// filter is the task checker plus the format; the JSONL is what `r1 train sft` reads.
#include "train/distill.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "eval/dataset.h"
#include "test_util.h"
#include "train/sft.h"
#include "train/tiny_chat.h"

namespace r1::train {
namespace {

TEST(Distill, DefaultFilterIsCorrectAndWellFormed) {
  auto problems = generate_problems({.kind = TaskKind::kAddition, .digits = 2}, Split::kTrain, 5, 1, true);
  ASSERT_TRUE(problems.is_ok());
  const TaskProblem& p = (*problems)[0];
  EXPECT_TRUE(correct_and_well_formed(p, sft_completion(p)));
  EXPECT_FALSE(correct_and_well_formed(p, "x\n</think>\n\n\\boxed{" + p.answer + "0}")) << "wrong";
  EXPECT_FALSE(correct_and_well_formed(p, "no end of thought \\boxed{" + p.answer + "}")) << "no </think>";
  EXPECT_FALSE(correct_and_well_formed(p, "x\n</think>\n\nThe answer is " + p.answer)) << "no \\boxed";
}

TEST(Distill, KeepsExactlyTheAcceptedSamples) {
  auto tok = tiny_chat_tokenizer();
  auto model = init_model(tiny_chat_dir() + "/config.json", 3);
  ASSERT_TRUE(tok && model);
  auto inference = model->inference_model();
  ASSERT_TRUE(inference.is_ok()) << inference.message();
  auto problems = generate_problems({.kind = TaskKind::kAddition, .digits = 2}, Split::kTrain, 9, 4, true);
  ASSERT_TRUE(problems.is_ok());
  const RolloutOptions sampling{.samples_per_prompt = 6, .max_tokens = 12, .temperature = 1.0, .seed = 21};

  // The same samples, drawn directly: the expected kept texts per problem under "an even number of bytes".
  auto prompts = problem_prompts(*tok, *problems);
  ASSERT_TRUE(prompts.is_ok()) << prompts.message();
  const std::vector<int32_t> stops = stop_ids_of(*tok);
  auto rollouts = sample_rollouts(**inference, *prompts, stops, sampling);
  ASSERT_TRUE(rollouts.is_ok()) << rollouts.message();
  auto even = [](const TaskProblem&, std::string_view text) { return text.size() % 2 == 0; };
  std::map<int64_t, std::vector<std::string>> accepted;
  int64_t n_accepted = 0;
  for (const Rollout& r : *rollouts) {
    std::string text = completion_text(*tok, r, stops);
    if (text.size() % 2) continue;
    ++n_accepted;
    auto& v = accepted[r.prompt];
    if (v.size() < 2 && std::find(v.begin(), v.end(), text) == v.end()) v.push_back(text);
  }
  ASSERT_GT(n_accepted, 0) << "24 random samples, none of even length";

  RejectionSamplingStats stats;
  auto kept = rejection_sample(**inference, *tok, *problems, {.sampling = sampling, .keep_per_problem = 2}, even,
                               &stats);
  ASSERT_TRUE(kept.is_ok()) << kept.message();
  EXPECT_EQ(stats.problems, 4);
  EXPECT_EQ(stats.samples, 24);
  EXPECT_EQ(stats.accepted, n_accepted);
  EXPECT_EQ(stats.problems_covered, int64_t(accepted.size()));
  size_t i = 0;
  for (const auto& [problem, texts] : accepted) {
    for (const std::string& text : texts) {
      ASSERT_LT(i, kept->size());
      const DistillExample& e = (*kept)[i++];
      EXPECT_EQ(e.prompt, eval::r1_user_prompt((*problems)[size_t(problem)].question));
      EXPECT_EQ(e.completion, text);
      EXPECT_EQ(e.answer, (*problems)[size_t(problem)].answer);
    }
  }
  EXPECT_EQ(i, kept->size());

  // A random model answers nothing right: the default filter keeps nothing.
  auto none = rejection_sample(**inference, *tok, *problems, {.sampling = sampling});
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(rejection_sample(**inference, *tok, *problems, {.sampling = sampling, .keep_per_problem = 0}).is_ok());
}

TEST(Distill, JsonlIsWhatSftReads) {
  test::TempDir dir;
  const std::vector<DistillExample> examples = {{"What is 1 + 2?", "3 \"quoted\"\n</think>\n\n\\boxed{3}", "3"},
                                                {"p2", "c2", "a2"}};
  ASSERT_TRUE(write_distill_jsonl(dir.file("d.jsonl"), examples).is_ok());
  auto read = read_sft_jsonl(dir.file("d.jsonl"));
  ASSERT_TRUE(read.is_ok()) << read.message();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].prompt, examples[0].prompt);
  EXPECT_EQ((*read)[0].completion, examples[0].completion);
  EXPECT_FALSE(write_distill_jsonl(dir.file("no-such-dir/d.jsonl"), examples).is_ok());
}

}  // namespace
}  // namespace r1::train
