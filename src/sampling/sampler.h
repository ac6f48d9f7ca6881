// The sampler chain: repetition/presence/frequency penalties -> temperature -> top-k -> top-p -> min-p -> draw,
// or greedy argmax. A seeded Rng makes every draw reproducible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/status.h"

namespace r1 {

struct SamplingParams {
  float temperature = 1.0f;         // 0 means greedy
  float top_p = 1.0f;               // nucleus mass kept, (0, 1]
  int top_k = 0;                    // keep the k most likely; 0 = off
  float min_p = 0.0f;               // drop tokens below min_p * p(most likely); 0 = off
  float repetition_penalty = 1.0f;  // HF/CTRL style, over prompt and output tokens; 1 = off
  float presence_penalty = 0.0f;    // OpenAI style, over output tokens
  float frequency_penalty = 0.0f;   // OpenAI style, over output tokens
  bool greedy = false;              // argmax after penalties, ignoring the rest
  std::optional<uint64_t> seed;     // unset: a random seed

  Status validate() const;
};

// xoshiro256** seeded through splitmix64: fast, and the same stream on every platform (unlike std distributions).
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();  // [0, 1)

 private:
  uint64_t s_[4];
};

class Sampler {
 public:
  Sampler(const SamplingParams& params, int64_t vocab_size);
  // Tokens already in the context (the prompt): they count for the repetition penalty only.
  void add_context(std::span<const int32_t> ids);
  // Picks the next token from logits[vocab_size] (modified in place) and records it as output.
  int32_t sample(float* logits);
  // Records a token that was placed in the output without sampling (a forced end of thought), for the penalties.
  void accept(int32_t id);

 private:
  void apply_penalties(float* logits) const;
  int32_t draw(const float* logits);

  SamplingParams p_;
  int64_t vocab_;
  Rng rng_;
  std::vector<uint8_t> in_context_;   // [V] token seen in prompt or output
  std::vector<int32_t> output_count_;  // [V] occurrences in output
  std::vector<int32_t> touched_;       // ids with a non-zero entry above, so penalties cost O(distinct tokens)
  std::vector<std::pair<float, int32_t>> cand_;  // scratch: (logit, id)
};

}  // namespace r1
