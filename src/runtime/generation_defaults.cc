#include "runtime/generation_defaults.h"

#include <algorithm>

namespace r1 {

SamplingParams sampling_defaults(const GenerationConfig& g) {
  SamplingParams p;
  const bool config_greedy = g.do_sample.has_value() && !*g.do_sample;
  p.temperature = config_greedy ? 0.0f : g.temperature.value_or(0.8f);
  p.top_p = g.top_p.value_or(0.95f);
  p.top_k = g.top_k.value_or(0);
  p.min_p = 0.0f;
  p.repetition_penalty = g.repetition_penalty.value_or(1.0f);
  return p;
}

std::vector<int32_t> stop_ids(const GenerationConfig& g, const Tokenizer& tok) {
  std::vector<int32_t> ids = g.eos_token_ids;
  if (auto eos = tok.eos_id(); eos && std::find(ids.begin(), ids.end(), *eos) == ids.end()) ids.push_back(*eos);
  return ids;
}

Result<ThinkingBudget> thinking_budget(const Tokenizer& tok, int64_t max_tokens, bool starts_in_reasoning) {
  ThinkingBudget b;
  b.max_tokens = max_tokens;
  b.starts_in_reasoning = starts_in_reasoning;
  b.open_id = tok.token_id("<think>").value_or(-1);
  b.close_id = tok.token_id("</think>").value_or(-1);
  if (max_tokens >= 0) {
    if (b.close_id < 0) return Status::error("--max-thinking-tokens: this model's vocabulary has no </think> token");
    b.close_ids = tok.encode("\n</think>\n\n", /*add_special=*/false);
  }
  return b;
}

}  // namespace r1
