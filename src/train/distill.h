// Rejection sampling for distillation (DeepSeek-R1 §2.3.3 and §2.4, arXiv 2501.12948): a trained reasoning model
// answers task problems k times each, and only the samples that are correct and well formed are kept as SFT
// examples — the model's own text, reasoning and answer — for `r1 train sft` to train a student on. This is how
// R1's 800k-sample distillation set was made, and how the demonstration's student learns from the RL model.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/rollout.h"
#include "train/tasks.h"

namespace r1::train {

struct RejectionSamplingOptions {
  RolloutOptions sampling = {};    // samples_per_prompt (k), max_tokens, temperature, top_p, seed, parallel
  int64_t keep_per_problem = 1;   // accepted samples kept per problem, the first ones in sample order
  bool distinct = true;           // keep a completion only once per problem
};

// One kept sample, in `r1 train sft`'s JSONL shape: prompt = eval::r1_user_prompt(question), completion = the
// model's text after the generation prompt (the reasoning, "</think>", the answer), answer = the reference.
struct DistillExample {
  std::string prompt, completion, answer;
};

struct RejectionSamplingStats {
  int64_t problems = 0, samples = 0;
  int64_t accepted = 0;          // samples that passed `accept`
  int64_t problems_covered = 0;  // problems with at least one kept sample
  double seconds = 0;
  int64_t tokens = 0;            // generated
};

// Accepts a sample's completion text for a problem; rejection_sample's default is correct_and_well_formed.
using SampleFilter = std::function<bool(const TaskProblem&, std::string_view completion)>;

// Correct by the task's checker and well formed (format_reward 1: reasoning closed by </think>, the answer in
// \boxed{} after it).
bool correct_and_well_formed(const TaskProblem& problem, std::string_view completion);

// Samples every problem k times with `model` and returns the kept examples, problem by problem.
Result<std::vector<DistillExample>> rejection_sample(Model& model, const Tokenizer& tokenizer,
                                                     std::span<const TaskProblem> problems,
                                                     const RejectionSamplingOptions& options,
                                                     const SampleFilter& accept = nullptr,
                                                     RejectionSamplingStats* stats = nullptr);

// Writes examples as JSONL {"prompt", "completion", "answer"} (the file is replaced).
Status write_distill_jsonl(const std::string& path, std::span<const DistillExample> examples);

}  // namespace r1::train
