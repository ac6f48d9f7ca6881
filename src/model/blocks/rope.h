// Rotary position embedding configuration (`rope_theta`, `rope_scaling`) and its per-position tables.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "io/hf_config.h"

namespace r1 {

enum class RopeScalingType { kNone, kLinear, kLlama3, kYarn };

struct RopeConfig {
  double rope_theta = 10000.0;  // base of the frequencies
  RopeScalingType type = RopeScalingType::kNone;
  double factor = 1.0;                             // rope_scaling.factor
  double low_freq_factor = 1.0;                    // llama3
  double high_freq_factor = 4.0;                   // llama3
  int64_t original_max_position_embeddings = 0;    // llama3, yarn: context the base model was trained at
  double beta_fast = 32.0;                         // yarn: rotations per context below which dims extrapolate
  double beta_slow = 1.0;                          // yarn: ... above which dims interpolate by `factor`
  double mscale = 1.0;                             // yarn: magnitude scale of cos/sin (with mscale_all_dim)
  double mscale_all_dim = 0.0;                     // yarn: DeepSeek's softmax-scale correction; 0 = none

  // Reads rope_theta and rope_scaling (keyed "rope_type" or the older "type"); an unknown type is an error.
  static Result<RopeConfig> from(const HfConfig& config);
};

// inv_freq[rotary_dim / 2], computed in f32 the way transformers does so positions match to the last bit.
std::vector<float> rope_inv_freq(const RopeConfig& config, int64_t rotary_dim);

// Factor on cos and sin: yarn_get_mscale(factor, mscale) / yarn_get_mscale(factor, mscale_all_dim) for YaRN
// (DeepSeek's implementation), 1 otherwise.
float rope_cos_sin_scale(const RopeConfig& config);

// The YaRN correction m^2 of DeepSeek's softmax scale, m = 0.1 * mscale_all_dim * ln(factor) + 1; 1 otherwise.
float yarn_softmax_factor(const RopeConfig& config);

// cos/sin [positions.size(), rotary_dim / 2], row t for positions[t] (a batch of sequences, each at its own
// positions), both multiplied by `scale`.
void rope_tables(const std::vector<float>& inv_freq, std::span<const int64_t> positions, float* cos, float* sin,
                 float scale = 1.0f);

}  // namespace r1
