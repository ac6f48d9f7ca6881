// GRPO math on hand-made batches: advantages worked out by hand, k3's properties, the two clipped branches, each
// loss aggregation by hand, and the whole loss's gradient against central differences in double.
#include "train/grpo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sampling/sampler.h"

namespace r1::train {
namespace {

// A batch held in vectors, viewed as a GrpoBatch<double>.
struct OwnedBatch {
  int64_t N = 0, T = 0;
  std::vector<double> logp_new, logp_old, logp_ref, advantages;
  std::vector<uint8_t> mask, truncated;
  int64_t num_items_in_batch = 0;

  OwnedBatch(int64_t n, int64_t t)
      : N(n), T(t), logp_new(size_t(n * t), -1.0), advantages(size_t(n), 0.0), mask(size_t(n * t), 1) {}
  GrpoBatch<double> view() const {
    return {.num_sequences = N, .num_positions = T, .logp_new = logp_new, .logp_old = logp_old,
            .logp_ref = logp_ref, .completion_mask = mask, .advantages = advantages, .truncated = truncated,
            .num_items_in_batch = num_items_in_batch};
  }
  // Row i keeps its first `length` positions and pads the rest.
  void set_length(int64_t i, int64_t length) {
    for (int64_t t = 0; t < T; ++t) mask[size_t(i * T + t)] = t < length;
  }
};

struct Evaluated {
  GrpoLossResult result;
  std::vector<double> grad;
};

Evaluated evaluate(const GrpoConfig& config, const OwnedBatch& b) {
  Evaluated e;
  e.grad.assign(size_t(b.N * b.T), 123.0);  // not zero: the loss must overwrite every entry
  auto r = grpo_loss<double>(config, b.view(), e.grad);
  EXPECT_TRUE(r.is_ok()) << r.message();
  if (r.is_ok()) e.result = *r;
  return e;
}

GrpoConfig config_with(LossType type, double beta = 0.0) {
  GrpoConfig c;
  c.num_generations = 2;
  c.loss_type = type;
  c.beta = beta;
  c.max_completion_length = 8;
  return c;
}

// ---------------------------------------------------------------------------------------------------- advantages

TEST(GrpoAdvantages, GroupScaledByUnbiasedStdByHand) {
  // Group 0: mean 0.5, deviations ±0.5, unbiased var = 1/3. Group 1: all equal. Group 2: mean 0.75, deviations
  // −0.75 ×3 and 2.25, unbiased var = (3·0.5625 + 5.0625) / 3 = 2.25, std = 1.5.
  const std::vector<double> rewards = {1, 0, 0, 1, 2, 2, 2, 2, 0, 0, 0, 3};
  auto a = group_advantages(rewards, 4, ScaleRewards::kGroup);
  ASSERT_TRUE(a.is_ok()) << a.message();
  const double s0 = std::sqrt(1.0 / 3.0) + 1e-4;
  const std::vector<double> want = {0.5 / s0, -0.5 / s0, -0.5 / s0, 0.5 / s0, 0, 0, 0, 0,
                                    -0.75 / 1.5001, -0.75 / 1.5001, -0.75 / 1.5001, 2.25 / 1.5001};
  ASSERT_EQ(a->advantages.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(a->advantages[i], want[i], 1e-12) << i;
  EXPECT_EQ(a->zero_std, (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_DOUBLE_EQ(a->zero_std_fraction(), 1.0 / 3.0);
}

TEST(GrpoAdvantages, NoneOnlyCentresAndBatchUsesTheWholeBatchStd) {
  // Groups {0, 2} and {4, 6}: group means 1 and 5, group std √2 each. Whole batch: mean 3, deviations −3 −1 1 3,
  // unbiased var 20/3. Centring is always by the group mean.
  const std::vector<double> rewards = {0, 2, 4, 6};
  auto none = group_advantages(rewards, 2, ScaleRewards::kNone);
  auto group = group_advantages(rewards, 2, ScaleRewards::kGroup);
  auto batch = group_advantages(rewards, 2, ScaleRewards::kBatch);
  ASSERT_TRUE(none.is_ok() && group.is_ok() && batch.is_ok());
  const double sign[] = {-1, 1, -1, 1};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_DOUBLE_EQ(none->advantages[i], sign[i]);
    EXPECT_NEAR(group->advantages[i], sign[i] / (std::sqrt(2.0) + 1e-4), 1e-12);
    EXPECT_NEAR(batch->advantages[i], sign[i] / (std::sqrt(20.0 / 3.0) + 1e-4), 1e-12);
  }
  EXPECT_EQ(batch->zero_std, (std::vector<uint8_t>{0, 0}));
}

TEST(GrpoAdvantages, BadRewardsAreErrors) {
  const std::vector<double> five = {1, 2, 3, 4, 5}, nan = {1, std::nan("")}, two = {1, 2};
  EXPECT_FALSE(group_advantages(five, 2, ScaleRewards::kGroup).is_ok());
  EXPECT_FALSE(group_advantages({}, 2, ScaleRewards::kGroup).is_ok());
  EXPECT_FALSE(group_advantages(nan, 2, ScaleRewards::kGroup).is_ok());
  EXPECT_FALSE(group_advantages(two, 1, ScaleRewards::kGroup).is_ok());
  EXPECT_FALSE(groups_with_signal(five, 2).is_ok());
}

TEST(GrpoAdvantages, DynamicSamplingDropsGroupsOfEqualRewards) {
  // All correct and all wrong groups (1 1 1 1, 0 0 0 0) and a group of equal partial rewards carry no signal.
  const std::vector<double> rewards = {1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0, 0, 2, 0};
  auto kept = groups_with_signal(rewards, 4);
  ASSERT_TRUE(kept.is_ok());
  EXPECT_EQ(*kept, (std::vector<int64_t>{0, 4}));
  auto a = group_advantages(rewards, 4, ScaleRewards::kGroup);
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->zero_std, (std::vector<uint8_t>{0, 1, 1, 1, 0}));  // the same definition of "all equal"
}

TEST(GrpoConfigNames, ParseLikeTrl) {
  for (LossType t : {LossType::kGrpo, LossType::kBnpo, LossType::kDrGrpo, LossType::kDapo})
    EXPECT_EQ(*parse_loss_type(loss_type_name(t)), t);
  for (ScaleRewards s : {ScaleRewards::kGroup, ScaleRewards::kBatch, ScaleRewards::kNone})
    EXPECT_EQ(*parse_scale_rewards(scale_rewards_name(s)), s);
  EXPECT_EQ(*parse_scale_rewards("true"), ScaleRewards::kGroup);
  EXPECT_EQ(*parse_scale_rewards("false"), ScaleRewards::kNone);
  EXPECT_FALSE(parse_loss_type("ppo").is_ok());
  EXPECT_FALSE(parse_scale_rewards("yes").is_ok());
  GrpoConfig c;
  EXPECT_DOUBLE_EQ(c.upper_epsilon(), c.epsilon);  // epsilon_high defaults to epsilon
  c.epsilon_high = 0.28;
  EXPECT_DOUBLE_EQ(c.upper_epsilon(), 0.28);
  c.num_generations = 1;
  EXPECT_FALSE(c.validate().is_ok());
}

// ------------------------------------------------------------------------------------------------------------ k3

// With every advantage 0 only β·k3 is left, so the loss and its gradient are k3's, weighted by 1/tokens (dapo).
TEST(GrpoKl, K3IsNonNegativeZeroAtTheReferenceAndHasGradientOneMinusRatio) {
  const double deltas[] = {-3.0, -0.7, -1e-3, -1e-9, 0.0, 1e-9, 1e-3, 0.4, 2.5};  // logp_ref − logp_new
  const int64_t T = int64_t(std::size(deltas));
  OwnedBatch b(1, T);
  b.logp_ref.resize(size_t(T));
  for (int64_t t = 0; t < T; ++t) {
    b.logp_new[size_t(t)] = -1.5 - 0.1 * double(t);
    b.logp_ref[size_t(t)] = b.logp_new[size_t(t)] + deltas[t];
  }
  GrpoConfig c = config_with(LossType::kDapo, /*beta=*/1.0);
  c.max_completion_length = T;
  const Evaluated e = evaluate(c, b);
  double sum_k3 = 0;
  for (int64_t t = 0; t < T; ++t) {
    const double d = deltas[t], k3 = std::exp(d) - d - 1;
    sum_k3 += k3;
    // 1 − π_ref/π_θ, written with the probabilities themselves.
    const double p_ref = std::exp(b.logp_ref[size_t(t)]), p_new = std::exp(b.logp_new[size_t(t)]);
    EXPECT_NEAR(e.grad[size_t(t)] * double(T), 1.0 - p_ref / p_new, 1e-12) << "delta " << d;
    // Numerically: central difference of the one-token k3 in logp_new.
    const double h = 1e-5, kp = std::exp(d - h) - (d - h) - 1, km = std::exp(d + h) - (d + h) - 1;
    EXPECT_NEAR(e.grad[size_t(t)] * double(T), (kp - km) / (2 * h), 1e-8) << "delta " << d;
  }
  EXPECT_NEAR(e.result.loss, sum_k3 / double(T), 1e-12);
  EXPECT_NEAR(e.result.mean_kl, sum_k3 / double(T), 1e-12);

  // k3 ≥ 0 everywhere, and exactly 0 with a zero gradient where π_θ = π_ref.
  for (int64_t t = 0; t < T; ++t) {
    OwnedBatch one(1, 1);
    one.logp_new = {-2.0};
    one.logp_ref = {-2.0 + deltas[t]};
    GrpoConfig c1 = config_with(LossType::kDapo, 1.0);
    const Evaluated e1 = evaluate(c1, one);
    EXPECT_GE(e1.result.loss, 0.0) << "delta " << deltas[t];
    if (deltas[t] == 0.0) {
      EXPECT_EQ(e1.result.loss, 0.0);
      EXPECT_EQ(e1.grad[0], 0.0);
    }
  }
}

// -------------------------------------------------------------------------------------------------------- clipping

TEST(GrpoClip, ClippedBranchesHaveZeroGradientAndTheOthersTheExactOne) {
  // One token per row, dapo over 6 tokens (w = 1/6), ε_low 0.2, ε_high 0.28, β 0. Rows: (ratio, A).
  struct Row {
    double ratio, advantage;
    bool clipped;
  };
  const Row rows[] = {
      {1.5, +1.0, true},    // above 1 + ε_high with A > 0: min takes the clipped term
      {0.5, -2.0, true},    // below 1 − ε_low with A < 0
      {1.5, -1.0, false},   // above the range but A < 0: the unclipped term is the smaller
      {0.5, +2.0, false},   // below the range but A > 0
      {1.1, +0.7, false},   // inside the range
      {1.25, -0.3, false},  // inside (above 1 + ε_low, below 1 + ε_high): ε_high is used on the upper side
  };
  const int64_t N = int64_t(std::size(rows));
  OwnedBatch b(N, 1);
  b.logp_old.resize(size_t(N));
  for (int64_t i = 0; i < N; ++i) {
    b.logp_old[size_t(i)] = -0.9;
    b.logp_new[size_t(i)] = -0.9 + std::log(rows[i].ratio);
    b.advantages[size_t(i)] = rows[i].advantage;
  }
  GrpoConfig c = config_with(LossType::kDapo);
  c.epsilon = 0.2;
  c.epsilon_high = 0.28;
  const Evaluated e = evaluate(c, b);
  double want_loss = 0;
  for (int64_t i = 0; i < N; ++i) {
    const Row& r = rows[i];
    const double clamped = std::min(std::max(r.ratio, 0.8), 1.28);
    want_loss += -std::min(r.ratio * r.advantage, clamped * r.advantage) / double(N);
    const double want_grad = r.clipped ? 0.0 : -r.ratio * r.advantage / double(N);
    EXPECT_NEAR(e.grad[size_t(i)], want_grad, 1e-12) << "row " << i;
  }
  EXPECT_NEAR(e.result.loss, want_loss, 1e-12);
  EXPECT_DOUBLE_EQ(e.result.clip_high_fraction, 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(e.result.clip_low_fraction, 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(e.result.clip_region_fraction, 2.0 / 6.0);
  EXPECT_NEAR(e.result.mean_ratio, (1.5 + 0.5 + 1.5 + 0.5 + 1.1 + 1.25) / 6.0, 1e-12);
}

TEST(GrpoClip, WithoutLogpOldTheRatioIsOneAndTheGradientIsMinusA) {
  OwnedBatch b(2, 2);
  b.logp_new = {-0.3, -2.0, -1.0, -4.0};
  b.advantages = {0.5, -1.5};
  const Evaluated e = evaluate(config_with(LossType::kDapo), b);
  EXPECT_NEAR(e.result.loss, (-0.5 - 0.5 + 1.5 + 1.5) / 4.0, 1e-12);
  EXPECT_EQ(e.grad, (std::vector<double>{-0.125, -0.125, 0.375, 0.375}));
  EXPECT_DOUBLE_EQ(e.result.mean_ratio, 1.0);
  EXPECT_EQ(e.result.clip_region_fraction, 0.0);
}

// ---------------------------------------------------------------------------------------------------- aggregation

// Two completions of 1 and 3 tokens (rows padded to 4), ratio 1, A = (1, −2): per-token losses −1 and 2, 2, 2.
class GrpoAggregation : public ::testing::Test {
 protected:
  GrpoAggregation() : b_(2, 4) {
    b_.set_length(0, 1);
    b_.set_length(1, 3);
    b_.advantages = {1.0, -2.0};
    b_.logp_new[1] = std::nan("");  // padding may hold anything
  }
  void expect(LossType type, double loss, double w0, double w1) {
    GrpoConfig c = config_with(type);
    c.max_completion_length = 5;
    const Evaluated e = evaluate(c, b_);
    EXPECT_NEAR(e.result.loss, loss, 1e-12) << loss_type_name(type);
    // d loss / d logp = −A·w on real tokens, 0 on padding.
    const std::vector<double> grad = {-1.0 * w0, 0, 0, 0, 2.0 * w1, 2.0 * w1, 2.0 * w1, 0};
    for (size_t k = 0; k < grad.size(); ++k) EXPECT_NEAR(e.grad[k], grad[k], 1e-12) << loss_type_name(type) << k;
    EXPECT_EQ(e.result.num_tokens, 4);
  }
  OwnedBatch b_;
};

TEST_F(GrpoAggregation, GrpoMeansEachSequenceThenTheSequences) {
  expect(LossType::kGrpo, (-1.0 / 1 + 6.0 / 3) / 2, 1.0 / 2, 1.0 / 6);
}
TEST_F(GrpoAggregation, DrGrpoDividesBySequencesTimesMaxCompletionLength) {
  expect(LossType::kDrGrpo, (-1.0 + 6.0) / (2 * 5), 1.0 / 10, 1.0 / 10);
}
TEST_F(GrpoAggregation, DapoAndBnpoDivideByTheTokenCount) {
  expect(LossType::kDapo, 5.0 / 4, 1.0 / 4, 1.0 / 4);
  expect(LossType::kBnpo, 5.0 / 4, 1.0 / 4, 1.0 / 4);
}
TEST_F(GrpoAggregation, DapoDividesByTheAccumulatedBatchsTokens) {
  b_.num_items_in_batch = 10;  // this micro-batch is 4 of the step's 10 tokens
  expect(LossType::kDapo, 5.0 / 10, 1.0 / 10, 1.0 / 10);
  b_.num_items_in_batch = 3;  // fewer than this batch holds: inconsistent
  std::vector<double> grad(8);
  EXPECT_FALSE(grpo_loss<double>(config_with(LossType::kDapo), b_.view(), grad).is_ok());
}

TEST_F(GrpoAggregation, MaskedTruncatedCompletionsCarryNoLossButStillCountAsSequences) {
  b_.truncated = {0, 1};
  GrpoConfig c = config_with(LossType::kGrpo);
  c.mask_truncated_completions = true;
  Evaluated e = evaluate(c, b_);
  EXPECT_NEAR(e.result.loss, -1.0 / 2, 1e-12);  // (−1 + 0) / 2 sequences, as TRL
  EXPECT_EQ(e.result.num_tokens, 1);
  for (size_t k = 4; k < 8; ++k) EXPECT_EQ(e.grad[k], 0.0);
  c.mask_truncated_completions = false;  // the flag is what masks them
  e = evaluate(c, b_);
  EXPECT_NEAR(e.result.loss, 0.5, 1e-12);
}

// --------------------------------------------------------------------------------------------- finite differences

// A random batch with ragged lengths, ratios spread across both clip edges, nonzero β: the whole loss against
// central differences in logp_new, for every loss type. Points within 1e-3 of a clip edge are moved off it, since
// the loss has a kink there.
TEST(GrpoGradient, WholeLossMatchesFiniteDifferencesForEveryLossType) {
  const int64_t N = 6, T = 7;
  Rng rng(20260128);
  auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * rng.uniform(); };
  OwnedBatch b(N, T);
  b.logp_old.resize(size_t(N * T));
  b.logp_ref.resize(size_t(N * T));
  for (int64_t i = 0; i < N; ++i) {
    b.set_length(i, 2 + i % 5);
    b.advantages[size_t(i)] = uniform(-2, 2);
  }
  const double lo = 0.8, hi = 1.28;
  for (size_t k = 0; k < b.logp_new.size(); ++k) {
    b.logp_old[k] = uniform(-4, -0.1);
    double log_ratio = 0;
    do log_ratio = uniform(-0.5, 0.5);
    while (std::fabs(std::exp(log_ratio) - lo) < 1e-3 || std::fabs(std::exp(log_ratio) - hi) < 1e-3);
    b.logp_new[k] = b.logp_old[k] + log_ratio;
    b.logp_ref[k] = b.logp_new[k] + uniform(-1, 1);
  }
  for (LossType type : {LossType::kGrpo, LossType::kBnpo, LossType::kDrGrpo, LossType::kDapo}) {
    GrpoConfig c = config_with(type, /*beta=*/0.04);
    c.epsilon = 0.2;
    c.epsilon_high = 0.28;
    const Evaluated e = evaluate(c, b);
    EXPECT_GT(e.result.clip_region_fraction, 0.0);  // both kinds of token are exercised
    EXPECT_LT(e.result.clip_region_fraction, 1.0);
    std::vector<double> scratch(size_t(N * T));
    auto loss_at = [&](size_t k, double x) {
      OwnedBatch moved = b;
      moved.logp_new[k] = x;
      return grpo_loss<double>(c, moved.view(), scratch)->loss;
    };
    const double h = 1e-6;
    for (size_t k = 0; k < b.logp_new.size(); ++k) {
      const double numeric = (loss_at(k, b.logp_new[k] + h) - loss_at(k, b.logp_new[k] - h)) / (2 * h);
      EXPECT_NEAR(e.grad[k], numeric, 1e-8) << loss_type_name(type) << " position " << k;
    }
  }
}

TEST(GrpoGradient, FloatMatchesDouble) {
  OwnedBatch b(2, 3);
  b.logp_new = {-0.5, -1.25, -3.0, -0.1, -2.0, -0.75};
  b.logp_old = {-0.6, -1.0, -3.5, -0.1, -1.5, -0.9};
  b.logp_ref = {-0.4, -1.5, -2.0, -0.2, -2.0, -0.5};
  b.advantages = {0.8, -1.1};
  const GrpoConfig c = config_with(LossType::kGrpo, 0.1);
  const Evaluated want = evaluate(c, b);
  auto to_float = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  const std::vector<float> lp = to_float(b.logp_new), lo = to_float(b.logp_old), lr = to_float(b.logp_ref);
  std::vector<float> grad(6);
  auto got = grpo_loss<float>(c, {.num_sequences = 2, .num_positions = 3, .logp_new = lp, .logp_old = lo,
                                  .logp_ref = lr, .completion_mask = b.mask, .advantages = b.advantages,
                                  .truncated = {}, .num_items_in_batch = 0},
                              grad);
  ASSERT_TRUE(got.is_ok()) << got.message();
  EXPECT_NEAR(got->loss, want.result.loss, 1e-6);
  for (size_t k = 0; k < 6; ++k) EXPECT_NEAR(grad[k], want.grad[k], 1e-6) << k;
}

// ------------------------------------------------------------------------------------------------------ bad input

TEST(GrpoLossInput, InconsistentOrNonFiniteInputIsAnError) {
  const GrpoConfig c = config_with(LossType::kDapo);
  std::vector<double> grad(4);
  auto fails = [&](const OwnedBatch& b, const GrpoConfig& config, const char* why) {
    auto r = grpo_loss<double>(config, b.view(), grad);
    EXPECT_FALSE(r.is_ok()) << why;
  };
  OwnedBatch ok(2, 2);
  ASSERT_TRUE(grpo_loss<double>(c, ok.view(), grad).is_ok());

  OwnedBatch short_logp = ok;
  short_logp.logp_new.pop_back();
  fails(short_logp, c, "logp_new too short");
  OwnedBatch short_old = ok;
  short_old.logp_old = {-1, -1, -1};
  fails(short_old, c, "logp_old of the wrong size");
  OwnedBatch few_adv = ok;
  few_adv.advantages = {0};
  fails(few_adv, c, "one advantage for two rows");
  fails(ok, config_with(LossType::kDapo, 0.1), "beta > 0 without logp_ref");
  OwnedBatch nan_token = ok;
  nan_token.logp_new[3] = std::nan("");
  fails(nan_token, c, "NaN on a completion token");
  OwnedBatch inf_adv = ok;
  inf_adv.advantages[1] = INFINITY;
  fails(inf_adv, c, "infinite advantage");
  GrpoConfig tiny = c;
  tiny.max_completion_length = 1;
  fails(ok, tiny, "rows longer than max_completion_length");
  GrpoConfig bad_eps = c;
  bad_eps.epsilon = 1.5;
  fails(ok, bad_eps, "epsilon >= 1");
  std::vector<double> small_grad(3);
  EXPECT_FALSE(grpo_loss<double>(c, ok.view(), small_grad).is_ok());
}

}  // namespace
}  // namespace r1::train
