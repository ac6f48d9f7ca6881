// The GRPO trainer's step loop on the tiny chat model: num_iterations updates per generated batch (the
// clipped ratio acts after the first, the LR schedule counts updates) and DAPO's dynamic-sampling refill
// (more rounds of problems until the batch holds prompts_per_step groups with signal, the task stream
// advancing by what was drawn, a resumed run reproducing a straight one).
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <set>

#include "test_util.h"
#include "train/grpo_trainer.h"
#include "train/optim.h"
#include "train/tiny_chat.h"

namespace r1::train {
namespace {

GrpoTrainerOptions small_run(const std::string& output_dir) {
  return {.grpo = {.num_generations = 4, .max_completion_length = 12},
          .task = {.kind = TaskKind::kAddition, .digits = 1},
          .prompts_per_step = 2,
          .steps = 1,
          .lr = 1e-3,
          .seed = 5,
          .output_dir = output_dir};
}

std::unique_ptr<TrainModel> tiny_model() {
  return init_model(tiny_chat_dir() + "/config.json", 1);
}

// 1 for completions of even token length: a random policy earns no task reward, so this drives the updates.
RewardFunction even_length(const Tokenizer& tok) {
  return [&tok](const TaskProblem&, std::string_view text) {
    const double r = tok.encode(text).size() % 2 == 0 ? 1.0 : 0.0;
    return CompletionReward{.accuracy = r, .total = r};
  };
}

// even_length on the problems whose answer ends in 0, 4 or 8, and 0 on every other: most groups have rewards
// that are all equal, so dynamic sampling must refill.
RewardFunction rare_signal(const Tokenizer& tok) {
  const RewardFunction even = even_length(tok);
  return [even](const TaskProblem& p, std::string_view text) {
    const int last = p.answer.empty() ? 1 : p.answer.back() - '0';
    return last % 4 == 0 ? even(p, text) : CompletionReward{};
  };
}

bool has_signal(std::span<const ScoredRollout> group) {
  for (const ScoredRollout& r : group)
    if (r.reward.total != group[0].reward.total) return true;
  return false;
}

std::vector<float> final_params(const std::string& output_dir) {
  auto m = TrainModel::load(output_dir + "/final");
  if (!m.is_ok()) return {};
  const auto v = (*m)->params().values();
  return {v.begin(), v.end()};
}

// μ = 1 keeps the ratio at 1 (no clipping ever); μ = 2 with a large learning rate and a small ε moves the
// policy enough in the first update that the second clips tokens. The schedule runs over steps · μ updates,
// the logged lr being the last update's.
TEST(GrpoLoop, NumIterationsClipsAfterTheFirstUpdate) {
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  std::vector<GrpoStepLog> logs[2];
  std::vector<float> params[2];
  for (int64_t mu : {1, 2}) {
    test::TempDir out;
    GrpoTrainerOptions o = small_run(out.path());
    o.steps = 2, o.num_iterations = mu, o.lr = 0.02, o.grpo.epsilon = 0.02;
    auto r = train_grpo(
        tiny_model(), nullptr, *tok, o,
        {.on_log = [&](const GrpoStepLog& s) { logs[mu - 1].push_back(s); }, .reward = even_length(*tok)});
    ASSERT_TRUE(r.is_ok()) << r.message();
    params[mu - 1] = final_params(out.path());
    ASSERT_FALSE(params[mu - 1].empty());
  }
  ASSERT_EQ(logs[0].size(), 2u);
  ASSERT_EQ(logs[1].size(), 2u);
  for (const GrpoStepLog& s : logs[0]) {
    EXPECT_TRUE(s.updated);
    EXPECT_EQ(s.clip_fraction, 0.0);
  }
  double clipped = 0;
  for (const GrpoStepLog& s : logs[1]) {
    EXPECT_TRUE(s.updated);
    EXPECT_NEAR(s.clip_fraction, s.clip_low_fraction + s.clip_high_fraction, 1e-12);
    EXPECT_LE(s.clip_fraction, 0.5);  // a mean with the first update, whose ratio is 1
    clipped += s.clip_fraction;
  }
  EXPECT_GT(clipped, 0.0);
  EXPECT_TRUE(params[0] != params[1]);
  // Cosine from lr to 0 without warmup over 2 · μ updates: update u runs at lr · (1 + cos(π u / (2μ))) / 2.
  auto cosine = [](int64_t u, int64_t updates) {
    return 0.02 * 0.5 * (1 + std::cos(std::numbers::pi * u / updates));
  };
  EXPECT_DOUBLE_EQ(logs[0][0].lr, cosine(0, 2));
  EXPECT_DOUBLE_EQ(logs[0][1].lr, cosine(1, 2));
  EXPECT_DOUBLE_EQ(logs[1][0].lr, cosine(1, 4));
  EXPECT_DOUBLE_EQ(logs[1][1].lr, cosine(3, 4));
}

// What on_rollouts saw of one step.
struct SeenStep {
  int64_t rounds = 0, groups_with_signal = 0, groups = 0, zero_std = 0, completions = 0;
  double reward_sum = 0;
  int64_t signal_before_last_round = 0;
};

// With rare signal, dynamic sampling takes more rounds until prompts_per_step groups with signal are in the
// batch (or max_generation_rounds run out), and the figures cover every completion sampled. The problems
// come from the train stream in order, each round taking prompts_per_step of them.
void expect_refill(int64_t max_rounds, int64_t steps, std::vector<SeenStep>* seen_out = nullptr) {
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  test::TempDir out;
  GrpoTrainerOptions o = small_run(out.path());
  o.steps = steps, o.dynamic_sampling = true, o.max_generation_rounds = max_rounds;
  std::vector<SeenStep> seen(static_cast<size_t>(steps));
  std::vector<TaskProblem> drawn;
  std::vector<GrpoStepLog> logs;
  const int64_t G = o.grpo.num_generations, P = o.prompts_per_step;
  GrpoCallbacks cb{
      .on_log = [&](const GrpoStepLog& s) { logs.push_back(s); },
      .on_rollouts =
          [&](int64_t step, std::span<const TaskProblem> problems, std::span<const ScoredRollout> rs) {
            SeenStep& s = seen[size_t(step - 1)];
            ASSERT_EQ(int64_t(problems.size()), P);
            ASSERT_EQ(int64_t(rs.size()), P * G);
            drawn.insert(drawn.end(), problems.begin(), problems.end());
            s.signal_before_last_round = s.groups_with_signal;
            ++s.rounds;
            for (int64_t g = 0; g < P; ++g) {
              const bool signal = has_signal(rs.subspan(size_t(g * G), size_t(G)));
              s.groups_with_signal += signal, s.zero_std += !signal, ++s.groups;
            }
            for (const ScoredRollout& r : rs) s.reward_sum += r.reward.total, ++s.completions;
          },
      .reward = rare_signal(*tok)};
  auto r = train_grpo(tiny_model(), nullptr, *tok, o, cb);
  ASSERT_TRUE(r.is_ok()) << r.message();
  ASSERT_EQ(int64_t(logs.size()), steps);
  for (int64_t step = 0; step < steps; ++step) {
    SCOPED_TRACE(step);
    const SeenStep& s = seen[size_t(step)];
    const GrpoStepLog& log = logs[size_t(step)];
    EXPECT_EQ(log.generation_rounds, s.rounds);
    EXPECT_LE(s.rounds, max_rounds);
    // No round beyond a full batch; stopping short of one only when the rounds ran out.
    EXPECT_LT(s.signal_before_last_round, P);
    if (s.groups_with_signal < P) {
      EXPECT_EQ(s.rounds, max_rounds);
    }
    EXPECT_EQ(log.groups_kept, std::min(P, s.groups_with_signal));
    EXPECT_EQ(log.updated, log.groups_kept > 0);
    EXPECT_DOUBLE_EQ(log.zero_std_fraction, double(s.zero_std) / double(s.groups));
    EXPECT_NEAR(log.mean_reward, s.reward_sum / double(s.completions), 1e-12);
  }
  auto tasks = TaskGenerator::create(o.task, Split::kTrain, o.seed);
  ASSERT_TRUE(tasks.is_ok());
  for (const TaskProblem& p : drawn) {
    auto want = tasks->next();
    ASSERT_TRUE(want.is_ok());
    EXPECT_EQ(p.question, want->question);
  }
  if (seen_out) *seen_out = seen;
}

TEST(GrpoLoop, DynamicSamplingRefillsUntilTheBatchIsFull) {
  std::vector<SeenStep> seen;
  expect_refill(/*max_rounds=*/16, /*steps=*/3, &seen);
  int64_t refilled = 0;
  for (const SeenStep& s : seen) {
    EXPECT_GE(s.groups_with_signal, 2);  // enough rounds: every step fills its batch
    refilled += s.rounds > 1;
  }
  EXPECT_GT(refilled, 0);  // the reward is rare enough that some step needed a second round
}

TEST(GrpoLoop, DynamicSamplingTrainsOnWhatOneRoundGave) {
  std::vector<SeenStep> seen;
  expect_refill(/*max_rounds=*/1, /*steps=*/3, &seen);
  int64_t short_steps = 0;
  for (const SeenStep& s : seen) short_steps += s.groups_with_signal < 2;
  EXPECT_GT(short_steps, 0);  // some step kept fewer than prompts_per_step groups (or none: no update)
}

// A reward that knows the generation round (it is called P · G times a round, in order): round 0 gives signal
// to group 1 only, round 1 to both groups. The step must train on round 0's group 1 and round 1's group 0 —
// the second group of round 1 is beyond a full batch — which one grpo_accumulate + AdamW step over exactly
// those groups, done here by hand, reproduces bit for bit.
TEST(GrpoLoop, DynamicSamplingDropsGroupsBeyondAFullBatch) {
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  test::TempDir out;
  GrpoTrainerOptions o = small_run(out.path());
  o.dynamic_sampling = true, o.max_generation_rounds = 4, o.max_grad_norm = 0.5;
  const int64_t G = o.grpo.num_generations, P = o.prompts_per_step;
  int64_t calls = 0;
  const RewardFunction by_round = [&](const TaskProblem&, std::string_view) {
    const int64_t round = calls / (P * G), group = calls % (P * G) / G, sample = calls % G;
    ++calls;
    const double r = (round == 0 && group == 0) || sample != 0 ? 0.0 : 1.0;
    return CompletionReward{.accuracy = r, .total = r};
  };
  std::vector<std::vector<TaskProblem>> problems;
  std::vector<std::vector<ScoredRollout>> scored;
  GrpoStepLog log;
  auto r = train_grpo(tiny_model(), nullptr, *tok, o,
                      {.on_log = [&](const GrpoStepLog& s) { log = s; },
                       .on_rollouts =
                           [&](int64_t, std::span<const TaskProblem> ps, std::span<const ScoredRollout> rs) {
                             problems.emplace_back(ps.begin(), ps.end());
                             scored.emplace_back(rs.begin(), rs.end());
                           },
                       .reward = by_round});
  ASSERT_TRUE(r.is_ok()) << r.message();
  ASSERT_EQ(scored.size(), 2u);
  EXPECT_EQ(log.generation_rounds, 2);
  EXPECT_EQ(log.groups_kept, 2);
  EXPECT_DOUBLE_EQ(log.zero_std_fraction, 0.25);  // 1 of the 4 groups sampled

  // By hand: round 0's group 1 becomes prompt 0 of the batch, round 1's group 0 prompt 1.
  std::vector<std::vector<int32_t>> prompts;
  std::vector<Rollout> rollouts;
  std::vector<double> rewards;
  const std::pair<size_t, int64_t> kept[] = {{0, 1}, {1, 0}};  // (round, group)
  for (const auto& [round, group] : kept) {
    auto ids = problem_prompt(*tok, problems[round][size_t(group)]);
    ASSERT_TRUE(ids.is_ok());
    prompts.push_back(*ids);
    for (int64_t j = 0; j < G; ++j) {
      Rollout x = scored[round][size_t(group * G + j)].rollout;
      x.prompt = int64_t(prompts.size()) - 1;
      rollouts.push_back(x);
      rewards.push_back(scored[round][size_t(group * G + j)].reward.total);
    }
  }
  auto model = tiny_model();
  ASSERT_TRUE(grpo_accumulate(*model, nullptr, o.grpo, prompts, rollouts, rewards, false).is_ok());
  clip_grad_norm(model->params().grads(), o.max_grad_norm);
  AdamW adam(model->params(), {.beta1 = o.adam_beta1, .beta2 = o.adam_beta2, .weight_decay = o.weight_decay});
  adam.step(model->params(), o.lr);  // one step: the cosine's first value is the peak
  const auto want = model->params().values();
  EXPECT_TRUE(final_params(out.path()) == std::vector<float>(want.begin(), want.end()));
}

// Every (step, round) of a run samples with its own seed, the same each time it is asked for.
TEST(GrpoLoop, SampleSeedsDifferPerStepAndRound) {
  std::set<uint64_t> seeds;
  for (int64_t step = 0; step < 100; ++step)
    for (int64_t round = 0; round < 16; ++round) seeds.insert(grpo_sample_seed(5, step, round));
  EXPECT_EQ(seeds.size(), 1600u);
  EXPECT_EQ(grpo_sample_seed(5, 7, 3), grpo_sample_seed(5, 7, 3));
  EXPECT_NE(grpo_sample_seed(5, 7, 3), grpo_sample_seed(6, 7, 3));
}

// 3 steps straight, and 1 step + stop + resume + 2 steps, with refill and μ = 2, give the same parameters bit
// for bit: the resumed run skips the problems the first one drew (not step · prompts_per_step) and draws the
// same samples. A checkpoint of another num_iterations is refused.
TEST(GrpoLoop, ResumeAfterARefillStepIsExact) {
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  test::TempDir straight, resumed;
  GrpoTrainerOptions o = small_run(straight.path());
  o.steps = 3, o.dynamic_sampling = true, o.max_generation_rounds = 16, o.num_iterations = 2;
  std::vector<GrpoStepLog> logs;
  auto a =
      train_grpo(tiny_model(), nullptr, *tok, o,
                 {.on_log = [&](const GrpoStepLog& s) { logs.push_back(s); }, .reward = rare_signal(*tok)});
  ASSERT_TRUE(a.is_ok()) << a.message();
  ASSERT_EQ(logs.size(), 3u);
  ASSERT_GT(logs[0].generation_rounds, 1);  // the checkpoint after step 1 comes after a refill

  o.output_dir = resumed.path();
  int polls = 0;
  auto b = train_grpo(tiny_model(), nullptr, *tok, o,
                      {.stop = [&] { return polls++ == 1; }, .reward = rare_signal(*tok)});
  ASSERT_TRUE(b.is_ok()) << b.message();
  ASSERT_TRUE(b->stopped);
  GrpoTrainerOptions other = o;
  other.num_iterations = 1;
  EXPECT_FALSE(train_grpo(nullptr, nullptr, *tok, other, {.reward = rare_signal(*tok)}, true).is_ok());
  auto c = train_grpo(nullptr, nullptr, *tok, o, {.reward = rare_signal(*tok)}, /*must_resume=*/true);
  ASSERT_TRUE(c.is_ok()) << c.message();
  EXPECT_EQ(c->resumed_from, 1);
  const auto va = final_params(straight.path()), vc = final_params(resumed.path());
  ASSERT_FALSE(va.empty());
  EXPECT_TRUE(va == vc);
}

}  // namespace
}  // namespace r1::train
