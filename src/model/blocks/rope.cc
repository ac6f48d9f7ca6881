#include "model/blocks/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace r1 {

Result<RopeConfig> RopeConfig::from(const HfConfig& config) {
  RopeConfig r;
  R1_ASSIGN_OR_RETURN(r.rope_theta, config.get_double("rope_theta", 10000.0));
  R1_ASSIGN_OR_RETURN(auto scaling, config.get_object("rope_scaling"));
  if (!scaling) return r;
  R1_ASSIGN_OR_RETURN(std::string type, scaling->get_string("rope_type", ""));
  if (type.empty()) { R1_ASSIGN_OR_RETURN(type, scaling->get_string("type", "default")); }
  if (type == "default") return r;
  R1_ASSIGN_OR_RETURN(r.factor, scaling->get_double("factor"));
  if (!(r.factor >= 1.0)) return Status::errorf("{}: rope_scaling.factor must be >= 1", config.source());
  if (type == "linear") {
    r.type = RopeScalingType::kLinear;
  } else if (type == "llama3") {
    r.type = RopeScalingType::kLlama3;
    R1_ASSIGN_OR_RETURN(r.low_freq_factor, scaling->get_double("low_freq_factor"));
    R1_ASSIGN_OR_RETURN(r.high_freq_factor, scaling->get_double("high_freq_factor"));
    R1_ASSIGN_OR_RETURN(r.original_max_position_embeddings, scaling->get_int("original_max_position_embeddings"));
    if (!(r.high_freq_factor > r.low_freq_factor) || r.original_max_position_embeddings <= 0)
      return Status::errorf("{}: llama3 rope_scaling needs high_freq_factor > low_freq_factor and a positive "
                            "original_max_position_embeddings", config.source());
  } else if (type == "yarn") {
    r.type = RopeScalingType::kYarn;
    R1_ASSIGN_OR_RETURN(r.original_max_position_embeddings, scaling->get_int("original_max_position_embeddings"));
    R1_ASSIGN_OR_RETURN(r.beta_fast, scaling->get_double("beta_fast", 32.0));
    R1_ASSIGN_OR_RETURN(r.beta_slow, scaling->get_double("beta_slow", 1.0));
    R1_ASSIGN_OR_RETURN(r.mscale, scaling->get_double("mscale", 1.0));
    R1_ASSIGN_OR_RETURN(r.mscale_all_dim, scaling->get_double("mscale_all_dim", 0.0));
    if (r.original_max_position_embeddings <= 0 || !(r.beta_fast > r.beta_slow))
      return Status::errorf("{}: yarn rope_scaling needs original_max_position_embeddings > 0 and beta_fast > "
                            "beta_slow", config.source());
  } else {
    return Status::errorf("{}: rope_scaling type \"{}\" is not supported (supported: default, linear, llama3, yarn)",
                          config.source(), type);
  }
  return r;
}

namespace {

double yarn_get_mscale(double factor, double mscale) {
  return factor <= 1.0 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

// The (fractional) dimension whose wavelength fits `rotations` times into the original context.
double yarn_correction_dim(double rotations, int64_t dim, double base, int64_t original_context) {
  return double(dim) * std::log(double(original_context) / (rotations * 2.0 * std::numbers::pi)) /
         (2.0 * std::log(base));
}

// YaRN (DeepSeek-V2/V3): dims that rotate fast over the original context keep their frequency, slow ones are
// interpolated by `factor`, with a linear ramp between the correction dims of beta_fast and beta_slow.
void apply_yarn(const RopeConfig& c, int64_t rotary_dim, std::vector<float>& inv) {
  const int64_t half = rotary_dim / 2;
  double low = std::floor(yarn_correction_dim(c.beta_fast, rotary_dim, c.rope_theta, c.original_max_position_embeddings));
  double high = std::ceil(yarn_correction_dim(c.beta_slow, rotary_dim, c.rope_theta, c.original_max_position_embeddings));
  low = std::max(low, 0.0);
  high = std::min(high, double(rotary_dim - 1));
  if (low == high) high += 0.001;  // avoid a zero-width ramp
  for (int64_t i = 0; i < half; ++i) {
    const float extra = inv[size_t(i)], inter = float(inv[size_t(i)] / c.factor);
    const float ramp = float(std::clamp((double(i) - low) / (high - low), 0.0, 1.0));
    const float keep = 1.0f - ramp;  // share of the original (extrapolated) frequency
    inv[size_t(i)] = inter * (1.0f - keep) + extra * keep;
  }
}

}  // namespace

std::vector<float> rope_inv_freq(const RopeConfig& c, int64_t rotary_dim) {
  std::vector<float> inv(size_t(rotary_dim / 2));
  const float base = float(c.rope_theta);
  for (int64_t i = 0; i < rotary_dim / 2; ++i)
    inv[size_t(i)] = 1.0f / std::pow(base, float(2 * i) / float(rotary_dim));
  if (c.type == RopeScalingType::kYarn) {
    apply_yarn(c, rotary_dim, inv);
  } else if (c.type == RopeScalingType::kLinear) {
    for (float& f : inv) f = float(f / c.factor);
  } else if (c.type == RopeScalingType::kLlama3) {
    // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, and the band between blended.
    const float factor = float(c.factor), lo = float(c.low_freq_factor), hi = float(c.high_freq_factor);
    const float old_ctx = float(c.original_max_position_embeddings);
    const float low_freq_wavelen = old_ctx / lo, high_freq_wavelen = old_ctx / hi;
    for (float& f : inv) {
      const float wavelen = 2.0f * std::numbers::pi_v<float> / f;
      const float scaled = wavelen > low_freq_wavelen ? f / factor : f;
      if (wavelen < high_freq_wavelen || wavelen > low_freq_wavelen) {
        f = scaled;
      } else {
        const float smooth = (old_ctx / wavelen - lo) / (hi - lo);
        f = (1.0f - smooth) * scaled / factor + smooth * scaled;
      }
    }
  }
  return inv;
}


float rope_cos_sin_scale(const RopeConfig& c) {
  if (c.type != RopeScalingType::kYarn) return 1.0f;
  return float(yarn_get_mscale(c.factor, c.mscale) / yarn_get_mscale(c.factor, c.mscale_all_dim));
}

float yarn_softmax_factor(const RopeConfig& c) {
  if (c.type != RopeScalingType::kYarn || c.mscale_all_dim == 0.0) return 1.0f;
  const double m = yarn_get_mscale(c.factor, c.mscale_all_dim);
  return float(m * m);
}

void rope_tables(const std::vector<float>& inv_freq, std::span<const int64_t> positions, float* cos, float* sin,
                 float scale) {
  const int64_t half = int64_t(inv_freq.size());
  for (size_t t = 0; t < positions.size(); ++t)
    for (int64_t i = 0; i < half; ++i) {
      const float angle = float(positions[t]) * inv_freq[size_t(i)];
      cos[int64_t(t) * half + i] = std::cos(angle) * scale;
      sin[int64_t(t) * half + i] = std::sin(angle) * scale;
    }
}

}  // namespace r1
