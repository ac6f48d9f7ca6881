// What a model's own files say about generating, shared by every front end (r1 run/chat and r1 serve): sampling
// defaults from generation_config.json, the end-of-sequence ids, and the tokens of a thinking budget.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "io/hf_config.h"
#include "runtime/generator.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

// Sampling as generation_config.json sets it, r1's defaults elsewhere (temperature 0.8, top-p 0.95). A config
// with do_sample false means greedy, as in transformers. Front ends override fields the user set.
SamplingParams sampling_defaults(const GenerationConfig& g);

// End-of-sequence ids: generation_config's eos_token_id list plus the tokenizer's EOS.
std::vector<int32_t> stop_ids(const GenerationConfig& g, const Tokenizer& tok);

// The thinking budget for a prompt: the <think>/</think> ids of the vocabulary and the tokens that close a thought.
// max_tokens < 0 is unlimited; a budget on a model without </think> is an error.
Result<ThinkingBudget> thinking_budget(const Tokenizer& tok, int64_t max_tokens, bool starts_in_reasoning);

}  // namespace r1
