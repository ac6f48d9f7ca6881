// The format and accuracy rewards on a table of completions, judged by hand against the rules in rewards.h.
#include "train/rewards.h"

#include <gtest/gtest.h>

namespace r1::train {
namespace {

struct Case {
  const char* completion;
  double format;
  double accuracy;  // against the reference "4"
  const char* why;
};

const Case kCases[] = {
    // Well formed, both spellings of the think block.
    {"2 + 2 = 4.\n</think>\n\nThe answer is \\boxed{4}.", 1, 1, "starts inside the think block"},
    {"<think>\n2 + 2 = 4.\n</think>\n\n\\boxed{4}", 1, 1, "opens the think block itself"},
    {"\n <think>2 + 2</think>\\boxed{4}", 1, 1, "whitespace before <think>"},
    {"2 + 2 = 5?</think>\\boxed{5}", 1, 0, "well formed, wrong"},
    {"r</think>\\boxed{3} no, \\boxed{ 4 }", 1, 1, "the last box is the answer"},
    {"r</think>\\boxed{4.0}", 1, 1, "checked as r1 eval checks: 4.0 = 4"},
    // Not well formed.
    {"2 + 2 = 4, so \\boxed{4}", 0, 0, "no </think>: ran out while thinking"},
    {"</think>\\boxed{4}", 0, 1, "empty reasoning (accuracy is independent)"},
    {"<think>\n \n</think>\\boxed{4}", 0, 1, "blank reasoning"},
    {"a</think>b</think>\\boxed{4}", 0, 1, "two </think>; r1 eval's answer part still holds the box"},
    {"a<think>b</think>\\boxed{4}", 0, 1, "<think> not at the start"},
    {"<think><think>b</think>\\boxed{4}", 0, 1, "<think> twice"},
    {"so \\boxed{4}</think>The answer is 4.", 0, 0, "the box is in the reasoning, not the answer"},
    {"r</think>The answer is 4.", 0, 0, "no box"},
    {"r</think>\\boxed{}", 0, 0, "empty box"},
    {"r</think>\\boxed{  }", 0, 0, "blank box"},
    {"r</think>\\boxed{4", 0, 0, "box never closed"},
    {"", 0, 0, "nothing"},
    {"<think>", 0, 0, "only the opener"},
};

TEST(Rewards, FormatAndAccuracyOnATableOfCompletions) {
  for (const Case& c : kCases) {
    EXPECT_EQ(format_reward(c.completion), c.format) << c.why << ": " << c.completion;
    EXPECT_EQ(accuracy_reward(c.completion, "4"), c.accuracy) << c.why << ": " << c.completion;
  }
}

TEST(Rewards, SplitGivesReasoningAndAnswer) {
  auto parts = split_completion("<think>\nstep 1\n</think>\n\nThe answer is \\boxed{7}.");
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->reasoning, "\nstep 1\n");
  EXPECT_EQ(parts->answer, "\n\nThe answer is \\boxed{7}.");
  EXPECT_EQ(boxed_answer("x</think>\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
  EXPECT_EQ(boxed_answer("\\boxed{3} never closed the think block"), std::nullopt);
}

TEST(Rewards, CheckerVariantAndWeightedSum) {
  const AnswerChecker is_seven = [](std::string_view boxed) { return boxed == "3 + 4"; };
  const char* right = "3 and 4 make 7</think>\\boxed{3 + 4}";
  const char* wrong = "3 and 4 make 7</think>\\boxed{4 + 3 + 0}";
  EXPECT_EQ(accuracy_reward(right, is_seven), 1.0);
  EXPECT_EQ(accuracy_reward(wrong, is_seven), 0.0);

  const RewardWeights weights{.accuracy = 2.0, .format = 0.5};
  const CompletionReward r = score_completion(right, is_seven, weights);
  EXPECT_EQ(r.accuracy, 1.0);
  EXPECT_EQ(r.format, 1.0);
  EXPECT_EQ(r.total, 2.5);
  const CompletionReward w = score_completion(wrong, is_seven, weights);
  EXPECT_EQ(w.total, 0.5);  // format only
  const CompletionReward unformatted = score_completion("\\boxed{4}", "4", weights);
  EXPECT_EQ(unformatted.total, 0.0);
  const CompletionReward accurate_only = score_completion("</think>\\boxed{4}", "4", weights);
  EXPECT_EQ(accurate_only.total, 2.0);
  EXPECT_EQ(score_completion("r</think>\\boxed{4}", "4").total, 2.0);  // default weights 1 and 1
}

}  // namespace
}  // namespace r1::train
