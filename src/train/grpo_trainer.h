// GRPO with verifiable rewards on r1's own engine (R1-Zero's recipe, arXiv 2501.12948 §2.2; DAPO's options,
// arXiv 2503.14476). One step:
//   1. draw prompts_per_step problems from the task's train split;
//   2. sample num_generations completions of each with r1's Engine on the inference model built over the
//   policy's
//      parameters (batched, KV-cached, seeded: the samples of step s depend on (seed, s) only);
//   3. reward every completion (accuracy via the task's check_answer + format, train/rewards.h);
//   4. group-normalised advantages; with dynamic_sampling, groups whose rewards are all equal are dropped
//   (DAPO;
//      no refill: the step trains on the groups that carry signal, and skips the update when none does);
//   5. the policy's per-token log-probs of each completion (forward_logprobs of prompt + completion), the
//      reference's when beta > 0, grpo_loss → d loss / d logp → backward_logprobs, clipping, AdamW,
//      and the DeepSeek-V3 bias update of noaux_tc MoE layers.
// One update per generation (TRL num_iterations = 1): the sampling policy is the policy being trained, so
// logp_old = logp_new detached and the ratio is 1 at the update. The log-probs are those of the distribution
// sampled from: the logits divided by `temperature`, as TRL does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/grpo.h"
#include "train/model.h"
#include "train/rewards.h"
#include "train/rollout.h"
#include "train/tasks.h"

namespace r1::train {

struct GrpoTrainerOptions {
  GrpoConfig grpo;               // num_generations, beta, epsilon(_high), loss_type, scale_rewards, ...
  TaskOptions task;              // what problems are drawn (train split)
  RewardWeights reward_weights = {};  // total reward = accuracy weight · accuracy + format weight · format
  int64_t prompts_per_step =
      8;                // problems per optimizer step (the batch is prompts_per_step · G completions)
  int64_t steps = 100;  // optimizer steps
  double top_p = 1.0;   // sampling nucleus
  bool dynamic_sampling = false;  // drop groups whose rewards are all equal (DAPO)
  double lr = 1e-5;               // peak learning rate
  double min_lr = 0.0;
  int64_t warmup_steps = 0;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.99;
  double moe_bias_gamma = 0.001;  // DeepSeek-V3 bias update speed for noaux_tc MoE layers
  uint64_t seed = 0;              // problems and samples
  int64_t parallel = 64;          // sequences the engine decodes at once
  int64_t log_every = 1;
  int64_t save_every = 0;  // steps between checkpoints; 0: only final/ (and on a stop request)
  std::string output_dir;  // checkpoints, final/, train_log.jsonl
  // Held-out evaluation during training (R1 protocol, rollout.h EvalOptions: k samples at temperature 0.6 /
  // top-p 0.95 with max_tokens = max_completion_length) every eval_every steps and after the last; 0: none.
  // The eval_problems problems of the held-out split are fixed by the seed, so the points form one curve.
  int64_t eval_every = 0;
  int64_t eval_problems = 64;
  int64_t eval_k = 8;

  Status validate() const;
  nlohmann::json to_json() const;
};

// One completion of a step, scored.
struct ScoredRollout {
  Rollout rollout;
  std::string text;  // completion_text
  CompletionReward reward;
};

// Scores rollouts of `problems` (rollout.prompt indexes them) with the task's checker, or with `reward` when
// set.
using RewardFunction = std::function<CompletionReward(const TaskProblem&, std::string_view completion)>;
std::vector<ScoredRollout> score_rollouts(const Tokenizer& tokenizer, std::span<const TaskProblem> problems,
                                          std::vector<Rollout> rollouts, const RewardWeights& weights,
                                          const RewardFunction& reward = nullptr);

// What one policy-gradient pass did.
struct GrpoUpdateStats {
  double loss = 0;
  double mean_kl = 0;
  double clip_fraction = 0;      // tokens in a clipped region
  double zero_std_fraction = 0;  // groups whose rewards are all equal
  int64_t groups_kept = 0;       // groups trained on (all, or those with signal under dynamic sampling)
  int64_t sequences_trained =
      0;                       // sequences run through forward + backward (rows with zero gradient skipped)
  int64_t tokens_trained = 0;  // tokens of those (prompt + completion)
};

// Sets params().grads() to the gradient of the GRPO loss over the rollouts (num_generations consecutive ones
// per prompt, prompts[rollout.prompt] their prompt ids) with `rewards` ([N], the total reward). `reference`
// is needed when config.beta > 0. Without kept groups the gradients are zero and groups_kept is 0.
Result<GrpoUpdateStats> grpo_accumulate(TrainModel& policy, TrainModel* reference, const GrpoConfig& config,
                                        std::span<const std::vector<int32_t>> prompts,
                                        std::span<const Rollout> rollouts, std::span<const double> rewards,
                                        bool dynamic_sampling);

// One step's figures, as logged.
struct GrpoStepLog {
  int64_t step = 0;  // counted from 1
  double mean_reward = 0, accuracy = 0, format_rate = 0;
  double mean_completion_length = 0;  // tokens
  double truncated_fraction = 0;
  double kl = 0, clip_fraction = 0, zero_std_fraction = 0;
  double loss = 0, grad_norm = 0, lr = 0;
  int64_t groups_kept = 0;
  bool updated = false;  // false when dynamic sampling left no group
  double generation_tokens_per_s = 0, training_tokens_per_s = 0;
  double seconds = 0;              // the whole step
  std::optional<EvalResult> eval = std::nullopt;  // held-out evaluation after this step's update (eval_every)
  nlohmann::json to_json() const;
};

struct GrpoResult {
  int64_t steps_done = 0;
  int64_t resumed_from = 0;
  bool stopped = false;
  std::string final_dir;  // output_dir/final (empty when stopped)
  GrpoStepLog last;
};

struct GrpoCallbacks {
  std::function<void(const GrpoStepLog&)> on_log = nullptr;
  // Sees each step's scored rollouts (tests, sample printing).
  std::function<void(int64_t step, std::span<const TaskProblem>, std::span<const ScoredRollout>)> on_rollouts = nullptr;
  StopRequested stop = nullptr;
  // Replaces the task's rewards (accuracy + format) when set, as TRL's reward_funcs do: the reward of one
  // completion's text.
  RewardFunction reward = nullptr;
};

// Trains `policy` with GRPO. Resumes from the newest complete checkpoint in output_dir like train_sft (the
// policy and optimizer are then the checkpoint's; the task stream and sample seeds continue where they were).
// `reference` (the frozen initial policy) is needed when beta > 0.
Result<GrpoResult> train_grpo(std::unique_ptr<TrainModel> policy, std::unique_ptr<TrainModel> reference,
                              const Tokenizer& tokenizer, const GrpoTrainerOptions& options,
                              const GrpoCallbacks& callbacks = {}, bool must_resume = false);

}  // namespace r1::train
