// The GRPO trainer on the tiny chat models: rewards agree with the task checker, the policy gradient equals
// the advantage-weighted sum of per-sequence loss gradients from TrainModel's own loss path (also on a second
// update, where the ratio to the sampling policy is clipped), dynamic sampling drops the groups whose rewards
// are all equal, k3 vanishes against an identical reference, and a whole step (r1's engine sampling G
// completions per prompt, rewards, update, checkpoint) runs end to end with finite statistics.
#include "train/grpo_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "test_util.h"
#include "train/optim.h"
#include "train/tiny_chat.h"

namespace r1::train {
namespace {
namespace fs = std::filesystem;

TaskOptions small_addition() {
  return {.kind = TaskKind::kAddition, .digits = 1};
}

Rollout rollout_of(const Tokenizer& tok, int64_t prompt, const std::string& text, bool eos = true) {
  Rollout r{.prompt = prompt, .completion = tok.encode(text)};
  if (eos) r.completion.push_back(*tok.eos_id());
  r.truncated = !eos;
  return r;
}

std::vector<float> grads_of(const TrainModel& m) {
  return {m.params().grads().begin(), m.params().grads().end()};
}

double relative_diff(const std::vector<float>& got, const std::vector<double>& want) {
  double d = 0, n = 0;
  for (size_t i = 0; i < want.size(); ++i)
    d += (got[i] - want[i]) * (got[i] - want[i]), n += want[i] * want[i];
  return std::sqrt(d / std::max(n, 1e-300));
}

TEST(GrpoTrainer, RewardsAgreeWithTheTaskChecker) {
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  auto problems = generate_problems(small_addition(), Split::kTrain, 3, 2, true);
  ASSERT_TRUE(problems.is_ok());
  const TaskProblem& p = (*problems)[0];
  std::vector<Rollout> rs = {
      rollout_of(*tok, 0, sft_completion(p)),                                    // right, well formed
      rollout_of(*tok, 0, "sum\n</think>\n\nIt is \\boxed{" + p.answer + "1}"),  // wrong, well formed
      rollout_of(*tok, 0, "sum\nno end of thought \\boxed{" + p.answer + "}"),   // unfinished thought
      rollout_of(*tok, 1, "x</think>\\boxed{" + (*problems)[1].answer + "}",
                 false)};  // right, cut off (no EOS)
  const auto scored = score_rollouts(*tok, *problems, rs, {.accuracy = 1.0, .format = 0.5});
  ASSERT_EQ(scored.size(), 4u);
  const double want_accuracy[] = {1, 0, 0, 1}, want_format[] = {1, 1, 0, 1};
  for (size_t i = 0; i < scored.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(scored[i].reward.accuracy, want_accuracy[i]);
    EXPECT_EQ(scored[i].reward.format, want_format[i]);
    EXPECT_EQ(scored[i].reward.total, want_accuracy[i] + 0.5 * want_format[i]);
    // The text is the completion without its EOS, special tokens kept.
    EXPECT_EQ(scored[i].text.find("<｜end▁of▁sentence｜>"), std::string::npos);
    const auto boxed = boxed_answer(scored[i].text);
    EXPECT_EQ(scored[i].reward.accuracy,
              boxed && check_answer((*problems)[size_t(rs[i].prompt)], *boxed) ? 1 : 0);
  }
}

struct Fixture {
  std::unique_ptr<Tokenizer> tok = tiny_chat_tokenizer();
  std::unique_ptr<TrainModel> model = init_model(tiny_chat_dir() + "/config.json", 11);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<Rollout> rollouts;  // 2 prompts × G = 4, completions of different lengths
  Fixture() {
    prompts = {tok->encode("<｜User｜>1+2?<｜Assistant｜><think>\n"),
               tok->encode("<｜User｜>9+9?<｜Assistant｜><think>\n")};
    const char* texts[] = {"3", "three</think>", "x", "a longer one", "18", "1", "eighteen!", "z"};
    for (int i = 0; i < 8; ++i) rollouts.push_back(rollout_of(*tok, i / 4, texts[i], i % 3 != 2));
  }
  // Rollout i as model input: tokens and targets of its prompt + completion (shifted by one).
  std::pair<std::vector<int32_t>, std::vector<int32_t>> sequence(size_t i) const {
    std::vector<int32_t> all = prompts[size_t(rollouts[i].prompt)];
    all.insert(all.end(), rollouts[i].completion.begin(), rollouts[i].completion.end());
    return {std::vector<int32_t>(all.begin(), all.end() - 1), std::vector<int32_t>(all.begin() + 1, all.end())};
  }
  // A_i as group_advantages defines it for groups of 4, written out: (r − group mean) / (unbiased std + 1e-4).
  static double advantage(const std::vector<double>& rewards, size_t i) {
    const size_t g0 = i / 4 * 4;
    double mean = 0, var = 0;
    for (size_t j = g0; j < g0 + 4; ++j) mean += rewards[j] / 4;
    for (size_t j = g0; j < g0 + 4; ++j) var += (rewards[j] - mean) * (rewards[j] - mean) / 3;
    return (rewards[i] - mean) / (std::sqrt(var) + 1e-4);
  }
};

TEST(GrpoTrainer, GradientIsTheAdvantageWeightedSumOfSequenceGradients) {
  Fixture f;
  ASSERT_TRUE(f.tok && f.model);
  const GrpoConfig config{.num_generations = 4,
                          .loss_type = LossType::kDapo,
                          .scale_rewards = ScaleRewards::kGroup,
                          .max_completion_length = 32};
  const std::vector<double> rewards = {1, 0, 0, 2, 0.5, 0.5, 1, 0};
  auto u = grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, rewards, false);
  ASSERT_TRUE(u.is_ok()) << u.message();
  EXPECT_EQ(u->groups_kept, 2);
  EXPECT_EQ(u->zero_std_fraction, 0.0);
  const auto got = grads_of(*f.model);

  // DAPO with ρ = 1: loss = −Σ_i A_i Σ_t log p_it / (all completion tokens), A from the group mean and
  // unbiased std. TrainModel::forward's loss is −Σ_t log p_it / L_i, so its gradient enters with A_i · L_i /
  // total.
  double total = 0;
  for (const auto& r : f.rollouts) total += double(r.completion.size());
  std::vector<double> want(got.size(), 0.0);
  for (size_t i = 0; i < f.rollouts.size(); ++i) {
    const Rollout& r = f.rollouts[i];
    const double A = Fixture::advantage(rewards, i);
    const auto [tokens, targets] = f.sequence(i);
    std::vector<float> w(tokens.size(), 0.0f);
    std::fill(w.end() - int64_t(r.completion.size()), w.end(), 1.0f);
    f.model->params().zero_grad();
    ASSERT_TRUE(f.model->forward(tokens, targets, w).is_ok());
    ASSERT_TRUE(f.model->backward().is_ok());
    const auto gi = f.model->params().grads();
    for (size_t k = 0; k < want.size(); ++k) want[k] += A * double(r.completion.size()) / total * gi[k];
  }
  EXPECT_LT(relative_diff(got, want), 1e-4);
}

// num_iterations = 2: the second update on a batch sees the ratio ρ = exp(logp_new − logp_old) to the policy
// that sampled it. After a first update (ratio 1) and a large AdamW step, the gradient with logp_old must be
// Σ_t c_t ∇log p_t with c_t = d/dlogp of −min(ρA, clip(ρ, 1 − ε_low, 1 + ε_high)·A) / (all tokens) — zero on
// clipped tokens — computed here from the log-probs alone and carried by TrainModel's cross-entropy path.
TEST(GrpoTrainer, SecondUpdateFollowsTheClippedSurrogate) {
  Fixture f;
  ASSERT_TRUE(f.tok && f.model);
  const double eps_low = 0.05, eps_high = 0.08;
  const GrpoConfig config{.num_generations = 4,
                          .epsilon = eps_low,
                          .epsilon_high = eps_high,
                          .loss_type = LossType::kDapo,
                          .scale_rewards = ScaleRewards::kGroup,
                          .max_completion_length = 32};
  const std::vector<double> rewards = {1, 0, 0, 2, 0.5, 0.5, 1, 0};
  auto old = completion_logprobs(*f.model, f.prompts, f.rollouts, 1.0f);
  ASSERT_TRUE(old.is_ok()) << old.message();
  auto first = grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, rewards, false);
  ASSERT_TRUE(first.is_ok()) << first.message();
  EXPECT_EQ(first->clip_fraction, 0.0);
  // logp_old of the policy itself gives ρ = 1 exactly: the same gradient as the path without logp_old.
  const auto ratio_one = grads_of(*f.model);
  auto same = grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, rewards, false, *old);
  ASSERT_TRUE(same.is_ok()) << same.message();
  EXPECT_EQ(grads_of(*f.model), ratio_one);
  EXPECT_EQ(same->clip_fraction, 0.0);

  AdamW adam(f.model->params(), {});
  adam.step(f.model->params(), 0.001);
  auto second = grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, rewards, false, *old);
  ASSERT_TRUE(second.is_ok()) << second.message();
  const auto got = grads_of(*f.model);

  double total = 0;
  for (const auto& r : f.rollouts) total += double(r.completion.size());
  std::vector<double> want(got.size(), 0.0);
  int64_t n_low = 0, n_high = 0;
  for (size_t i = 0; i < f.rollouts.size(); ++i) {
    const Rollout& r = f.rollouts[i];
    const double A = Fixture::advantage(rewards, i);
    const auto [tokens, targets] = f.sequence(i);
    auto lp = f.model->forward_logprobs(tokens, targets);
    ASSERT_TRUE(lp.is_ok());
    const size_t first_target = f.prompts[size_t(r.prompt)].size() - 1;
    std::vector<float> weight(tokens.size(), 0.0f);  // |c_t|
    double weight_sum = 0;
    for (size_t t = 0; t < r.completion.size(); ++t) {
      const double ratio = std::exp(double((*lp)[first_target + t]) - double((*old)[i][t]));
      const bool low = (ratio < 1 - eps_low) && (A < 0), high = (ratio > 1 + eps_high) && (A > 0);
      n_low += low, n_high += high;
      const double c = low || high ? 0.0 : -ratio * A / total;
      weight[first_target + t] = float(std::abs(c));
      weight_sum += std::abs(c);
    }
    if (weight_sum == 0) continue;
    // Every c_t of a row has the sign of −A; forward's loss −Σ w_t log p_t / Σ w_t with w = |c| then has
    // the gradient −Σ|c_t| ∇log p_t / Σ|c|, so Σ c_t ∇log p_t = (A > 0 ? 1 : −1) · Σ|c| · ∇loss.
    f.model->params().zero_grad();
    ASSERT_TRUE(f.model->forward(tokens, targets, weight).is_ok());
    ASSERT_TRUE(f.model->backward().is_ok());
    const auto gi = f.model->params().grads();
    const double scale = (A > 0 ? 1.0 : -1.0) * weight_sum;
    for (size_t k = 0; k < want.size(); ++k) want[k] += scale * gi[k];
  }
  // Both branches are exercised: some tokens clipped at each end, most not.
  EXPECT_GT(n_low, 0);
  EXPECT_GT(n_high, 0);
  EXPECT_LT(n_low + n_high, int64_t(total) / 2);
  EXPECT_DOUBLE_EQ(second->clip_low_fraction, double(n_low) / total);
  EXPECT_DOUBLE_EQ(second->clip_high_fraction, double(n_high) / total);
  EXPECT_DOUBLE_EQ(second->clip_fraction, double(n_low + n_high) / total);
  EXPECT_LT(relative_diff(got, want), 1e-4);
  // logp_old must match the rollouts.
  auto short_old = *old;
  short_old.pop_back();
  EXPECT_FALSE(
      grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, rewards, false, short_old).is_ok());
  short_old = *old;
  short_old[3].push_back(0.0f);
  EXPECT_FALSE(
      grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, rewards, false, short_old).is_ok());
}

TEST(GrpoTrainer, DynamicSamplingDropsGroupsWithEqualRewards) {
  Fixture f;
  ASSERT_TRUE(f.tok && f.model);
  const GrpoConfig config{.num_generations = 4, .max_completion_length = 32};
  const std::vector<double> rewards = {1, 0, 0, 1, 2, 2, 2, 2};  // group 1 carries no signal
  auto u = grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, rewards, true);
  ASSERT_TRUE(u.is_ok()) << u.message();
  EXPECT_EQ(u->groups_kept, 1);
  EXPECT_EQ(u->zero_std_fraction, 0.5);
  EXPECT_EQ(u->sequences_trained, 4);
  const auto dynamic = grads_of(*f.model);
  // The same as training on group 0 alone (DAPO's token normaliser counts only the kept group's tokens).
  auto alone = grpo_accumulate(*f.model, nullptr, config, std::span(f.prompts).first(1),
                               std::span(f.rollouts).first(4), std::span(rewards).first(4), false);
  ASSERT_TRUE(alone.is_ok()) << alone.message();
  EXPECT_EQ(dynamic, grads_of(*f.model));
  // Without dynamic sampling group 1 stays in the batch (its advantages are 0, so it only dilutes the
  // normaliser).
  auto kept = grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, rewards, false);
  ASSERT_TRUE(kept.is_ok());
  EXPECT_EQ(kept->groups_kept, 2);
  EXPECT_EQ(kept->sequences_trained, 4);  // zero-advantage rows have no gradient and are not run
  EXPECT_NE(dynamic, grads_of(*f.model));
  // Nothing with signal: no gradient at all.
  const std::vector<double> flat(8, 1.0);
  auto none = grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, flat, true);
  ASSERT_TRUE(none.is_ok());
  EXPECT_EQ(none->groups_kept, 0);
  for (float g : grads_of(*f.model)) ASSERT_EQ(g, 0.0f);
}

TEST(GrpoTrainer, KlToAnIdenticalReferenceIsZeroAndChangesNoGradient) {
  Fixture f;
  auto reference = init_model(tiny_chat_dir() + "/config.json", 11);
  ASSERT_TRUE(f.tok && f.model && reference);
  const std::vector<double> rewards = {1, 0, 0, 2, 0.5, 0.5, 1, 0};
  GrpoConfig config{.num_generations = 4, .max_completion_length = 32};
  ASSERT_TRUE(grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, rewards, false).is_ok());
  const auto without = grads_of(*f.model);
  config.beta = 0.5;
  EXPECT_FALSE(grpo_accumulate(*f.model, nullptr, config, f.prompts, f.rollouts, rewards, false).is_ok());
  auto u = grpo_accumulate(*f.model, reference.get(), config, f.prompts, f.rollouts, rewards, false);
  ASSERT_TRUE(u.is_ok()) << u.message();
  EXPECT_NEAR(u->mean_kl, 0.0, 1e-7);
  std::vector<double> want(without.begin(), without.end());
  EXPECT_LT(relative_diff(grads_of(*f.model), want), 1e-5);
}

GrpoTrainerOptions one_step_options(const std::string& output_dir) {
  GrpoTrainerOptions o{.grpo = {.num_generations = 4, .max_completion_length = 12},
                       .task = small_addition(),
                       .prompts_per_step = 2,
                       .steps = 1,
                       .lr = 1e-3,
                       .seed = 5,
                       .output_dir = output_dir};
  return o;
}

void expect_one_step_runs(const std::string& config_path, int64_t num_iterations) {
  test::TempDir out;
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  auto o = one_step_options(out.path());
  int seen = 0;
  GrpoStepLog logged;
  GrpoCallbacks cb{
      .on_log = [&](const GrpoStepLog& s) { logged = s; },
      .on_rollouts =
          [&](int64_t step, std::span<const TaskProblem> problems, std::span<const ScoredRollout> rs) {
            ++seen;
            EXPECT_EQ(step, 1);
            ASSERT_EQ(problems.size(), 2u);
            ASSERT_EQ(rs.size(), 8u);
            std::map<int64_t, int> per_prompt;
            for (const ScoredRollout& r : rs) {
              ++per_prompt[r.rollout.prompt];
              EXPECT_GE(r.rollout.completion.size(), 1u);
              EXPECT_LE(r.rollout.completion.size(), 12u);
              EXPECT_EQ(r.rollout.truncated, r.rollout.completion.back() != *tok->eos_id());
              const auto boxed = boxed_answer(r.text);
              EXPECT_EQ(r.reward.accuracy,
                        boxed && check_answer(problems[size_t(r.rollout.prompt)], *boxed) ? 1 : 0);
              EXPECT_EQ(r.reward.format, format_reward(r.text));
            }
            EXPECT_EQ(per_prompt[0], 4);
            EXPECT_EQ(per_prompt[1], 4);
            // Seeded samples differ from each other (a random policy over 262 tokens does not repeat itself).
            EXPECT_NE(rs[0].rollout.completion, rs[1].rollout.completion);
          }};
  o.eval_every = 1, o.eval_problems = 3, o.eval_k = 2, o.num_iterations = num_iterations;
  auto r = train_grpo(init_model(config_path, 1), nullptr, *tok, o, cb);
  ASSERT_TRUE(r.is_ok()) << r.message();
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(logged.step, 1);
  for (double v : {logged.mean_reward, logged.accuracy, logged.format_rate, logged.mean_completion_length,
                   logged.kl, logged.clip_fraction, logged.zero_std_fraction, logged.loss, logged.grad_norm,
                   logged.generation_tokens_per_s, logged.training_tokens_per_s})
    EXPECT_TRUE(std::isfinite(v));
  EXPECT_GT(logged.mean_completion_length, 0);
  EXPECT_GT(logged.generation_tokens_per_s, 0);
  ASSERT_TRUE(logged.eval.has_value());
  EXPECT_EQ(logged.eval->problems, 3);
  EXPECT_GE(logged.eval->pass_at_1, 0.0);
  EXPECT_LE(logged.eval->format_rate, 1.0);
  EXPECT_GT(logged.eval->mean_completion_tokens, 0.0);
  EXPECT_LE(logged.eval->mean_completion_tokens, 12.0);
  EXPECT_TRUE(fs::exists(r->final_dir + "/model.safetensors"));
  EXPECT_TRUE(fs::exists(out.file("train_log.jsonl")));
}

TEST(GrpoTrainer, OneStepRunsEndToEndDense) {
  expect_one_step_runs(tiny_chat_dir() + "/config.json", 1);
}

TEST(GrpoTrainer, OneStepRunsEndToEndMlaMoe) {
  test::TempDir dir;
  write_tiny_deepseek_v3(dir.path());
  expect_one_step_runs(dir.file("config.json"), 2);  // the MoE bias update after each of μ = 2 updates
}

// A random policy earns no task reward, so a custom reward drives the update (1 for completions of even
// length). 3 steps straight and 1 step + stop + resume + 2 steps then give the same parameters: the problems
// and the samples' seeds depend on (seed, step) only.
TEST(GrpoTrainer, ResumeContinuesTheSameRun) {
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  test::TempDir straight, resumed;
  auto o = one_step_options(straight.path());
  o.steps = 3;
  const RewardFunction even = [&](const TaskProblem&, std::string_view text) {
    const double r = tok->encode(text).size() % 2 == 0 ? 1.0 : 0.0;
    return CompletionReward{.accuracy = r, .total = r};
  };
  std::vector<double> rewards;
  auto a =
      train_grpo(init_model(tiny_chat_dir() + "/config.json", 1), nullptr, *tok, o,
                 {.on_log = [&](const GrpoStepLog& s) { rewards.push_back(s.mean_reward); }, .reward = even});
  ASSERT_TRUE(a.is_ok()) << a.message();
  ASSERT_EQ(rewards.size(), 3u);
  EXPECT_TRUE(a->last.updated && a->last.grad_norm > 0);
  o.output_dir = resumed.path();
  int polls = 0;
  auto b = train_grpo(init_model(tiny_chat_dir() + "/config.json", 1), nullptr, *tok, o,
                      {.stop = [&] { return polls++ == 1; }, .reward = even});
  ASSERT_TRUE(b.is_ok()) << b.message();
  EXPECT_TRUE(b->stopped);
  auto c = train_grpo(nullptr, nullptr, *tok, o, {.reward = even}, /*must_resume=*/true);
  ASSERT_TRUE(c.is_ok()) << c.message();
  EXPECT_EQ(c->resumed_from, 1);
  auto pa = TrainModel::load(straight.path() + "/final"), pc = TrainModel::load(resumed.path() + "/final");
  ASSERT_TRUE(pa.is_ok() && pc.is_ok());
  const auto va = (*pa)->params().values(), vc = (*pc)->params().values();
  EXPECT_TRUE(std::equal(va.begin(), va.end(), vc.begin()));
  auto init = init_model(tiny_chat_dir() + "/config.json", 1);
  EXPECT_FALSE(std::equal(va.begin(), va.end(), init->params().values().begin()));
}

}  // namespace
}  // namespace r1::train
