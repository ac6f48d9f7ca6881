// The in-process backend: replies are what the model generates alone for the same prompt, in the same shape as
// `r1 serve` gives them (tests/server/test_eval.py compares the two end to end).
#include "eval/local_backend.h"

#include <gtest/gtest.h>

#include "eval/runner.h"
#include "runtime/generation_defaults.h"

namespace r1::eval {
namespace {

using json = nlohmann::json;

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  GenerationConfig generation;
};

Loaded load(const std::string& dir) {
  Loaded l;
  auto m = load_model(dir);
  EXPECT_TRUE(m) << m.message();
  auto t = Tokenizer::load(dir);
  EXPECT_TRUE(t) << t.message();
  auto g = GenerationConfig::load_dir(dir);
  EXPECT_TRUE(g) << g.message();
  if (m && t && g) l = Loaded{std::move(*m), std::move(*t), std::move(*g)};
  return l;
}

TEST(EvalLocalBackend, BaseModelIsPromptedWithThePlainTextAndMatchesGenerate) {
  Loaded l = load(std::string(R1_MODELS_DIR) + "/stories260K");
  ASSERT_TRUE(l.model);
  ASSERT_TRUE(l.tokenizer->chat_template().empty());
  const Problem p{.id = "1", .index = 0, .question = "Once upon a time", .reference = "1"};
  const EvalSettings settings{.model = "stories260K", .k = 1, .temperature = 0.0, .top_p = 1.0, .max_tokens = 40,
                              .seed = 0};
  // The reference first: the engine's thread is the only one that may run the model once it starts.
  const std::string prompt = r1_user_prompt(p.question) + "\n";
  GenerateParams params;
  params.max_tokens = 40;
  params.sampling.greedy = true;
  params.stop_ids = stop_ids(l.generation, *l.tokenizer);
  const auto ids = l.tokenizer->encode(prompt, /*add_special=*/true);
  auto cache = l.model->new_cache(int64_t(ids.size()) + 41);
  auto expected = generate(*l.model, *cache, ids, params, nullptr);
  ASSERT_TRUE(expected) << expected.message();
  std::vector<int32_t> out = expected->ids;
  if (expected->finish_reason == FinishReason::kStop) out.pop_back();

  auto backend = LocalBackend::create(*l.model, *l.tokenizer, l.generation, {.name = "stories260K", .parallel = 2});
  ASSERT_TRUE(backend) << backend.message();
  EXPECT_TRUE((*backend)->plain_prompt());
  const ChatReply reply = (*backend)->complete(sample_request(p, settings, 0));
  ASSERT_EQ(reply.outcome, ChatReply::Outcome::kOk) << reply.error;
  const json& choice = reply.body["choices"][0];
  EXPECT_EQ(choice["message"]["content"], l.tokenizer->decode(out, /*skip_special=*/true));
  EXPECT_EQ(reply.body["usage"]["completion_tokens"], int64_t(expected->ids.size()));
  EXPECT_EQ(choice["finish_reason"], expected->finish_reason == FinishReason::kStop ? "stop" : "length");
}

TEST(EvalLocalBackend, ChatModelThroughTheRunner) {
  Loaded l = load(std::string(R1_FIXTURES_DIR) + "/models/qwen2_gqa4");
  ASSERT_TRUE(l.model);
  auto backend = LocalBackend::create(*l.model, *l.tokenizer, l.generation, {.name = "qwen2_gqa4", .parallel = 4});
  ASSERT_TRUE(backend) << backend.message();
  EXPECT_FALSE((*backend)->plain_prompt());
  std::vector<Problem> problems;
  for (int i = 0; i < 3; ++i)
    problems.push_back({.id = std::to_string(i), .index = i, .question = fmt::format("What is {} + 1?", i),
                        .reference = std::to_string(i + 1)});
  const RunOutcome out = run_eval(**backend, problems, nullptr,
                                  {.settings = {.model = "qwen2_gqa4", .k = 2, .temperature = 0.6, .top_p = 0.95,
                                                .max_tokens = 16, .seed = 1},
                                   .concurrency = 4});
  ASSERT_TRUE(out.complete()) << out.error.message();
  ASSERT_EQ(out.results.size(), 3u);
  for (const ProblemResult& r : out.results)
    for (const SampleResult& s : r.samples) {
      EXPECT_TRUE(s.finish_reason == "stop" || s.finish_reason == "length") << s.finish_reason << s.error;
      ASSERT_TRUE(s.reasoning_tokens && s.answer_tokens);
      EXPECT_LE(*s.reasoning_tokens + *s.answer_tokens, 16);
      // The R1 template opens <think> in the prompt: a random model reasons until it happens to close it.
      if (*s.reasoning_tokens > 0) {
        EXPECT_FALSE(s.reasoning.empty());
      }
    }
  EXPECT_EQ(out.progress.output_tokens, [&] {
    int64_t n = 0;
    for (const ProblemResult& r : out.results)
      for (const SampleResult& s : r.samples) n += *s.reasoning_tokens + *s.answer_tokens;
    return n;
  }());
  // A request the model cannot take is this sample's failure, not the run's.
  json too_long = sample_request(problems[0], {.model = "qwen2_gqa4", .k = 1}, 0);
  too_long["messages"][0]["content"] = std::string(20000, 'x');
  const ChatReply reply = (*backend)->complete(too_long);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kRejected) << reply.error;
  (*backend)->cancel();
  EXPECT_EQ((*backend)->complete(sample_request(problems[0], {.model = "qwen2_gqa4", .k = 1}, 0)).outcome,
            ChatReply::Outcome::kFatal);
}

}  // namespace
}  // namespace r1::eval
