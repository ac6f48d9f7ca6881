#include "train/rollout.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "eval/dataset.h"
#include "runtime/engine.h"
#include "tokenizer/chat_format.h"

namespace r1::train {

namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

Result<std::vector<Rollout>> sample_rollouts(Model& model, std::span<const std::vector<int32_t>> prompts,
                                             std::span<const int32_t> stop_ids, const RolloutOptions& options,
                                             RolloutStats* stats) {
  if (options.samples_per_prompt < 1 || options.max_tokens < 1 || options.parallel < 1)
    return Status::error("rollouts need samples_per_prompt, max_tokens and parallel >= 1");
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t N = int64_t(prompts.size()) * options.samples_per_prompt;
  int64_t longest = 0;
  for (const auto& p : prompts) longest = std::max<int64_t>(longest, int64_t(p.size()));
  EngineOptions eo{.max_running = std::min<int64_t>(options.parallel, std::max<int64_t>(N, 1)),
                   .max_waiting = std::max<int64_t>(N, 1),
                   .ctx_size = longest + options.max_tokens};
  R1_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::create(model, eo));

  std::vector<std::shared_ptr<RequestHandle>> handles;
  std::vector<Rollout> out;
  for (size_t p = 0; p < prompts.size(); ++p) {
    for (int64_t j = 0; j < options.samples_per_prompt; ++j) {
      EngineRequest r{.prompt = prompts[p]};
      r.params.max_tokens = options.max_tokens;
      r.params.sampling.temperature = float(options.temperature);
      r.params.sampling.top_p = float(options.top_p);
      r.params.sampling.seed = splitmix(splitmix(options.seed) ^ splitmix(uint64_t(p) << 20 | uint64_t(j)));
      r.params.stop_ids.assign(stop_ids.begin(), stop_ids.end());
      Engine::Submitted s = engine->submit(std::move(r));
      if (!s.handle) {
        engine->shutdown(std::chrono::milliseconds(0));
        return Status::errorf("prompt {}: the engine refused a sample: {}", p, s.message);
      }
      handles.push_back(std::move(s.handle));
      out.push_back({.prompt = int64_t(p)});
    }
  }
  int64_t tokens = 0;
  std::vector<TokenEvent> events;
  for (size_t i = 0; i < handles.size(); ++i) {
    while (handles[i]->next(events, std::chrono::milliseconds(100))) {
    }
    for (const TokenEvent& e : events) out[i].completion.push_back(e.id);
    events.clear();
    if (!handles[i]->error().empty()) {
      engine->shutdown(std::chrono::milliseconds(0));
      return Status::errorf("sample {}: {}", i, handles[i]->error());
    }
    out[i].truncated = handles[i]->finish_reason() != FinishReason::kStop;
    tokens += int64_t(out[i].completion.size());
  }
  engine->shutdown(std::chrono::milliseconds(0));
  if (stats) {
    stats->tokens = tokens;
    stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return out;
}

Result<std::vector<int32_t>> problem_prompt(const Tokenizer& tokenizer, const TaskProblem& problem) {
  const ChatMessage user{.role = "user", .content = eval::r1_user_prompt(problem.question)};
  R1_ASSIGN_OR_RETURN(std::string text,
                      render_chat(tokenizer, std::span(&user, 1), /*add_generation_prompt=*/true));
  return tokenizer.encode(text, /*add_special=*/false);
}

Result<std::vector<std::vector<int32_t>>> problem_prompts(const Tokenizer& tokenizer,
                                                          std::span<const TaskProblem> problems) {
  std::vector<std::vector<int32_t>> prompts;
  for (const TaskProblem& p : problems) {
    R1_ASSIGN_OR_RETURN(auto ids, problem_prompt(tokenizer, p));
    prompts.push_back(std::move(ids));
  }
  return prompts;
}

std::string completion_text(const Tokenizer& tokenizer, const Rollout& rollout,
                            std::span<const int32_t> stop_ids) {
  std::span<const int32_t> ids = rollout.completion;
  if (!ids.empty() && std::find(stop_ids.begin(), stop_ids.end(), ids.back()) != stop_ids.end())
    ids = ids.first(ids.size() - 1);
  return tokenizer.decode(ids, /*skip_special=*/false);
}

std::vector<int32_t> stop_ids_of(const Tokenizer& tokenizer) {
  if (auto eos = tokenizer.eos_id()) return {*eos};
  return {};
}

Result<EvalResult> evaluate_tasks(Model& model, const Tokenizer& tokenizer,
                                  std::span<const TaskProblem> problems, const EvalOptions& options) {
  if (problems.empty()) return Status::error("no problems to evaluate");
  R1_ASSIGN_OR_RETURN(auto prompts, problem_prompts(tokenizer, problems));
  const std::vector<int32_t> stops = stop_ids_of(tokenizer);
  RolloutStats stats;
  R1_ASSIGN_OR_RETURN(std::vector<Rollout> rollouts, sample_rollouts(model, prompts, stops,
                                                                     {.samples_per_prompt = options.k,
                                                                      .max_tokens = options.max_tokens,
                                                                      .temperature = options.temperature,
                                                                      .top_p = options.top_p,
                                                                      .seed = options.seed,
                                                                      .parallel = options.parallel},
                                                                     &stats));
  EvalResult r{.problems = int64_t(problems.size())};
  for (const Rollout& ro : rollouts) {
    const TaskProblem& problem = problems[size_t(ro.prompt)];
    const CompletionReward reward =
        score_completion(completion_text(tokenizer, ro, stops),
                         [&](std::string_view boxed) { return check_answer(problem, boxed); });
    r.pass_at_1 += reward.accuracy;
    r.format_rate += reward.format;
    r.truncated_rate += ro.truncated;
    r.mean_completion_tokens += double(ro.completion.size());
  }
  const double n = double(rollouts.size());
  r.pass_at_1 /= n, r.format_rate /= n, r.truncated_rate /= n, r.mean_completion_tokens /= n;
  r.tokens_per_s = double(stats.tokens) / std::max(stats.seconds, 1e-9);
  return r;
}

}  // namespace r1::train
