#include "model/blocks/rope.h"

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
  } else {
    return Status::errorf("{}: rope_scaling type \"{}\" is not supported (supported: default, linear, llama3)",
                          config.source(), type);
  }
  return r;
}

std::vector<float> rope_inv_freq(const RopeConfig& c, int64_t rotary_dim) {
  std::vector<float> inv(size_t(rotary_dim / 2));
  const float base = float(c.rope_theta);
  for (int64_t i = 0; i < rotary_dim / 2; ++i)
    inv[size_t(i)] = 1.0f / std::pow(base, float(2 * i) / float(rotary_dim));
  if (c.type == RopeScalingType::kLinear) {
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

void rope_tables(const std::vector<float>& inv_freq, int64_t pos0, int64_t T, float* cos, float* sin) {
  const int64_t half = int64_t(inv_freq.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const float angle = float(pos0 + t) * inv_freq[size_t(i)];
      cos[t * half + i] = std::cos(angle);
      sin[t * half + i] = std::sin(angle);
    }
}

}  // namespace r1
