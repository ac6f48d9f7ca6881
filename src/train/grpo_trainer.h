// GRPO with verifiable rewards on r1's own engine (R1-Zero's recipe, arXiv 2501.12948 §2.2; DAPO's options,
// arXiv 2503.14476). One step:
//   1. draw prompts_per_step problems from the task's train split;
//   2. sample num_generations completions of each with r1's Engine on the inference model built over the
//      policy's parameters (batched, KV-cached, seeded by (seed, step, round): grpo_sample_seed);
//   3. reward every completion (accuracy via the task's check_answer + format, train/rewards.h);
//   4. with dynamic_sampling, groups whose rewards are all equal are dropped and, as in DAPO §3.2, more
//      problems are drawn and sampled (prompts_per_step a round) until prompts_per_step groups with signal
//      are collected or max_generation_rounds rounds have run; groups beyond prompts_per_step are dropped,
//      and a step that collected none skips its update. The task stream therefore advances by a variable
//      count a step, which the checkpoint records (problems_drawn) so that a resumed run draws what the
//      straight one would;
//   5. group-normalised advantages over the kept groups, then num_iterations (TRL; the GRPO paper's μ)
//      optimizer updates on that one batch: each computes the policy's per-token log-probs of each completion
//      (forward_logprobs of prompt + completion), the reference's when beta > 0, grpo_loss → d loss / d logp
//      → backward_logprobs, clipping, AdamW, and the DeepSeek-V3 bias update of noaux_tc MoE layers.
// The first update of a batch is made by the policy that sampled it, so its ratio is 1 and it needs no
// logp_old (with num_iterations = 1 that is the whole step). With num_iterations > 1 the log-probs of the
// sampling policy (logp_old) are computed once before the first update, and updates 2..μ use the ratio
// exp(logp_new − logp_old), clipped to [1 − ε_low, 1 + ε_high]. The log-probs are those of the distribution
// sampled from: the logits divided by `temperature`, as TRL does.
// Learning-rate schedule: `steps` counts generation steps; the schedule runs over steps · num_iterations
// optimizer updates (warmup_steps · num_iterations of them warming up), so a run's LR envelope over its steps
// does not depend on μ.
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
  GrpoConfig grpo;                    // num_generations, beta, epsilon(_high), loss_type, scale_rewards, ...
  TaskOptions task;                   // what problems are drawn (train split)
  RewardWeights reward_weights = {};  // total reward = accuracy weight · accuracy + format weight · format
  int64_t prompts_per_step = 8;   // groups a step trains on (the batch is prompts_per_step · G completions)
  int64_t steps = 100;            // generation steps (each makes num_iterations optimizer updates)
  int64_t num_iterations = 1;     // μ: optimizer updates per generated batch (TRL num_iterations)
  double top_p = 1.0;             // sampling nucleus
  bool dynamic_sampling = false;  // drop groups whose rewards are all equal and refill the batch (DAPO)
  int64_t max_generation_rounds = 4;  // dynamic sampling: rounds a step at most (DAPO max_num_gen_batches)
  double lr = 1e-5;                   // peak learning rate
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
  double clip_fraction = 0;       // tokens in a clipped region (ratio ≠ 1 needs logp_old)
  double clip_low_fraction = 0;   // of which ratio < 1 − ε_low with A < 0
  double clip_high_fraction = 0;  // of which ratio > 1 + ε_high with A > 0
  double zero_std_fraction = 0;   // groups whose rewards are all equal
  int64_t groups_kept = 0;        // groups trained on (all, or those with signal under dynamic sampling)
  int64_t sequences_trained =
      0;                       // sequences run through forward + backward (rows with zero gradient skipped)
  int64_t tokens_trained = 0;  // tokens of those (prompt + completion)
};

// Per-token log-probs of each rollout's completion under `policy` at `temperature`: one [completion.size()]
// vector per rollout (prompts[rollout.prompt] its prompt ids). The logp_old of grpo_accumulate.
Result<std::vector<std::vector<float>>> completion_logprobs(TrainModel& policy,
                                                            std::span<const std::vector<int32_t>> prompts,
                                                            std::span<const Rollout> rollouts,
                                                            float temperature);

// Sets params().grads() to the gradient of the GRPO loss over the rollouts (num_generations consecutive ones
// per prompt, prompts[rollout.prompt] their prompt ids) with `rewards` ([N], the total reward). `reference`
// is needed when config.beta > 0. `logp_old` ([N] vectors, from completion_logprobs of the policy that
// sampled) gives the ratio's denominator; empty: the policy being trained sampled the rollouts, the ratio is
// 1 and the policy's log-probs are computed only for the backward pass. Without kept groups the gradients are
// zero and groups_kept is 0. The model runs over the rollouts packed, up to kPackTokens per call (as
// completion_logprobs does).
Result<GrpoUpdateStats> grpo_accumulate(TrainModel& policy, TrainModel* reference, const GrpoConfig& config,
                                        std::span<const std::vector<int32_t>> prompts,
                                        std::span<const Rollout> rollouts, std::span<const double> rewards,
                                        bool dynamic_sampling,
                                        std::span<const std::vector<float>> logp_old = {});

// One step's figures, as logged. Rewards, lengths and zero_std_fraction cover every completion sampled in
// the step (all generation rounds); the rest covers the trained batch.
struct GrpoStepLog {
  int64_t step = 0;  // counted from 1
  double mean_reward = 0, accuracy = 0, format_rate = 0;
  double mean_completion_length = 0;  // tokens
  double truncated_fraction = 0;
  double zero_std_fraction = 0;  // of all groups sampled
  // Means over the step's updates (the first one's ratio is 1: it clips nothing).
  double kl = 0, clip_fraction = 0, clip_low_fraction = 0, clip_high_fraction = 0;
  double loss = 0, grad_norm = 0, lr = 0;  // of the step's last update
  int64_t generation_rounds = 0;           // sampling rounds (1 without dynamic sampling)
  int64_t groups_kept = 0;                 // groups trained on
  bool updated = false;                    // false when dynamic sampling left no group
  double generation_tokens_per_s = 0, training_tokens_per_s = 0;
  double seconds = 0;                             // the whole step
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
  // Sees each generation round's problems and scored rollouts (tests, sample printing).
  std::function<void(int64_t step, std::span<const TaskProblem>, std::span<const ScoredRollout>)>
      on_rollouts = nullptr;
  StopRequested stop = nullptr;
  // Replaces the task's rewards (accuracy + format) when set, as TRL's reward_funcs do: the reward of one
  // completion's text.
  RewardFunction reward = nullptr;
};

// The sampling seed of generation round `round` of step `step` (both counted from 0) of a run seeded `seed`:
// fixed by the three; step and round enter through different odd multipliers, so that the (step, round)
// pairs of a run get different seeds.
uint64_t grpo_sample_seed(uint64_t seed, int64_t step, int64_t round);

// Trains `policy` with GRPO. Resumes from the newest complete checkpoint in output_dir like train_sft (the
// policy and optimizer are then the checkpoint's; the task stream and sample seeds continue where they were).
// A checkpoint made with another task, seed, prompts_per_step or num_iterations is refused.
// `reference` (the frozen initial policy) is needed when beta > 0.
Result<GrpoResult> train_grpo(std::unique_ptr<TrainModel> policy, std::unique_ptr<TrainModel> reference,
                              const Tokenizer& tokenizer, const GrpoTrainerOptions& options,
                              const GrpoCallbacks& callbacks = {}, bool must_resume = false);

}  // namespace r1::train
