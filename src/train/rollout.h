// Sampling for RL and evaluation through r1's serving engine (continuous batching over a paged KV cache with
// prefix caching, so the G samples of a prompt share its prefill): GRPO's rollouts, and the held-out pass@1
// of the R1 paper's protocol (k samples at temperature 0.6, top-p 0.95, arXiv 2501.12948 §3).
//
// The engine runs the model on its own thread, and r1's ThreadPool serves one calling thread at a time: these
// functions create the engine, wait for every sample and shut it down before they return, so training never
// runs while the engine does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/model.h"
#include "train/rewards.h"
#include "train/tasks.h"

namespace r1::train {

struct RolloutOptions {
  int64_t samples_per_prompt = 8;  // G
  int64_t max_tokens = 256;        // completion budget
  double temperature = 1.0;
  double top_p = 1.0;
  uint64_t seed = 0;      // every sample gets its own seed from (seed, prompt, sample)
  int64_t parallel = 64;  // sequences decoded at once
};

struct Rollout {
  int64_t prompt = 0;               // index into the prompts
  std::vector<int32_t> completion = {};  // generated ids, the stop token included when one ended it
  bool truncated = false;           // ended by max_tokens (or the context), not by a stop token
};

struct RolloutStats {
  int64_t tokens = 0;  // completion tokens generated
  double seconds = 0;  // wall time of the whole generation, engine start and shutdown included
};

// samples_per_prompt completions of every prompt (token ids, ending where the assistant turn starts), in
// order: prompt 0's samples first. Generation stops at any of `stop_ids`.
Result<std::vector<Rollout>> sample_rollouts(Model& model, std::span<const std::vector<int32_t>> prompts,
                                             std::span<const int32_t> stop_ids, const RolloutOptions& options,
                                             RolloutStats* stats = nullptr);

// The prompt ids of a task problem: the chat template over eval::r1_user_prompt(question) (the R1 instruction
// in the user turn, as `r1 eval` asks), with the generation prompt.
Result<std::vector<int32_t>> problem_prompt(const Tokenizer& tokenizer, const TaskProblem& problem);
// problem_prompt of every problem, in order.
Result<std::vector<std::vector<int32_t>>> problem_prompts(const Tokenizer& tokenizer,
                                                          std::span<const TaskProblem> problems);

// The text of a completion: the ids decoded with special tokens kept (</think> may be one), the final stop
// token dropped.
std::string completion_text(const Tokenizer& tokenizer, const Rollout& rollout,
                            std::span<const int32_t> stop_ids);

// The stop ids of a tokenizer / model: EOS.
std::vector<int32_t> stop_ids_of(const Tokenizer& tokenizer);

// Held-out evaluation, the R1 protocol: k samples per problem at temperature 0.6 / top-p 0.95 by default.
struct EvalOptions {
  int64_t k = 8;
  double temperature = 0.6;
  double top_p = 0.95;
  int64_t max_tokens = 256;
  uint64_t seed = 0;
  int64_t parallel = 64;
};

struct EvalResult {
  int64_t problems = 0;
  double pass_at_1 = 0;       // mean over problems of (correct samples / k)
  double format_rate = 0;     // samples with format_reward 1
  double truncated_rate = 0;  // samples that hit max_tokens
  double mean_completion_tokens = 0;
  double tokens_per_s = 0;  // generation
};

// Samples `problems` with `model` (built on the policy by the caller) and checks each boxed answer with
// check_answer.
Result<EvalResult> evaluate_tasks(Model& model, const Tokenizer& tokenizer,
                                  std::span<const TaskProblem> problems, const EvalOptions& options);

}  // namespace r1::train
