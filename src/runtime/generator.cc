#include "runtime/generator.h"

#include <algorithm>
#include <chrono>

namespace r1 {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "?";
}

double GenerateResult::decode_tokens_per_s() const {
  // The first token comes from the prefill logits; each later one costs a decode step.
  const double steps = ids.empty() ? 0.0 : double(ids.size() - 1);
  return decode_seconds > 0 ? steps / decode_seconds : 0.0;
}

DecodeState::DecodeState(const GenerateParams& params, int64_t vocab_size, std::span<const int32_t> prompt,
                         TokenConstraint* constraint)
    : p_(params), sampler_(params.sampling, vocab_size), vocab_(vocab_size), constraint_(constraint),
      thinking_(params.thinking.starts_in_reasoning) {
  sampler_.add_context(prompt);
}

int32_t DecodeState::next(float* logits) {
  const ThinkingBudget& budget = p_.thinking;
  if (thinking_ && budget.max_tokens >= 0 && thought_ >= budget.max_tokens && forced_.empty() &&
      !budget.close_ids.empty())
    forced_.assign(budget.close_ids.rbegin(), budget.close_ids.rend());
  int32_t id;
  if (!forced_.empty()) {
    id = forced_.back();
    forced_.pop_back();
    sampler_.accept(id);
  } else {
    if (constraint_) constraint_->mask(logits, vocab_);
    id = sampler_.sample(logits);
  }
  if (constraint_) constraint_->accept(id);
  if (id == budget.close_id && budget.close_id >= 0) thinking_ = false;
  else if (n_ == 0 && id == budget.open_id && budget.open_id >= 0) thinking_ = true;
  else if (thinking_) ++thought_;
  ++n_;
  if (std::find(p_.stop_ids.begin(), p_.stop_ids.end(), id) != p_.stop_ids.end()) finished_ = FinishReason::kStop;
  else if (n_ >= p_.max_tokens) finished_ = FinishReason::kLength;
  return id;
}

Result<GenerateResult> generate(Model& model, KvCache& cache, std::span<const int32_t> prompt,
                                const GenerateParams& params, const TokenCallback& on_token) {
  using Clock = std::chrono::steady_clock;
  R1_RETURN_IF_ERROR(params.sampling.validate());
  if (prompt.empty()) return Status::error("generate: empty prompt (start from BOS at least)");
  if (params.max_tokens < 1) return Status::error("generate: max_tokens must be at least 1");
  const int64_t V = model.info().vocab_size;
  std::vector<float> logits(static_cast<size_t>(V));
  GenerateResult out;
  out.prefill_tokens = int64_t(prompt.size());

  auto t0 = Clock::now();
  R1_RETURN_IF_ERROR(model.forward(prompt, cache, logits.data(), /*all_logits=*/false));
  out.prefill_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  t0 = Clock::now();
  out.finish_reason = FinishReason::kLength;
  DecodeState state(params, V, prompt);
  while (true) {
    const int32_t id = state.next(logits.data());
    out.ids.push_back(id);
    if (on_token && !on_token(id)) {
      out.finish_reason = FinishReason::kCancelled;
      break;
    }
    if (state.finished()) {
      out.finish_reason = *state.finished();
      break;
    }
    if (cache.size() >= cache.capacity()) break;  // context full: finish as "length"
    const int32_t next[1] = {id};
    R1_RETURN_IF_ERROR(model.forward(next, cache, logits.data(), false));
  }
  out.decode_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

}  // namespace r1
