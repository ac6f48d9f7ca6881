// The decode loop for one sequence: prefill the prompt, then sample and feed back one token at a time.
// Front ends (CLI now, the server's scheduler later) drive it through a callback per token.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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

enum class FinishReason { kStop, kLength, kCancelled };
const char* finish_reason_name(FinishReason r);  // OpenAI spelling: "stop", "length", "cancelled"

struct GenerateParams {
  int64_t max_tokens = 256;          // new tokens at most
  SamplingParams sampling;
  std::vector<int32_t> stop_ids;     // end-of-sequence ids: generation stops after emitting one
  ThinkingBudget thinking;
};


struct GenerateResult {
  std::vector<int32_t> ids;  // generated tokens, including the stop token if one ended generation
  FinishReason finish_reason = FinishReason::kLength;
  int64_t prefill_tokens = 0;
  double prefill_seconds = 0.0;  // prompt forward pass
  double decode_seconds = 0.0;   // every later forward pass and sampling
  double prefill_tokens_per_s() const { return prefill_seconds > 0 ? double(prefill_tokens) / prefill_seconds : 0.0; }
  double decode_tokens_per_s() const;
};

// Restricts which tokens may come next (e.g. the server's response_format json_object).
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Sets the logits of tokens that may not come next to -infinity (at least one token stays allowed).
  virtual void mask(float* logits, int64_t vocab_size) = 0;
  // The token that was chosen (sampled, or forced by the thinking budget).
  virtual void accept(int32_t id) = 0;
};

// One sequence's token choices after the prompt: penalties and sampling, the thinking budget's forced end of
// thought, an optional constraint, stop ids and max_tokens. Shared by generate() and the server's engine, so a
// request gives the same tokens through both.
class DecodeState {
 public:
  DecodeState(const GenerateParams& params, int64_t vocab_size, std::span<const int32_t> prompt,
              TokenConstraint* constraint = nullptr);
  // Chooses the next token from the logits of the last position (modified in place) and records it.
  int32_t next(float* logits);
  // Set once the last chosen token ended generation: a stop id (kStop) or max_tokens reached (kLength).
  std::optional<FinishReason> finished() const { return finished_; }
  int64_t generated() const { return n_; }

 private:
  const GenerateParams& p_;
  Sampler sampler_;
  int64_t vocab_;
  TokenConstraint* constraint_;
  bool thinking_;
  int64_t thought_ = 0, n_ = 0;
  std::vector<int32_t> forced_;  // pending tokens of a forced end of thought, in reverse order
  std::optional<FinishReason> finished_;
};

// Called with each new token; return false to stop (finish_reason kCancelled).
using TokenCallback = std::function<bool(int32_t id)>;

// Runs `prompt` (appended to whatever `cache` holds; an empty prompt with an empty cache is an error) and generates.
Result<GenerateResult> generate(Model& model, KvCache& cache, std::span<const int32_t> prompt,
                                const GenerateParams& params, const TokenCallback& on_token);

}  // namespace r1
