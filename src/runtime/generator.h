// The decode loop for one sequence: prefill the prompt, then sample and feed back one token at a time.
// Front ends (CLI now, the server's scheduler later) drive it through a callback per token.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "model/model.h"
#include "sampling/sampler.h"

namespace r1 {

// A cap on reasoning (DeepSeek-R1's <think> block): once `max_tokens` tokens have been spent thinking, the thought
// is closed by emitting `close_ids` (e.g. the tokens of "\n</think>\n\n") and the model goes on to answer.
struct ThinkingBudget {
  int64_t max_tokens = -1;          // -1: unlimited; 0: close the thought at once
  bool starts_in_reasoning = false;  // the prompt ends inside <think> (newer R1 templates)
  int32_t open_id = -1;             // <think>: entering reasoning when generated first
  int32_t close_id = -1;            // </think>: the model closed the thought itself
  std::vector<int32_t> close_ids;   // what is emitted to close it
};

struct GenerateParams {
  int64_t max_tokens = 256;          // new tokens at most
  SamplingParams sampling;
  std::vector<int32_t> stop_ids;     // end-of-sequence ids: generation stops after emitting one
  ThinkingBudget thinking;
};

enum class FinishReason { kStop, kLength, kCancelled };
const char* finish_reason_name(FinishReason r);  // OpenAI spelling: "stop", "length", "cancelled"

struct GenerateResult {
  std::vector<int32_t> ids;  // generated tokens, including the stop token if one ended generation
  FinishReason finish_reason = FinishReason::kLength;
  int64_t prefill_tokens = 0;
  double prefill_seconds = 0.0;  // prompt forward pass
  double decode_seconds = 0.0;   // every later forward pass and sampling
  double prefill_tokens_per_s() const { return prefill_seconds > 0 ? double(prefill_tokens) / prefill_seconds : 0.0; }
  double decode_tokens_per_s() const;
};

// Called with each new token; return false to stop (finish_reason kCancelled).
using TokenCallback = std::function<bool(int32_t id)>;

// Runs `prompt` (appended to whatever `cache` holds; an empty prompt with an empty cache is an error) and generates.
Result<GenerateResult> generate(Model& model, KvCache& cache, std::span<const int32_t> prompt,
                                const GenerateParams& params, const TokenCallback& on_token);

}  // namespace r1
