// Rule-based rewards for GRPO (R1 §2.2.2): a format reward for reasoning inside <think>…</think> followed by an
// answer, and an accuracy reward for the final answer in \boxed{}, checked the way `r1 eval` checks it.
//
// A completion is the generated text only. The R1 chat template ends the prompt with "<think>\n", so a completion
// normally starts inside the think block ("reasoning</think>answer"); one that opens the block itself
// ("<think>reasoning</think>answer") is accepted too.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace r1::train {

// A completion cut at its single "</think>". nullopt when it is not well formed (see format_reward).
struct CompletionParts {
  std::string_view reasoning;  // between the (optional) opening <think> and </think>
  std::string_view answer;     // after </think>
};

// Splits a completion the way r1 eval does (at the first "</think>"), but only when it is well formed: at most one
// "<think>", and only at the very start (after whitespace); exactly one "</think>"; reasoning that is not all
// whitespace.
std::optional<CompletionParts> split_completion(std::string_view completion);

// 1 when the completion is well formed (split_completion) and its answer part holds a \boxed{…} with something in
// it; else 0.
double format_reward(std::string_view completion);

// The content of the last \boxed{…} in the answer part (after the first "</think>"), as r1 eval reads it; nullopt
// when there is no "</think>" (the model ran out while thinking) or no closed \boxed{}.
std::optional<std::string> boxed_answer(std::string_view completion);

// 1 when the boxed answer matches `reference` (r1::eval::answers_match), else 0. Does not require a well-formed
// completion: the two rewards are independent, as in R1.
double accuracy_reward(std::string_view completion, std::string_view reference);

// Decides whether a boxed answer is right, for tasks whose answers are not numbers (Countdown's expression).
using AnswerChecker = std::function<bool(std::string_view boxed)>;

// Same as accuracy_reward, with the check done by `is_correct` on the boxed answer.
double accuracy_reward(std::string_view completion, const AnswerChecker& is_correct);

// TRL's reward_weights: the total reward is the weighted sum of the individual rewards.
struct RewardWeights {
  double accuracy = 1.0;
  double format = 1.0;
};

struct CompletionReward {
  double accuracy = 0;  // 0 or 1
  double format = 0;    // 0 or 1
  double total = 0;     // weights.accuracy · accuracy + weights.format · format
};

CompletionReward score_completion(std::string_view completion, std::string_view reference,
                                  const RewardWeights& weights = {});
CompletionReward score_completion(std::string_view completion, const AnswerChecker& is_correct,
                                  const RewardWeights& weights = {});

}  // namespace r1::train
