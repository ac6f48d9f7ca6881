#include "train/distill.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "eval/dataset.h"
#include "train/rewards.h"

namespace r1::train {

bool correct_and_well_formed(const TaskProblem& problem, std::string_view completion) {
  const CompletionReward reward =
      score_completion(completion, [&](std::string_view boxed) { return check_answer(problem, boxed); });
  return reward.accuracy == 1 && reward.format == 1;
}

Result<std::vector<DistillExample>> rejection_sample(Model& model, const Tokenizer& tokenizer,
                                                     std::span<const TaskProblem> problems,
                                                     const RejectionSamplingOptions& options,
                                                     const SampleFilter& accept, RejectionSamplingStats* stats) {
  if (options.keep_per_problem < 1) return Status::errorf("keep_per_problem {} < 1", options.keep_per_problem);
  R1_ASSIGN_OR_RETURN(auto prompts, problem_prompts(tokenizer, problems));
  const std::vector<int32_t> stops = stop_ids_of(tokenizer);
  RolloutStats rollout_stats;
  R1_ASSIGN_OR_RETURN(std::vector<Rollout> rollouts,
                      sample_rollouts(model, prompts, stops, options.sampling, &rollout_stats));

  RejectionSamplingStats s{.problems = int64_t(problems.size()), .samples = int64_t(rollouts.size())};
  std::vector<DistillExample> kept;
  std::vector<int64_t> kept_of(problems.size(), 0);
  std::vector<std::unordered_set<std::string>> seen(problems.size());
  for (const Rollout& r : rollouts) {
    const TaskProblem& problem = problems[size_t(r.prompt)];
    std::string text = completion_text(tokenizer, r, stops);
    if (!(accept ? accept(problem, text) : correct_and_well_formed(problem, text))) continue;
    ++s.accepted;
    int64_t& n = kept_of[size_t(r.prompt)];
    if (n >= options.keep_per_problem) continue;
    if (options.distinct && !seen[size_t(r.prompt)].insert(text).second) continue;
    if (n++ == 0) ++s.problems_covered;
    kept.push_back({eval::r1_user_prompt(problem.question), std::move(text), problem.answer});
  }
  s.seconds = rollout_stats.seconds;
  s.tokens = rollout_stats.tokens;
  if (stats) *stats = s;
  return kept;
}

Status write_distill_jsonl(const std::string& path, std::span<const DistillExample> examples) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::errorf("{}: cannot open for writing", path);
  for (const DistillExample& e : examples)
    out << nlohmann::json{{"prompt", e.prompt}, {"completion", e.completion}, {"answer", e.answer}}.dump() << '\n';
  out.flush();
  if (!out) return Status::errorf("{}: write error", path);
  return Status::ok();
}

}  // namespace r1::train
