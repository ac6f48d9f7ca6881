// GRPO's math, independent of any model: group-normalised advantages from rewards, and the clipped policy loss with
// its gradient with respect to the per-token log-probabilities the model produced. The trainer runs the model's
// backward from that gradient (d loss / d logits = dlogp · (onehot − softmax) / temperature).
//
// Semantics and option names follow TRL's GRPOTrainer / GRPOConfig, so a run configured here reads like one
// configured there (DeepSeekMath §4.1 for GRPO, Dr. GRPO arXiv:2503.20783, DAPO arXiv:2503.14476):
//   A_i      = (r_i − mean_group r) / (std r + 1e-4), or r_i − mean_group r without scaling (Dr. GRPO);
//              std is torch.std's, i.e. unbiased (divides by G − 1).
//   ρ_{i,t}  = exp(logp_new − logp_old)                       the ratio against the sampling policy
//   ℓ_{i,t}  = −min(ρ·A_i, clip(ρ, 1 − ε_low, 1 + ε_high)·A_i) + β·k3
//   k3_{i,t} = exp(logp_ref − logp_new) − (logp_ref − logp_new) − 1   (≥ 0, an unbiased estimate of KL(π_θ‖π_ref))
// and the loss aggregates ℓ over completion tokens by `loss_type`.
//
// Layout: a batch is N completions, each a row of T token positions (right padding); the completion mask marks the
// real tokens. Rows are grouped by prompt: rows g·G … g·G + G − 1 are the G samples of prompt g.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace r1::train {

// How per-token losses become one number (TRL `loss_type`).
enum class LossType {
  kGrpo,    // "grpo": mean over each sequence's tokens, then mean over sequences (length-biased)
  kBnpo,    // "bnpo": sum over the batch's tokens / the batch's token count
  kDrGrpo,  // "dr_grpo": sum over all tokens / (N · max_completion_length), a constant normaliser
  kDapo,    // "dapo": sum over all tokens / tokens in the whole accumulated batch (token-level)
};

// What the group-centred rewards are divided by (TRL `scale_rewards`; true = "group", false = "none").
enum class ScaleRewards {
  kGroup,  // the group's std
  kBatch,  // the whole batch's std (PPO-Lite)
  kNone,   // nothing (Dr. GRPO: scaling by std biases towards too-easy and too-hard prompts)
};

Result<LossType> parse_loss_type(std::string_view name);          // "grpo" | "bnpo" | "dr_grpo" | "dapo"
Result<ScaleRewards> parse_scale_rewards(std::string_view name);  // "group" | "batch" | "none" | "true" | "false"
std::string_view loss_type_name(LossType type);
std::string_view scale_rewards_name(ScaleRewards scale);

// The options of a GRPO run, named as in TRL's GRPOConfig (defaults are TRL's).
struct GrpoConfig {
  int64_t num_generations = 8;           // G: samples per prompt (≥ 2, so that a group has a std)
  double beta = 0.0;                     // weight of the k3 KL to the reference; 0 needs no reference model
  double epsilon = 0.2;                  // ε_low: the ratio is clipped below at 1 − ε_low
  std::optional<double> epsilon_high = std::nullopt;  // ε_high: clipped above at 1 + ε_high; unset: epsilon (DAPO: 0.28)
  LossType loss_type = LossType::kDapo;  // aggregation of per-token losses
  ScaleRewards scale_rewards = ScaleRewards::kGroup;
  int64_t max_completion_length = 256;   // generation budget in tokens; dr_grpo's normaliser
  double temperature = 1.0;              // sampling temperature; log-probs are of logits / temperature
  bool mask_truncated_completions = false;  // completions cut off at the budget (no EOS) get no loss (DAPO)

  double epsilon_low() const { return epsilon; }
  double upper_epsilon() const { return epsilon_high.value_or(epsilon); }
  Status validate() const;
};

// ------------------------------------------------------------------------------------------------- advantages

struct GroupAdvantages {
  std::vector<double> advantages;     // [N]: A_i, the same on every token of completion i
  std::vector<uint8_t> zero_std;      // [N / G]: 1 where the group's rewards have (numerically) zero std
  double zero_std_fraction() const;   // the logged "frac_reward_zero_std"
};

// Advantages of N = rewards.size() completions in groups of G. A group whose std is zero (torch.isclose(std, 0))
// gets A = 0 on every sample (up to rounding: its rewards are equal, so r − mean ≈ 0). Errors: N not a positive
// multiple of G, G < 2, a non-finite reward.
Result<GroupAdvantages> group_advantages(std::span<const double> rewards, int64_t num_generations,
                                         ScaleRewards scale);

// DAPO's dynamic sampling: the groups (indices into the N / G prompts) whose rewards are not all equal, in order.
// A group of equal rewards has zero advantage everywhere and so no policy gradient; DAPO drops it and samples more
// prompts until the batch is full. Same definition of "equal" as GroupAdvantages::zero_std.
Result<std::vector<int64_t>> groups_with_signal(std::span<const double> rewards, int64_t num_generations);

// ------------------------------------------------------------------------------------------------------ loss

// One batch of completions, as flat row-major [N, T] buffers. Real is float (training) or double (tests).
template <typename Real>
struct GrpoBatch {
  int64_t num_sequences = 0;                  // N
  int64_t num_positions = 0;                  // T: token positions per row (the longest completion, or more)
  std::span<const Real> logp_new = {};           // [N, T] log π_θ(token) under the policy being trained
  std::span<const Real> logp_old = {};           // [N, T] under the policy that sampled; empty: equal to logp_new
                                              //   (the first update on a batch: ratio 1)
  std::span<const Real> logp_ref = {};           // [N, T] under the frozen reference; needed when beta > 0
  std::span<const uint8_t> completion_mask = {}; // [N, T] 1 on completion tokens (EOS included), 0 on padding
  std::span<const double> advantages = {};       // [N] from group_advantages
  std::span<const uint8_t> truncated = {};       // [N] 1 where the completion hit max_completion_length without EOS;
                                              //   empty: none; used with mask_truncated_completions
  int64_t num_items_in_batch = 0;             // dapo: completion tokens in the whole accumulated batch (all
                                              //   micro-batches of one optimiser step); 0: this batch's
};

struct GrpoLossResult {
  double loss = 0;              // the aggregated loss
  int64_t num_tokens = 0;       // completion tokens that carried loss
  double mean_kl = 0;           // token mean of k3 (0 without a reference)
  double mean_ratio = 0;        // token mean of ρ
  double clip_low_fraction = 0;     // tokens with ρ < 1 − ε_low and A < 0 (the clipped branch: no gradient)
  double clip_high_fraction = 0;    // tokens with ρ > 1 + ε_high and A > 0
  double clip_region_fraction = 0;  // either
};

// The loss of `batch` and its gradient d loss / d logp_new, written to `dlogp_new` ([N, T], 0 on padding). The
// gradient is exactly the derivative of the loss computed: 0 in the clipped branches, −ρ·A·w (+ β·(1 − π_ref/π_θ)·w)
// elsewhere, w the token's aggregation weight. Errors name the buffer, row and position at fault: sizes that
// disagree with N and T, a non-finite value on a completion token, a row longer than max_completion_length, beta > 0
// without logp_ref.
template <typename Real>
Result<GrpoLossResult> grpo_loss(const GrpoConfig& config, const GrpoBatch<Real>& batch, std::span<Real> dlogp_new);

extern template Result<GrpoLossResult> grpo_loss<float>(const GrpoConfig&, const GrpoBatch<float>&,
                                                        std::span<float>);
extern template Result<GrpoLossResult> grpo_loss<double>(const GrpoConfig&, const GrpoBatch<double>&,
                                                         std::span<double>);

}  // namespace r1::train
