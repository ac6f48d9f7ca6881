#include "train/grpo_trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "train/optim.h"

namespace r1::train {
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Several rollouts' sequences packed into one model call (TrainModel::forward_logprobs `lengths`): every matrix
// product then runs over up to kPackTokens tokens instead of one sequence's few dozen.

// Each rollout's sequence is prompt + completion as model input: tokens = all but the last, targets = all but the
// first, so completion token j is the target at position prompt.size() - 1 + j of its sequence.
struct Pack {
  std::vector<int32_t> tokens, targets;  // the sequences one after another
  std::vector<int64_t> lengths;          // of each sequence
  std::vector<size_t> items;     // which of the caller's rollouts, in order
  std::vector<int64_t> firsts;   // position of each one's first completion target in the pack
};

// The rollouts `items` (indices into rollouts) in packs of at most kPackTokens tokens (a longer sequence alone).
std::vector<Pack> pack_rollouts(std::span<const std::vector<int32_t>> prompts, std::span<const Rollout> rollouts,
                                std::span<const size_t> items) {
  std::vector<Pack> packs;
  for (size_t i : items) {
    const Rollout& r = rollouts[i];
    const std::vector<int32_t>& prompt = prompts[size_t(r.prompt)];
    const size_t length = prompt.size() + r.completion.size() - 1;
    if (packs.empty() || packs.back().tokens.size() + length > kPackTokens) packs.emplace_back();
    Pack& pack = packs.back();
    pack.items.push_back(i);
    pack.firsts.push_back(int64_t(pack.tokens.size()) + int64_t(prompt.size()) - 1);
    pack.lengths.push_back(int64_t(length));
    pack.tokens.insert(pack.tokens.end(), prompt.begin(), prompt.end());
    pack.tokens.insert(pack.tokens.end(), r.completion.begin(), r.completion.end() - 1);
    pack.targets.insert(pack.targets.end(), prompt.begin() + 1, prompt.end());
    pack.targets.insert(pack.targets.end(), r.completion.begin(), r.completion.end());
  }
  return packs;
}

// Calls fn(rollout index, its completion's log-probs) for `items`, through packed forwards of `model`.
template <typename Fn>
Status for_each_completion_logprobs(TrainModel& model, std::span<const std::vector<int32_t>> prompts,
                                    std::span<const Rollout> rollouts, std::span<const size_t> items,
                                    float temperature, Fn&& fn) {
  for (const Pack& pack : pack_rollouts(prompts, rollouts, items)) {
    R1_ASSIGN_OR_RETURN(std::vector<float> lp,
                        model.forward_logprobs(pack.tokens, pack.targets, temperature, pack.lengths));
    for (size_t j = 0; j < pack.items.size(); ++j) {
      const size_t n = rollouts[pack.items[j]].completion.size();
      fn(pack.items[j], std::span<const float>(lp.data() + pack.firsts[j], n));
    }
  }
  return Status::ok();
}

Status check_rollouts(std::span<const std::vector<int32_t>> prompts, std::span<const Rollout> rollouts) {
  for (const Rollout& r : rollouts)
    if (r.prompt < 0 || r.prompt >= int64_t(prompts.size()) || r.completion.empty() ||
        prompts[size_t(r.prompt)].empty())
      return Status::errorf("a rollout of prompt {} without prompt or completion tokens", r.prompt);
  return Status::ok();
}

}  // namespace

// ----------------------------------------------------------------------------------------------------
// options

Status GrpoTrainerOptions::validate() const {
  R1_RETURN_IF_ERROR(grpo.validate());
  R1_RETURN_IF_ERROR(task.validate());
  if (prompts_per_step < 1) return Status::errorf("prompts_per_step {} < 1", prompts_per_step);
  if (steps < 1) return Status::errorf("steps {} < 1", steps);
  if (num_iterations < 1) return Status::errorf("num_iterations {} < 1", num_iterations);
  if (max_generation_rounds < 1) return Status::errorf("max_generation_rounds {} < 1", max_generation_rounds);
  if (!(top_p > 0 && top_p <= 1)) return Status::errorf("top_p {} outside (0, 1]", top_p);
  if (!(lr > 0) || !(min_lr >= 0) || min_lr > lr)
    return Status::errorf("lr {} / min_lr {}: need 0 <= min_lr <= lr, lr > 0", lr, min_lr);
  if (warmup_steps < 0 || weight_decay < 0 || moe_bias_gamma < 0)
    return Status::error("negative warmup, decay or gamma");
  if (!(adam_beta1 >= 0 && adam_beta1 < 1 && adam_beta2 >= 0 && adam_beta2 < 1))
    return Status::error("adam betas must lie in [0, 1)");
  if (eval_every < 0 || eval_problems < 1 || eval_k < 1)
    return Status::error("eval_every >= 0, eval_problems and eval_k >= 1 needed");
  if (parallel < 1 || log_every < 1 || save_every < 0)
    return Status::error("parallel, log_every >= 1, save_every >= 0");
  if (output_dir.empty()) return Status::error("no output_dir");
  return Status::ok();
}

nlohmann::json GrpoTrainerOptions::to_json() const {
  return {{"num_generations", grpo.num_generations},
          {"beta", grpo.beta},
          {"epsilon", grpo.epsilon},
          {"epsilon_high", grpo.upper_epsilon()},
          {"loss_type", loss_type_name(grpo.loss_type)},
          {"scale_rewards", scale_rewards_name(grpo.scale_rewards)},
          {"max_completion_length", grpo.max_completion_length},
          {"temperature", grpo.temperature},
          {"mask_truncated_completions", grpo.mask_truncated_completions},
          {"task", task_kind_name(task.kind)},
          {"digits", task.digits},
          {"digits_b", task.digits_b},
          {"accuracy_weight", reward_weights.accuracy},
          {"format_weight", reward_weights.format},
          {"prompts_per_step", prompts_per_step},
          {"steps", steps},
          {"num_iterations", num_iterations},
          {"top_p", top_p},
          {"dynamic_sampling", dynamic_sampling},
          {"max_generation_rounds", max_generation_rounds},
          {"lr", lr},
          {"min_lr", min_lr},
          {"warmup_steps", warmup_steps},
          {"max_grad_norm", max_grad_norm},
          {"weight_decay", weight_decay},
          {"adam_beta1", adam_beta1},
          {"adam_beta2", adam_beta2},
          {"moe_bias_gamma", moe_bias_gamma},
          {"seed", seed},
          {"output_dir", output_dir}};
}

nlohmann::json GrpoStepLog::to_json() const {
  nlohmann::json j = {{"step", step},
                      {"reward", mean_reward},
                      {"accuracy", accuracy},
                      {"format", format_rate},
                      {"completion_length", mean_completion_length},
                      {"truncated", truncated_fraction},
                      {"kl", kl},
                      {"clip_fraction", clip_fraction},
                      {"clip_low_fraction", clip_low_fraction},
                      {"clip_high_fraction", clip_high_fraction},
                      {"frac_reward_zero_std", zero_std_fraction},
                      {"loss", loss},
                      {"grad_norm", grad_norm},
                      {"lr", lr},
                      {"generation_rounds", generation_rounds},
                      {"groups_kept", groups_kept},
                      {"updated", updated},
                      {"generation_tokens_per_s", generation_tokens_per_s},
                      {"training_tokens_per_s", training_tokens_per_s},
                      {"seconds", seconds}};
  if (eval) {
    j["eval_pass_at_1"] = eval->pass_at_1;
    j["eval_format"] = eval->format_rate;
    j["eval_completion_length"] = eval->mean_completion_tokens;
  }
  return j;
}

// -----------------------------------------------------------------------------------------------------
// pieces

std::vector<ScoredRollout> score_rollouts(const Tokenizer& tokenizer, std::span<const TaskProblem> problems,
                                          std::vector<Rollout> rollouts, const RewardWeights& weights,
                                          const RewardFunction& reward_function) {
  const std::vector<int32_t> stops = stop_ids_of(tokenizer);
  std::vector<ScoredRollout> out;
  for (Rollout& r : rollouts) {
    const TaskProblem& problem = problems[size_t(r.prompt)];
    std::string text = completion_text(tokenizer, r, stops);
    const CompletionReward reward =
        reward_function
            ? reward_function(problem, text)
            : score_completion(
                  text, [&](std::string_view boxed) { return check_answer(problem, boxed); }, weights);
    out.push_back({std::move(r), std::move(text), reward});
  }
  return out;
}

Result<std::vector<std::vector<float>>> completion_logprobs(TrainModel& policy,
                                                            std::span<const std::vector<int32_t>> prompts,
                                                            std::span<const Rollout> rollouts,
                                                            float temperature) {
  R1_RETURN_IF_ERROR(check_rollouts(prompts, rollouts));
  std::vector<std::vector<float>> out(rollouts.size());
  std::vector<size_t> all(rollouts.size());
  std::iota(all.begin(), all.end(), size_t{0});
  R1_RETURN_IF_ERROR(for_each_completion_logprobs(policy, prompts, rollouts, all, temperature,
                                                  [&](size_t i, std::span<const float> lp) {
                                                    out[i].assign(lp.begin(), lp.end());
                                                  }));
  return out;
}

Result<GrpoUpdateStats> grpo_accumulate(TrainModel& policy, TrainModel* reference, const GrpoConfig& config,
                                        std::span<const std::vector<int32_t>> prompts,
                                        std::span<const Rollout> rollouts, std::span<const double> rewards,
                                        bool dynamic_sampling, std::span<const std::vector<float>> logp_old) {
  R1_RETURN_IF_ERROR(config.validate());
  if (rewards.size() != rollouts.size())
    return Status::errorf("{} rewards for {} rollouts", rewards.size(), rollouts.size());
  if (config.beta > 0 && !reference) return Status::error("beta > 0 needs a reference model");
  R1_RETURN_IF_ERROR(check_rollouts(prompts, rollouts));
  const bool has_old = !logp_old.empty();
  if (has_old && logp_old.size() != rollouts.size())
    return Status::errorf("logp_old for {} rollouts, expected {}", logp_old.size(), rollouts.size());
  for (size_t i = 0; has_old && i < rollouts.size(); ++i)
    if (logp_old[i].size() != rollouts[i].completion.size())
      return Status::errorf("logp_old[{}] has {} values for a completion of {} tokens", i, logp_old[i].size(),
                            rollouts[i].completion.size());
  const int64_t G = config.num_generations;
  const float temperature = float(config.temperature);  // log-probs of the distribution the samples came from
  R1_ASSIGN_OR_RETURN(GroupAdvantages adv, group_advantages(rewards, G, config.scale_rewards));
  std::vector<int64_t> groups;
  if (dynamic_sampling) {
    R1_ASSIGN_OR_RETURN(groups, groups_with_signal(rewards, G));
  } else {
    for (int64_t g = 0; g < int64_t(rewards.size()) / G; ++g) groups.push_back(g);
  }
  GrpoUpdateStats stats{.zero_std_fraction = adv.zero_std_fraction(), .groups_kept = int64_t(groups.size())};
  policy.params().zero_grad();
  if (groups.empty()) return stats;

  // The kept rows as a [N, T] batch over completion positions.
  std::vector<size_t> rows;
  for (int64_t g : groups)
    for (int64_t j = 0; j < G; ++j) rows.push_back(size_t(g * G + j));
  const int64_t N = int64_t(rows.size());
  int64_t T = 1;
  for (size_t i : rows) T = std::max<int64_t>(T, int64_t(rollouts[i].completion.size()));
  std::vector<float> logp_new(size_t(N * T), 0.0f), logp_old_rows, logp_ref, dlogp(size_t(N * T), 0.0f);
  std::vector<uint8_t> mask(size_t(N * T), 0), truncated(size_t(N), 0);
  std::vector<double> advantages(static_cast<size_t>(N));
  if (has_old) logp_old_rows.assign(size_t(N * T), 0.0f);
  for (int64_t n = 0; n < N; ++n) {
    const Rollout& r = rollouts[rows[size_t(n)]];
    std::fill_n(mask.begin() + n * T, r.completion.size(), uint8_t(1));
    truncated[size_t(n)] = r.truncated;
    advantages[size_t(n)] = adv.advantages[rows[size_t(n)]];
    if (has_old)
      std::copy(logp_old[rows[size_t(n)]].begin(), logp_old[rows[size_t(n)]].end(),
                logp_old_rows.begin() + n * T);
  }
  // With beta = 0 and the ratio 1 by construction (no logp_old), the gradient −A·w does not depend on the
  // log-probs' values, so the policy's forward is needed only once, in the backward pass below; the ratio
  // against logp_old and k3 need logp_new (and k3 the reference's log-probs) first.
  // Row n of the batch is rollout rows[n]: where its values go.
  std::vector<int64_t> row_of(rollouts.size(), -1);
  for (int64_t n = 0; n < N; ++n) row_of[rows[size_t(n)]] = n;
  const auto into = [&](std::vector<float>& dst) {
    return [&dst, &row_of, T](size_t i, std::span<const float> lp) {
      std::copy(lp.begin(), lp.end(), dst.begin() + row_of[i] * T);
    };
  };
  if (config.beta > 0 || has_old)
    R1_RETURN_IF_ERROR(for_each_completion_logprobs(policy, prompts, rollouts, rows, temperature, into(logp_new)));
  if (config.beta > 0) {
    logp_ref.assign(size_t(N * T), 0.0f);
    R1_RETURN_IF_ERROR(
        for_each_completion_logprobs(*reference, prompts, rollouts, rows, temperature, into(logp_ref)));
  }
  const GrpoBatch<float> batch{.num_sequences = N,
                               .num_positions = T,
                               .logp_new = logp_new,
                               .logp_old = logp_old_rows,
                               .logp_ref = logp_ref,
                               .completion_mask = mask,
                               .advantages = advantages,
                               .truncated = truncated};
  R1_ASSIGN_OR_RETURN(GrpoLossResult loss, grpo_loss<float>(config, batch, dlogp));
  stats.loss = loss.loss;
  stats.mean_kl = loss.mean_kl;
  stats.clip_fraction = loss.clip_region_fraction;
  stats.clip_low_fraction = loss.clip_low_fraction;
  stats.clip_high_fraction = loss.clip_high_fraction;

  // The backward, packed, over the rows that carry a gradient.
  std::vector<size_t> with_gradient;
  for (int64_t n = 0; n < N; ++n) {
    const float* d = dlogp.data() + n * T;
    if (std::any_of(d, d + T, [](float x) { return x != 0.0f; })) with_gradient.push_back(rows[size_t(n)]);
  }
  for (const Pack& pack : pack_rollouts(prompts, rollouts, with_gradient)) {
    R1_RETURN_IF_ERROR(policy.forward_logprobs(pack.tokens, pack.targets, temperature, pack.lengths).status());
    std::vector<float> full(pack.tokens.size(), 0.0f);
    for (size_t j = 0; j < pack.items.size(); ++j)
      std::copy_n(dlogp.begin() + row_of[pack.items[j]] * T, rollouts[pack.items[j]].completion.size(),
                  full.begin() + pack.firsts[j]);
    R1_RETURN_IF_ERROR(policy.backward_logprobs(full));
    stats.sequences_trained += int64_t(pack.items.size());
    stats.tokens_trained += int64_t(pack.tokens.size());
  }
  return stats;
}

// ------------------------------------------------------------------------------------------------------ loop

uint64_t grpo_sample_seed(uint64_t seed, int64_t step, int64_t round) {
  // Round 0 keeps the seed that runs without refill have always used.
  return seed ^ (0xD1B54A32D192ED03ull * uint64_t(step + 1)) ^ (0x9E3779B97F4A7C15ull * uint64_t(round));
}

namespace {

// What one step trains on: the kept groups of all its generation rounds, renumbered in the order kept.
struct StepBatch {
  std::vector<std::vector<int32_t>> prompts;  // one prompt's ids per kept group
  std::vector<Rollout> rollouts;              // G per group, consecutive; rollout.prompt indexes prompts
  std::vector<double> rewards;                // [rollouts.size()] total reward
  int64_t problems_drawn = 0;                 // taken from the task stream, kept or not
};

// Steps 1–4 of the header: rounds of prompts_per_step problems, sampled and rewarded, until the batch holds
// prompts_per_step groups (one round without dynamic sampling). Fills the entry's sampling figures.
Result<StepBatch> generate_batch(const TrainModel& policy, TaskGenerator& tasks, const Tokenizer& tokenizer,
                                 const GrpoTrainerOptions& options, const GrpoCallbacks& callbacks,
                                 int64_t step, GrpoStepLog& entry) {
  const int64_t G = options.grpo.num_generations, P = options.prompts_per_step;
  const int64_t max_rounds = options.dynamic_sampling ? options.max_generation_rounds : 1;
  const std::vector<int32_t> stops = stop_ids_of(tokenizer);
  R1_ASSIGN_OR_RETURN(std::unique_ptr<Model> sampler, policy.inference_model());
  StepBatch batch;
  RolloutStats gen;
  int64_t completions = 0, zero_std_groups = 0;
  while (entry.generation_rounds < max_rounds && int64_t(batch.prompts.size()) < P) {
    std::vector<TaskProblem> problems;
    std::vector<std::vector<int32_t>> prompts;
    for (int64_t i = 0; i < P; ++i) {
      R1_ASSIGN_OR_RETURN(TaskProblem p, tasks.next());
      R1_ASSIGN_OR_RETURN(auto ids, problem_prompt(tokenizer, p));
      problems.push_back(std::move(p));
      prompts.push_back(std::move(ids));
    }
    batch.problems_drawn += P;
    const RolloutOptions ro{.samples_per_prompt = G,
                            .max_tokens = options.grpo.max_completion_length,
                            .temperature = options.grpo.temperature,
                            .top_p = options.top_p,
                            .seed = grpo_sample_seed(options.seed, step, entry.generation_rounds),
                            .parallel = options.parallel};
    RolloutStats round_gen;
    R1_ASSIGN_OR_RETURN(std::vector<Rollout> rollouts,
                        sample_rollouts(*sampler, prompts, stops, ro, &round_gen));
    gen.tokens += round_gen.tokens, gen.seconds += round_gen.seconds;
    ++entry.generation_rounds;
    std::vector<ScoredRollout> scored =
        score_rollouts(tokenizer, problems, std::move(rollouts), options.reward_weights, callbacks.reward);
    if (callbacks.on_rollouts) callbacks.on_rollouts(step + 1, problems, scored);

    std::vector<double> rewards;
    for (const ScoredRollout& s : scored) {
      rewards.push_back(s.reward.total);
      entry.mean_reward += s.reward.total;
      entry.accuracy += s.reward.accuracy;
      entry.format_rate += s.reward.format;
      entry.mean_completion_length += double(s.rollout.completion.size());
      entry.truncated_fraction += s.rollout.truncated;
    }
    completions += int64_t(scored.size());
    R1_ASSIGN_OR_RETURN(std::vector<int64_t> with_signal, groups_with_signal(rewards, G));
    zero_std_groups += P - int64_t(with_signal.size());
    std::vector<int64_t> kept = with_signal;
    if (!options.dynamic_sampling) {
      kept.resize(size_t(P));
      std::iota(kept.begin(), kept.end(), int64_t{0});
    }
    for (int64_t g : kept) {
      if (int64_t(batch.prompts.size()) == P) break;  // DAPO drops the groups beyond a full batch
      const int64_t index = int64_t(batch.prompts.size());
      batch.prompts.push_back(std::move(prompts[size_t(g)]));
      for (int64_t j = 0; j < G; ++j) {
        Rollout& r = scored[size_t(g * G + j)].rollout;
        if (r.prompt != g)
          return Status::errorf("rollout {} of round {} is not of prompt {}", g * G + j,
                                entry.generation_rounds, g);
        r.prompt = index;
        batch.rollouts.push_back(std::move(r));
        batch.rewards.push_back(rewards[size_t(g * G + j)]);
      }
    }
  }
  const double n = double(completions);
  entry.mean_reward /= n, entry.accuracy /= n, entry.format_rate /= n, entry.mean_completion_length /= n;
  entry.truncated_fraction /= n;
  entry.zero_std_fraction = double(zero_std_groups) / double(entry.generation_rounds * P);
  entry.generation_tokens_per_s = double(gen.tokens) / std::max(gen.seconds, 1e-9);
  return batch;
}

// Step 5 of the header: num_iterations optimizer updates on the batch (none when it is empty), the schedule
// counting updates. Fills the entry's training figures.
Status train_on_batch(TrainModel& policy, TrainModel* reference, AdamW& optimizer,
                      const GrpoTrainerOptions& options, const LrSchedule& schedule, int64_t step,
                      const StepBatch& batch, GrpoStepLog& entry) {
  const int64_t mu = options.num_iterations;
  entry.lr = schedule.at((step + 1) * mu - 1);
  entry.groups_kept = int64_t(batch.prompts.size());
  if (batch.prompts.empty()) return Status::ok();
  const auto t0 = std::chrono::steady_clock::now();
  // The log-probs of the policy as it sampled, for the ratio of updates 2..μ; the first update is made by
  // that policy itself, so its ratio is 1 and it takes the path without logp_old.
  std::vector<std::vector<float>> logp_old;
  if (mu > 1) {
    R1_ASSIGN_OR_RETURN(logp_old, completion_logprobs(policy, batch.prompts, batch.rollouts,
                                                      float(options.grpo.temperature)));
  }
  int64_t tokens = 0;
  for (int64_t it = 0; it < mu; ++it) {
    const std::span<const std::vector<float>> old =
        it == 0 ? std::span<const std::vector<float>>() : logp_old;
    R1_ASSIGN_OR_RETURN(GrpoUpdateStats u,
                        grpo_accumulate(policy, reference, options.grpo, batch.prompts, batch.rollouts,
                                        batch.rewards, options.dynamic_sampling, old));
    entry.kl += u.mean_kl / double(mu);
    entry.clip_fraction += u.clip_fraction / double(mu);
    entry.clip_low_fraction += u.clip_low_fraction / double(mu);
    entry.clip_high_fraction += u.clip_high_fraction / double(mu);
    entry.loss = u.loss;
    entry.lr = schedule.at(step * mu + it);
    entry.grad_norm = clip_grad_norm(policy.params().grads(), options.max_grad_norm);
    optimizer.step(policy.params(), entry.lr);
    policy.update_moe_bias(float(options.moe_bias_gamma));
    tokens += u.tokens_trained;
  }
  entry.updated = true;
  entry.training_tokens_per_s = double(tokens) / std::max(seconds_since(t0), 1e-9);
  return Status::ok();
}

}  // namespace

Result<GrpoResult> train_grpo(std::unique_ptr<TrainModel> policy, std::unique_ptr<TrainModel> reference,
                              const Tokenizer& tokenizer, const GrpoTrainerOptions& options,
                              const GrpoCallbacks& callbacks, bool must_resume) {
  R1_RETURN_IF_ERROR(options.validate());
  if (options.grpo.beta > 0 && !reference) return Status::error("beta > 0 needs a reference model");
  const AdamWConfig adamw{
      .beta1 = options.adam_beta1, .beta2 = options.adam_beta2, .weight_decay = options.weight_decay};
  GrpoResult result;
  std::unique_ptr<AdamW> optimizer;
  int64_t step = 0;
  int64_t problems_drawn = 0;  // from the task stream so far: what a resumed run skips
  if (auto dir = latest_checkpoint(options.output_dir)) {
    R1_ASSIGN_OR_RETURN(Resumed r, load_checkpoint(*dir, adamw));
    const nlohmann::json saved = state_field(r.state, "options", nlohmann::json::object());
    // Runs from before num_iterations existed made one update per generation.
    if (state_field(r.state, "kind", std::string()) != "grpo" ||
        state_field(saved, "seed", uint64_t(0)) != options.seed ||
        state_field(saved, "prompts_per_step", int64_t(0)) != options.prompts_per_step ||
        state_field(saved, "num_iterations", int64_t(1)) != options.num_iterations ||
        state_field(saved, "task", std::string()) != task_kind_name(options.task.kind))
      return Status::errorf(
          "{}: made by another kind of run, or with another task, seed, prompts_per_step or num_iterations",
          *dir);
    policy = std::move(r.model);
    optimizer = std::move(r.optimizer);
    step = result.resumed_from = r.step;
    // Checkpoints from before the refill drew prompts_per_step problems a step.
    problems_drawn = state_field(r.state, "problems_drawn", step * options.prompts_per_step);
  } else if (must_resume) {
    return Status::errorf("{}: no complete checkpoint to resume from", options.output_dir);
  } else {
    if (!policy) return Status::error("no model to train");
    optimizer = std::make_unique<AdamW>(policy->params(), adamw);
  }
  R1_ASSIGN_OR_RETURN(TrainLog log, TrainLog::open(options.output_dir, step));
  R1_ASSIGN_OR_RETURN(TaskGenerator tasks, TaskGenerator::create(options.task, Split::kTrain, options.seed));
  for (int64_t i = 0; i < problems_drawn; ++i) R1_RETURN_IF_ERROR(tasks.next().status());
  const int64_t mu = options.num_iterations;
  const LrSchedule schedule{.lr = options.lr,
                            .min_lr = options.min_lr,
                            .warmup_steps = options.warmup_steps * mu,
                            .total_steps = options.steps * mu};
  std::vector<TaskProblem> held_out;
  if (options.eval_every > 0) {
    R1_ASSIGN_OR_RETURN(held_out, generate_problems(options.task, Split::kHeldOut, options.seed,
                                                    options.eval_problems, /*distinct=*/false));
  }
  auto checkpoint = [&] {
    return save_checkpoint(
        options.output_dir, step, *policy, *optimizer,
        {{"kind", "grpo"}, {"options", options.to_json()}, {"problems_drawn", problems_drawn}});
  };

  while (step < options.steps) {
    if (callbacks.stop && callbacks.stop()) {
      result.stopped = true;
      break;
    }
    const auto t0 = std::chrono::steady_clock::now();
    GrpoStepLog entry{.step = step + 1};
    R1_ASSIGN_OR_RETURN(StepBatch batch,
                        generate_batch(*policy, tasks, tokenizer, options, callbacks, step, entry));
    problems_drawn += batch.problems_drawn;
    R1_RETURN_IF_ERROR(
        train_on_batch(*policy, reference.get(), *optimizer, options, schedule, step, batch, entry));
    entry.seconds = seconds_since(t0);
    ++step;
    if (options.eval_every > 0 && (step % options.eval_every == 0 || step == options.steps)) {
      R1_ASSIGN_OR_RETURN(std::unique_ptr<Model> sampler, policy->inference_model());
      const EvalOptions eo{.k = options.eval_k,
                           .max_tokens = options.grpo.max_completion_length,
                           .seed = options.seed,
                           .parallel = options.parallel};
      R1_ASSIGN_OR_RETURN(entry.eval, evaluate_tasks(*sampler, tokenizer, held_out, eo));
    }
    result.last = entry;
    log.write(entry.to_json());
    if (callbacks.on_log && (step % options.log_every == 0 || step == options.steps)) callbacks.on_log(entry);
    if (options.save_every > 0 && step % options.save_every == 0 && step < options.steps)
      R1_RETURN_IF_ERROR(checkpoint());
  }
  result.steps_done = step;
  if (result.stopped) {
    if (step > result.resumed_from || !latest_checkpoint(options.output_dir))
      R1_RETURN_IF_ERROR(checkpoint());
    return result;
  }
  result.final_dir = (fs::path(options.output_dir) / "final").string();
  R1_RETURN_IF_ERROR(policy->save_hf(result.final_dir));
  return result;
}

}  // namespace r1::train
