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

Result<GenerateResult> generate(Model& model, KvCache& cache, std::span<const int32_t> prompt,
                                const GenerateParams& params, const TokenCallback& on_token) {
  using Clock = std::chrono::steady_clock;
  R1_RETURN_IF_ERROR(params.sampling.validate());
  if (prompt.empty()) return Status::error("generate: empty prompt (start from BOS at least)");
  const int64_t V = model.info().vocab_size;
  std::vector<float> logits(static_cast<size_t>(V));
  Sampler sampler(params.sampling, V);
  sampler.add_context(prompt);
  GenerateResult out;
  out.prefill_tokens = int64_t(prompt.size());

  auto t0 = Clock::now();
  R1_RETURN_IF_ERROR(model.forward(prompt, cache, logits.data(), /*all_logits=*/false));
  out.prefill_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  t0 = Clock::now();
  out.finish_reason = FinishReason::kLength;
  const ThinkingBudget& budget = params.thinking;
  bool thinking = budget.starts_in_reasoning;
  int64_t thought = 0;
  std::vector<int32_t> forced;  // pending tokens of a forced end of thought, in reverse order
  for (int64_t n = 0; n < params.max_tokens; ++n) {
    if (thinking && budget.max_tokens >= 0 && thought >= budget.max_tokens && forced.empty() && !budget.close_ids.empty())
      forced.assign(budget.close_ids.rbegin(), budget.close_ids.rend());
    int32_t id;
    if (!forced.empty()) {
      id = forced.back();
      forced.pop_back();
      sampler.accept(id);
    } else {
      id = sampler.sample(logits.data());
    }
    if (id == budget.close_id && budget.close_id >= 0) thinking = false;
    else if (n == 0 && id == budget.open_id && budget.open_id >= 0) thinking = true;
    else if (thinking) ++thought;
    out.ids.push_back(id);
    if (on_token && !on_token(id)) {
      out.finish_reason = FinishReason::kCancelled;
      break;
    }
    if (std::find(params.stop_ids.begin(), params.stop_ids.end(), id) != params.stop_ids.end()) {
      out.finish_reason = FinishReason::kStop;
      break;
    }
    if (n + 1 == params.max_tokens) break;
    if (cache.size() >= cache.capacity()) break;  // context full: finish as "length"
    const int32_t next[1] = {id};
    R1_RETURN_IF_ERROR(model.forward(next, cache, logits.data(), false));
  }
  out.decode_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

}  // namespace r1
