#include "train/rewards.h"

#include <algorithm>

#include "eval/math_answer.h"

namespace r1::train {

namespace {

constexpr std::string_view kOpen = "<think>", kClose = "</think>";

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The text after the first "</think>", where r1 eval looks for the answer; nullopt without one.
std::optional<std::string_view> answer_part(std::string_view completion) {
  const size_t close = completion.find(kClose);
  if (close == std::string_view::npos) return std::nullopt;
  return completion.substr(close + kClose.size());
}

CompletionReward combine(double accuracy, double format, const RewardWeights& weights) {
  return {.accuracy = accuracy, .format = format, .total = weights.accuracy * accuracy + weights.format * format};
}

}  // namespace

std::optional<CompletionParts> split_completion(std::string_view completion) {
  std::string_view body = completion;
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body.substr(first).starts_with(kOpen))
    body.remove_prefix(first + kOpen.size());
  if (count(body, kOpen) != 0 || count(body, kClose) != 1) return std::nullopt;
  const size_t close = body.find(kClose);
  CompletionParts parts{.reasoning = body.substr(0, close), .answer = body.substr(close + kClose.size())};
  if (is_blank(parts.reasoning)) return std::nullopt;
  return parts;
}

double format_reward(std::string_view completion) {
  const std::optional<CompletionParts> parts = split_completion(completion);
  if (!parts) return 0.0;
  const std::optional<std::string> boxed = eval::extract_boxed(parts->answer);
  return boxed && !is_blank(*boxed) ? 1.0 : 0.0;
}

std::optional<std::string> boxed_answer(std::string_view completion) {
  const std::optional<std::string_view> answer = answer_part(completion);
  if (!answer) return std::nullopt;
  return eval::extract_boxed(*answer);
}

double accuracy_reward(std::string_view completion, std::string_view reference) {
  const std::optional<std::string> boxed = boxed_answer(completion);
  return boxed && eval::answers_match(*boxed, reference) ? 1.0 : 0.0;
}

double accuracy_reward(std::string_view completion, const AnswerChecker& is_correct) {
  const std::optional<std::string> boxed = boxed_answer(completion);
  return boxed && is_correct(*boxed) ? 1.0 : 0.0;
}

CompletionReward score_completion(std::string_view completion, std::string_view reference,
                                  const RewardWeights& weights) {
  return combine(accuracy_reward(completion, reference), format_reward(completion), weights);
}

CompletionReward score_completion(std::string_view completion, const AnswerChecker& is_correct,
                                  const RewardWeights& weights) {
  return combine(accuracy_reward(completion, is_correct), format_reward(completion), weights);
}

}  // namespace r1::train
