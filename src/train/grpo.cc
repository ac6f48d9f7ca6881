#include "train/grpo.h"

#include <algorithm>
#include <cmath>

namespace r1::train {

// ---------------------------------------------------------------------------------------------------- options

Result<LossType> parse_loss_type(std::string_view name) {
  if (name == "grpo") return LossType::kGrpo;
  if (name == "bnpo") return LossType::kBnpo;
  if (name == "dr_grpo") return LossType::kDrGrpo;
  if (name == "dapo") return LossType::kDapo;
  return Status::errorf("loss_type \"{}\": expected grpo, bnpo, dr_grpo or dapo", name);
}

Result<ScaleRewards> parse_scale_rewards(std::string_view name) {
  // TRL took a bool before it took a string; both spellings are accepted.
  if (name == "group" || name == "true") return ScaleRewards::kGroup;
  if (name == "batch") return ScaleRewards::kBatch;
  if (name == "none" || name == "false") return ScaleRewards::kNone;
  return Status::errorf("scale_rewards \"{}\": expected group, batch or none", name);
}

std::string_view loss_type_name(LossType type) {
  switch (type) {
    case LossType::kGrpo: return "grpo";
    case LossType::kBnpo: return "bnpo";
    case LossType::kDrGrpo: return "dr_grpo";
    case LossType::kDapo: return "dapo";
  }
  return "?";
}

std::string_view scale_rewards_name(ScaleRewards scale) {
  switch (scale) {
    case ScaleRewards::kGroup: return "group";
    case ScaleRewards::kBatch: return "batch";
    case ScaleRewards::kNone: return "none";
  }
  return "?";
}

Status GrpoConfig::validate() const {
  if (num_generations < 2)
    return Status::errorf("num_generations {}: a group needs at least 2 samples to have a std", num_generations);
  if (!std::isfinite(beta) || beta < 0) return Status::errorf("beta {}: must be finite and >= 0", beta);
  if (!std::isfinite(epsilon) || epsilon < 0 || epsilon >= 1)
    return Status::errorf("epsilon {}: must be in [0, 1)", epsilon);
  if (epsilon_high && (!std::isfinite(*epsilon_high) || *epsilon_high < 0))
    return Status::errorf("epsilon_high {}: must be finite and >= 0", *epsilon_high);
  if (max_completion_length < 1)
    return Status::errorf("max_completion_length {}: must be >= 1", max_completion_length);
  if (!std::isfinite(temperature) || temperature <= 0)
    return Status::errorf("temperature {}: must be finite and > 0", temperature);
  return Status::ok();
}

// ------------------------------------------------------------------------------------------------- advantages

namespace {

// torch.std: the unbiased estimate (divides by n − 1); n ≥ 2 here.
double unbiased_std(std::span<const double> x) {
  double mean = 0;
  for (double v : x) mean += v;
  mean /= double(x.size());
  double sum_sq = 0;
  for (double v : x) sum_sq += (v - mean) * (v - mean);
  return std::sqrt(sum_sq / double(x.size() - 1));
}

// torch.isclose(std, 0) with its default atol: what TRL counts as a zero-std group.
bool is_zero_std(double std) { return std <= 1e-8; }

Status check_rewards(std::span<const double> rewards, int64_t num_generations) {
  if (num_generations < 2)
    return Status::errorf("num_generations {}: a group needs at least 2 samples to have a std", num_generations);
  const int64_t n = int64_t(rewards.size());
  if (n == 0 || n % num_generations != 0)
    return Status::errorf("{} rewards: not a positive multiple of num_generations {}", n, num_generations);
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(rewards[size_t(i)])) return Status::errorf("reward {} is {}", i, rewards[size_t(i)]);
  return Status::ok();
}

}  // namespace

double GroupAdvantages::zero_std_fraction() const {
  if (zero_std.empty()) return 0;
  return double(std::count(zero_std.begin(), zero_std.end(), uint8_t{1})) / double(zero_std.size());
}

Result<GroupAdvantages> group_advantages(std::span<const double> rewards, int64_t num_generations,
                                         ScaleRewards scale) {
  R1_RETURN_IF_ERROR(check_rewards(rewards, num_generations));
  const size_t g_size = size_t(num_generations), groups = rewards.size() / g_size;
  const double batch_std = unbiased_std(rewards);
  GroupAdvantages out;
  out.advantages.resize(rewards.size());
  out.zero_std.resize(groups);
  for (size_t g = 0; g < groups; ++g) {
    const std::span<const double> group = rewards.subspan(g * g_size, g_size);
    double mean = 0;
    for (double r : group) mean += r;
    mean /= double(g_size);
    const double group_std = unbiased_std(group);
    out.zero_std[g] = is_zero_std(group_std);
    const double std = scale == ScaleRewards::kBatch ? batch_std : group_std;
    for (size_t j = 0; j < g_size; ++j) {
      const double centred = group[j] - mean;
      out.advantages[g * g_size + j] = scale == ScaleRewards::kNone ? centred : centred / (std + 1e-4);
    }
  }
  return out;
}

Result<std::vector<int64_t>> groups_with_signal(std::span<const double> rewards, int64_t num_generations) {
  R1_RETURN_IF_ERROR(check_rewards(rewards, num_generations));
  std::vector<int64_t> kept;
  const size_t g_size = size_t(num_generations);
  for (size_t g = 0; g < rewards.size() / g_size; ++g)
    if (!is_zero_std(unbiased_std(rewards.subspan(g * g_size, g_size)))) kept.push_back(int64_t(g));
  return kept;
}

// ------------------------------------------------------------------------------------------------------ loss

namespace {

template <typename Real>
Status check_values(std::span<const Real> values, std::span<const uint8_t> mask, int64_t T, const char* name) {
  for (size_t k = 0; k < values.size(); ++k)
    if (mask[k] && !std::isfinite(double(values[k])))
      return Status::errorf("{}[{}, {}] is {} on a completion token", name, int64_t(k) / T, int64_t(k) % T,
                            double(values[k]));
  return Status::ok();
}

template <typename Real>
Status check_batch(const GrpoConfig& config, const GrpoBatch<Real>& b, size_t grad_size) {
  if (b.num_sequences < 1 || b.num_positions < 1)
    return Status::errorf("batch of {} x {} positions: both must be >= 1", b.num_sequences, b.num_positions);
  const size_t cells = size_t(b.num_sequences) * size_t(b.num_positions);
  auto check_size = [&](size_t size, size_t want, const char* name, bool optional) -> Status {
    if (size == want || (optional && size == 0)) return Status::ok();
    return Status::errorf("{} has {} values, expected {} ({} sequences x {} positions)", name, size, want,
                          b.num_sequences, b.num_positions);
  };
  R1_RETURN_IF_ERROR(check_size(b.logp_new.size(), cells, "logp_new", false));
  R1_RETURN_IF_ERROR(check_size(b.logp_old.size(), cells, "logp_old", true));
  R1_RETURN_IF_ERROR(check_size(b.logp_ref.size(), cells, "logp_ref", true));
  R1_RETURN_IF_ERROR(check_size(b.completion_mask.size(), cells, "completion_mask", false));
  R1_RETURN_IF_ERROR(check_size(grad_size, cells, "dlogp_new", false));
  R1_RETURN_IF_ERROR(check_size(b.advantages.size(), size_t(b.num_sequences), "advantages", false));
  R1_RETURN_IF_ERROR(check_size(b.truncated.size(), size_t(b.num_sequences), "truncated", true));
  if (config.beta > 0 && b.logp_ref.empty())
    return Status::errorf("beta {} needs logp_ref (the reference model's log-probabilities)", config.beta);
  if (b.num_items_in_batch < 0) return Status::errorf("num_items_in_batch {} is negative", b.num_items_in_batch);

  R1_RETURN_IF_ERROR(check_values(b.logp_new, b.completion_mask, b.num_positions, "logp_new"));
  R1_RETURN_IF_ERROR(check_values(b.logp_old, b.completion_mask, b.num_positions, "logp_old"));
  R1_RETURN_IF_ERROR(check_values(b.logp_ref, b.completion_mask, b.num_positions, "logp_ref"));
  for (int64_t i = 0; i < b.num_sequences; ++i)
    if (!std::isfinite(b.advantages[size_t(i)]))
      return Status::errorf("advantages[{}] is {}", i, b.advantages[size_t(i)]);
  for (int64_t i = 0; i < b.num_sequences; ++i) {
    const auto row = b.completion_mask.subspan(size_t(i * b.num_positions), size_t(b.num_positions));
    const int64_t length = std::count_if(row.begin(), row.end(), [](uint8_t m) { return m != 0; });
    if (length > config.max_completion_length)
      return Status::errorf("completion {} has {} tokens, more than max_completion_length {}", i, length,
                            config.max_completion_length);
  }
  return Status::ok();
}

}  // namespace

template <typename Real>
Result<GrpoLossResult> grpo_loss(const GrpoConfig& config, const GrpoBatch<Real>& batch, std::span<Real> dlogp_new) {
  R1_RETURN_IF_ERROR(config.validate());
  R1_RETURN_IF_ERROR(check_batch(config, batch, dlogp_new.size()));
  const int64_t N = batch.num_sequences, T = batch.num_positions;
  const bool has_old = !batch.logp_old.empty(), has_ref = !batch.logp_ref.empty();

  // Which tokens carry loss: the completion mask, less every token of a truncated completion when asked.
  auto row_active = [&](int64_t i) {
    return !(config.mask_truncated_completions && !batch.truncated.empty() && batch.truncated[size_t(i)]);
  };
  std::vector<int64_t> length(size_t(N), 0);
  int64_t total = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (!row_active(i)) continue;
    for (int64_t t = 0; t < T; ++t) length[size_t(i)] += batch.completion_mask[size_t(i * T + t)] != 0;
    total += length[size_t(i)];
  }
  if (batch.num_items_in_batch > 0 && batch.num_items_in_batch < total)
    return Status::errorf("num_items_in_batch {} is less than the {} completion tokens of this batch",
                          batch.num_items_in_batch, total);

  // Each token's loss enters the total with its row's weight w_i (TRL clamps empty denominators to 1).
  auto weight = [&](int64_t i) -> double {
    switch (config.loss_type) {
      case LossType::kGrpo: return 1.0 / (double(N) * double(std::max<int64_t>(1, length[size_t(i)])));
      case LossType::kBnpo: return 1.0 / double(std::max<int64_t>(1, total));
      case LossType::kDrGrpo: return 1.0 / (double(N) * double(config.max_completion_length));
      case LossType::kDapo:
        return 1.0 / double(std::max<int64_t>(1, batch.num_items_in_batch > 0 ? batch.num_items_in_batch : total));
    }
    return 0.0;
  };

  const double lo = 1.0 - config.epsilon_low(), hi = 1.0 + config.upper_epsilon();
  GrpoLossResult out;
  out.num_tokens = total;
  double kl_sum = 0, ratio_sum = 0;
  int64_t n_low = 0, n_high = 0;
  for (int64_t i = 0; i < N; ++i) {
    const double A = batch.advantages[size_t(i)], w = weight(i);
    const bool active_row = row_active(i);
    for (int64_t t = 0; t < T; ++t) {
      const size_t k = size_t(i * T + t);
      dlogp_new[k] = Real(0);
      if (!active_row || !batch.completion_mask[k]) continue;
      const double logp = double(batch.logp_new[k]);
      const double ratio = std::exp(logp - (has_old ? double(batch.logp_old[k]) : logp));
      const double unclipped = ratio * A, clipped = std::clamp(ratio, lo, hi) * A;
      // The min picks the clipped (constant) term exactly in these two cases; there the gradient is zero.
      const bool low = ratio < lo && A < 0, high = ratio > hi && A > 0;
      double token_loss = -std::min(unclipped, clipped);
      double token_grad = low || high ? 0.0 : -unclipped;  // d(−ρA)/d logp_new = −ρA
      if (has_ref) {
        // k3 with δ = logp_ref − logp_new: e^δ − δ − 1, via expm1 so that it stays accurate (and ≥ 0) near δ = 0.
        const double delta = double(batch.logp_ref[k]) - logp, k3 = std::expm1(delta) - delta;
        kl_sum += k3;
        token_loss += config.beta * k3;
        token_grad += config.beta * -std::expm1(delta);  // d k3 / d logp_new = 1 − π_ref/π_θ
      }
      out.loss += w * token_loss;
      dlogp_new[k] = Real(w * token_grad);
      ratio_sum += ratio;
      n_low += low;
      n_high += high;
    }
  }
  const double denom = double(std::max<int64_t>(1, total));
  out.mean_kl = kl_sum / denom;
  out.mean_ratio = ratio_sum / denom;
  out.clip_low_fraction = double(n_low) / denom;
  out.clip_high_fraction = double(n_high) / denom;
  out.clip_region_fraction = double(n_low + n_high) / denom;  // a token cannot be both (A < 0 vs A > 0)
  return out;
}

template Result<GrpoLossResult> grpo_loss<float>(const GrpoConfig&, const GrpoBatch<float>&, std::span<float>);
template Result<GrpoLossResult> grpo_loss<double>(const GrpoConfig&, const GrpoBatch<double>&, std::span<double>);

}  // namespace r1::train
